"""The per-story table `story_facts`, kept in step with the articles.

Every load and reprocess rewrites the rows of the stories it touched, in its
own transaction, with one statement over those stories' current articles (an
index lookup by story); a dedup rebuild rewrites the whole table. So `stories`
and the views over it answer from an indexed table, never by aggregating all
articles. The row is what migration 0013's `STORY_FACTS_SELECT` computes.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

_COLUMNS = (
    "story_id, canonical_id, title, n_articles, publishers, sources, dup_kinds, first_published_at,"
    " first_published_precision, first_published_id, first_published_day, first_seen_at, last_seen_at,"
    " n_outlets, n_originals, n_copies, languages, last_published_at"
)
# The canonical article: the story's first article, neither a copy nor a report
# that joined it. The article published first: the earliest day, and within a
# day a stated time before a bare date (whose midnight says nothing of the
# hour). First seen: over every version, so an edited article keeps it.
_FIRST = "ORDER BY a.published_day, a.published_precision = 'date', a.published_at, a.id"
_SELECT = f"""
SELECT a.story_id,
       (array_agg(a.id ORDER BY a.duplicate_of IS NOT NULL, a.event_score IS NOT NULL, a.id))[1],
       coalesce((array_agg(a.title ORDER BY a.duplicate_of IS NOT NULL, a.event_score IS NOT NULL, a.id))[1],
                min(a.title)),
       count(*),
       array_remove(array_agg(DISTINCT a.publisher ORDER BY a.publisher), NULL),
       array_agg(DISTINCT a.ingested_from ORDER BY a.ingested_from),
       array_remove(array_agg(DISTINCT a.dup_kind ORDER BY a.dup_kind), NULL),
       (array_agg(a.published_at {_FIRST}) FILTER (WHERE a.published_at IS NOT NULL))[1],
       (array_agg(a.published_precision {_FIRST}) FILTER (WHERE a.published_at IS NOT NULL))[1],
       (array_agg(a.id {_FIRST}) FILTER (WHERE a.published_at IS NOT NULL))[1],
       min(a.published_day),
       (SELECT min(v.created_at) FROM newsdesk.articles v WHERE v.story_id = a.story_id),
       max(a.created_at),
       count(DISTINCT coalesce(a.publisher_domain, a.publisher, a.ingested_from)),
       count(*) FILTER (WHERE a.duplicate_of IS NULL),
       count(*) FILTER (WHERE a.duplicate_of IS NOT NULL),
       array_remove(array_agg(DISTINCT a.language ORDER BY a.language), NULL),
       max(a.published_at)
FROM newsdesk.articles a
WHERE a.is_current
"""


_UPDATES = ", ".join(f"{name} = EXCLUDED.{name}" for name in (c.strip() for c in _COLUMNS.split(",")[1:]))
_REFRESH = (
    f"WITH fresh AS ({_SELECT} AND a.story_id = ANY(:ids) GROUP BY a.story_id),"
    " emptied AS (DELETE FROM newsdesk.story_facts f WHERE f.story_id = ANY(:ids)"
    "   AND NOT EXISTS (SELECT 1 FROM newsdesk.articles a WHERE a.story_id = f.story_id AND a.is_current))"
    f" INSERT INTO newsdesk.story_facts ({_COLUMNS}) SELECT * FROM fresh"
    f" ON CONFLICT (story_id) DO UPDATE SET {_UPDATES}"
)


def refresh(conn: Connection, story_ids: Iterable[int | None]) -> None:
    """Rewrite the rows of these stories from their current articles (a story left
    with none loses its row), in one statement (loads run it under the load lock)."""
    ids = sorted({story_id for story_id in story_ids if story_id is not None})
    if not ids:
        return
    conn.execute(sa.text(_REFRESH), {"ids": ids})


def rebuild(conn: Connection) -> None:
    """Rewrite the whole table (after a dedup rebuild moved articles between stories)."""
    conn.execute(sa.text("DELETE FROM newsdesk.story_facts"))
    conn.execute(sa.text(f"INSERT INTO newsdesk.story_facts ({_COLUMNS}) {_SELECT} GROUP BY a.story_id"))
