"""`newsdesk export`: current articles as CSV or JSON Lines, streamed.

Rows come through a server-side cursor in chunks, so memory stays flat
whatever the table's size. Arrays (authors, keywords) are written as JSON in
both formats; times as ISO 8601 in UTC.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import TextIO

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from newsdesk.tasks.packing import unpack

COLUMNS = (
    "id",
    "story_id",
    "duplicate_of",
    "dup_kind",
    "url",
    "locator",
    "title",
    "summary",
    "published_at",
    "published_precision",
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


def rows(engine: Engine, *, since: date | None = None, canonical: bool = False) -> Iterator[dict]:
    """Current articles (only each story's canonical one with `canonical`), loaded on or after `since` (UTC), by id."""
    query = (
        "SELECT id, story_id, duplicate_of, dup_kind, url, locator, title, summary, published_at, published_precision,"
        " publisher, publisher_domain, authors, language, keywords, section, ingested_from AS source, created_at, body"
        " FROM newsdesk.articles WHERE is_current"
        " AND (CAST(:since AS date) IS NULL OR created_at >= CAST(:since AS date)::timestamp AT TIME ZONE 'UTC')"
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
        return value.isoformat()
    return value


def write(out: TextIO, records: Iterator[dict], fmt: str) -> int:
    """Write `records` as `csv` (a header line, arrays as JSON) or `jsonl`; the number written."""
    n = 0
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for record in records:
            writer.writerow(
                [
                    json.dumps(v, ensure_ascii=False) if isinstance(v, list) else _value(v)
                    for v in map(record.get, COLUMNS)
                ]
            )
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
