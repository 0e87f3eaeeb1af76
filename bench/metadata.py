"""`make bench-metadata`: how well newsdesk keeps the metadata the pages state, on
both page sets of bench/data (181 + 495 real pages) and the seeds.

Pure: no database. Every page goes through `prepare`, as ingest does. The truth
is read from the page's own markup with the standard library only (html.parser
and json), never with the code under test:

- **publication time**: the page's machine-readable `datePublished`: JSON-LD
  `datePublished` of the article (any shape: `@graph`, lists, nesting), else
  `<meta property="article:published_time">`, else `itemprop="datePublished"`
  on any element (its `content` or `datetime`). A value with a time and a zone
  must be stored at that instant (`datetime`); a time without a zone at that
  wall time read as UTC, flagged `datetime_no_zone`; a bare day as that day,
  precision `date`.
- **publisher**: the page names its site when it has `og:site_name` or a
  JSON-LD `publisher.name`; a stored publisher that is then a bare host name
  (no space, a dot, a known ending) or holds a ` | ` / ` - ` tagline is wrong.
- **authors**: an entry is not a person when it is one of the page's
  non-person declarations (a JSON-LD author or publisher of a type other than
  Person, the og:site_name) or fails generic checks (digits, more than five
  words, an account name, a copyright line, a legal-form word).
- **titles**: a title still ending in the publisher, og:site_name or domain
  after a separator; a slug (`words-joined-by-hyphens`) as title.

`python -m bench.metadata [--json FILE]` prints the figures and the ids of the
pages that miss, and writes every page's result to FILE when asked.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path

from newsdesk.tasks.extract.prepare import prepare
from newsdesk.tasks.records import Article, Prepared, RawDocument

ROOT = Path(__file__).resolve().parent
SETS = {
    "article-extraction": (ROOT / "data" / "article-extraction", "ground-truth.json"),
    "extraction-eval": (ROOT / "data" / "extraction-eval", "truth.json"),
}
SEEDS = ROOT.parent / "seeds"

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
    "scholarlyarticle",
    "socialmediaposting",
    "discussionforumposting",
    "itempage",
    "creativework",
    "pressrelease",
}


# ---------------------------------------------------------------- the page's own markup


@dataclass
class Markup:
    jsonld: list[dict] = field(default_factory=list)
    metas: dict[str, list[str]] = field(default_factory=dict)
    itemprop_published: list[str] = field(default_factory=list)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found = Markup()
        self._script: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "meta":
            key = (a.get("property") or a.get("name") or a.get("itemprop") or "").lower()
            if key and a.get("content", "").strip():
                self.found.metas.setdefault(key, []).append(a["content"].strip())
        if a.get("itemprop", "").lower() == "datepublished" and tag != "meta":
            value = a.get("content") or a.get("datetime")
            if value and value.strip():
                self.found.itemprop_published.append(value.strip())
        if tag == "script" and "ld+json" in a.get("type", "").lower():
            self._script = []

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            text = "".join(self._script).strip().removeprefix("<!--").removesuffix("-->")
            self._script = None
            with contextlib.suppress(ValueError):
                self.found.jsonld.append(json.loads(text))


def read_markup(html: str) -> Markup:
    reader = _Reader()
    try:
        reader.feed(html)
        reader.close()
    except Exception:  # noqa: BLE001 - a page html.parser cannot read has no truth
        pass
    return reader.found


def _walk(value: object) -> Iterator[dict]:
    if isinstance(value, list):
        for item in value:
            yield from _walk(item)
    elif isinstance(value, dict):
        yield value
        for key, item in value.items():
            if key in ("@graph", "mainEntity", "mainEntityOfPage", "itemListElement", "hasPart", "item"):
                yield from _walk(item)


def _types(item: dict) -> set[str]:
    kind = item.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {str(k).lower() for k in kinds if k}


def stated_published(markup: Markup) -> str | None:
    """The page's machine-readable datePublished (see the module docstring): the
    first one in ISO 8601 with a year after 1900 (not a "0001-01-01" placeholder).
    A time without a zone gives way to the same wall time stated with its zone
    in another of these places."""
    candidates = []
    for block in markup.jsonld:
        for item in _walk(block):
            value = item.get("datePublished")
            if isinstance(value, str) and value.strip() and _types(item) & _ARTICLE_TYPES:
                candidates.append(value.strip())
    for key in ("article:published_time", "og:article:published_time", "datepublished"):
        candidates += markup.metas.get(key, [])[:1]
    candidates += markup.itemprop_published[:1]
    valid = [(v, w) for v in candidates if (w := expected(v)) and w[0].year >= 1900]
    if not valid:
        return None
    value, (_, kind) = valid[0]
    if kind == "datetime_no_zone":
        for other, (_, other_kind) in valid:
            if other_kind == "datetime" and _wall(other) == _wall(value):
                return other
    return value


def _wall(value: str) -> str:
    """The wall time of an ISO 8601 value, to the second, without its zone."""
    return value.replace(" ", "T", 1)[:19]


_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_ISO_ZONE = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")


def expected(value: str) -> tuple[datetime, str] | None:
    """The instant a stated value means and the precision it must be stored with; None when not ISO 8601."""
    text = value.strip()
    if _ISO_DAY.match(text):
        day = date.fromisoformat(text)
        return datetime(day.year, day.month, day.day, tzinfo=UTC), "date"
    if not _ISO_TIME.match(text):
        return None
    zoned = bool(_ISO_ZONE.search(text))
    if zoned and re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        return None
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC), "datetime_no_zone"
    return when.astimezone(UTC), "datetime"


def site_names(markup: Markup) -> list[str]:
    """The names the page gives its site: og:site_name, JSON-LD publisher.name (URLs and "Hosted" are no names)."""
    names = list(markup.metas.get("og:site_name", []))
    for block in markup.jsonld:
        for item in _walk(block):
            publisher = item.get("publisher")
            for entry in publisher if isinstance(publisher, list) else [publisher]:
                if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                    names.append(entry["name"])
    names = [" ".join(n.split()) for n in names if n.strip()]
    return [n for n in names if not re.match(r"^(?:https?://|hosted$)", n, re.I)]


def _parts(names: list[str]) -> set[str]:
    """Every separator-delimited part of the site names ("GAY.CH · Alles bleibt anders!" -> "GAY.CH", ...)."""
    return {p.strip() for n in names for p in re.split(r"\s[|–—·:-]\s", n)} | set(names)


def non_person_names(markup: Markup) -> set[str]:
    """Names the page itself declares to be no person."""
    names = {n.casefold() for n in site_names(markup)}
    for block in markup.jsonld:
        for item in _walk(block):
            author = item.get("author")
            for entry in author if isinstance(author, list) else [author]:
                if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                    kinds = _types(entry)
                    if kinds and "person" not in kinds:
                        names.add(" ".join(entry["name"].split()).casefold())
    return names


# ---------------------------------------------------------------- generic checks

_LEGAL = re.compile(
    r"\b(?:gmbh|ag|inc|ltd|llc|corp|plc|s\.a|verlag|media|press|news|zeitung|redaktion|team|copyright|agency"
    r"|reuters|dpa|afp|ap|epd|kna|sid|apa|ansa|efe|associated|staff|newsroom|follow|name|jobs|autor|autorin"
    r"|author|admin)\b",
    re.I,
)
_HOST = re.compile(r"^[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|de|at|ch|uk|fr|es|it|nl|ru|info|io|co|eu|ua|by|pl|us)$", re.I)


def bad_author(name: str, page_non_persons: set[str]) -> str | None:
    """Why an author entry is no person's name, or None."""
    if name.casefold() in page_non_persons:
        return "declared by the page as no person"
    if any(ch.isdigit() for ch in name) or "@" in name or "©" in name:
        return "digits or symbols"
    words = name.split()
    if len(words) > 5:
        return "more than five words"
    if "admin" in name.casefold():
        return "account"
    if _LEGAL.search(name):
        return "organisation, label or role word"
    if len(words) == 1:
        return "a single word"
    if words[0].casefold() in {"the", "der", "die", "das", "in", "text", "analysis", "article", "interview"}:
        return "a title, label or phrase"
    if words[-1].casefold() in {"de", "at", "ch", "com", "net", "org"}:
        return "a host name"
    particles = {"de", "da", "del", "della", "der", "den", "di", "du", "la", "le", "van", "von", "zu", "y", "al", "bin"}
    if any(w[0].islower() and w.casefold() not in particles for w in words[1:]):
        return "a phrase (a lower-case word)"
    if re.search(r"\b(?:post|times|welle|sport|verein|partei|user|says|international|diario|noticias)\b", name, re.I):
        return "a medium, an association or a phrase"
    return None


def bare_host(name: str) -> bool:
    return bool(_HOST.match(name.strip()))


def tagline(name: str) -> bool:
    return bool(re.search(r"\s[|–—-]\s|\s:\s", name))


_SLUG = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+){2,}$")
_SEP = re.compile(r"\s+(?:[-|–—·»:]|::)\s+")


def _key(text: str) -> str:
    return re.sub(r"\W+", "", text).casefold()


def title_suffix(title: str, names: list[str], domain: str | None) -> bool:
    """The title still ends with a site name: after its last separator stands the
    publisher, a name the page gives its site, or the domain (or its first label)."""
    keys = {_key(n) for n in names if n}
    if domain:
        keys |= {_key(domain), _key(domain.split(".")[0])}
    keys.discard("")
    for name in names:  # the site name itself may hold a separator
        if name and len(name) >= 3 and _key(title).endswith(_key(name)) and _key(title) != _key(name):
            if _SEP.search(title[: max(0, len(title) - len(name))][-6:] + " "):
                return True
    parts = _SEP.split(title)
    return len(parts) > 1 and _key(parts[-1]) in keys


# ---------------------------------------------------------------- measuring


@dataclass
class Page:
    key: str
    html: str
    url: str | None
    media_type: str = "text/html"


def pages(limit: int | None = None) -> Iterator[tuple[str, Page]]:
    for name, (folder, truth_file) in SETS.items():
        truth = json.loads((folder / truth_file).read_text(encoding="utf-8"))
        for path in sorted((folder / "html").glob("*.html.gz"))[:limit]:
            key = path.name.split(".")[0]
            url = truth.get(key, {}).get("url")
            yield name, Page(key, gzip.decompress(path.read_bytes()).decode("utf-8", "replace"), url)
    for path in sorted(SEEDS.glob("*.txt"))[:limit]:
        yield "seeds", Page(path.name.split("_")[0], path.read_text(encoding="utf-8"), None, "text/plain")


def _prepare(page: Page) -> Article | None:
    raw = page.html.encode("utf-8")
    url = page.url if page.url and "://" in page.url else None
    result = prepare(
        RawDocument(page.key, raw, page.media_type, hashlib.sha256(raw).hexdigest(), url=url, charset="utf-8")
    )
    return result.article if isinstance(result, Prepared) else None


_DAY_LINE = re.compile(
    r"^(?:Date|Datum|Published|Publiziert)\s*:\s*(\d{4}-\d{2}-\d{2}|\d{1,2}\.\d{1,2}\.\d{4})\s*$", re.I | re.M
)


def measure(limit: int | None = None) -> dict:
    results: list[dict] = []
    for set_name, page in pages(limit):
        article = _prepare(page)
        row: dict = {"set": set_name, "page": page.key}
        results.append(row)
        if article is None:
            row["rejected"] = True
            continue
        markup = read_markup(page.html) if page.media_type == "text/html" else Markup()
        row.update(
            published=article.published.isoformat() if article.published else None,
            precision=article.published_precision,
            authors=article.authors,
            publisher=article.source_name,
            title=article.title,
            section=article.section,
            keywords=article.keywords,
        )
        stated = stated_published(markup)
        if page.media_type == "text/plain" and (line := _DAY_LINE.search(page.html)):
            stated = line.group(1)
            if "." in stated:
                d, m, y = stated.split(".")
                stated = f"{y}-{int(m):02d}-{int(d):02d}"
        want = expected(stated) if stated else None
        if want is not None:
            instant, precision = want
            row["stated"] = stated
            got = article.published
            same_instant = got is not None and got == instant
            same_day = got is not None and got.astimezone(UTC).date() == instant.date()
            if precision == "date":
                row["date_exact"] = same_day and article.published_precision == "date"
            else:
                row["date_exact"] = same_instant and article.published_precision == precision
            row["date_kind"] = precision
            row["date_same_day"] = same_day
            row["date_missing"] = got is None
        non_persons = non_person_names(markup)
        row["bad_authors"] = {a: why for a in article.authors if (why := bad_author(a, non_persons))}
        names = site_names(markup)
        row["names_site"] = any(not bare_host(n) for n in names)
        publisher = article.source_name or ""
        # Wrong only when the page names its site otherwise: "CBSSports.com" as og:site_name,
        # or as a part of "GAY.CH · Alles bleibt anders!", is its own name.
        row["publisher_bare_host"] = (
            any(not bare_host(n) for n in names)
            and (not publisher or bare_host(publisher))
            and publisher not in _parts(names)
        )
        row["publisher_tagline"] = bool(publisher) and tagline(publisher) and publisher not in names
        title = article.title or ""
        row["title_suffix"] = bool(title) and title_suffix(title, [publisher, *names], article.publisher_domain)
        row["title_slug"] = bool(_SLUG.match(title))
        row["section_entity"] = bool(article.section and re.search(r"&[a-z]+;|&#\d+;", article.section))
        row["keyword_guillemets"] = any(re.search(r"[«»“”„\"]", k) for k in article.keywords)
    return {"pages": results, "figures": figures(results)}


def _pct(n: int, d: int) -> str:
    return f"{n}/{d} ({100 * n / d:.1f}%)" if d else "0/0"


def figures(rows: list[dict]) -> dict[str, object]:
    kept = [r for r in rows if not r.get("rejected")]
    dated = [r for r in kept if "date_exact" in r]
    by_kind = {k: [r for r in dated if r["date_kind"] == k] for k in ("datetime", "datetime_no_zone", "date")}
    authors = [a for r in kept for a in r["authors"]]
    bad = [(r["page"], a, why) for r in kept for a, why in r["bad_authors"].items()]
    naming = [r for r in kept if r["names_site"]]
    out: dict[str, object] = {
        "pages": len(rows),
        "rejected": [r["page"] for r in rows if r.get("rejected")],
        "dates: stated and stored exactly": _pct(sum(r["date_exact"] for r in dated), len(dated)),
        "dates: stated, zoned time, exact": _pct(
            sum(r["date_exact"] for r in by_kind["datetime"]), len(by_kind["datetime"])
        ),
        "dates: stated, time without zone, flagged": _pct(
            sum(r["date_exact"] for r in by_kind["datetime_no_zone"]), len(by_kind["datetime_no_zone"])
        ),
        "dates: stated, day only, labelled date": _pct(
            sum(r["date_exact"] for r in by_kind["date"]), len(by_kind["date"])
        ),
        "dates: stated but stored on another day": _pct(
            sum(not r["date_same_day"] and not r["date_missing"] for r in dated), len(dated)
        ),
        "dates: stated but none stored": _pct(sum(r["date_missing"] for r in dated), len(dated)),
        "dates: pages with any date stored": _pct(sum(r["published"] is not None for r in kept), len(kept)),
        "authors: entries not a person": _pct(len(bad), len(authors)),
        "publishers: bare host where the page names its site": _pct(
            sum(r["publisher_bare_host"] for r in naming), len(naming)
        ),
        "publishers: with a tagline": _pct(sum(r["publisher_tagline"] for r in kept), len(kept)),
        "titles: site suffix left": _pct(sum(r["title_suffix"] for r in kept), len(kept)),
        "titles: slug": _pct(sum(r["title_slug"] for r in kept), len(kept)),
        "sections with an HTML entity": sum(r["section_entity"] for r in kept),
        "keyword lists with quote marks": sum(r["keyword_guillemets"] for r in kept),
    }
    out["misses"] = {
        "dates not exact": [
            f"{r['page']}: stated {r['stated']}, stored {r['published']} {r['precision']}"
            for r in dated
            if not r["date_exact"]
        ],
        "authors not a person": [f"{p}: {a!r} ({why})" for p, a, why in bad],
        "publisher bare host": [f"{r['page']}: {r['publisher']!r}" for r in naming if r["publisher_bare_host"]],
        "publisher tagline": [f"{r['page']}: {r['publisher']!r}" for r in kept if r["publisher_tagline"]],
        "title suffix": [f"{r['page']}: {r['title']!r} ({r['publisher']!r})" for r in kept if r["title_suffix"]],
        "title slug": [f"{r['page']}: {r['title']!r}" for r in kept if r["title_slug"]],
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, help="write every page's result here")
    parser.add_argument("--limit", type=int, help="only the first N pages of each set (a quick look)")
    args = parser.parse_args()
    result = measure(args.limit)
    figs = result["figures"]
    for key, value in figs.items():
        if key != "misses":
            print(f"{key:55} {value}")
    for key, lines in figs["misses"].items():
        print(f"\n{key} ({len(lines)}):")
        for line in lines:
            print(f"  {line}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
