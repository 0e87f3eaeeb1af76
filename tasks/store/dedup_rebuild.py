"""`newsdesk dedup --rebuild`: recompute every story from the stored articles.

After a threshold change (or a better matcher, or an upgrade that changed the
index keys) the links already stored were decided under the old rules. A
rebuild empties the key index, the event vectors, the stories' summed vectors
and the merge record, and
places every current article again, oldest first, exactly as a load would
have placed it (copies, reports of one event, bridges merging stories): the
first article of each story becomes its canonical one, and `story_facts` is
rewritten. It runs in one
transaction under the load lock, so readers see the old clusters or the new
ones, never a mix, and loads wait for it. Running it twice changes nothing
the second time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from newsdesk.tasks.dedup import match, signature
from newsdesk.tasks.dedup.match import Link, Text, Thresholds
from newsdesk.tasks.store import dedup_index, story_facts
from newsdesk.tasks.store.lock import hold_load_lock
from newsdesk.tasks.store.outcomes import add_counts

CHUNK = 1000
RUN_SOURCE = "dedup-rebuild"  # the run's one row in ingest_run_sources


def rebuild(engine: Engine, *, run_id: int, thresholds: Thresholds, chunk: int = CHUNK) -> Counter:
    """Counts: `updated` for articles whose story, link, tier or score changed, `unchanged` for the rest."""
    counts: Counter = Counter()
    with engine.begin() as conn:
        held = hold_load_lock(conn)
        conn.execute(
            sa.text(
                "TRUNCATE newsdesk.near_keys, newsdesk.story_keys, newsdesk.story_vectors, newsdesk.story_merges,"
                " newsdesk.story_centroids"
            )
        )
        after = 0
        while rows := _next_chunk(conn, after, chunk):
            after = rows[-1][0]
            counts += _place_chunk(conn, rows, thresholds, run_id)
        story_facts.rebuild(conn)
        add_counts(conn, run_id, RUN_SOURCE, counts)
        held.record(sum(counts.values()))
    return +counts


def _next_chunk(conn: Connection, after: int, size: int) -> Sequence[sa.Row]:
    return conn.execute(
        sa.text(
            "SELECT id, story_id, duplicate_of, dup_kind, dup_score, event_score, title, body, language,"
            f" {dedup_index.ARTICLE_DAY} AS day, body_hash, coalesce(publisher_domain, publisher) AS outlet,"
            " section, url, published_precision = ANY(CAST(:timed AS text[])) AS timed"
            " FROM newsdesk.articles WHERE is_current AND id > :after ORDER BY id LIMIT :size"
        ),
        {"after": after, "size": size, "timed": list(dedup_index.TIMED)},
    ).all()


def _place_chunk(conn: Connection, rows: Sequence[sa.Row], thresholds: Thresholds, run_id: int) -> Counter:
    texts = [
        Text(
            row.id,
            None,
            row.title,
            row.body,
            row.language,
            row.day,
            row.body_hash,
            signature(row.title, row.body, row.language),
            outlet=row.outlet,
            section=row.section,
            url=row.url,
            timed=bool(row.timed),
        )
        for row in rows
    ]
    # Exact matches among the articles already placed: those with smaller ids.
    stored = dedup_index.stored_candidates(conn, texts, thresholds, before_id=rows[0].id)
    placed = match.place(texts, stored, thresholds)
    dedup_index.file_keys(conn, texts)
    dedup_index.save_centroids(conn, placed.centroids, placed.merges)
    # Articles of earlier chunks move with their merged stories (their rows were read before).
    dedup_index.apply_merges(conn, placed.merges, run_id)
    changed = [(row.id, link) for row, link in zip(rows, placed.links) if _differs(row, link)]
    if changed:
        conn.execute(
            sa.text(
                "UPDATE newsdesk.articles a SET story_id = c.story_id, duplicate_of = c.duplicate_of,"
                " dup_kind = c.dup_kind, dup_score = c.dup_score, event_score = c.event_score, updated_at = now()"
                " FROM unnest(CAST(:ids AS bigint[]), CAST(:stories AS bigint[]), CAST(:dups AS bigint[]),"
                "             CAST(:kinds AS text[]), CAST(:scores AS real[]), CAST(:events AS real[]))"
                "      AS c(id, story_id, duplicate_of, dup_kind, dup_score, event_score)"
                " WHERE a.id = c.id"
            ),
            {
                "ids": [article_id for article_id, _ in changed],
                "stories": [link.story_id for _, link in changed],
                "dups": [link.duplicate_of for _, link in changed],
                "kinds": [link.kind for _, link in changed],
                "scores": [link.score for _, link in changed],
                "events": [link.event_score for _, link in changed],
            },
        )
    return Counter(updated=len(changed), unchanged=len(rows) - len(changed))


def _differs(row, link: Link) -> bool:
    if (row.story_id, row.duplicate_of, row.dup_kind) != (link.story_id, link.duplicate_of, link.kind):
        return True
    return _score_differs(row.dup_score, link.score) or _score_differs(row.event_score, link.event_score)


def _score_differs(stored: float | None, decided: float | None) -> bool:
    if (stored is None) != (decided is None):
        return True
    return stored is not None and decided is not None and abs(stored - decided) > 1e-4
