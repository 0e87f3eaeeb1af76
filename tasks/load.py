"""Dedup and load one batch into PostgreSQL, in one transaction.

Decides each item's outcome against what is stored: `unchanged` (same raw
content as the current version of its locator), `updated` (new content for a
known locator), `duplicate` (an exact or near copy or a rewrite of a stored or
earlier article, see `tasks.dedup`) or `inserted`; and writes documents, articles, rejections and the run's counts
together, so a batch is either loaded whole or not at all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tasks import dedup_index, file_state, http_cache
from tasks.dedup import match, signature
from tasks.dedup.match import Link, Text, Thresholds
from tasks.pgcopy import copy_rows
from tasks.records import OUTCOMES, Prepared, Problem, Unchanged

# Serialises loads across runs and workers: dedup reads then writes, and two
# batches deciding "new story" for the same body at once would both insert it.
LOAD_LOCK = 7_214_001

# Column names and PostgreSQL types, for binary COPY (raw bytes go as they are,
# not hex-escaped as text COPY would send them).
DOCUMENT_COLUMNS = (
    ("id", "int8"), ("locator", "text"), ("source", "text"), ("media_type", "text"), ("encoding", "text"),
    ("content_sha256", "text"), ("byte_size", "int4"), ("raw", "bytea"), ("run_id", "int8"), ("file_mtime_ns", "int8"),
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
    engine: Engine,
    *,
    run_id: int,
    source: str,
    items: Sequence[Prepared | Problem | Unchanged],
    thresholds: Thresholds = Thresholds(),
) -> Counter:
    """Load a batch; the counts per outcome, which add up to len(items)."""
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOAD_LOCK})
        counts = _load(conn, run_id, source, items, thresholds)
        add_counts(conn, run_id, source, counts)
    return counts


def _load(
    conn: Connection, run_id: int, source: str, items: Sequence[Prepared | Problem | Unchanged], thresholds: Thresholds
) -> Counter:
    counts: Counter = Counter()
    unchanged = [item for item in items if isinstance(item, Unchanged)]
    problems = [item for item in items if isinstance(item, Problem)]
    prepared = _unique_by_locator([item for item in items if isinstance(item, Prepared)], problems)
    for problem in problems:
        counts[problem.outcome] += 1
    current = _current_versions(conn, [p.document.locator for p in prepared])

    fresh = []
    for item in prepared:
        if _is_unchanged(item, current):
            unchanged.append(Unchanged(item.document.locator, item.document.sha256, item.document.mtime_ns))
        else:
            fresh.append(item)
    counts["unchanged"] = len(unchanged)
    file_state.note_times(conn, unchanged)
    document_ids = _next_ids(conn, "newsdesk.documents_id_seq", len(fresh))
    article_ids = _next_ids(conn, "newsdesk.articles_id_seq", len(fresh))
    previous = [current.get(item.document.locator) for item in fresh]
    links = place(conn, list(zip(fresh, article_ids, previous)), thresholds)

    documents, articles = [], []
    for item, document_id, article_id, before, link in zip(fresh, document_ids, article_ids, previous, links):
        if before is not None:
            counts["updated"] += 1
        elif link.kind:
            counts["duplicate"] += 1
        else:
            counts["inserted"] += 1
        version = before.version + 1 if before else 1
        documents.append(_document_row(item, document_id, source, run_id))
        articles.append(article_row(item, article_id, document_id, version, link, source, run_id))

    superseded = [before.id for before in previous if before is not None]
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


def place(
    conn: Connection, entries: Sequence[tuple[Prepared, int, StoredVersion | None]], thresholds: Thresholds
) -> list[Link]:
    """Decide the story of each new article version (given with its new id and the
    version it replaces, if any) against the stored index and the entries before
    it, and file its keys. Call under LOAD_LOCK, in the transaction that writes them."""
    today = datetime.now(timezone.utc).date()
    texts = [
        Text(article_id, None, item.article.title, item.article.body, item.article.language,
             _day(item.article.published, today), item.body_hash,
             item.signature or signature(item.article.title, item.article.body, item.article.language))
        for item, article_id, _ in entries
    ]  # fmt: skip
    # A new version of a story's canonical article stays its story's canonical article.
    keep = {pos: before.story_id for pos, (_, _, before) in enumerate(entries) if before is not None and before.is_canonical}
    links = match.place(texts, dedup_index.stored_candidates(conn, texts, thresholds), thresholds, keep)
    dedup_index.file_keys(conn, texts)
    return links


def _day(published: datetime | None, today: date) -> date:
    if published is None:
        return today
    if published.tzinfo is None:
        return published.date()
    return published.astimezone(timezone.utc).date()


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


def _next_ids(conn: Connection, sequence: str, n: int) -> list[int]:
    if n == 0:
        return []
    rows = conn.execute(sa.text("SELECT nextval(:seq) FROM generate_series(1, :n)"), {"seq": sequence, "n": n})
    return [row[0] for row in rows]


def _document_row(item: Prepared, document_id: int, source: str, run_id: int) -> tuple:
    doc = item.document
    return (document_id, doc.locator, source, doc.media_type, item.encoding, doc.sha256, len(doc.raw), doc.raw, run_id,
            doc.mtime_ns)  # fmt: skip


def article_row(item: Prepared, article_id: int, document_id: int, version: int, link: Link, source: str, run_id: int) -> tuple:
    a = item.article
    return (
        article_id, document_id, item.document.locator, version, a.url, a.title, a.summary, a.body,
        a.published, a.source_name, a.author, a.language, source, item.body_hash, link.duplicate_of,
        link.kind, link.score, link.story_id, run_id,
    )  # fmt: skip


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
