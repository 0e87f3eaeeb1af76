"""What an HTML page declares about itself in its meta tags, microdata and
JSON-LD: publication time, keywords, section, authors, publisher. Pure.

Per field, JSON-LD of the article first, then meta tags; the publication time
follows `published.choose`, the publisher `og:site_name` before JSON-LD
`publisher.name` (the site names itself there, JSON-LD often names a company).
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass, field
from datetime import datetime

from newsdesk.tasks.extract.metadata import jsonld, published

_META = re.compile(r"<meta\b[^>]*>", re.I)
_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.I | re.S)

_KEYWORD_META = ("keywords", "news_keywords", "article:tag", "parsely-tags")
_SECTION_META = ("article:section", "parsely-section", "section")
_AUTHOR_META = ("author", "article:author", "parsely-author", "dc.creator", "sailthru.author")
_PUBLISHER_META = ("og:site_name", "application-name")
# Quote marks around a keyword ("«Klimawandel»") are no part of it.
_QUOTES = "«»‹›“”„‟\"'‘’‚"


@dataclass(slots=True)
class PageMetadata:
    published: datetime | None = None
    published_precision: str | None = None
    keywords: list[str] = field(default_factory=list)
    section: str | None = None
    authors: list[str] = field(default_factory=list)
    publisher: str | None = None  # og:site_name, else JSON-LD publisher.name
    site_names: list[str] = field(default_factory=list)  # every name the page gives its site
    html_title: str | None = None


def meta_tags(html: str) -> dict[str, list[str]]:
    """Meta tags by lower-cased name, property or itemprop, values unescaped."""
    metas: dict[str, list[str]] = {}
    for tag in _META.findall(html):
        attrs = published.attrs(tag)
        key = (attrs.get("property") or attrs.get("name") or attrs.get("itemprop") or "").lower()
        content = attrs.get("content")
        if key and content and content.strip():
            metas.setdefault(key, []).append(html_lib.unescape(content).strip())
    return metas


def page_metadata(html: str) -> PageMetadata:
    """What the page declares about itself (see the module docstring)."""
    found = PageMetadata()
    metas = meta_tags(html)
    items = jsonld.items(html)
    stated = published.choose(jsonld.published(items), metas, published.marked_up(html))
    if stated is not None:
        found.published, found.published_precision = stated.when, stated.precision
    for item in items:
        if not jsonld.is_article(item):
            continue
        if not found.keywords:
            keywords = item.get("keywords")
            found.keywords = split_keywords(keywords if isinstance(keywords, list) else [keywords] if keywords else [])
        if found.section is None:
            section = item.get("articleSection")
            section = section[0] if isinstance(section, list) and section else section
            found.section = one_line(section)
        if not found.authors:
            found.authors = jsonld.names(item.get("author"), person_only=True)
    if not found.keywords:
        found.keywords = split_keywords([v for key in _KEYWORD_META for v in metas.get(key, [])])
    if found.section is None:
        found.section = next((one_line(metas[key][0]) for key in _SECTION_META if key in metas), None)
    if not found.authors:
        found.authors = [v for key in _AUTHOR_META for v in metas.get(key, []) if not v.startswith("http")]
    names = [one_line(v) for key in _PUBLISHER_META for v in metas.get(key, [])[:1]]
    names.append(jsonld.publisher_name(items))
    found.site_names = [n for n in names if n]
    found.publisher = found.site_names[0] if found.site_names else None
    title = _TITLE.search(html)
    found.html_title = one_line(title.group(1)) if title else None
    return found


def split_keywords(values: list) -> list[str]:
    """Keywords or tags as declared (comma- or semicolon-separated strings, or lists),
    each once, in order, without quote marks around them."""
    seen: set[str] = set()
    keywords = []
    for value in values:
        if not isinstance(value, str):
            continue
        for part in re.split(r"[,;]", html_lib.unescape(value)):
            word = " ".join(part.split()).strip(_QUOTES).strip()
            if word and len(word) <= 100 and word.casefold() not in seen:
                seen.add(word.casefold())
                keywords.append(word)
    return keywords[:50]


def one_line(value: object) -> str | None:
    """A string on one line, HTML entities unescaped ("Filme &amp; Serien" -> "Filme & Serien"); None when empty."""
    if not isinstance(value, str):
        return None
    text = " ".join(html_lib.unescape(value).split())
    return text or None
