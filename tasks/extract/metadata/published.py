"""The publication time a page states, and how precisely. Pure, no network.

Sources, best first (a later value with a time of day replaces a bare day on
the same day, and one with a zone an equal time without one):

1. JSON-LD `datePublished` of the article (`jsonld.published`);
2. `<meta property="article:published_time">`;
3. `itemprop="datePublished"` on any element (its `content` or `datetime`
   attribute, else its text), `<time pubdate>`, and WordPress's
   `<time class="entry-date published" datetime=…>`;
4. the other meta tags that name a publication date (`parsely-pub-date`,
   `DC.date.issued`, generic `DC.Date`, …).

Nothing else in the markup counts: not a `dateModified`, not a date in a
script, not the dates of a list of other articles.

Precision: `datetime` (a time with its zone), `datetime_no_zone` (a time of
day without a zone: stored as if it were UTC), `date` (only the day: stored
as its midnight UTC).
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass
from datetime import datetime

from newsdesk.tasks.extract.clean.dates import date_precision, parse_date

_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9]*)\b([^>]*)>")
_ATTR = re.compile(r"""([a-zA-Z:_-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
_TEXT_AFTER = re.compile(r"\s*([^<]{4,80})<")

_META_ARTICLE = ("article:published_time", "og:article:published_time")
_META_OTHER = (
    "parsely-pub-date",
    "sailthru.date",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "dc.date.issued",
    "dcterms.issued",
    "dcterms.created",
    "dc.date.created",
    "dc.date",
    "dcterms.date",
    "date",
)


def attrs(tag: str) -> dict[str, str]:
    return {m.group(1).lower(): m.group(2) or m.group(3) or m.group(4) or "" for m in _ATTR.finditer(tag)}


def marked_up(html: str) -> list[str]:
    """`itemprop="datePublished"` on any element, `<time pubdate>` and WordPress's
    published `<time>`, in document order."""
    values = []
    for match in _TAG.finditer(html):
        name, rest = match.group(1).lower(), match.group(2)
        low = rest.lower()
        if "datepublished" not in low and "pubdate" not in low and "published" not in low:
            continue
        a = attrs(rest)
        classes = set(a.get("class", "").lower().split())
        if a.get("itemprop", "").lower().split() == ["datepublished"] or (name == "time" and "pubdate" in a):
            value = a.get("content") or a.get("datetime")
            if not value and name != "meta":
                text = _TEXT_AFTER.match(html, match.end())
                value = text.group(1) if text else None
        elif name == "time" and "published" in classes and "updated" not in classes:
            value = a.get("datetime")
        else:
            continue
        if value and value.strip():
            values.append(" ".join(html_lib.unescape(value).split()))
    return values


@dataclass(frozen=True, slots=True)
class Stated:
    when: datetime
    precision: str  # datetime, datetime_no_zone, date


def choose(json_ld: list[str], metas: dict[str, list[str]], marked: list[str]) -> Stated | None:
    """The page's publication time from its candidates, by the rules of the module docstring."""
    candidates = json_ld[:1]
    candidates += [metas[key][0] for key in _META_ARTICLE if key in metas]
    candidates += marked[:1] + [metas[key][0] for key in ("datepublished",) if key in metas]
    candidates += [metas[key][0] for key in _META_OTHER if key in metas]
    candidates += json_ld[1:]
    parsed = [
        (value, when, kind)
        for value in candidates
        if (when := parse_date(value, strict=False)) and (kind := date_precision(value))
    ]
    if not parsed:
        return None
    timed = [p for p in parsed if p[2] != "date"]
    value, when, kind = parsed[0]
    if kind == "date":
        same_day = [p for p in timed if p[1].date() == when.date()]
        if not same_day:
            return Stated(when, kind)
        value, when, kind = same_day[0]
    if kind == "datetime_no_zone":
        # The same wall time stated elsewhere with its zone says which instant it is.
        for _, other, other_kind in timed:
            if other_kind == "datetime" and other.replace(tzinfo=None) == when.replace(tzinfo=None):
                return Stated(other, "datetime")
    return Stated(when, kind)
