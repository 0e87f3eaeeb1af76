"""Article rows staged, then inserted with their decisions.

A load copies the rows of its new article versions into a temporary table
first, where their full-text vectors are computed (`newsdesk.article_search`,
the expression `articles.search` holds): the costly part of writing an article.
Then the decided fields (version, story, copy link) are joined in and the rows
inserted into `articles` (`insert_decided`): before the load lock, with the
decision made before it (a new version of a known article not yet current),
and `redecide` rewrites the decided fields of those the re-check under the
lock placed otherwise. The table lives as long as the transaction (made again
by each: nothing outlives a commit that could hold up a migration).
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


def insert_decided(
    conn: Connection,
    ids: Sequence[int],
    versions: Sequence[int],
    links: Sequence[Link],
    current: Sequence[bool] | None = None,
) -> None:
    """Insert the staged rows `ids` into `articles`, in this order, with their
    versions and decisions; `current`: whether each is the current version
    (default: all; a new version inserted before the lock is made current under it)."""
    if not ids:
        return
    names = [name for name, _ in ARTICLE_COLUMNS]
    select = ", ".join(f"d.{name}" if name in _DECIDED else f"s.{name}" for name in names)
    conn.execute(
        sa.text(
            f"INSERT INTO newsdesk.articles ({', '.join(names)}, is_current, search) SELECT {select}, d.is_current,"
            " s.search"
            " FROM unnest(CAST(:ids AS bigint[]), CAST(:versions AS int[]), CAST(:stories AS bigint[]),"
            "              CAST(:dups AS bigint[]), CAST(:kinds AS text[]), CAST(:scores AS real[]),"
            "              CAST(:events AS real[]), CAST(:current AS boolean[]))"
            "   WITH ORDINALITY AS d(id, version, story_id, duplicate_of, dup_kind, dup_score, event_score, is_current, n)"
            f" JOIN {STAGE} s ON s.id = d.id ORDER BY d.n"
        ),
        {**_decided(ids, links), "versions": list(versions), "current": list(current or [True] * len(ids))},
    )


def redecide(conn: Connection, ids: Sequence[int], links: Sequence[Link]) -> None:
    """Rewrite the decided fields of inserted articles `ids` (placed again under the lock)."""
    if not ids:
        return
    conn.execute(
        sa.text(
            "UPDATE newsdesk.articles a SET story_id = d.story_id, duplicate_of = d.duplicate_of,"
            " dup_kind = d.dup_kind, dup_score = d.dup_score, event_score = d.event_score"
            " FROM unnest(CAST(:ids AS bigint[]), CAST(:stories AS bigint[]), CAST(:dups AS bigint[]),"
            "             CAST(:kinds AS text[]), CAST(:scores AS real[]), CAST(:events AS real[]))"
            "   AS d(id, story_id, duplicate_of, dup_kind, dup_score, event_score)"
            " WHERE a.id = d.id"
        ),
        _decided(ids, links),
    )


def _decided(ids: Sequence[int], links: Sequence[Link]) -> dict:
    return {
        "ids": list(ids),
        "stories": [link.story_id for link in links],
        "dups": [link.duplicate_of for link in links],
        "kinds": [link.kind for link in links],
        "scores": [link.score for link in links],
        "events": [link.event_score for link in links],
    }
