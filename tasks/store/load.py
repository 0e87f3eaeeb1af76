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
from newsdesk.tasks.store.outcomes import add_counts_by_source, record_source_problems
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
    return load_parts(engine, run_id=run_id, parts=[(source, items)], thresholds=thresholds).get(source, Counter())


def load_parts(
    engine: Engine,
    *,
    run_id: int,
    parts: Sequence[tuple[str, Sequence[Prepared | Problem | Unchanged]]],
    thresholds: Thresholds = Thresholds(),
) -> dict[str, Counter]:
    """Load a batch whose items come from one or more sources (`parts`: each
    source's items, in its order) in one transaction; the counts per source.
    The parts are loaded together, as if one after another: an item is
    placed against the stored stories and the items before it."""
    counts: dict[str, Counter] = {}
    with engine.begin() as conn:
        hold_load_lock(conn)
        for together in _rounds(parts):
            for source, part in _load(conn, run_id, together, thresholds).items():
                counts[source] = counts.get(source, Counter()) + part
        add_counts_by_source(conn, run_id, counts)
    return {source: +part for source, part in counts.items()}


Part = tuple[str, Sequence[Prepared | Problem | Unchanged]]


def _rounds(parts: Sequence[Part]) -> list[list[Part]]:
    """The parts in as few rounds as can be loaded together: a URL that two
    sources list is loaded by the first, and by the second in a later round
    (where it is then unchanged, or an update), as when they load one after another."""
    rounds: list[tuple[list[Part], set[str]]] = []
    for source, items in parts:
        locators = {_locator(item) for item in items}
        # After the last round holding this source or one of its URLs, so that order is kept.
        after = max(
            (n for n, (members, seen) in enumerate(rounds) if seen & locators or any(s == source for s, _ in members)),
            default=-1,
        )
        if after + 1 < len(rounds):
            rounds[after + 1][0].append((source, items))
            rounds[after + 1][1].update(locators)
        else:
            rounds.append(([(source, items)], set(locators)))
    return [members for members, _ in rounds]


def _locator(item: Prepared | Problem | Unchanged) -> str:
    return item.document.locator if isinstance(item, Prepared) else item.locator


def _load(conn: Connection, run_id: int, parts: Sequence[Part], thresholds: Thresholds) -> dict[str, Counter]:
    """Load parts whose URLs are all different; the counts per source."""
    counts: dict[str, Counter] = {source: Counter() for source, _ in parts}
    source_of: dict[str, str] = {}
    unchanged: list[tuple[str, Unchanged]] = []
    problems: list[tuple[str, Problem]] = []
    prepared: list[tuple[str, Prepared]] = []
    for source, items in parts:
        of_source = [item for item in items if isinstance(item, Problem)]
        unique = _unique_by_locator([item for item in items if isinstance(item, Prepared)], of_source)
        unchanged += [(source, item) for item in items if isinstance(item, Unchanged)]
        problems += [(source, problem) for problem in of_source]
        prepared += [(source, item) for item in unique]
        for problem in of_source:
            counts[source][problem.outcome] += 1
    for source, item in prepared:
        source_of[item.document.locator] = source
    current = current_versions(conn, [p.document.locator for _, p in prepared])

    fresh = []
    for source, item in prepared:
        if _is_unchanged(item, current):
            unchanged.append((source, Unchanged(item.document.locator, item.document.sha256, item.document.mtime_ns)))
        else:
            fresh.append(item)
    for source, _ in unchanged:
        counts[source]["unchanged"] += 1
    file_state.note_times(conn, [item for _, item in unchanged])
    document_ids = next_ids(conn, "newsdesk.documents_id_seq", len(fresh))
    article_ids = next_ids(conn, "newsdesk.articles_id_seq", len(fresh))
    previous = [current.get(item.document.locator) for item in fresh]
    links = place(conn, list(zip(fresh, article_ids, previous)), thresholds, run_id)

    documents, articles = [], []
    for item, document_id, article_id, before, link in zip(fresh, document_ids, article_ids, previous, links):
        source = source_of[item.document.locator]
        if before is not None:
            counts[source]["updated"] += 1
        elif link.kind:
            counts[source]["duplicate"] += 1
        else:
            counts[source]["inserted"] += 1
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
    http_cache.remember(
        conn, ((p.document.locator, p.document.etag, p.document.last_modified, None) for _, p in prepared)
    )
    record_source_problems(conn, run_id, problems)
    return counts


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
