"""The spacing of requests to a web origin, shared by every run and worker.

One row per origin holds the earliest start of its next request. A request
about to leave asks for its start in one statement (the row lock makes
concurrent asks queue): granted when that time has come, and the row moves on
by the delay; otherwise it is told how long to wait, and asks again then. So
two granted starts to one origin are `delay` apart whichever process makes
them, and since a request asks at the moment it leaves (not when it is
scheduled), one that is late cannot come close to the next. Times come from
PostgreSQL's clock, so workers whose clocks disagree still agree.
"""

from __future__ import annotations

import uuid

import psycopg
from sqlalchemy.engine import Engine

# statement_timestamp(): one "now" for the whole statement, so both CASEs agree.
_ASK = (
    "INSERT INTO newsdesk.host_schedule AS h (origin, next_at, holder)"
    " VALUES (%(origin)s, statement_timestamp() + make_interval(secs => %(delay)s), %(me)s)"
    " ON CONFLICT (origin) DO UPDATE SET"
    " next_at = CASE WHEN h.next_at <= statement_timestamp() THEN EXCLUDED.next_at ELSE h.next_at END,"
    " holder = CASE WHEN h.next_at <= statement_timestamp() THEN EXCLUDED.holder ELSE h.holder END"
    " RETURNING h.holder = %(me)s, extract(epoch FROM h.next_at - statement_timestamp())::float8"
)


class HostSchedule:
    """The shared schedule, asked over one connection of its own (autocommit)
    from the frontier's event loop: a request's ask is one round trip, with no
    thread or pool between the answer and the request leaving."""

    def __init__(self, engine: Engine):
        self.conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._connection: psycopg.AsyncConnection | None = None

    async def ask(self, origin: str, delay: float) -> float:
        """Ask to start a request to `origin` now: 0 when granted (the next
        start is then `delay` from now), else the seconds to wait before asking again."""
        if self._connection is None or self._connection.closed:
            self._connection = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
            # An ask need not wait for its commit to reach the disk: a schedule
            # row lost in a crash only lets the first request after it go at once.
            await self._connection.execute("SET synchronous_commit TO off")
        cursor = await self._connection.execute(_ASK, {"origin": origin, "delay": delay, "me": uuid.uuid4().hex})
        row = await cursor.fetchone()
        assert row is not None
        granted, wait = row
        return 0.0 if granted else max(float(wait), 0.001)

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
