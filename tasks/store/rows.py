"""The rows a load writes to `documents` and `articles`, in binary COPY's column order, and their new ids."""

from __future__ import annotations

import sqlalchemy as sa
from psycopg.types.json import Jsonb
from sqlalchemy.engine import Connection

from newsdesk.tasks import packing
from newsdesk.tasks.dedup.match import Link
from newsdesk.tasks.records import Prepared

# Column names and PostgreSQL types, for binary COPY (raw bytes go as they are,
# not hex-escaped as text COPY would send them).
DOCUMENT_COLUMNS = (
    ("id", "int8"),
    ("locator", "text"),
    ("source", "text"),
    ("media_type", "text"),
    ("encoding", "text"),
    ("content_sha256", "text"),
    ("byte_size", "int4"),
    ("raw", "bytea"),
    ("raw_encoding", "text"),
    ("run_id", "int8"),
    ("file_mtime_ns", "int8"),
    ("listing", "jsonb"),
)
ARTICLE_COLUMNS = (
    ("id", "int8"),
    ("document_id", "int8"),
    ("locator", "text"),
    ("version", "int4"),
    ("url", "text"),
    ("title", "text"),
    ("summary", "text"),
    ("body", "text"),
    ("published_at", "timestamptz"),
    ("publisher", "text"),
    ("author", "text"),
    ("language", "text"),
    ("published_precision", "text"),
    ("authors", "text[]"),
    ("publisher_domain", "text"),
    ("keywords", "text[]"),
    ("section", "text"),
    ("ingested_from", "text"),
    ("body_hash", "text"),
    ("duplicate_of", "int8"),
    ("dup_kind", "text"),
    ("dup_score", "float4"),
    ("story_id", "int8"),
    ("event_score", "float4"),
    ("run_id", "int8"),
)


def next_ids(conn: Connection, sequence: str, n: int) -> list[int]:
    if n == 0:
        return []
    rows = conn.execute(sa.text("SELECT nextval(:seq) FROM generate_series(1, :n)"), {"seq": sequence, "n": n})
    return [row[0] for row in rows]


def document_row(item: Prepared, document_id: int, source: str, run_id: int) -> tuple:
    doc = item.document
    listing = Jsonb(doc.hints.to_json()) if doc.hints is not None else None
    return (
        document_id,
        doc.locator,
        source,
        doc.media_type,
        item.encoding,
        doc.sha256,
        doc.byte_size,
        doc.packed if doc.packed is not None else packing.pack(doc.raw),
        packing.ENCODING,
        run_id,
        doc.mtime_ns,
        listing,
    )


def article_row(
    item: Prepared, article_id: int, document_id: int, version: int, link: Link, source: str, run_id: int
) -> tuple:
    a = item.article
    return (
        article_id,
        document_id,
        item.document.locator,
        version,
        a.url,
        a.title,
        a.summary,
        a.body,
        a.published,
        a.source_name,  # the publisher
        a.author,
        a.language,
        a.published_precision,
        a.authors,
        a.publisher_domain,
        a.keywords,
        a.section,
        source,
        item.body_hash,
        link.duplicate_of,
        link.kind,
        link.score,
        link.story_id,
        link.event_score,
        run_id,
    )
