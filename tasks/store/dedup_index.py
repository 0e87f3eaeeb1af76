"""The dedup index in PostgreSQL: filing articles under their keys (and their
event vectors), finding the stored candidates of a batch in a few queries
whatever its size, and applying the story merges a placement decided.

Lookups go by indexed key, so the cost per article depends on how many
articles share its keys (copies and reports of the same story), not on the
size of the corpus; the story query is also bounded by the time window, and
returns one article per story, the best few stories.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from newsdesk.tasks.dedup.event import Centroid, EventVector
from newsdesk.tasks.dedup.match import MAX_CANDIDATES, Merge, Stored, Text, Thresholds
from newsdesk.tasks.store.pgcopy import copy_rows, number_array


def stored_candidates(
    conn: Connection, batch: Sequence[Text], thresholds: Thresholds, *, before_id: int | None = None
) -> Stored:
    """`before_id`: only articles with smaller ids count as exact matches (a
    rebuild, where the others are yet to be placed again)."""
    # The planner's cost estimates for these joins trigger JIT compilation,
    # which takes longer (10-20 ms a query) than the index lookups it would speed up.
    conn.execute(sa.text("SET LOCAL jit = off"))
    exact = _exact(conn, [text.body_hash for text in batch], before_id)
    near_ids = _near(conn, batch)
    story_ids = _story(conn, batch, thresholds.window_days)
    texts = _texts(conn, {i for ids in (*near_ids.values(), *story_ids.values()) for i in ids})
    pick = lambda ids: [texts[i] for i in ids if i in texts]  # noqa: E731  (replaced versions drop out here)
    stories = {text.story_id for text in texts.values()} | {story_id for story_id, _ in exact.values()}
    return Stored(
        exact=exact,
        near={pos: pick(ids) for pos, ids in near_ids.items()},
        story={pos: pick(ids) for pos, ids in story_ids.items()},
        centroids=_centroids(conn, {story_id for story_id in stories if story_id is not None}),
    )


def _centroids(conn: Connection, story_ids: set[int]) -> dict[int, Centroid]:
    """The summed event vectors of these stories (those stored since they are kept)."""
    if not story_ids:
        return {}
    rows = conn.execute(
        sa.text(
            "SELECT story_id, n, terms, weights FROM newsdesk.story_centroids WHERE story_id = ANY(CAST(:ids AS bigint[]))"
        ),
        {"ids": number_array(story_ids)},
    )
    return {row.story_id: Centroid(row.n, row.terms, row.weights) for row in rows}


def save_centroids(conn: Connection, centroids: dict[int, Centroid], merges: Sequence[Merge]) -> None:
    """Store the sums a placement changed; drop those of the stories it merged."""
    gone = set(centroids) | {merge.merged for merge in merges}
    if not gone:
        return
    conn.execute(
        sa.text("DELETE FROM newsdesk.story_centroids WHERE story_id = ANY(CAST(:ids AS bigint[]))"),
        {"ids": number_array(gone)},
    )
    rows = [(story_id, c.n, c.terms, c.weights) for story_id, c in centroids.items()]
    copy_rows(conn, "newsdesk.story_centroids", STORY_CENTROID_COLUMNS, rows)


def _exact(conn: Connection, hashes: list[str], before_id: int | None) -> dict[str, tuple[int, int]]:
    if not hashes:
        return {}
    rows = conn.execute(
        sa.text(
            "SELECT DISTINCT ON (body_hash) body_hash, story_id, coalesce(duplicate_of, id) AS original"
            " FROM newsdesk.articles"
            " WHERE is_current AND body_hash = ANY(:hashes) AND (CAST(:before AS bigint) IS NULL OR id < :before)"
            " ORDER BY body_hash, id"
        ),
        {"hashes": list(set(hashes)), "before": before_id},
    )
    return {row.body_hash: (row.story_id, row.original) for row in rows}


def _near(conn: Connection, batch: Sequence[Text]) -> dict[int, list[int]]:
    keys, positions = _flatten(batch, lambda text: text.signature.near_keys)
    if not keys:
        return {}
    hits = (
        "SELECT q.pos, k.article_id, k.story_id, count(*) AS hits"
        " FROM unnest(CAST(:keys AS bigint[]), CAST(:positions AS int[])) AS q(key, pos)"
        " JOIN newsdesk.near_keys k ON k.key = q.key GROUP BY q.pos, k.article_id, k.story_id"
    )
    rows = conn.execute(
        sa.text(_best_per_story(hits)),
        {"keys": number_array(keys), "positions": number_array(positions), "limit": MAX_CANDIDATES},
    )
    return _grouped(rows)


def _best_per_story(hits: str) -> str:
    """From (pos, article_id, story_id, hits) rows: per position, the article with
    the most hits of each story, the MAX_CANDIDATES best stories. One verified
    member is enough to join a story, and a story stored a hundred times over
    would otherwise send a hundred bodies back for every copy of it. (A replaced
    version may win its story here and then drop out as not current: its new
    version, filed under its own keys, competes as well.)"""
    return (
        "SELECT pos, article_id FROM ("
        "  SELECT pos, article_id, row_number() OVER (PARTITION BY pos ORDER BY hits DESC, article_id) AS rank FROM ("
        "    SELECT DISTINCT ON (h.pos, h.story_id) h.pos, h.article_id, h.hits"
        f"    FROM ({hits}) h ORDER BY h.pos, h.story_id, h.hits DESC, h.article_id"
        "  ) best"
        ") ranked WHERE rank <= :limit ORDER BY pos, rank"
    )


def _story(conn: Connection, batch: Sequence[Text], window_days: int) -> dict[int, list[int]]:
    keys, positions = _flatten(batch, lambda text: text.signature.story_keys)
    if not keys:
        return {}
    days = [batch[pos].day for pos in positions]
    hits = (
        "SELECT q.pos, k.article_id, k.story_id, count(*) AS hits"
        " FROM unnest(CAST(:keys AS bigint[]), CAST(:positions AS int[]), CAST(:days AS date[])) AS q(key, pos, day)"
        " JOIN newsdesk.story_keys k ON k.key = q.key AND k.day BETWEEN q.day - :window AND q.day + :window"
        " GROUP BY q.pos, k.article_id, k.story_id HAVING count(*) >= 2"
    )
    rows = conn.execute(
        sa.text(_best_per_story(hits)),
        {
            "keys": number_array(keys),
            "positions": number_array(positions),
            "days": number_array(days),
            "window": window_days,
            "limit": MAX_CANDIDATES,
        },
    )
    return _grouped(rows)


def _flatten(batch: Sequence[Text], keys_of) -> tuple[list[int], list[int]]:
    keys, positions = [], []
    for pos, text in enumerate(batch):
        found = keys_of(text)
        keys.extend(found)
        positions.extend([pos] * len(found))
    return keys, positions


def _grouped(rows) -> dict[int, list[int]]:
    grouped: dict[int, list[int]] = {}
    for pos, article_id in rows:
        grouped.setdefault(pos, []).append(article_id)
    return grouped


# Columns of the key tables, for binary COPY.
NEAR_KEY_COLUMNS = (("key", "int8"), ("article_id", "int8"), ("story_id", "int8"))
STORY_KEY_COLUMNS = (("key", "int8"), ("day", "date"), ("article_id", "int8"), ("story_id", "int8"))
STORY_VECTOR_COLUMNS = (("article_id", "int8"), ("terms", "int8[]"), ("weights", "float4[]"))
STORY_CENTROID_COLUMNS = (("story_id", "int8"), ("n", "int4"), ("terms", "int8[]"), ("weights", "float4[]"))

# `published_precision` values that state a time of day (`placement.timed`).
TIMED = ("datetime", "datetime_no_zone")
# An article's day for the story window: its publication day, else the day it was loaded (UTC).
ARTICLE_DAY = "(coalesce(published_at, created_at) AT TIME ZONE 'UTC')::date"


def _texts(conn: Connection, ids: set[int]) -> dict[int, Text]:
    if not ids:
        return {}
    rows = conn.execute(
        sa.text(
            f"SELECT a.id, a.story_id, a.title, a.body, a.language, {ARTICLE_DAY},"
            " coalesce(a.publisher_domain, a.publisher) AS outlet, a.duplicate_of, v.terms, v.weights, a.section, a.url,"
            " a.published_precision = ANY(CAST(:timed AS text[])) AS timed"
            " FROM newsdesk.articles a LEFT JOIN newsdesk.story_vectors v ON v.article_id = a.id"
            " WHERE a.is_current AND a.id = ANY(:ids)"
        ),
        {"ids": list(ids), "timed": list(TIMED)},
    )
    return {
        row[0]: Text(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            outlet=row.outlet,
            original=row.duplicate_of,
            vector=EventVector(row.terms, row.weights) if row.terms is not None else None,
            section=row.section,
            url=row.url,
            timed=bool(row.timed),
        )
        for row in rows
    }


def file_keys(conn: Connection, batch: Sequence[Text]) -> None:
    """Add a batch's articles to the index (binary COPY, one round trip per table)."""
    near_rows = [(key, text.article_id, text.story_id) for text in batch for key in text.keys.near_keys]
    story_rows = [(key, text.day, text.article_id, text.story_id) for text in batch for key in text.keys.story_keys]
    vector_rows = [(text.article_id, text.keys.event.terms, text.keys.event.weights) for text in batch]
    copy_rows(conn, "newsdesk.near_keys", NEAR_KEY_COLUMNS, near_rows)
    copy_rows(conn, "newsdesk.story_keys", STORY_KEY_COLUMNS, story_rows)
    copy_rows(conn, "newsdesk.story_vectors", STORY_VECTOR_COLUMNS, vector_rows)


def apply_merges(conn: Connection, merges: Sequence[Merge], run_id: int | None) -> None:
    """Move the stored articles of each merged story (every version) into the
    story it joined, and record the merge. The first article of a merged story
    becomes a report of the story it joined, scored by the bridge."""
    for merge in merges:
        conn.execute(
            sa.text(
                "UPDATE newsdesk.articles SET story_id = :into, updated_at = now(),"
                " event_score = CASE WHEN duplicate_of IS NULL AND event_score IS NULL THEN :score ELSE event_score END"
                " WHERE story_id = :merged"
            ),
            {"into": merge.into, "merged": merge.merged, "score": merge.score},
        )
        conn.execute(
            sa.text(
                "INSERT INTO newsdesk.story_merges (merged_story_id, into_story_id, article_id, score, run_id)"
                " VALUES (:merged, :into, :article, :score, :run)"
            ),
            {
                "merged": merge.merged,
                "into": merge.into,
                "article": merge.article_id,
                "score": merge.score,
                "run": run_id,
            },
        )


_RESTORY = (
    " k SET story_id = d.story_id"
    " FROM unnest(CAST(:keys AS bigint[]), CAST(:ids AS bigint[]), CAST(:stories AS bigint[]))"
    "   AS d(key, article_id, story_id)"
    " WHERE k.key = d.key AND k.article_id = d.article_id"
)


def restory_keys(conn: Connection, texts: Sequence[Text]) -> None:
    """Set the story of the filed keys of these articles (placed again after they were filed)."""
    near_rows = [(key, text.article_id, text.story_id) for text in texts for key in text.keys.near_keys]
    story_rows = [(key, text.article_id, text.story_id) for text in texts for key in text.keys.story_keys]
    for statement, rows in (
        ("UPDATE newsdesk.near_keys" + _RESTORY, near_rows),
        ("UPDATE newsdesk.story_keys" + _RESTORY, story_rows),
    ):
        if rows:
            keys, ids, stories = zip(*rows)
            conn.execute(
                sa.text(statement),
                {"keys": number_array(keys), "ids": number_array(ids), "stories": number_array(stories)},
            )
