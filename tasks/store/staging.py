"""Article rows staged before the load lock, inserted with their decisions under it.

A load copies the rows of its new article versions into a temporary table
first, where their full-text vectors are computed (`newsdesk.article_search`,
the expression `articles.search` holds): the costly part of writing an article.
Under the lock only the decided fields (version, story, copy link) are joined
in and the rows inserted into `articles`. The table lives as long as the
transaction (made again by each: nothing outlives a commit that could hold
up a migration).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from newsdesk.tasks.dedup.match import Link
from newsdesk.tasks.store.pgcopy import copy_rows
from newsdesk.tasks.store.rows import ARTICLE_COLUMNS

STAGE = "pg_temp.newsdesk_articles_stage"
# Filled under the lock, from the decision; the others come from the staged row.
_DECIDED = ("version", "duplicate_of", "dup_kind", "dup_score", "story_id", "event_score")
_CREATE = (
    "CREATE TEMP TABLE IF NOT EXISTS newsdesk_articles_stage ("
    + ", ".join(f"{name} {pg_type}" for name, pg_type in ARTICLE_COLUMNS)
    + ", search tsvector GENERATED ALWAYS AS (newsdesk.article_search(language, title, body)) STORED"
    + ") ON COMMIT DROP"
)


def stage(conn: Connection, rows: list[tuple]) -> None:
    """Copy article rows (in ARTICLE_COLUMNS order; their decided fields are ignored) into the stage."""
    if not rows:
        return
    conn.execute(sa.text("SET LOCAL client_min_messages = warning"))  # no notice when the table exists
    conn.execute(sa.text(_CREATE))
    copy_rows(conn, STAGE, ARTICLE_COLUMNS, rows)


def insert_decided(conn: Connection, ids: Sequence[int], versions: Sequence[int], links: Sequence[Link]) -> None:
    """Insert the staged rows `ids` into `articles`, in this order, with their versions and decisions."""
    if not ids:
        return
    names = [name for name, _ in ARTICLE_COLUMNS]
    select = ", ".join(f"d.{name}" if name in _DECIDED else f"s.{name}" for name in names)
    conn.execute(
        sa.text(
            f"INSERT INTO newsdesk.articles ({', '.join(names)}, search) SELECT {select}, s.search"
            f" FROM unnest(CAST(:ids AS bigint[]), CAST(:versions AS int[]), CAST(:stories AS bigint[]),"
            "              CAST(:dups AS bigint[]), CAST(:kinds AS text[]), CAST(:scores AS real[]),"
            "              CAST(:events AS real[]))"
            "   WITH ORDINALITY AS d(id, version, story_id, duplicate_of, dup_kind, dup_score, event_score, n)"
            f" JOIN {STAGE} s ON s.id = d.id ORDER BY d.n"
        ),
        {
            "ids": list(ids),
            "versions": list(versions),
            "stories": [link.story_id for link in links],
            "dups": [link.duplicate_of for link in links],
            "kinds": [link.kind for link in links],
            "scores": [link.score for link in links],
            "events": [link.event_score for link in links],
        },
    )
