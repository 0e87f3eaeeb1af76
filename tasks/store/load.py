"""Dedup and load one batch into PostgreSQL, in one transaction.

Decides each item's outcome against what is stored: `unchanged` (same raw
content as the current version of its locator), `updated` (new content for a
known locator), `duplicate` (an exact or near copy or a rewrite of a stored or
earlier article, see `tasks.dedup`) or `inserted`; and writes documents,
articles, the touched stories' `story_facts` rows, rejections and the run's counts together, so a batch is loaded whole or
not at all (then item by item, below).

Text PostgreSQL cannot hold is replaced as the load begins (`storable`). A
batch that PostgreSQL still refuses (a value out of range, a constraint, a
trigger) is loaded again item by item, each in its own transaction, so the
culprit is set apart alone, with PostgreSQL's reason (`rejected` for data it
refuses, `failed` for anything else), and the rest of the batch loads.
A lost connection is not a refusal: it is raised, for the task to retry.

Stories are decided before the load lock (`tasks.store.lock`): the batch's
ids drawn, its article rows staged with their full-text vectors, its stories
decided against the stored candidates (`placement.decide`), and its
documents, articles and dedup keys written, with a list of what it filed
(`tasks.store.changes`). Under the lock, only what the loads that committed
since the read changed is checked: articles they could have placed otherwise
are placed again (without the lock while it can be let go, see
`_check_under_lock`), then replaced versions stop being current, merges are
applied and `story_facts` rewritten. A batch another load wrote a page of
meanwhile is decided under the lock instead (`_decide_under_lock`), as every
batch was before.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
import sqlalchemy as sa
import sqlalchemy.exc
from sqlalchemy.engine import Connection, Engine

from newsdesk.tasks.dedup.match import Link, Thresholds
from newsdesk.tasks.records import Prepared, Problem, Unchanged
from newsdesk.tasks.store import changes, dedup_index, file_state, http_cache, placement, staging, story_facts
from newsdesk.tasks.store.lock import Held, hold_load_lock
from newsdesk.tasks.store.outcomes import add_counts_by_source, record_source_problems
from newsdesk.tasks.store.pgcopy import copy_rows
from newsdesk.tasks.store.rows import DOCUMENT_COLUMNS, article_row, document_row, next_ids
from newsdesk.tasks.store.storable import Counter as Replaced
from newsdesk.tasks.store.storable import storable_parts
from newsdesk.tasks.store.versions import StoredVersion, current_versions


def load_batch(
    engine: Engine,
    *,
    run_id: int,
    source: str,
    items: Sequence[Prepared | Problem | Unchanged],
    thresholds: Thresholds = Thresholds(),
    notes: list[str] | None = None,
) -> Counter:
    """Load a batch; the counts per outcome, which add up to len(items)."""
    return load_parts(engine, run_id=run_id, parts=[(source, items)], thresholds=thresholds, notes=notes).get(
        source, Counter()
    )


def load_parts(
    engine: Engine,
    *,
    run_id: int,
    parts: Sequence[tuple[str, Sequence[Prepared | Problem | Unchanged]]],
    thresholds: Thresholds = Thresholds(),
    notes: list[str] | None = None,
) -> dict[str, Counter]:
    """Load a batch whose items come from one or more sources (`parts`: each
    source's items, in its order) in one transaction; the counts per source.
    The parts are loaded together, as if one after another: an item is
    placed against the stored stories and the items before it. A batch
    PostgreSQL refuses is loaded item by item (see the module docstring).
    `notes`, when given, gets a line for the operator about what was replaced
    or set apart."""
    replaced = Replaced()
    storable = storable_parts(parts, replaced)
    if replaced.characters and notes is not None:
        notes.append(
            f"{replaced.characters:,} characters PostgreSQL cannot store (NUL, lone surrogates)"
            f" replaced by U+FFFD in {replaced.items:,} items"
        )
    try:
        return _load_together(engine, run_id, storable, thresholds)
    except Exception as exc:
        if connection_lost(exc):
            raise
        refusal = exc
    counts: dict[str, Counter] = {}
    apart = 0
    for source, items in storable:
        for item in items:
            try:
                loaded = _load_together(engine, run_id, [(source, [item])], thresholds)
            except Exception as exc:
                if connection_lost(exc):
                    raise
                apart += 1
                outcome = "rejected" if _is_data_error(exc) else "failed"
                problem = Problem(_locator(item), outcome, "load", f"PostgreSQL refused it: {_refusal(exc)}")
                loaded = _load_together(engine, run_id, [(source, [problem])], thresholds)
            for name, part in loaded.items():
                counts[name] = counts.get(name, Counter()) + part
    if notes is not None:
        notes.append(
            f"the batch was refused whole ({_refusal(refusal)}), so it was loaded item by item: {apart:,} set apart"
        )
    return counts


def connection_lost(exc: BaseException) -> bool:
    """Whether `exc` is the connection failing (a retry may pass), not PostgreSQL refusing the data."""
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(
        exc,
        (
            sqlalchemy.exc.OperationalError,
            sqlalchemy.exc.InterfaceError,
            psycopg.OperationalError,
            psycopg.InterfaceError,
        ),
    )


def _is_data_error(exc: BaseException) -> bool:
    """PostgreSQL refused the value itself (SQLSTATE class 22: bad text, a number out of range...)."""
    original = getattr(exc, "orig", exc)
    return isinstance(original, (psycopg.DataError, UnicodeError))


def _refusal(exc: BaseException) -> str:
    """PostgreSQL's own words for a refusal, on one line (not SQLAlchemy's SQL and parameters)."""
    original = getattr(exc, "orig", None) or exc
    diag = getattr(original, "diag", None)
    message = (diag.message_primary if diag is not None else None) or str(original) or type(original).__name__
    return " ".join(f"{type(original).__name__}: {message}".split())[:500]


def _load_together(
    engine: Engine, run_id: int, parts: Sequence[tuple[str, Sequence[Prepared | Problem | Unchanged]]], thresholds
) -> dict[str, Counter]:
    counts: dict[str, Counter] = {}
    with engine.begin() as conn:
        held: list[Held] = []
        # Before any lock: it does not depend on the order of loads (the last one read wins).
        remembered = {_locator(i): i for _, items in parts for i in items if isinstance(i, Prepared)}
        http_cache.remember(
            conn, ((p.document.locator, p.document.etag, p.document.last_modified, None) for p in remembered.values())
        )
        for together in _rounds(parts):
            for source, part in _load(conn, run_id, together, thresholds, held).items():
                counts[source] = counts.get(source, Counter()) + part
        if not held:
            held.append(hold_load_lock(conn, lists_changes=True))
        add_counts_by_source(conn, run_id, counts)
        held[0].record(sum(n for part in counts.values() for n in part.values()))
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


def _load(
    conn: Connection, run_id: int, parts: Sequence[Part], thresholds: Thresholds, held: list[Held]
) -> dict[str, Counter]:
    """Load parts whose URLs are all different; the counts per source. Takes the
    load lock (appended to `held`) once what does not depend on it is done."""
    counts: dict[str, Counter] = {source: Counter() for source, _ in parts}
    source_of: dict[str, str] = {}
    problems: list[tuple[str, Problem]] = []
    prepared: list[tuple[str, Prepared]] = []
    unchanged: list[tuple[str, Unchanged]] = []
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
    locators = [p.document.locator for _, p in prepared]
    ids = Ids(
        dict(zip(locators, next_ids(conn, "newsdesk.documents_id_seq", len(prepared)))),
        dict(zip(locators, next_ids(conn, "newsdesk.articles_id_seq", len(prepared)))),
        source_of,
        run_id,
    )
    record_source_problems(conn, run_id, problems)
    if held:
        # A later round of a batch that holds the lock already: decided under it, its changes not listed.
        conn.execute(
            sa.text("INSERT INTO newsdesk.load_changes (seq, anything) VALUES (:seq, true)"), {"seq": held[0].seq}
        )
        return _decide_under_lock(conn, prepared, unchanged, counts, ids, set(), thresholds)

    # Before the lock: what is stored (its holder number read first), the rows staged, the stories decided.
    seen = changes.seen(conn)
    before_lock = current_versions(conn, locators)
    looks_new = [item for _, item in prepared if not _is_unchanged(item, before_lock)]
    staging.stage(conn, [_staged_row(item, ids) for item in looks_new])
    savepoint = conn.begin_nested()
    decided = _decide_before_lock(conn, looks_new, before_lock, ids, thresholds)
    if decided is not None:
        checked = _check_under_lock(conn, decided, seen, prepared, unchanged, counts, ids, thresholds)
        if checked is not None:
            held.append(checked[0])
            return checked[1]
    # Another load wrote one of these pages meanwhile: everything again, under the lock.
    savepoint.rollback()
    held.append(hold_load_lock(conn))
    return _decide_under_lock(
        conn, prepared, unchanged, counts, ids, {item.document.locator for item in looks_new}, thresholds
    )


@dataclass
class Ids:
    """The new ids of a batch's documents and articles, by locator, and what their rows need."""

    documents: dict[str, int]
    articles: dict[str, int]
    source_of: dict[str, str]
    run_id: int


@dataclass
class Decided:
    """A batch's new versions as written before the lock, with their decision."""

    entries: list[tuple[Prepared, int, StoredVersion | None]]
    decision: placement.Decision
    token: int | None  # its row in load_changes


_CONFLICTS = ("23505", "40P01")  # unique violation: another load wrote the page; deadlock between two such


def _decide_before_lock(
    conn: Connection, fresh: list[Prepared], before: dict[str, StoredVersion], ids: Ids, thresholds: Thresholds
) -> Decided | None:
    """Decide the stories of the new versions against the stored index, and write
    their documents, articles (a new version of a known page not yet current)
    and keys; None if another load is writing or wrote one of these pages."""
    previous = [before.get(item.document.locator) for item in fresh]
    entries = [(item, ids.articles[item.document.locator], old) for item, old in zip(fresh, previous)]
    decision = placement.decide(conn, entries, thresholds)
    links = decision.placed.links
    try:
        copy_rows(conn, "newsdesk.documents", DOCUMENT_COLUMNS, [_document_row(item, ids) for item in fresh])
        staging.insert_decided(
            conn,
            [article_id for _, article_id, _ in entries],
            [old.version + 1 if old else 1 for old in previous],
            links,
            [old is None for old in previous],
        )
    except (sqlalchemy.exc.DBAPIError, psycopg.Error) as exc:
        if getattr(getattr(exc, "orig", exc), "sqlstate", None) in _CONFLICTS:
            return None
        raise
    dedup_index.file_keys(conn, decision.texts)
    token = changes.note(conn, decision.texts, _summed_stories(decision)) if decision.texts else None
    return Decided(entries, decision, token)


def _summed_stories(decision: placement.Decision) -> set[int]:
    """The stories whose summed vectors a decision read (its candidates') or writes."""
    return set(decision.stored.centroids) | set(decision.placed.centroids)


# Times a load whose decision others' loads changed lets the lock go to decide
# again without it, before it decides again under it.
RECHECKS = 2


def _check_under_lock(
    conn: Connection,
    decided: Decided,
    seen: int,
    prepared: list[tuple[str, Prepared]],
    unchanged: list[tuple[str, Unchanged]],
    counts: dict[str, Counter],
    ids: Ids,
    thresholds: Thresholds,
) -> tuple[Held, dict[str, Counter]] | None:
    """Take the lock and check the decision against what the loads that committed
    since it was read changed. If they could have changed where some articles
    go, let the lock go, place those again (on a connection of its own, which
    sees what others committed and not this batch's own rows) and check again;
    after RECHECKS times, place them again under the lock. Then write what
    depends on the order. None: the batch must be loaded again under the lock
    (a page that looked unchanged has changed, or the story an edited article
    keeps was merged away)."""
    entries, decision = decided.entries, decided.decision
    written = {item.document.locator for item, _, _ in entries}
    kept = [item for _, item in prepared if item.document.locator not in written]
    rows_links = decision.placed.links  # as the article rows hold them
    given_up = 0.0  # lock time of the attempts that let it go again
    for attempt in range(RECHECKS + 1):
        attempt_savepoint = conn.begin_nested()
        lock = hold_load_lock(conn, lists_changes=True, token=decided.token)
        lock.since -= given_up
        now = current_versions(conn, [item.document.locator for item in kept])
        if any(not _is_unchanged(item, now) for item in kept):
            attempt_savepoint.rollback()
            return None
        since = (
            changes.since(conn, decided.token, seen, lock.seq, lock.changes_from) if decided.token else changes.Since()
        )
        positions: set[int] = set()
        if not since.empty:
            if decision.keep and (
                since.anything or any(link.story_id in since.gone for link in decision.keep.values())
            ):
                return None
            positions = changes.affected(decision.texts, decision.stored, decision.keep, since)
        if not positions:
            break
        if attempt < RECHECKS:
            attempt_savepoint.rollback()  # lets the lock go, keeps the rows written before it
            given_up = time.perf_counter() - lock.since
            seen = changes.seen(conn)
        with conn.engine.connect() as other:
            decision = placement.decide_again(other, decision, entries, positions, thresholds)
            other.rollback()
        moved = [k for k, (a, b) in enumerate(zip(rows_links, decision.placed.links)) if a != b]
        staging.redecide(conn, [entries[k][1] for k in moved], [decision.placed.links[k] for k in moved])
        dedup_index.restory_keys(conn, [decision.texts[k] for k in moved])
        rows_links = decision.placed.links
        if attempt == RECHECKS:
            break
    links = decision.placed.links  # (the savepoints end with the transaction: no round trip under the lock)

    previous = [old for _, _, old in entries]
    superseded = [old.id for old in previous if old is not None]
    gone_hashes: list[str] = []
    if superseded:
        gone_hashes = list(
            conn.scalars(
                sa.text(
                    "UPDATE newsdesk.articles SET is_current = false, updated_at = now() WHERE id = ANY(:ids)"
                    " RETURNING body_hash"
                ),
                {"ids": superseded},
            )
        )
        conn.execute(
            sa.text("UPDATE newsdesk.articles SET is_current = true WHERE id = ANY(:ids)"),
            {"ids": [article_id for _, article_id, old in entries if old is not None]},
        )
    placement.apply_merges(conn, decision, ids.run_id)
    story_facts.refresh(conn, [link.story_id for link in links] + [old.story_id for old in previous if old])
    if decided.token is not None:
        changes.add_gone(
            conn,
            decided.token,
            lock.seq,
            gone=superseded + [merge.merged for merge in decision.placed.merges],
            gone_hashes=gone_hashes,
            # As noted before the lock, unless the decision was made again.
            stories=_summed_stories(decision) if decision is not decided.decision else None,
        )
    unchanged = unchanged + [
        (
            ids.source_of[item.document.locator],
            Unchanged(item.document.locator, item.document.sha256, item.document.mtime_ns),
        )
        for item in kept
    ]
    file_state.note_times(conn, [item for _, item in unchanged])
    for source, _ in unchanged:
        counts[source]["unchanged"] += 1
    for (item, _, old), link in zip(entries, links):
        counts[ids.source_of[item.document.locator]][_outcome(old, link)] += 1
    return lock, counts


def _decide_under_lock(
    conn: Connection,
    prepared: list[tuple[str, Prepared]],
    unchanged: list[tuple[str, Unchanged]],
    counts: dict[str, Counter],
    ids: Ids,
    staged: set[str],
    thresholds: Thresholds,
) -> dict[str, Counter]:
    """Load the batch with its stories decided under the lock (`staged`: the
    locators whose rows are staged already)."""
    locators = [p.document.locator for _, p in prepared]
    current = current_versions(conn, locators)
    fresh = []
    for source, item in prepared:
        if _is_unchanged(item, current):
            unchanged.append((source, Unchanged(item.document.locator, item.document.sha256, item.document.mtime_ns)))
        else:
            fresh.append(item)
    for source, _ in unchanged:
        counts[source]["unchanged"] += 1
    late = [item for item in fresh if item.document.locator not in staged]
    staging.stage(conn, [_staged_row(item, ids) for item in late])
    file_state.note_times(conn, [item for _, item in unchanged])
    previous = [current.get(item.document.locator) for item in fresh]
    article_ids = [ids.articles[item.document.locator] for item in fresh]
    links = placement.place(conn, list(zip(fresh, article_ids, previous)), thresholds, ids.run_id)
    for item, before, link in zip(fresh, previous, links):
        counts[ids.source_of[item.document.locator]][_outcome(before, link)] += 1
    superseded = [before.id for before in previous if before is not None]
    if superseded:
        conn.execute(
            sa.text("UPDATE newsdesk.articles SET is_current = false, updated_at = now() WHERE id = ANY(:ids)"),
            {"ids": superseded},
        )
    copy_rows(conn, "newsdesk.documents", DOCUMENT_COLUMNS, [_document_row(item, ids) for item in fresh])
    staging.insert_decided(conn, article_ids, [before.version + 1 if before else 1 for before in previous], links)
    story_facts.refresh(conn, [link.story_id for link in links] + [before.story_id for before in previous if before])
    return counts


def _outcome(before: StoredVersion | None, link: Link) -> str:
    if before is not None:
        return "updated"
    return "duplicate" if link.kind else "inserted"


def _document_row(item: Prepared, ids: Ids) -> tuple:
    locator = item.document.locator
    return document_row(item, ids.documents[locator], ids.source_of[locator], ids.run_id)


def _staged_row(item: Prepared, ids: Ids) -> tuple:
    """The item's article row, its version and story decision yet to come."""
    locator = item.document.locator
    return article_row(
        item, ids.articles[locator], ids.documents[locator], 0, Link(0), ids.source_of[locator], ids.run_id
    )


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
