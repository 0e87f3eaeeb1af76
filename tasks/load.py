"""Dedup and load one batch into PostgreSQL, in one transaction.

Decides each item's outcome against what is stored: `unchanged` (same raw
content as the current version of its locator), `updated` (new content for a
known locator), `duplicate` (an exact copy of a stored or earlier article) or
`inserted`; and writes documents, articles, rejections and the run's counts
together, so a batch is either loaded whole or not at all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tasks import http_cache
from tasks.records import OUTCOMES, Prepared, Problem, Unchanged

# Serialises loads across runs and workers: dedup reads then writes, and two
# batches deciding "new story" for the same body at once would both insert it.
LOAD_LOCK = 7_214_001

# Column names and PostgreSQL types, for binary COPY (raw bytes go as they are,
# not hex-escaped as text COPY would send them).
DOCUMENT_COLUMNS = (
    ("id", "int8"), ("locator", "text"), ("source", "text"), ("media_type", "text"), ("encoding", "text"),
    ("content_sha256", "text"), ("byte_size", "int4"), ("raw", "bytea"), ("run_id", "int8"),
)  # fmt: skip
ARTICLE_COLUMNS = (
    ("id", "int8"), ("document_id", "int8"), ("locator", "text"), ("version", "int4"), ("url", "text"),
    ("title", "text"), ("summary", "text"), ("body", "text"), ("published_at", "timestamptz"),
    ("source_name", "text"), ("author", "text"), ("language", "text"), ("ingested_from", "text"),
    ("body_hash", "text"), ("duplicate_of", "int8"), ("dup_kind", "text"), ("dup_score", "float4"),
    ("story_id", "int8"), ("run_id", "int8"),
)  # fmt: skip


@dataclass(slots=True)
class StoredVersion:
    """The current stored version of a locator."""

    id: int
    version: int
    story_id: int
    is_canonical: bool
    content_sha256: str
    fetched_at: datetime


def load_batch(
    engine: Engine, *, run_id: int, source: str, items: Sequence[Prepared | Problem | Unchanged]
) -> Counter:
    """Load a batch; the counts per outcome, which add up to len(items)."""
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOAD_LOCK})
        counts = _load(conn, run_id, source, items)
        add_counts(conn, run_id, source, counts)
    return counts


def _load(conn: Connection, run_id: int, source: str, items: Sequence[Prepared | Problem | Unchanged]) -> Counter:
    counts: Counter = Counter(unchanged=sum(1 for item in items if isinstance(item, Unchanged)))
    problems = [item for item in items if isinstance(item, Problem)]
    prepared = _unique_by_locator([item for item in items if isinstance(item, Prepared)], problems)
    for problem in problems:
        counts[problem.outcome] += 1
    current = _current_versions(conn, [p.document.locator for p in prepared])
    stories = stories_by_hash(conn, [p.body_hash for p in prepared])

    fresh = [p for p in prepared if not _is_unchanged(p, current)]
    counts["unchanged"] += len(prepared) - len(fresh)
    document_ids = _next_ids(conn, "newsdesk.documents_id_seq", len(fresh))
    article_ids = _next_ids(conn, "newsdesk.articles_id_seq", len(fresh))

    documents, articles, superseded = [], [], []
    for item, document_id, article_id in zip(fresh, document_ids, article_ids):
        previous = current.get(item.document.locator)
        version = 1
        duplicate_of = None
        story_id = stories.get(item.body_hash)
        if previous is not None:
            superseded.append(previous.id)
            version = previous.version + 1
            counts["updated"] += 1
            # A new version of a story's canonical article stays its canonical article.
            if previous.is_canonical:
                story_id = previous.story_id
            elif story_id is not None:
                duplicate_of = story_id
            else:
                story_id = article_id
        elif story_id is not None:
            duplicate_of = story_id
            counts["duplicate"] += 1
        else:
            story_id = article_id
            counts["inserted"] += 1
        stories.setdefault(item.body_hash, story_id)
        documents.append(_document_row(item, document_id, source, run_id))
        articles.append(article_row(item, article_id, document_id, version, duplicate_of, story_id, source, run_id))

    if superseded:
        conn.execute(
            sa.text("UPDATE newsdesk.articles SET is_current = false, updated_at = now() WHERE id = ANY(:ids)"),
            {"ids": superseded},
        )
    copy_rows(conn, "newsdesk.documents", DOCUMENT_COLUMNS, documents)
    copy_rows(conn, "newsdesk.articles", ARTICLE_COLUMNS, articles)
    http_cache.remember(conn, ((p.document.locator, p.document.etag, p.document.last_modified, None) for p in prepared))
    record_problems(conn, run_id, source, problems)
    return +counts  # only the outcomes that occurred


def _unique_by_locator(prepared: list[Prepared], problems: list[Problem]) -> list[Prepared]:
    """One item per locator: a source listing the same URL twice loads it once."""
    seen: set[str] = set()
    unique = []
    for item in prepared:
        if item.document.locator in seen:
            problems.append(Problem(item.document.locator, "rejected", "discover", "listed twice in this batch"))
            continue
        seen.add(item.document.locator)
        unique.append(item)
    return unique


def _is_unchanged(item: Prepared, current: dict[str, StoredVersion]) -> bool:
    previous = current.get(item.document.locator)
    return previous is not None and previous.content_sha256 == item.document.sha256


def stored_versions(engine: Engine, locators: Sequence[str]) -> dict[str, StoredVersion]:
    """The current stored version of each known locator (a batch's items are
    checked against it before any cleaning or fetching)."""
    with engine.connect() as conn:
        return _current_versions(conn, list(locators))


def _current_versions(conn: Connection, locators: list[str]) -> dict[str, StoredVersion]:
    if not locators:
        return {}
    rows = conn.execute(
        sa.text(
            "SELECT a.locator, a.id, a.version, a.story_id, a.duplicate_of IS NULL, d.content_sha256, d.fetched_at"
            " FROM newsdesk.articles a JOIN newsdesk.documents d ON d.id = a.document_id"
            " WHERE a.is_current AND a.locator = ANY(:locators)"
        ),
        {"locators": locators},
    )
    return {row[0]: StoredVersion(*row[1:]) for row in rows}


def stories_by_hash(conn: Connection, hashes: list[str]) -> dict[str, int]:
    if not hashes:
        return {}
    rows = conn.execute(
        sa.text(
            "SELECT DISTINCT ON (body_hash) body_hash, story_id FROM newsdesk.articles"
            " WHERE is_current AND body_hash = ANY(:hashes) ORDER BY body_hash, id"
        ),
        {"hashes": list(set(hashes))},
    )
    return dict(rows.all())


def _next_ids(conn: Connection, sequence: str, n: int) -> list[int]:
    if n == 0:
        return []
    rows = conn.execute(sa.text("SELECT nextval(:seq) FROM generate_series(1, :n)"), {"seq": sequence, "n": n})
    return [row[0] for row in rows]


def _document_row(item: Prepared, document_id: int, source: str, run_id: int) -> tuple:
    doc = item.document
    return (document_id, doc.locator, source, doc.media_type, item.encoding, doc.sha256, len(doc.raw), doc.raw, run_id)


def article_row(item, article_id, document_id, version, duplicate_of, story_id, source, run_id) -> tuple:
    a = item.article
    return (
        article_id, document_id, item.document.locator, version, a.url, a.title, a.summary, a.body,
        a.published, a.source_name, a.author, a.language, source, item.body_hash, duplicate_of,
        "exact" if duplicate_of is not None else None, 1.0 if duplicate_of is not None else None,
        story_id, run_id,
    )  # fmt: skip


def copy_rows(conn: Connection, table: str, columns: Sequence[tuple[str, str]], rows: list[tuple]) -> None:
    """Bulk insert with binary COPY: one round trip per batch, not per row."""
    if not rows:
        return
    names = ", ".join(name for name, _ in columns)
    cursor = conn.connection.driver_connection.cursor()
    with cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types([pg_type for _, pg_type in columns])
        for row in rows:
            copy.write_row(row)


def record_problems(conn: Connection, run_id: int, source: str, problems: Sequence[Problem]) -> None:
    if not problems:
        return
    conn.execute(
        sa.text(
            "INSERT INTO newsdesk.rejections (run_id, source, locator, outcome, stage, reason)"
            " VALUES (:run_id, :source, :locator, :outcome, :stage, :reason)"
        ),
        [
            {"run_id": run_id, "source": source, "locator": p.locator, "outcome": p.outcome,
             "stage": p.stage, "reason": p.reason}
            for p in problems
        ],  # fmt: skip
    )


def add_counts(conn: Connection, run_id: int, source: str, counts: Counter) -> None:
    """Add a batch's outcome counts to its run and to the run's row for the source."""
    values = {f"n_{outcome}": counts.get(outcome, 0) for outcome in OUTCOMES}
    values["n_discovered"] = sum(values.values())
    assignments = ", ".join(f"{column} = {column} + :{column}" for column in values)
    conn.execute(sa.text(f"UPDATE newsdesk.ingest_runs SET {assignments} WHERE id = :run_id"), {**values, "run_id": run_id})
    columns = ", ".join(values)
    placeholders = ", ".join(f":{column}" for column in values)
    updates = ", ".join(f"{column} = newsdesk.ingest_run_sources.{column} + EXCLUDED.{column}" for column in values)
    conn.execute(
        sa.text(
            f"INSERT INTO newsdesk.ingest_run_sources (run_id, source, {columns}) VALUES (:run_id, :source, {placeholders})"
            f" ON CONFLICT (run_id, source) DO UPDATE SET {updates}"
        ),
        {**values, "run_id": run_id, "source": source},
    )


def record_failed_batch(engine: Engine, *, run_id: int, source: str, locators: Sequence[str], stage: str, reason: str) -> Counter:
    """Every item of a batch that could not be loaded becomes `failed`, with the reason."""
    problems = [Problem(locator, "failed", stage, reason) for locator in locators]
    counts = Counter(failed=len(problems))
    with engine.begin() as conn:
        record_problems(conn, run_id, source, problems)
        add_counts(conn, run_id, source, counts)
    return counts
