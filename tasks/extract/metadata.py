"""Article metadata made fit for analysts. Pure functions, no network.

- `page_metadata`: what an HTML page declares for itself in its meta tags and
  JSON-LD: the publication timestamp with its zone, keywords, section, author
  names, publisher.
- `finish`: applied to every cleaned article (after the listing fills its
  gaps): the timestamp the page states (converted to UTC) over a bare date,
  an ISO 639-1 language code, author names as a list, a cleaned publisher and
  the registered domain of the URL, the title without the site-name suffix.
"""

from __future__ import annotations

import html as html_lib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from newsdesk.tasks.extract.clean.dates import date_precision, parse_date
from newsdesk.tasks.records import Article

# ---------------------------------------------------------------- page metadata

_META = re.compile(r"<meta\b[^>]*>", re.I)
_ATTR = re.compile(r"""([a-zA-Z:_-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
_JSON_LD = re.compile(r"<script\b[^>]*application/ld\+json[^>]*>(.*?)</script\s*>", re.I | re.S)
_TIME_TAG = re.compile(r"<time\b[^>]*>", re.I)

# Meta names (name=, property= or itemprop=) that carry the publication time, best first.
_PUBLISHED_META = (
    "article:published_time",
    "og:article:published_time",
    "datepublished",
    "parsely-pub-date",
    "sailthru.date",
    "pubdate",
    "publishdate",
    "publish-date",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date",
    "dcterms.date",
    "date",
)
_KEYWORD_META = ("keywords", "news_keywords", "article:tag", "parsely-tags")
_SECTION_META = ("article:section", "parsely-section", "section")
_AUTHOR_META = ("author", "article:author", "parsely-author", "dc.creator", "sailthru.author")
_PUBLISHER_META = ("og:site_name", "application-name")
_ARTICLE_TYPES = {
    "article",
    "newsarticle",
    "reportagenewsarticle",
    "analysisnewsarticle",
    "opinionnewsarticle",
    "blogposting",
    "webpage",
    "report",
    "techarticle",
    "liveblogposting",
}

# JSON-LD items that describe something else than the page's article (a comment's date is not the article's).
_NOT_THE_PAGE = {
    "comment",
    "imageobject",
    "videoobject",
    "person",
    "organization",
    "newsmediaorganization",
    "website",
    "breadcrumblist",
    "listitem",
    "searchaction",
}


@dataclass(slots=True)
class PageMetadata:
    published: datetime | None = None
    published_precision: str | None = None
    keywords: list[str] = field(default_factory=list)
    section: str | None = None
    authors: list[str] = field(default_factory=list)
    publisher: str | None = None


def page_metadata(html: str) -> PageMetadata:
    """What the page declares about itself: JSON-LD first, then meta tags, then `<time itemprop=datePublished>`."""
    found = PageMetadata()
    metas: dict[str, list[str]] = {}
    for tag in _META.findall(html):
        attrs = _attrs(tag)
        key = (attrs.get("property") or attrs.get("name") or attrs.get("itemprop") or "").lower()
        content = attrs.get("content")
        if key and content and content.strip():
            metas.setdefault(key, []).append(html_lib.unescape(content).strip())
    items = _json_ld_items(html)
    for item in items:
        _take_json_ld(item, found)
    # Candidates for the publication time, best first; a full timestamp wins over a bare day.
    candidates: list[object] = [metas[key][0] for key in _PUBLISHED_META if key in metas]
    candidates += [item.get("datePublished") for item in items if _types(item) & _ARTICLE_TYPES]
    candidates += [item.get("datePublished") for item in items if not _types(item) & _NOT_THE_PAGE]
    for tag in _TIME_TAG.findall(html):
        attrs = _attrs(tag)
        if attrs.get("itemprop", "").lower() == "datepublished" or "pubdate" in tag.lower():
            candidates.append(attrs.get("datetime"))
    # The first timestamp with a zone, else the first without one (read as UTC), else the first bare day.
    ranked = sorted(
        ((_rank(value), i, when, value) for i, value in enumerate(candidates) if (when := _parse(value))),
        key=lambda c: c[:2],
    )
    if ranked:
        _, _, found.published, value = ranked[0]
        found.published_precision = date_precision(value)
    if not found.keywords:
        found.keywords = split_keywords([v for key in _KEYWORD_META for v in metas.get(key, [])])
    if found.section is None:
        found.section = next((_one_line(metas[key][0]) for key in _SECTION_META if key in metas), None)
    if not found.authors:
        found.authors = [v for key in _AUTHOR_META for v in metas.get(key, []) if not v.startswith("http")]
    if found.publisher is None:
        found.publisher = next((_one_line(metas[key][0]) for key in _PUBLISHER_META if key in metas), None)
    return found


def _attrs(tag: str) -> dict[str, str]:
    return {m.group(1).lower(): m.group(2) or m.group(3) or m.group(4) or "" for m in _ATTR.finditer(tag)}


def _json_ld_items(html: str) -> list[dict]:
    items: list[dict] = []
    for block in _JSON_LD.findall(html):
        try:
            data = json.loads(block.strip().removeprefix("<!--").removesuffix("-->"))
        except ValueError:
            continue
        stack = [data]
        while stack:
            value = stack.pop(0)
            if isinstance(value, list):
                stack.extend(value)
            elif isinstance(value, dict):
                items.append(value)
                if isinstance(value.get("@graph"), list):
                    stack.extend(value["@graph"])
    return items


def _types(item: dict) -> set[str]:
    kind = item.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {str(k).lower() for k in kinds if k}


def _take_json_ld(item: dict, found: PageMetadata) -> None:
    if not _types(item) & _ARTICLE_TYPES:
        return
    if not found.keywords:
        keywords = item.get("keywords")
        found.keywords = split_keywords(keywords if isinstance(keywords, list) else [keywords] if keywords else [])
    if found.section is None:
        section = item.get("articleSection")
        section = section[0] if isinstance(section, list) and section else section
        found.section = _one_line(section) if isinstance(section, str) else None
    if not found.authors:
        found.authors = _names(item.get("author"), person_only=True)
    if found.publisher is None:
        names = _names(item.get("publisher"), person_only=False)
        found.publisher = names[0] if names else None


def _names(value: object, *, person_only: bool) -> list[str]:
    values = value if isinstance(value, list) else [value]
    names = []
    for entry in values:
        if isinstance(entry, str) and not person_only:
            names.append(entry)
        elif isinstance(entry, dict) and isinstance(entry.get("name"), str):
            if person_only and _types(entry) and "person" not in _types(entry):
                continue  # an organisation named as author is no person
            names.append(entry["name"])
    return [name for n in names if (name := _one_line(html_lib.unescape(n)))]


_ZONED = re.compile(r"(?:\dZ|[+-]\d{2}:?\d{2}|\b(?:UTC|GMT|[ECMP][SD]T)\b)\s*$", re.I)


def _rank(value: object) -> int:
    if date_precision(value) != "datetime":
        return 2
    return 0 if _ZONED.search(str(value)) else 1


def _parse(value: object) -> datetime | None:
    return parse_date(value, strict=False) if isinstance(value, str) else None


def split_keywords(values: list) -> list[str]:
    """Keywords or tags as declared (comma- or semicolon-separated strings, or lists), each once, in order."""
    seen: set[str] = set()
    keywords = []
    for value in values:
        if not isinstance(value, str):
            continue
        for part in re.split(r"[,;]", html_lib.unescape(value)):
            word = " ".join(part.split())
            if word and len(word) <= 100 and word.casefold() not in seen:
                seen.add(word.casefold())
                keywords.append(word)
    return keywords[:50]


# ---------------------------------------------------------------- language

# ISO 639-1: every two-letter code.
_ISO_639_1 = frozenset(
    [
        "aa",
        "ab",
        "ae",
        "af",
        "ak",
        "am",
        "an",
        "ar",
        "as",
        "av",
        "ay",
        "az",
        "ba",
        "be",
        "bg",
        "bh",
        "bi",
        "bm",
        "bn",
        "bo",
        "br",
        "bs",
        "ca",
        "ce",
        "ch",
        "co",
        "cr",
        "cs",
        "cu",
        "cv",
        "cy",
        "da",
        "de",
        "dv",
        "dz",
        "ee",
        "el",
        "en",
        "eo",
        "es",
        "et",
        "eu",
        "fa",
        "ff",
        "fi",
        "fj",
        "fo",
        "fr",
        "fy",
        "ga",
        "gd",
        "gl",
        "gn",
        "gu",
        "gv",
        "ha",
        "he",
        "hi",
        "ho",
        "hr",
        "ht",
        "hu",
        "hy",
        "hz",
        "ia",
        "id",
        "ie",
        "ig",
        "ii",
        "ik",
        "io",
        "is",
        "it",
        "iu",
        "ja",
        "jv",
        "ka",
        "kg",
        "ki",
        "kj",
        "kk",
        "kl",
        "km",
        "kn",
        "ko",
        "kr",
        "ks",
        "ku",
        "kv",
        "kw",
        "ky",
        "la",
        "lb",
        "lg",
        "li",
        "ln",
        "lo",
        "lt",
        "lu",
        "lv",
        "mg",
        "mh",
        "mi",
        "mk",
        "ml",
        "mn",
        "mr",
        "ms",
        "mt",
        "my",
        "na",
        "nb",
        "nd",
        "ne",
        "ng",
        "nl",
        "nn",
        "no",
        "nr",
        "nv",
        "ny",
        "oc",
        "oj",
        "om",
        "or",
        "os",
        "pa",
        "pi",
        "pl",
        "ps",
        "pt",
        "qu",
        "rm",
        "rn",
        "ro",
        "ru",
        "rw",
        "sa",
        "sc",
        "sd",
        "se",
        "sg",
        "si",
        "sk",
        "sl",
        "sm",
        "sn",
        "so",
        "sq",
        "sr",
        "ss",
        "st",
        "su",
        "sv",
        "sw",
        "ta",
        "te",
        "tg",
        "th",
        "ti",
        "tk",
        "tl",
        "tn",
        "to",
        "tr",
        "ts",
        "tt",
        "tw",
        "ty",
        "ug",
        "uk",
        "ur",
        "uz",
        "ve",
        "vi",
        "vo",
        "wa",
        "wo",
        "xh",
        "yi",
        "yo",
        "za",
        "zh",
        "zu",
    ]
)
# Three-letter codes (ISO 639-2/T and /B) of the languages news is mostly written in,
# and retired two-letter codes still seen in pages.
_OTHER_CODES = {
    "eng": "en",
    "deu": "de",
    "ger": "de",
    "fra": "fr",
    "fre": "fr",
    "spa": "es",
    "rus": "ru",
    "ita": "it",
    "por": "pt",
    "nld": "nl",
    "dut": "nl",
    "zho": "zh",
    "chi": "zh",
    "jpn": "ja",
    "kor": "ko",
    "ara": "ar",
    "pol": "pl",
    "tur": "tr",
    "ukr": "uk",
    "swe": "sv",
    "iw": "he",
    "in": "id",
    "ji": "yi",
}
_LANGUAGE = re.compile(r"^([A-Za-z]{2,3})(?:[-_][A-Za-z0-9-_]*)?$")


def normalise_language(code: str | None) -> str | None:
    """An ISO 639-1 code from a language tag ('en-US', 'EN_gb', 'eng' -> 'en'); None for what is no language code."""
    match = _LANGUAGE.match((code or "").strip())
    if not match:
        return None
    base = match.group(1).lower()
    if base in _OTHER_CODES:
        return _OTHER_CODES[base]
    return base if base in _ISO_639_1 else None


# ---------------------------------------------------------------- authors

_MONTHS = "january february march april may june july august september october november december"
_DATE_WORDS = frozenset(
    _MONTHS.split()
    + [m[:3] for m in _MONTHS.split()]
    + [
        "sept",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "mon",
        "tue",
        "tues",
        "wed",
        "thu",
        "thur",
        "thurs",
        "fri",
        "sat",
        "sun",
    ]
    + [
        "updated",
        "published",
        "posted",
        "am",
        "pm",
        "a.m.",
        "p.m.",
        "gmt",
        "utc",
        "est",
        "edt",
        "pst",
        "pdt",
        "bst",
        "cet",
        "ago",
        "today",
        "yesterday",
    ]
)
# Accounts and labels that stand where a byline should be.
_PLACEHOLDERS = frozenset(
    [
        "admin",
        "administrator",
        "author",
        "editor",
        "editors",
        "editorial",
        "staff",
        "webmaster",
        "guest",
        "team",
        "newsroom",
        "desk",
        "user",
        "anonymous",
        "unknown",
        "none",
        "null",
        "contributor",
        "contributors",
        "redaktion",
        "redacción",
        "staff",
        "writer",
    ]
)
_ROLE_WORDS = frozenset(
    [
        "reporter",
        "correspondent",
        "editor",
        "writer",
        "columnist",
        "contributor",
        "journalist",
        "producer",
        "photographer",
        "staff",
        "senior",
        "chief",
        "deputy",
        "managing",
        "associate",
        "contributing",
        "special",
        "political",
        "business",
        "science",
        "tech",
        "technology",
        "sports",
        "news",
        "bureau",
        "analyst",
    ]
)
_AUTHOR_SPLIT = re.compile(r"\s*(?:;|\||\s&\s|\s+and\s+|\s+und\s+|\n)\s*", re.I)
_BY = re.compile(r"^(?:by|von|par|por|written by|words by|text by)[:\s]+", re.I)
_IS_A = re.compile(r"\s+(?:is|was)\s+(?:a|an|the)\s+.*$", re.I)
_PARENS = re.compile(r"\s*[(\[].*?[)\]]")
_NAME_TOKEN = re.compile(r"^[^\W\d_][\w'’.\-]*$")


def clean_authors(value: str | list[str] | None) -> list[str]:
    """Person names: bylines split into names ('A; B', 'A and B', 'A, B'), with
    'By', roles, dates and placeholder accounts taken out."""
    values = value if isinstance(value, list) else [value] if value else []
    names: list[str] = []
    for raw in values:
        for part in _AUTHOR_SPLIT.split(html_lib.unescape(str(raw))):
            pieces = [p.strip() for p in part.split(",")]
            # "Ana Ruiz, Tom Lee" is two names; "Ana Ruiz, Reporter" one name and a role.
            if len(pieces) > 1 and all(len(p.split()) >= 2 and not _is_role(p) for p in pieces):
                candidates = pieces
            else:
                candidates = [pieces[0]]
            for candidate in candidates:
                name = _person_name(candidate)
                if name and name.casefold() not in {n.casefold() for n in names}:
                    names.append(name)
    return names


def _is_role(text: str) -> bool:
    return any(word.casefold().strip(".") in _ROLE_WORDS for word in text.split())


def _person_name(text: str) -> str | None:
    text = _PARENS.sub("", _BY.sub("", " ".join(text.split())))
    text = _IS_A.sub("", text)
    text = re.split(r"\s+[-–—|/]\s+", text)[0]  # "Ana Ruiz - Reporter"
    words = []
    for word in text.split():
        bare = word.strip(",.:;").casefold()
        if bare in _DATE_WORDS or any(ch.isdigit() for ch in word):
            break  # "Jeff Foust Monday": the rest is a dateline
        words.append(word.strip(",;:"))
    if len(words) > 2 and " ".join(words[-2:]).casefold() == "associated press":
        words = words[:-2]
    while words and _is_role(words[-1]) and len(words) > 2:
        words.pop()
    name = " ".join(words).strip(" .-")
    if not name or "@" in name or "://" in name or name.casefold() in _PLACEHOLDERS:
        return None
    tokens = name.split()
    if len(tokens) > 5 or not all(_NAME_TOKEN.match(t) for t in tokens):
        return None
    if len(tokens) == 1 and (len(name) <= 3 or name.islower()):
        return None  # "Rmb", "jdoe": an account, not a name
    if all(t.casefold().strip(".") in _ROLE_WORDS | _PLACEHOLDERS for t in tokens):
        return None
    return name


# ---------------------------------------------------------------- publisher

_COPYRIGHT = re.compile(r"(?:copyright|\(c\)|©|all rights reserved\.?|\b(?:19|20)\d{2}\b)", re.I)
_URLISH = re.compile(r"^(?:https?://|www\.)", re.I)
_JUNK_PUBLISHERS = frozenset(
    ["hosted", "home", "homepage", "index", "news", "blog", "website", "site", "default", "unknown", "none", "null"]
)


def clean_publisher(name: str | None) -> str | None:
    """The publisher's name, or None for what is no name: a bare URL (the domain
    is `publisher_domain`), a copyright line without a name, a generic label."""
    if not name:
        return None
    text = " ".join(html_lib.unescape(name).split())
    if _URLISH.match(text):
        return None
    text = " ".join(_COPYRIGHT.sub(" ", text).split()).strip(" .,-|:")
    if not text or text.casefold() in _JUNK_PUBLISHERS or not any(ch.isalpha() for ch in text):
        return None
    return text


@lru_cache(maxsize=1)
def _extractor():
    import tldextract

    # The public suffix list bundled with the package; never fetched, never cached on disk.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


def publisher_domain(url: str | None) -> str | None:
    """The registered domain of a URL ('https://www.bbc.co.uk/news/x' -> 'bbc.co.uk'), None for a path or an IP."""
    if not url or "://" not in url:
        return None
    parts = _extractor()(url)
    return parts.top_domain_under_public_suffix or None


# ---------------------------------------------------------------- title

_SUFFIX = re.compile(r"^(?P<title>.+)\s(?:[-|–—·»:]|::)\s(?P<site>(?:(?!\s(?:[-|–—·»:]|::)\s).){2,60})$")
_ALNUM = re.compile(r"[\W_]+")


def strip_site_suffix(title: str | None, publisher: str | None, domain: str | None) -> tuple[str | None, str | None]:
    """The title without a trailing site name ('… - IGN', '… | MoreBikes') when
    that name is the publisher's or the domain's; and the site name removed."""
    stripped, site = _strip_once(title, publisher, domain)
    if site is not None:
        stripped = _strip_once(stripped, publisher, domain)[0]  # "… - Site | Site"
    return stripped, site


def _strip_once(title: str | None, publisher: str | None, domain: str | None) -> tuple[str | None, str | None]:
    if not title:
        return title, None
    match = _SUFFIX.match(title)
    if not match:
        return title, None
    site = match.group("site").strip()
    key = _ALNUM.sub("", site).casefold()
    names = {_ALNUM.sub("", publisher).casefold()} if publisher else set()
    if domain:
        label = domain.split(".")[0]
        names |= {_ALNUM.sub("", label).casefold(), _ALNUM.sub("", domain).casefold()}
    names.discard("")
    if key and (key in names or any(len(n) >= 4 and (key.startswith(n) or n.startswith(key)) for n in names)):
        return match.group("title").strip(), site
    return title, None


# ---------------------------------------------------------------- all of it


# A metadata field longer than this is cut, with an ellipsis, as trafilatura cuts
# what it finds in a page: a 1 MB title (front matter, a feed entry) is no title.
MAX_FIELD_CHARS = 10_000


def cut(value: str | None) -> str | None:
    """`value` cut to MAX_FIELD_CHARS characters, the last an ellipsis, when longer."""
    if value is None or len(value) <= MAX_FIELD_CHARS:
        return value
    return value[: MAX_FIELD_CHARS - 1] + "…"


def finish(article: Article, *, html: str | None = None) -> Article:
    """Apply the page's own metadata (when `html` is given) and normalise every
    metadata field, in place; text fields are cut to MAX_FIELD_CHARS."""
    article.title, article.summary = cut(article.title), cut(article.summary)
    article.author, article.source_name = cut(article.author), cut(article.source_name)
    page = page_metadata(html) if html else PageMetadata()
    if page.published is not None and (page.published_precision == "datetime" or article.published is None):
        article.published, article.published_precision = page.published, page.published_precision
    if article.published is None:
        article.published_precision = None
    article.language = normalise_language(article.language)
    article.authors = clean_authors(page.authors or article.author)
    if not article.authors and page.authors:
        article.authors = clean_authors(article.author)
    article.author = ", ".join(article.authors) or None
    article.publisher_domain = publisher_domain(article.url)
    article.source_name = clean_publisher(article.source_name) or clean_publisher(page.publisher)
    article.title, site = strip_site_suffix(article.title, article.source_name, article.publisher_domain)
    if article.source_name is None and site:
        article.source_name = clean_publisher(site)
    article.keywords = page.keywords
    article.section = page.section
    return article


def _one_line(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    return text or None
