"""Feeds and sitemaps to the list of article URLs they announce. Pure: bytes in, items out.

Feeds: RSS 0.9x/1.0/2.0 and Atom through feedparser, JSON Feed (which
feedparser does not read) through json. Sitemaps: urlsets, sitemap indexes
and Google News sitemaps, gzip-compressed or not, parsed by lxml with
entities and network access off.
"""

from __future__ import annotations

import json
import re
import xml.sax
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin

import feedparser
from lxml import etree

from newsdesk.tasks.extract.clean.dates import parse_date
from newsdesk.tasks.records import ListingHints, Rejected

_SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
_NEWS_NS = "{http://www.google.com/schemas/sitemap-news/0.9}"
# Entities unresolved, no DTD loading, no network: a sitemap cannot make us read files or URLs.
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=True)
# Control characters are never text, and PostgreSQL text cannot hold a NUL: one in
# a feed entry (JSON escapes them as easily as any character) would fail the load
# of its whole batch. Dropped from text; percent-encoded in URLs, as browsers do.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_URL_CONTROL = re.compile("[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class WebItem:
    """An article URL and what the feed or sitemap says about it."""

    url: str
    title: str | None = None
    published: datetime | None = None
    author: str | None = None
    summary: str | None = None
    updated: datetime | None = None  # when the listing says the page last changed

    @property
    def changed_at(self) -> datetime | None:
        return self.updated or self.published

    @property
    def hints(self) -> ListingHints:
        return ListingHints(self.title, self.published, self.author, self.summary)


def parse_feed(data: bytes, base_url: str) -> list[WebItem]:
    stripped = data.lstrip()
    if stripped.startswith(b"{"):
        return _parse_json_feed(stripped, base_url)
    parsed = feedparser.parse(data, response_headers={"content-location": base_url})
    problem = parsed.get("bozo_exception")
    # feedparser also flags a feed "bozo" for the Content-Type it is not given
    # here: only a parse error makes a feed unreadable (a valid empty feed is not).
    if not parsed.entries and isinstance(problem, xml.sax.SAXParseException):
        raise Rejected("discover", f"not a readable feed: {problem}")
    if not parsed.entries and not parsed.get("version"):  # an empty document has no `version` key at all
        raise Rejected("discover", "not a feed: no RSS, Atom or JSON Feed in it")
    items = []
    for entry in parsed.entries:
        link = entry.get("link") or entry.get("id")
        if not link:
            continue
        # dict.get: feedparser's own get() answers an absent updated_parsed with
        # published_parsed (and a deprecation warning).
        published, updated = dict.get(entry, "published_parsed"), dict.get(entry, "updated_parsed")
        items.append(
            WebItem(
                url=_url(base_url, link),
                title=_text(entry.get("title")),
                published=_utc(published or updated),
                author=_text(entry.get("author")),
                summary=_text(entry.get("summary")),
                updated=_utc(updated),
            )
        )
    return items


def _parse_json_feed(data: bytes, base_url: str) -> list[WebItem]:
    try:
        feed = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Rejected("discover", f"not a readable JSON feed: {exc}") from None
    if not isinstance(feed, dict) or not isinstance(feed.get("items"), list):
        raise Rejected("discover", "not a JSON Feed: no items list")
    items = []
    for entry in feed["items"]:
        if not isinstance(entry, dict):
            continue
        link = entry.get("url") or entry.get("external_url") or entry.get("id")
        if not isinstance(link, str):
            continue
        authors = entry.get("authors") or ([entry["author"]] if isinstance(entry.get("author"), dict) else [])
        if not isinstance(authors, list):
            authors = []
        author = ", ".join(filter(None, (_text(a.get("name")) for a in authors if isinstance(a, dict)))) or None
        items.append(
            WebItem(
                url=_url(base_url, link),
                title=_text(entry.get("title")),
                published=parse_date(entry.get("date_published") or entry.get("date_modified"), strict=False),
                author=author,
                summary=_text(entry.get("summary")),
                updated=parse_date(entry.get("date_modified"), strict=False),
            )
        )
    return items


def parse_sitemap(data: bytes, *, max_bytes: int) -> tuple[list[WebItem], list[str]]:
    """(article items, child sitemaps) of a sitemap or sitemap index."""
    data = _gunzip(data, max_bytes) if data[:2] == b"\x1f\x8b" else data
    try:
        root = etree.fromstring(data, parser=_XML_PARSER)
    except etree.XMLSyntaxError as exc:
        raise Rejected("discover", f"not a readable sitemap: {exc}") from None
    if root is None:
        raise Rejected("discover", "not a readable sitemap: empty document")
    tag = etree.QName(root).localname
    if tag == "sitemapindex":
        locations = (el.text or "" for el in root.iter(f"{_SITEMAP_NS}loc", "loc"))
        return [], [loc.strip() for loc in locations if loc.strip()]
    if tag != "urlset":
        raise Rejected("discover", f"not a sitemap: root element <{tag}>")
    items = []
    for url in root.iter(f"{_SITEMAP_NS}url", "url"):
        loc = url.findtext(f"{_SITEMAP_NS}loc") or url.findtext("loc")
        if not loc or not loc.strip():
            continue
        news = url.find(f"{_NEWS_NS}news")
        title = _text(news.findtext(f"{_NEWS_NS}title")) if news is not None else None
        published = news.findtext(f"{_NEWS_NS}publication_date") if news is not None else None
        lastmod = parse_date(url.findtext(f"{_SITEMAP_NS}lastmod") or url.findtext("lastmod"), strict=False)
        items.append(
            WebItem(loc.strip(), title=title, published=parse_date(published, strict=False) or lastmod, updated=lastmod)
        )
    return items, []


def _text(value) -> str | None:
    """A feed's text field, or None when it is absent, empty or not text at all
    (a JSON Feed may hold a number or an object where a string belongs)."""
    if not isinstance(value, str):
        return None
    return _CONTROL.sub("", value).strip() or None


def _url(base_url: str, link: str) -> str:
    return urljoin(base_url, _URL_CONTROL.sub(lambda m: f"%{ord(m.group()):02X}", link.strip()))


def _utc(parsed) -> datetime | None:
    return datetime(*parsed[:6]).replace(tzinfo=UTC) if parsed else None


def _gunzip(data: bytes, max_bytes: int) -> bytes:
    """Decompress, refusing to grow past `max_bytes` (a gzip bomb stops early)."""
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = decompressor.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise Rejected("discover", f"broken gzip: {exc}") from None
    if len(out) > max_bytes or decompressor.unconsumed_tail:
        raise Rejected("discover", f"sitemap over {max_bytes} bytes once decompressed")
    return out
