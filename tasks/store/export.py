r"""`newsdesk export`: current articles as CSV or JSON Lines, streamed.

Rows come through a server-side cursor in chunks, so memory stays flat
whatever the table's size. Arrays (authors, keywords) are written as JSON in
both formats; times as ISO 8601 in UTC, all in one form
(`2024-03-02T03:30:00.000000+00:00`); days as `2024-03-02`.

CSV tells null from an empty string as PostgreSQL's own CSV does: a null is
an empty unquoted field, an empty string a quoted one (`""`); with `null=` a
null is written as that text instead (e.g. `\N`, which
`pandas.read_csv(..., na_values=["\\N"], keep_default_na=False)` reads as missing
and nothing else).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import TextIO

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from newsdesk.tasks.packing import unpack

COLUMNS = (
    "id",
    "story_id",
    "duplicate_of",
    "dup_kind",
    "dup_score",
    "version",
    "url",
    "locator",
    "title",
    "summary",
    "published_at",
    "published_precision",
    "published_day",
    "publisher",
    "publisher_domain",
    "authors",
    "language",
    "keywords",
    "section",
    "source",
    "created_at",
    "body",
)
_CHUNK = 1000


_RELATIVE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$", re.I)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """The moment `--since` names: a day (`2024-03-01`, from its midnight UTC), a
    time (`2024-03-01T12:00`, UTC unless it says its zone), or a span back from now
    (`30m`, `24h`, `7d`, `2w`). ValueError for anything else."""
    match = _RELATIVE.match(text)
    if match:
        span = timedelta(**{_UNITS[match.group(2).lower()]: int(match.group(1))})
        return (now or datetime.now(UTC)) - span
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
        return datetime.combine(date.fromisoformat(text.strip()), time(), UTC)
    when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def rows(engine: Engine, *, since: datetime | date | None = None, canonical: bool = False) -> Iterator[dict]:
    """Current articles (only each story's canonical one with `canonical`), loaded at or after `since`, by id."""
    if isinstance(since, date) and not isinstance(since, datetime):
        since = datetime.combine(since, time(), UTC)
    query = (
        "SELECT id, story_id, duplicate_of, dup_kind, dup_score, version, url, locator, title, summary,"
        " published_at, published_precision, published_day, publisher, publisher_domain, authors, language,"
        " keywords, section, ingested_from AS source, created_at, body"
        " FROM newsdesk.articles WHERE is_current"
        " AND (CAST(:since AS timestamptz) IS NULL OR created_at >= CAST(:since AS timestamptz))"
        " AND (NOT :canonical OR duplicate_of IS NULL)"
        " ORDER BY id"
    )
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=_CHUNK).execute(
            sa.text(query), {"since": since, "canonical": canonical}
        )
        for row in result.mappings():
            yield dict(row)


def _value(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


_NEEDS_QUOTES = re.compile(r'[,"\r\n]|^\s|\s$')


def _csv_field(value: object, null: str) -> str:
    if value is None:
        return null
    if isinstance(value, list):
        value = json.dumps(value, ensure_ascii=False)
    text = str(_value(value))
    if text == "" or text == null or _NEEDS_QUOTES.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def write(out: TextIO, records: Iterator[dict], fmt: str, *, null: str = "") -> int:
    """Write `records` as `csv` (a header line, arrays as JSON, nulls as `null`,
    see the module docstring) or `jsonl`; the number written."""
    n = 0
    if fmt == "csv":
        out.write(",".join(COLUMNS) + "\r\n")
        for record in records:
            out.write(",".join(_csv_field(record.get(c), null) for c in COLUMNS) + "\r\n")
            n += 1
    else:
        for record in records:
            out.write(json.dumps({k: _value(record[k]) for k in COLUMNS}, ensure_ascii=False) + "\n")
            n += 1
    return n


def raw_document(engine: Engine, locator: str) -> bytes | None:
    """The bytes as read of `locator`'s latest stored document (a URL or a
    file path), whichever form `documents` holds them in; None if none is stored."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT raw, raw_encoding FROM newsdesk.documents WHERE locator = :locator"
                " ORDER BY fetched_at DESC, id DESC LIMIT 1"
            ),
            {"locator": locator},
        ).one_or_none()
    return None if row is None else unpack(row.raw, row.raw_encoding)
