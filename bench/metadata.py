"""`python -m bench.metadata`: metadata coverage and correctness on the 181 pages
of bench/data/article-extraction, before and after `tasks.extract.metadata.finish`.

"before" is the article as cleaning leaves it (what newsdesk stored until
migration 0009); "after" is what `prepare` now returns. Pure: no database.
The checks are independent of the normalising code where they can be: a
timestamp is checked against the time the page itself states (article:published_time
or JSON-LD datePublished, read here with the standard library), an author
against date words, digits, joins and placeholder accounts, a publisher against
URLs, copyright lines and generic labels.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path

from newsdesk.tasks.extract.clean import clean_document
from newsdesk.tasks.extract.decode import decode
from newsdesk.tasks.extract.prepare import prepare
from newsdesk.tasks.records import Article, Prepared, RawDocument

DATA = Path(__file__).resolve().parent / "data" / "article-extraction"
_DECLARED = re.compile(
    r"""(?:property|name|itemprop)=["'](?:article:published_time|datePublished)["'][^>]*content=["']([^"']+)"""
    r"""|"datePublished"\s*:\s*"([^"]+)\"""",
    re.I,
)
_DATE_WORD = re.compile(
    r"\b(?:jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec|january|february|march|april|june|july|august|september"
    r"|october|november|december|(?:mon|tues|wednes|thurs|fri|satur|sun)day)\b|\d",
    re.I,
)
_PLACEHOLDER = {"admin", "administrator", "staff", "editor", "webmaster", "rmb", "guest", "user"}
_ISO = re.compile(r"^[a-z]{2}$")


def _declared_utc(html: str) -> datetime | None:
    """The full timestamp with zone the page states, in UTC (Python's own ISO parser)."""
    for match in _DECLARED.finditer(html):
        value = (match.group(1) or match.group(2)).strip().replace("Z", "+00:00")
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            continue
        if when.tzinfo is not None and "T" in value:
            return when.astimezone(UTC)
    return None


def _bad_author(name: str) -> bool:
    return bool(
        ";" in name or " and " in name or _DATE_WORD.search(name) or name.casefold() in _PLACEHOLDER or " is " in name
    )


def _bad_publisher(name: str) -> bool:
    return bool(
        re.match(r"^(?:https?://|www\.)", name, re.I)
        or re.search(r"copyright|©|\b(19|20)\d\d\b", name, re.I)
        or name.casefold() in {"hosted", "home", "news", "blog"}
    )


def _site_suffix(article: Article, domain: str | None) -> bool:
    title = article.title or ""
    parts = re.split(r"\s+[-|–—]\s+", title)
    if len(parts) < 2:
        return False
    site = re.sub(r"\W+", "", parts[-1]).casefold()
    names = {re.sub(r"\W+", "", article.source_name or "").casefold()}
    if domain:
        names.add(domain.split(".")[0].casefold())
    names.discard("")
    return bool(site) and any(site == n or (len(n) >= 4 and (site.startswith(n) or n.startswith(site))) for n in names)


def measure() -> dict[str, dict[str, object]]:
    truth = json.loads((DATA / "ground-truth.json").read_text(encoding="utf-8"))
    pages = sorted((DATA / "html").glob("*.html.gz"))
    stats: dict[str, dict[str, object]] = {"before": {}, "after": {}}
    declared = 0
    for path in pages:
        raw = gzip.decompress(path.read_bytes())
        key = path.name.split(".")[0]
        url = truth.get(key, {}).get("url")
        text, _ = decode(raw, declared=None)
        before = clean_document(text, "text/html", url=url)
        result = prepare(RawDocument(str(path), raw, "text/html", hashlib.sha256(raw).hexdigest(), url=url))
        assert isinstance(result, Prepared), result
        after = result.article
        stated = _declared_utc(text)
        declared += stated is not None
        for name, article in (("before", before), ("after", after)):
            s = stats[name]

            def add(field: str, n: int = 1, s: dict = s) -> None:
                s[field] = int(s.get(field, 0)) + n  # type: ignore[call-overload]

            if article.published is not None:
                add("dated")
                with_time = (
                    article.published_precision == "datetime"
                    if name == "after"
                    else article.published.timetz().replace(tzinfo=None) != datetime.min.time()
                )
                add("dated_with_time", with_time)
                if stated is not None:
                    add("stated_day_kept", article.published.astimezone(UTC).date() == stated.date())
                    add("stated_instant_kept", article.published == stated)
            add("language_present", article.language is not None)
            add("language_iso_639_1", bool(article.language and _ISO.match(article.language)))
            authors = article.authors if name == "after" else ([article.author] if article.author else [])
            add("with_author", bool(authors))
            add("author_values_flagged", sum(_bad_author(a) for a in authors))
            add("publisher_present", article.source_name is not None)
            add("publisher_flagged", bool(article.source_name and _bad_publisher(article.source_name)))
            add("title_with_site_suffix", _site_suffix(article, after.publisher_domain))
            add("with_keywords", bool(article.keywords))
            add("with_section", article.section is not None)
            add("with_publisher_domain", article.publisher_domain is not None)
        stats["after"].setdefault("languages", set()).add(after.language)  # type: ignore[union-attr]
        stats["before"].setdefault("languages", set()).add(before.language)  # type: ignore[union-attr]
    for s in stats.values():
        s["languages"] = sorted(str(v) for v in s["languages"])  # type: ignore[call-overload]
        s["pages"] = len(pages)
        s["pages_stating_a_timestamp"] = declared
    return stats


def main() -> None:
    stats = measure()
    keys = [k for k in stats["after"] if k != "languages"]
    print(f"{'':32} {'before':>8} {'after':>8}")
    for key in keys:
        print(f"{key:32} {stats['before'].get(key, 0)!s:>8} {stats['after'].get(key, 0)!s:>8}")
    for name in ("before", "after"):
        print(f"languages {name}: {', '.join(stats[name]['languages'])}")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
