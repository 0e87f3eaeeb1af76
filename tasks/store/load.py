"""Dedup and load one batch into PostgreSQL, in one transaction.

Decides each item's outcome against what is stored: `unchanged` (same raw
content as the current version of its locator), `updated` (new content for a
known locator), `duplicate` (an exact or near copy or a rewrite of a stored or
earlier article, see `tasks.dedup`) or `inserted`; and writes documents,
articles, the touched stories' `story_facts` rows, rejections and the run's counts together, so a batch is either loaded whole or not at all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from newsdesk.tasks.dedup.match import Thresholds
from newsdesk.tasks.records import Prepared, Problem, Unchanged
from newsdesk.tasks.store import file_state, http_cache, story_facts
from newsdesk.tasks.store.lock import hold_load_lock
from newsdesk.tasks.store.outcomes import add_counts, record_problems
from newsdesk.tasks.store.pgcopy import copy_rows
from newsdesk.tasks.store.placement import place
from newsdesk.tasks.store.rows import ARTICLE_COLUMNS, DOCUMENT_COLUMNS, article_row, document_row, next_ids
from newsdesk.tasks.store.versions import StoredVersion, current_versions


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
        hold_load_lock(conn)
        counts = _load(conn, run_id, source, items, thresholds)
        add_counts(conn, run_id, source, counts)
    return counts


def load_parts(
    engine: Engine,
    *,
    run_id: int,
    parts: Sequence[tuple[str, Sequence[Prepared | Problem | Unchanged]]],
    thresholds: Thresholds = Thresholds(),
) -> dict[str, Counter]:
    """Load a batch whose items come from several sources (`parts`: each
    source's items, in its order) in one transaction; the counts per source."""
    counts: dict[str, Counter] = {}
    with engine.begin() as conn:
        hold_load_lock(conn)
        for source, items in parts:
            part = _load(conn, run_id, source, items, thresholds)
            add_counts(conn, run_id, source, part)
            counts[source] = counts.get(source, Counter()) + part
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
    current = current_versions(conn, [p.document.locator for p in prepared])

    fresh = []
    for item in prepared:
        if _is_unchanged(item, current):
            unchanged.append(Unchanged(item.document.locator, item.document.sha256, item.document.mtime_ns))
        else:
            fresh.append(item)
    counts["unchanged"] = len(unchanged)
    file_state.note_times(conn, unchanged)
    document_ids = next_ids(conn, "newsdesk.documents_id_seq", len(fresh))
    article_ids = next_ids(conn, "newsdesk.articles_id_seq", len(fresh))
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
        documents.append(document_row(item, document_id, source, run_id))
        articles.append(article_row(item, article_id, document_id, version, link, source, run_id))

    superseded = [before.id for before in previous if before is not None]
    if superseded:
        conn.execute(
            sa.text("UPDATE newsdesk.articles SET is_current = false, updated_at = now() WHERE id = ANY(:ids)"),
            {"ids": superseded},
        )
    copy_rows(conn, "newsdesk.documents", DOCUMENT_COLUMNS, documents)
    copy_rows(conn, "newsdesk.articles", ARTICLE_COLUMNS, articles)
    story_facts.refresh(conn, [link.story_id for link in links] + [before.story_id for before in previous if before])
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
