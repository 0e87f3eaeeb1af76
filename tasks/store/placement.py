"""Placing new article versions in stories: the pure decision (`tasks.dedup.match`)
fed with the stored candidates (`dedup_index`), and their keys filed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy.engine import Connection

from newsdesk.tasks.dedup import match, signature
from newsdesk.tasks.dedup.match import Link, Text, Thresholds
from newsdesk.tasks.records import Prepared
from newsdesk.tasks.store import dedup_index
from newsdesk.tasks.store.versions import StoredVersion


def place(
    conn: Connection, entries: Sequence[tuple[Prepared, int, StoredVersion | None]], thresholds: Thresholds
) -> list[Link]:
    """Decide the story of each new article version (given with its new id and the
    version it replaces, if any) against the stored index and the entries before
    it, and file its keys. Call under LOAD_LOCK, in the transaction that writes them."""
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
        )
        for item, article_id, _ in entries
    ]
    # A new version of a story's canonical article stays its story's canonical article.
    keep = {
        pos: before.story_id for pos, (_, _, before) in enumerate(entries) if before is not None and before.is_canonical
    }
    links = match.place(texts, dedup_index.stored_candidates(conn, texts, thresholds), thresholds, keep)
    dedup_index.file_keys(conn, texts)
    return links


def _day(published: datetime | None, today: date) -> date:
    if published is None:
        return today
    if published.tzinfo is None:
        return published.date()
    return published.astimezone(UTC).date()
