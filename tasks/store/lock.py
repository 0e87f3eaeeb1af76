"""The load lock: one transaction at a time settles stories (a load checks under it
the decision it made before it; a reprocess or rebuild decides under it).

It is `LOCK TABLE newsdesk.load_lock IN EXCLUSIVE MODE`, held until the
transaction ends. A table lock in that mode needs UPDATE, DELETE or TRUNCATE
rights on the table, which the read-only `newsdesk_analyst` role lacks, and the
ACCESS SHARE lock its SELECTs take does not conflict with it: unlike an
advisory lock, which any role may take, no analyst can stop the loads. A load
that cannot get it within `NEWSDESK_LOAD_LOCK_TIMEOUT` seconds fails with
`LoadLockTimeout`, naming who holds it, instead of waiting forever.

Callers do before taking it whatever does not depend on the order of loads,
and record how long they held it (`Held.record`) as their last statement.

Each holder takes the next number (`load_lock.seq`) as it gets the lock; as
holders commit in that order, a load that read the index when the number was
N has seen every holder up to N and none after. A holder lists what it changed
in `load_changes` under its number (`tasks.store.changes`); one that does not
say (`lists_changes=False`: a reprocess, a rebuild) is recorded as having
changed anything, so that every decision made before it is taken again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from newsdesk.config import Settings

LOCK_TABLE = "newsdesk.load_lock"
_LOCK_NOT_AVAILABLE = "55P03"


class LoadLockTimeout(RuntimeError):
    """The load lock was not obtained in time (retried like any database error)."""


@dataclass
class Held:
    """The load lock, held by `conn`'s transaction since `since` (perf_counter)."""

    conn: Connection
    since: float
    seq: int  # this holder's number
    changes_from: int  # the smallest holder number whose changes are still listed

    def record(self, items: int) -> None:
        """Add this hold to the lock's totals (the last statement before the commit)."""
        self.conn.execute(
            sa.text(
                f"UPDATE {LOCK_TABLE} SET holds = holds + 1, items = items + :n,"
                " held_seconds = held_seconds + :s WHERE id = 1"
            ),
            {"n": items, "s": time.perf_counter() - self.since},
        )


def hold_load_lock(
    conn: Connection, timeout: float | None = None, *, lists_changes: bool = False, token: int | None = None
) -> Held:
    """Wait at most `timeout` seconds (default: the setting) for the load lock,
    then hold it until the transaction ends; raises LoadLockTimeout. Unless the
    caller `lists_changes` (its row `token` in `load_changes`, numbered here,
    see `tasks.store.changes`), it is recorded as having changed anything."""
    seconds = Settings.from_env().load_lock_timeout if timeout is None else timeout
    previous = conn.scalar(
        sa.text(
            "SELECT p.previous FROM (SELECT current_setting('lock_timeout') AS previous OFFSET 0) p,"
            " set_config('lock_timeout', :ms, true)"
        ),
        {"ms": f"{int(seconds * 1000)}ms"},
    )
    try:
        conn.execute(sa.text(f"LOCK TABLE {LOCK_TABLE} IN EXCLUSIVE MODE"))
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
            raise
        raise LoadLockTimeout(
            f"the load lock ({LOCK_TABLE}) was not obtained within {seconds:g} s"
            f" (NEWSDESK_LOAD_LOCK_TIMEOUT); held by {_holders(conn) or 'a transaction that has since ended'}"
        ) from None
    since = time.perf_counter()
    # One round trip: the holder's number, its row numbered (or one saying it changed
    # anything), and lock_timeout as it was.
    seq, changes_from = conn.execute(
        sa.text(
            f"WITH s AS (UPDATE {LOCK_TABLE} SET seq = seq + 1 WHERE id = 1 RETURNING seq, changes_from),"
            " numbered AS (UPDATE newsdesk.load_changes SET seq = (SELECT seq FROM s) WHERE token = :token),"
            " anything AS (INSERT INTO newsdesk.load_changes (seq, anything) SELECT seq, true FROM s WHERE :anything)"
            " SELECT seq, changes_from, set_config('lock_timeout', :previous, true) FROM s"
        ),
        {"token": token, "anything": not lists_changes, "previous": previous},
    ).one()[:2]
    return Held(conn, since, seq, changes_from)


def _holders(conn: Connection) -> str:
    """Who holds the lock now, as an operator would look for them (a new connection:
    this transaction is aborted)."""
    try:
        with conn.engine.connect() as other:
            rows = other.execute(
                sa.text(
                    "SELECT a.pid, a.usename, a.application_name, a.state, now() - a.xact_start AS held_for,"
                    " left(a.query, 120) AS query FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                    f" WHERE l.locktype = 'relation' AND l.relation = '{LOCK_TABLE}'::regclass AND l.granted"
                    " AND l.mode = 'ExclusiveLock'"
                )
            ).all()
    except sa.exc.SQLAlchemyError:
        return ""
    return "; ".join(
        f"pid {r.pid} (user {r.usename}, {r.application_name or 'no application name'}, {r.state},"
        f" in its transaction for {r.held_for}, last query: {r.query!r})"
        for r in rows
    )
