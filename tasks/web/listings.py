"""Feeds, sitemaps and robots.txt to the article URLs and child sitemaps they list. Pure: bytes in, a Listing out.

What a body is comes from its bytes, never from its Content-Type: gzip is
decompressed (bounded) and looked at again; `{` opens a JSON Feed; `<` (in
UTF-8, UTF-16 or UTF-32) opens XML, whose root element tells an RSS/RDF/Atom
feed (read by feedparser) from a sitemap or sitemap index (read by lxml); any
other text is a robots.txt when it has robots.txt lines, or a plain-text sitemap
when at least half its lines are absolute URLs (the other lines are problems).

A feed entry's article URL is its alternate link, else its guid or id when that
is itself an absolute http(s) URL (a guid only if it is a permalink); an entry
with neither is a problem, never a URL made up from an id.

XML is parsed with entities unresolved, no DTD loading and no network, so a
listing cannot make us read a file or a URL (feedparser resolves no external
entities either).
"""

from __future__ import annotations

import codecs
import json
import re
import xml.sax
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urldefrag, urljoin, urlsplit

import feedparser
from lxml import etree

from newsdesk.tasks.extract.clean.dates import parse_date
from newsdesk.tasks.records import ListingHints, Rejected


def _xml_parser() -> etree.XMLParser:
    """Entities unresolved, no DTD loading, no network: a listing cannot make
    us read files or URLs. One per document: its error log is the document's."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=True)


_FEED_ROOTS = {"rss", "rdf", "feed", "channel"}  # lower-cased local names; `channel`: RSS 0.9x without <rss>
_SITEMAP_ROOTS = {"urlset", "sitemapindex"}
# How XML in UTF-16 or UTF-32 begins: a byte order mark, or `<` with its zero bytes.
_WIDE_XML_STARTS = (
    codecs.BOM_UTF16_LE,
    codecs.BOM_UTF16_BE,
    codecs.BOM_UTF32_BE,
    b"\x00<",
    b"<\x00",
    b"\x00\x00\x00<",
)
# Where feedparser finds entries: RSS 0.9x/2.0 (no namespace, or one of Userland's),
# RSS 0.90 and 1.0 (RDF), Atom 0.3 and 1.0.
_ENTRY_NAMESPACES = {
    None,
    "http://backend.userland.com/rss",
    "http://backend.userland.com/rss2",
    "http://blogs.law.harvard.edu/tech/rss",
    "http://my.netscape.com/rdf/simple/0.9/",
    "http://purl.org/rss/1.0/",
    "http://purl.org/atom/ns#",
    "http://www.w3.org/2005/Atom",
}
_RDF_ABOUT = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about"
# robots.txt lines (RFC 9309 and the common extensions); a plain-text sitemap has none.
# `Site-map:` as well as `Sitemap:`, as Google reads it.
_ROBOTS_LINE = re.compile(r"\s*(user-agent|disallow|allow|site-?map|crawl-delay|host|clean-param)\s*:", re.IGNORECASE)
_SITEMAP_LINE = re.compile(r"\s*site-?map\s*:\s*(\S*)", re.IGNORECASE)
# libxml2's word for a document that ends inside an element, naming the innermost.
_CUT_IN = re.compile(r"Premature end of data in tag (\S+)")
# Control characters are never text, and PostgreSQL text cannot hold a NUL: one in
# a feed entry (JSON escapes them as easily as any character) would fail the load
# of its whole batch. Dropped from text; percent-encoded in URLs, as browsers do.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_URL_CONTROL = re.compile("[\x00-\x1f\x7f]")
# A numeric character reference (`&#xD800;`, `&#55296;`, `&#0;`): one to a code point
# XML does not allow makes feedparser's fallback parser raise on the whole feed.
_CHAR_REFERENCE = re.compile(rb"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));")
_SURROGATE = re.compile("[\ud800-\udfff]")


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


@dataclass
class Listing:
    """What one feed, sitemap or robots.txt lists.

    items: article URLs with their metadata, one per URL without its fragment (the first listed wins).
    children: sitemaps to read next (a sitemap index's, robots.txt's `Sitemap:` lines), absolute,
        without fragments, each once; a sitemap that lists itself is among them.
    problems: (locator, reason) for each entry that could not be used, e.g. one with no URL;
        the locator is the listing's URL with `#entry-N`, `#url-N`, `#sitemap-N` or `#line-N` (from 1).
    """

    items: list[WebItem] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)


def parse_listing(data: bytes, base_url: str, *, max_bytes: int) -> Listing:
    """Decide what the body is (RSS/Atom/RDF feed, JSON Feed, XML sitemap or
    sitemap index, gzip-compressed or not, plain-text sitemap, or robots.txt)
    from the bytes themselves, and read it.

    `base_url` is the URL the body was finally read from (after redirects):
    relative links resolve against it, and against xml:base where the document
    gives one. A body over `max_bytes`, or that decompresses past it, is
    refused. Raises Rejected("discover", reason) for a body that is none of these.
    """
    if len(data) > max_bytes:
        raise Rejected("discover", f"body of {len(data)} bytes is over the limit of {max_bytes}")
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data, max_bytes)
    base_url = urldefrag(base_url).url
    text = _without_utf8_bom(data)
    start = text.lstrip()[:1]
    if not start:
        raise Rejected("discover", "not a feed or sitemap: the body is empty")
    if start == b"{":
        return _read_json_feed(text, base_url)
    if start == b"<" or data.startswith(_WIDE_XML_STARTS):
        return _read_xml(data, base_url)
    return _read_text(text, base_url)


def parse_feed(data: bytes, base_url: str, *, max_bytes: int) -> list[WebItem]:
    """The article items of any listing parse_listing reads (its children and problems are dropped)."""
    return parse_listing(data, base_url, max_bytes=max_bytes).items


def parse_sitemap(data: bytes, *, max_bytes: int, base_url: str = "") -> tuple[list[WebItem], list[str]]:
    """(article items, child sitemaps) of any listing parse_listing reads (its problems are dropped)."""
    listing = parse_listing(data, base_url, max_bytes=max_bytes)
    return listing.items, listing.children


# --- XML: feeds and sitemaps ------------------------------------------------


def _read_xml(data: bytes, base_url: str) -> Listing:
    root, cut_in = _xml_root(data, base_url)
    kind = _local_name(root)
    if kind.lower() in _FEED_ROOTS:
        return _read_xml_feed(data, root, base_url)
    if kind in _SITEMAP_ROOTS:
        listing = _read_sitemap(root, base_url)
        if cut_in == "loc" and listing.items:
            # The file ends inside a <loc>: its last URL is cut short (`…/page_`), not a page.
            cut = listing.items.pop()
            n = sum(1 for _ in _children_named(root, "url"))
            listing.problems.append((f"{base_url}#url-{n}", f"sitemap cut off inside this URL: {cut.url[:200]!r}"))
        return listing
    raise Rejected("discover", f"not a feed or sitemap: root element <{kind}>")


def _xml_root(data: bytes, base_url: str) -> tuple[etree._Element, str | None]:
    """The document's root, recovered from what errors it has, and the local
    name of the innermost element it ends inside, if it is cut off."""
    parser = _xml_parser()
    try:
        root = etree.fromstring(data, parser=parser, base_url=base_url or None)
    except etree.XMLSyntaxError as exc:
        raise Rejected("discover", f"not a readable feed or sitemap: {exc}") from None
    if root is None:
        raise Rejected("discover", "not a readable feed or sitemap: no XML element in it")
    cut_in = next((m.group(1) for e in parser.error_log if (m := _CUT_IN.search(e.message))), None)
    return root, cut_in.rpartition(":")[2] if cut_in else None


def _read_xml_feed(data: bytes, root: etree._Element, base_url: str) -> Listing:
    """An RSS, RDF or Atom feed: metadata from feedparser, and each entry's raw
    id from lxml (feedparser resolves ids like links, turning `abc` into a URL)."""
    try:
        parsed = feedparser.parse(
            _xml_char_references(data), response_headers={"content-location": base_url} if base_url else {}
        )
    except Exception as exc:  # feedparser's own failure on this feed: the feed is rejected with it, never the run
        raise Rejected("discover", f"not a readable feed: feedparser failed: {type(exc).__name__}: {exc}") from None
    if not parsed.entries and not parsed.get("version"):  # an empty document has no `version` key at all
        problem = parsed.get("bozo_exception")
        if isinstance(problem, xml.sax.SAXParseException):
            raise Rejected("discover", f"not a readable feed: {problem}")
        raise Rejected("discover", f"not a feed: feedparser reads no RSS, Atom or RDF feed from <{_local_name(root)}>")
    ids = _raw_entry_ids(root)
    if len(ids) != len(parsed.entries):  # the two parsers recovered a broken feed differently
        ids = [None] * len(parsed.entries)
    listing = Listing()
    for n, (entry, entry_id) in enumerate(zip(parsed.entries, ids, strict=True), start=1):
        url, no_url = _entry_url(_alternate_link(entry), entry_id)
        if url is None:
            listing.problems.append((f"{base_url}#entry-{n}", no_url))
            continue
        # dict.get: feedparser's own get() answers an absent updated_parsed with
        # published_parsed (and a deprecation warning).
        published, updated = dict.get(entry, "published_parsed"), dict.get(entry, "updated_parsed")
        item = WebItem(
            url=_url(base_url, url),
            title=_text(entry.get("title")),
            published=_utc(published or updated),
            author=_text(entry.get("author")),
            summary=_text(entry.get("summary")),
            updated=_utc(updated),
        )
        listing.items.append(item)
    listing.items = _first_per_url(listing.items)
    return listing


@dataclass(frozen=True, slots=True)
class _EntryId:
    """An entry's identifier as written: an RSS <guid> (a permalink unless it
    says isPermaLink="false"), an Atom <id> or an RDF rdf:about."""

    value: str
    permalink: bool = True
    name: str = "id"


def _raw_entry_ids(root: etree._Element) -> list[_EntryId | None]:
    """Per entry element, in document order (feedparser's order), its id as written."""
    return [_raw_entry_id(entry) for entry in _entry_elements(root)]


def _entry_elements(root: etree._Element) -> Iterator[etree._Element]:
    for element in root.iter(etree.Element):
        if _local_name(element) in ("item", "entry") and _namespace(element) in _ENTRY_NAMESPACES:
            yield element


def _raw_entry_id(entry: etree._Element) -> _EntryId | None:
    for child in entry.iterchildren(etree.Element):
        name = _local_name(child)
        if name == "guid" and child.text and child.text.strip():
            permalink = (child.get("isPermaLink") or child.get("ispermalink") or "true").strip().lower() != "false"
            return _EntryId(child.text.strip(), permalink, "guid")
        if name == "id" and child.text and child.text.strip():
            return _EntryId(child.text.strip())
    about = entry.get(_RDF_ABOUT)
    return _EntryId(about.strip(), name="rdf:about") if about and about.strip() else None


def _alternate_link(entry) -> str | None:
    """The entry's first rel="alternate" link (RSS <link> is one), as feedparser
    resolved it against xml:base and the base URL; a guid never counts here."""
    for link in entry.get("links", ()):
        if link.get("rel", "alternate") == "alternate" and link.get("href", "").strip():
            return link["href"]
    return None


def _entry_url(link: str | None, entry_id: _EntryId | None) -> tuple[str | None, str]:
    """(the entry's article URL, or None and the reason it has none): its link;
    else its guid or id when that is itself an absolute http(s) URL and, for a
    guid, a permalink."""
    if link:
        return link, ""
    if entry_id is None:
        return None, "feed entry has no link or id"
    if not entry_id.permalink:
        return None, f'feed entry has no link (guid {entry_id.value!r} has isPermaLink="false")'
    if not _is_absolute_http_url(entry_id.value):
        return None, f"feed entry has no link ({entry_id.name} {entry_id.value!r} is not a URL)"
    return entry_id.value, ""


def _read_sitemap(root: etree._Element, base_url: str) -> Listing:
    """A urlset (Google News tags read) or a sitemap index; <loc>s resolve
    against xml:base and the base URL, in any namespace or none."""
    listing = Listing()
    if _local_name(root) == "sitemapindex":
        for n, sitemap in enumerate(_children_named(root, "sitemap"), start=1):
            loc = _child_text(sitemap, "loc")
            if loc is None:
                listing.problems.append((f"{base_url}#sitemap-{n}", "sitemap index entry has no <loc>"))
            else:
                listing.children.append(_url(sitemap.base or base_url, loc))
        listing.children = _unique_urls(listing.children)
        return listing
    for n, url in enumerate(_children_named(root, "url"), start=1):
        loc = _child_text(url, "loc")
        if loc is None:
            listing.problems.append((f"{base_url}#url-{n}", "sitemap entry has no <loc>"))
            continue
        news = next(_children_named(url, "news"), None)
        lastmod = parse_date(_child_text(url, "lastmod"), strict=False)
        published = parse_date(_child_text(news, "publication_date"), strict=False) if news is not None else None
        title = _text(_child_text(news, "title")) if news is not None else None
        listing.items.append(
            WebItem(_url(url.base or base_url, loc), title=title, published=published or lastmod, updated=lastmod)
        )
    listing.items = _first_per_url(listing.items)
    return listing


def _children_named(element: etree._Element, localname: str) -> Iterator[etree._Element]:
    """Child elements of that local name, whatever their namespace (sitemaps
    are found with the protocol's, an old one, or none)."""
    return (child for child in element.iterchildren(etree.Element) if _local_name(child) == localname)


def _local_name(element: etree._Element) -> str:
    """The tag without its namespace; lxml's QName() would refuse the `itunes:subtitle`
    that a recovered document keeps for an undeclared prefix."""
    return str(element.tag).rpartition("}")[2]


def _namespace(element: etree._Element) -> str | None:
    tag = str(element.tag)
    return tag[1:].partition("}")[0] if tag.startswith("{") else None


def _child_text(element: etree._Element, localname: str) -> str | None:
    child = next(_children_named(element, localname), None)
    text = child.text.strip() if child is not None and child.text else ""
    return text or None


# --- JSON Feed ----------------------------------------------------------------


def _read_json_feed(data: bytes, base_url: str) -> Listing:
    try:
        feed = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Rejected("discover", f"not a readable JSON feed: {exc}") from None
    if not isinstance(feed, dict) or not isinstance(feed.get("items"), list):
        raise Rejected("discover", "not a JSON Feed: no items list")
    listing = Listing()
    for n, entry in enumerate(feed["items"], start=1):
        if not isinstance(entry, dict):
            listing.problems.append((f"{base_url}#entry-{n}", "JSON Feed item is not an object"))
            continue
        url, no_url = _json_item_url(entry)
        if url is not None and _SURROGATE.search(url):  # `\ud800` escaped in the JSON: no URL can hold it
            no_url = f"feed entry URL holds a lone surrogate, not text: {url[:200]!a}"
            url = None
        if url is None:
            listing.problems.append((f"{base_url}#entry-{n}", no_url))
            continue
        item = WebItem(
            url=_url(base_url, url),
            title=_text(entry.get("title")),
            published=parse_date(entry.get("date_published") or entry.get("date_modified"), strict=False),
            author=_json_authors(entry),
            summary=_text(entry.get("summary")),
            updated=parse_date(entry.get("date_modified"), strict=False),
        )
        listing.items.append(item)
    listing.items = _first_per_url(listing.items)
    return listing


def _json_item_url(entry: dict) -> tuple[str | None, str]:
    """(the item's article URL, or None and the reason it has none): `url`,
    else `external_url`, else an `id` that is itself an absolute http(s) URL."""
    for key in ("url", "external_url"):
        value = entry.get(key)
        if isinstance(value, str) and value.strip():
            return value, ""
    item_id = entry.get("id")
    if item_id is None or item_id == "":
        return None, "feed entry has no link or id"
    if not isinstance(item_id, str) or not _is_absolute_http_url(item_id):
        return None, f"feed entry has no link (id {item_id!r} is not a URL)"
    return item_id.strip(), ""


def _json_authors(entry: dict) -> str | None:
    """JSON Feed 1.1 `authors`, or 1.0's single `author`: their names, comma-separated."""
    authors = entry.get("authors") or ([entry["author"]] if isinstance(entry.get("author"), dict) else [])
    if not isinstance(authors, list):
        return None
    names = (_text(author.get("name")) for author in authors if isinstance(author, dict))
    return ", ".join(filter(None, names)) or None


# --- Plain text: robots.txt and text sitemaps ---------------------------------


def _read_text(data: bytes, base_url: str) -> Listing:
    """A robots.txt (its Sitemap: lines become children) or a plain-text sitemap
    (one absolute URL per line, UTF-8, as sitemaps.org has it)."""
    lines = data.decode("utf-8", errors="replace").splitlines()
    if any(_ROBOTS_LINE.match(line) for line in lines):
        return _read_robots(lines, base_url)
    entries = [(n, line.strip()) for n, line in enumerate(lines, start=1) if line.strip()]
    urls = [(n, line) for n, line in entries if _is_absolute_http_url(line)]
    if not urls or len(urls) * 2 < len(entries):
        raise Rejected(
            "discover",
            f"not a feed, sitemap or robots.txt: text of which {len(urls)} of {len(entries)} lines are URLs",
        )
    listing = Listing(items=_first_per_url(WebItem(_url(base_url, line)) for _, line in urls))
    listing.problems = [
        (f"{base_url}#line-{n}", f"text sitemap line is not an absolute http(s) URL: {line[:100]!r}")
        for n, line in entries
        if not _is_absolute_http_url(line)
    ]
    return listing


def _read_robots(lines: list[str], base_url: str) -> Listing:
    sitemaps = (match.group(1) for match in map(_SITEMAP_LINE.match, lines) if match and match.group(1))
    return Listing(children=_unique_urls(_url(base_url, sitemap) for sitemap in sitemaps))


# --- Shared helpers -----------------------------------------------------------


def _first_per_url(items: Iterable[WebItem]) -> list[WebItem]:
    """One item per URL, the first listed (URLs come here without fragments)."""
    unique: dict[str, WebItem] = {}
    for item in items:
        unique.setdefault(item.url, item)
    return list(unique.values())


def _unique_urls(urls: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(urls))


def _is_absolute_http_url(value: str) -> bool:
    value = value.strip()
    if not value or any(c.isspace() for c in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def _text(value) -> str | None:
    """A feed's text field, or None when it is absent, empty or not text at all
    (a JSON Feed may hold a number or an object where a string belongs)."""
    if not isinstance(value, str):
        return None
    return _CONTROL.sub("", value).strip() or None


def _url(base_url: str, link: str) -> str:
    """`link` resolved against `base_url`, control characters percent-encoded, the
    fragment dropped; a link urllib cannot split (`http://[x`) is kept as written,
    for the fetcher to refuse with its reason."""
    encoded = _URL_CONTROL.sub(lambda m: f"%{ord(m.group()):02X}", link.strip())
    try:
        return urldefrag(urljoin(base_url, encoded)).url
    except ValueError:
        return encoded


def _xml_char_references(data: bytes) -> bytes:
    """The feed with each character reference to a code point XML does not
    allow (a surrogate, a control character, past U+10FFFF) made `&#xFFFD;`,
    as an XML parser that recovers reads it; in an ASCII-compatible encoding
    (a UTF-16 feed is read as it is)."""
    if b"&#" not in data:
        return data
    return _CHAR_REFERENCE.sub(_allowed_reference, data)


def _allowed_reference(match: re.Match[bytes]) -> bytes:
    code = int(match.group(1), 16) if match.group(1) else int(match.group(2))
    allowed = (
        code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF
    )
    return match.group() if allowed else b"&#xFFFD;"


def _utc(parsed) -> datetime | None:
    return datetime(*parsed[:6]).replace(tzinfo=UTC) if parsed else None


def _without_utf8_bom(data: bytes) -> bytes:
    return data.removeprefix(codecs.BOM_UTF8)


def _gunzip(data: bytes, max_bytes: int) -> bytes:
    """Decompress, refusing to grow past `max_bytes` (a gzip bomb stops early)."""
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = decompressor.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise Rejected("discover", f"broken gzip: {exc}") from None
    if len(out) > max_bytes or decompressor.unconsumed_tail:
        raise Rejected("discover", f"listing over {max_bytes} bytes once decompressed")
    if not decompressor.eof:
        raise Rejected("discover", "broken gzip: the compressed data ends early")
    return out
