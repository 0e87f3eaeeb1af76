"""Placing new article versions in stories: the pure decision (`tasks.dedup.match`)
fed with the stored candidates (`dedup_index`), their keys filed, and the
stories it merged moved and recorded. `place` does it all at once; a load
calls its parts (`decide` before the load lock, `decide_again` for what
changed meanwhile, `apply_merges` under it, which also stores the stories'
summed vectors)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy.engine import Connection

from newsdesk.tasks.dedup import match, signature
from newsdesk.tasks.dedup.match import Link, Text, Thresholds
from newsdesk.tasks.records import Prepared
from newsdesk.tasks.store import dedup_index, story_facts
from newsdesk.tasks.store.versions import StoredVersion


def place(
    conn: Connection,
    entries: Sequence[tuple[Prepared, int, StoredVersion | None]],
    thresholds: Thresholds,
    run_id: int | None = None,
) -> list[Link]:
    """Decide the story of each new article version (given with its new id and the
    version it replaces, if any) against the stored index and the entries before
    it, file its keys, and apply the merges. A new version of an article written
    separately keeps the story and link of the version it replaces. Call under the load lock, in the
    transaction that writes the articles; the caller refreshes `story_facts`
    of the links' stories (the merged stories' rows are dropped here)."""
    decision = decide(conn, entries, thresholds)
    dedup_index.file_keys(conn, decision.texts)
    apply_merges(conn, decision, run_id)
    return decision.placed.links


@dataclass
class Decision:
    """A batch's placement: its texts (story set as placed), the stored candidates
    it was decided against, the links kept by new versions, and the outcome."""

    texts: list[Text]
    stored: match.Stored
    keep: dict[int, Link]
    placed: match.Placed


def decide(
    conn: Connection, entries: Sequence[tuple[Prepared, int, StoredVersion | None]], thresholds: Thresholds
) -> Decision:
    """`place`'s decision alone: reads the stored candidates, writes nothing (a
    load makes it before the load lock and re-checks it under it)."""
    texts = texts_of(entries)
    keep = keep_of(entries)
    stored = dedup_index.stored_candidates(conn, texts, thresholds)
    return Decision(texts, stored, keep, match.place(texts, stored, thresholds, keep))


def decide_again(
    conn: Connection,
    decision: Decision,
    entries: Sequence[tuple[Prepared, int, StoredVersion | None]],
    positions: set[int],
    thresholds: Thresholds,
) -> Decision:
    """The decision again, with the stored candidates of `positions` read anew
    (on `conn`, which must not see the batch's own uncommitted rows) and those
    of the others as they were read before."""
    texts = decision.texts  # their shingles and sentences, computed once
    for text in texts:
        text.story_id = text.original = None
    chosen = sorted(positions)
    fresh = dedup_index.stored_candidates(conn, [texts[p] for p in chosen], thresholds)
    hashes = {texts[p].body_hash for p in chosen}
    exact = {h: found for h, found in decision.stored.exact.items() if h not in hashes}
    exact.update(fresh.exact)
    near = {p: c for p, c in decision.stored.near.items() if p not in positions}
    story = {p: c for p, c in decision.stored.story.items() if p not in positions}
    for k, p in enumerate(chosen):
        if k in fresh.near:
            near[p] = fresh.near[k]
        if k in fresh.story:
            story[p] = fresh.story[k]
    centroids = dict(decision.stored.centroids)
    centroids.update(fresh.centroids)
    stored = match.Stored(exact=exact, near=near, story=story, centroids=centroids)
    return Decision(texts, stored, decision.keep, match.place(texts, stored, thresholds, decision.keep))


def apply_merges(conn: Connection, decision: Decision, run_id: int | None) -> None:
    """Store the summed vectors of the stories the decision changed, move the
    stories it merged and record the merges (under the load lock: the sums were
    computed from those read at the decision, which the re-check vouches for)."""
    merges = decision.placed.merges
    dedup_index.save_centroids(conn, decision.placed.centroids, merges)
    if merges:
        dedup_index.apply_merges(conn, merges, run_id)
        story_facts.refresh(conn, [merge.merged for merge in merges])


def texts_of(entries: Sequence[tuple[Prepared, int, StoredVersion | None]]) -> list[Text]:
    today = datetime.now(UTC).date()
    return [
        Text(
            article_id,
            None,
            item.article.title,
            item.article.body,
            item.article.language,
            _day(item.article.published, today),
            item.body_hash,
            item.signature or signature(item.article.title, item.article.body, item.article.language),
            outlet=item.article.publisher_domain or item.article.source_name,
            section=item.article.section,
            url=item.article.url,
            timed=timed(item.article.published, item.article.published_precision),
        )
        for item, article_id, _ in entries
    ]


def keep_of(entries: Sequence[tuple[Prepared, int, StoredVersion | None]]) -> dict[int, Link]:
    """An edited report (the first of its story or one that joined it) stays in
    its story, linked as it was; an edited copy is matched again, and becomes
    a story of its own when it is no copy any more."""
    return {
        pos: before.link for pos, (_, _, before) in enumerate(entries) if before is not None and before.is_canonical
    }


def timed(published: datetime | None, precision: str | None) -> bool:
    """Whether the publication time is stated: a weekday or "yesterday" in the
    text is read against it (`occasion`), not against a bare date."""
    return published is not None and precision in dedup_index.TIMED


def _day(published: datetime | None, today: date) -> date:
    if published is None:
        return today
    if published.tzinfo is None:
        return published.date()
    return published.astimezone(UTC).date()
