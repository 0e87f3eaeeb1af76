"""The load lock (tasks/store/lock.py): a read-only analyst cannot take it or
stop loads with it, a load waits for it only so long and then says who holds it,
and the work before it (staging) does not hold it."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from newsdesk.tasks.store import load
from newsdesk.tasks.store.lock import LOCK_TABLE, LoadLockTimeout, hold_load_lock
from tests.helpers import fetch, new_run, prepared


@pytest.fixture
def analyst(db, database_url):
    """A login role granted newsdesk_analyst, and an engine connected as it."""
    name = f"analyst_{uuid.uuid4().hex[:8]}"
    with db.begin() as conn:
        conn.execute(sa.text(f"CREATE ROLE {name} LOGIN"))
        conn.execute(sa.text(f"GRANT newsdesk_analyst TO {name}"))
    engine = sa.create_engine(
        make_url(database_url).set(drivername="postgresql+psycopg", username=name, password=None), poolclass=NullPool
    )
    yield engine
    engine.dispose()
    with db.begin() as conn:
        conn.execute(sa.text(f"DROP ROLE {name}"))


def test_an_analyst_holding_the_old_advisory_lock_does_not_stop_loads(db, analyst, monkeypatch):
    monkeypatch.setenv("NEWSDESK_LOAD_LOCK_TIMEOUT", "5")
    run_id = new_run(db)
    with analyst.connect() as conn:
        # Every role may take any advisory lock: the one loads took before migration 0013.
        assert conn.scalar(sa.text("SELECT pg_advisory_lock(7214001)")) is not None
        # Reading the lock table takes ACCESS SHARE, which the load lock does not conflict with.
        conn.execute(sa.text(f"SELECT * FROM {LOCK_TABLE}")).all()
        counts = load.load_batch(db, run_id=run_id, source="s", items=[prepared("/a", "a body of text here")])
        assert counts == {"inserted": 1}
        conn.rollback()


def test_an_analyst_cannot_take_the_load_lock(analyst):
    for statement in (
        f"LOCK TABLE {LOCK_TABLE} IN EXCLUSIVE MODE",
        f"LOCK TABLE {LOCK_TABLE} IN SHARE MODE",
        f"SELECT * FROM {LOCK_TABLE} FOR UPDATE",
        f"SELECT * FROM {LOCK_TABLE} FOR KEY SHARE",
    ):
        with analyst.connect() as conn, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.execute(sa.text(statement))


def test_a_load_that_cannot_get_the_lock_fails_saying_who_holds_it(db, monkeypatch):
    run_id = new_run(db)
    monkeypatch.setenv("NEWSDESK_LOAD_LOCK_TIMEOUT", "0.5")
    with db.connect() as holder:
        holder.execute(sa.text("SET application_name = 'the-holder'"))
        holder.commit()
        holder.begin()
        hold_load_lock(holder)
        with pytest.raises(LoadLockTimeout, match=r"not obtained within 0\.5 s.*the-holder"):
            load.load_batch(db, run_id=run_id, source="s", items=[prepared("/a", "a body of text here")])
        holder.rollback()
    assert fetch(db, "SELECT count(*) AS n FROM newsdesk.articles")[0]["n"] == 0
    assert load.load_batch(db, run_id=run_id, source="s", items=[prepared("/a", "a body of text here")]) == {
        "inserted": 1
    }


def test_loads_add_their_hold_to_the_lock_table(db):
    run_id = new_run(db)
    [before] = fetch(db, f"SELECT holds, items, held_seconds FROM {LOCK_TABLE}")
    load.load_batch(
        db, run_id=run_id, source="s", items=[prepared(f"/{i}", f"body number {i} of text") for i in range(5)]
    )
    [after] = fetch(db, f"SELECT holds, items, held_seconds FROM {LOCK_TABLE}")
    assert after["holds"] == before["holds"] + 1
    assert after["items"] == before["items"] + 5
    assert after["held_seconds"] > before["held_seconds"]


def test_full_text_vectors_are_those_of_the_search_expression(db):
    run_id = new_run(db)
    load.load_batch(db, run_id=run_id, source="s", items=[prepared("/a", "Reporters counted the running votes")])
    [row] = fetch(
        db,
        "SELECT search = newsdesk.article_search(language, title, body) AS same, search::text AS search"
        " FROM newsdesk.articles",
    )
    assert row["same"] and "vote" in row["search"]
    # Another writer that leaves it out gets it from the trigger, and again when the body changes.
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE newsdesk.articles SET body = 'Editors wrote headlines'"))
    [row] = fetch(db, "SELECT search = newsdesk.article_search(language, title, body) AS same FROM newsdesk.articles")
    assert row["same"]
