"""What a page's JSON-LD (schema.org) says about its article. Pure, no network.

Every shape pages use is read: one object, a list of objects, an `@graph`,
and the article nested in another item (`mainEntity`, `mainEntityOfPage`,
`hasPart`, `itemListElement`, `item`). A block that is not strict JSON (raw
line breaks inside strings, an HTML comment around it, a trailing comma) is
repaired where that is safe, else left out.
"""

from __future__ import annotations

import html as html_lib
import json
import re
from collections.abc import Iterator

_JSON_LD = re.compile(r"<script\b[^>]*application/ld\+json[^>]*>(.*?)</script\s*>", re.I | re.S)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_NESTED = ("@graph", "mainEntity", "mainEntityOfPage", "hasPart", "itemListElement", "item")

# Item types that describe the page's own article.
ARTICLE_TYPES = frozenset(
    {
        "article",
        "newsarticle",
        "reportagenewsarticle",
        "analysisnewsarticle",
        "opinionnewsarticle",
        "backgroundnewsarticle",
        "reviewnewsarticle",
        "blogposting",
        "webpage",
        "itempage",
        "report",
        "techarticle",
        "scholarlyarticle",
        "liveblogposting",
        "socialmediaposting",
        "pressrelease",
    }
)
# Items that describe something else than the page's article (a comment's date is not the article's).
NOT_THE_PAGE = frozenset(
    {
        "comment",
        "imageobject",
        "videoobject",
        "person",
        "organization",
        "newsmediaorganization",
        "website",
        "breadcrumblist",
        "itemlist",
        "listitem",
        "searchaction",
        "event",
        "product",
        "offer",
        "review",
        "rating",
    }
)


def items(html: str) -> list[dict]:
    """Every JSON-LD object of the page, outer ones before the ones nested in them."""
    found: list[dict] = []
    for block in _JSON_LD.findall(html):
        data = _load(block)
        if data is not None:
            found.extend(_walk(data))
    return found


def _load(block: str) -> object:
    text = block.strip().removeprefix("<!--").removesuffix("-->").strip().rstrip(";")
    for attempt in (text, _TRAILING_COMMA.sub(r"\1", text), html_lib.unescape(text)):
        try:
            return json.loads(attempt, strict=False)  # strict=False: raw line breaks inside strings
        except ValueError:
            continue
    return None


def _walk(value: object) -> Iterator[dict]:
    queue = [value]
    while queue:
        current = queue.pop(0)
        if isinstance(current, list):
            queue.extend(current)
        elif isinstance(current, dict):
            yield current
            queue.extend(current[key] for key in _NESTED if isinstance(current.get(key), dict | list))


def types(item: dict) -> set[str]:
    kind = item.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {str(k).rsplit("/", 1)[-1].lower() for k in kinds if k}


def is_article(item: dict) -> bool:
    return bool(types(item) & ARTICLE_TYPES)


def is_other(item: dict) -> bool:
    """An item about something other than the page's article."""
    return bool(types(item) & NOT_THE_PAGE)


def published(found: list[dict]) -> list[str]:
    """`datePublished` values: of the article items first, then of untyped items."""
    values = [item.get("datePublished") for item in found if is_article(item)]
    values += [item.get("datePublished") for item in found if not is_article(item) and not is_other(item)]
    return [v.strip() for v in values if isinstance(v, str) and v.strip()]


def names(value: object, *, person_only: bool) -> list[str]:
    """Names of a JSON-LD `author` or `publisher` (a string, an object, a list of them)."""
    values = value if isinstance(value, list) else [value]
    result = []
    for entry in values:
        if isinstance(entry, str) and not person_only:
            result.append(entry)
        elif isinstance(entry, dict) and isinstance(entry.get("name"), str):
            if person_only and types(entry) and "person" not in types(entry):
                continue  # an organisation named as author is no person
            result.append(entry["name"])
    return [name for n in result if (name := " ".join(html_lib.unescape(n).split()))]


def publisher_name(found: list[dict]) -> str | None:
    """The article's `publisher.name`, else that of the WebSite or Organization item."""
    for item in found:
        if is_article(item) and (value := names(item.get("publisher"), person_only=False)):
            return value[0]
    for item in found:
        if types(item) & {"website", "newsmediaorganization", "organization"} and isinstance(item.get("name"), str):
            return " ".join(item["name"].split()) or None
    return None
