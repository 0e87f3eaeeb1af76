"""Placing new article versions in stories: the pure decision (`tasks.dedup.match`)
fed with the stored candidates (`dedup_index`), their keys filed, and the
stories it merged moved and recorded."""

from __future__ import annotations

from collections.abc import Sequence
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
    today = datetime.now(UTC).date()
    texts = [
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
        )
        for item, article_id, _ in entries
    ]
    # An edited report (the first of its story or one that joined it) stays in
    # its story, linked as it was; an edited copy is matched again, and becomes
    # a story of its own when it is no copy any more.
    keep = {
        pos: before.link for pos, (_, _, before) in enumerate(entries) if before is not None and before.is_canonical
    }
    placed = match.place(texts, dedup_index.stored_candidates(conn, texts, thresholds), thresholds, keep)
    dedup_index.file_keys(conn, texts)
    dedup_index.save_centroids(conn, placed.centroids, placed.merges)
    if placed.merges:
        dedup_index.apply_merges(conn, placed.merges, run_id)
        story_facts.refresh(conn, [merge.merged for merge in placed.merges])
    return placed.links


def _day(published: datetime | None, today: date) -> date:
    if published is None:
        return today
    if published.tzinfo is None:
        return published.date()
    return published.astimezone(UTC).date()
