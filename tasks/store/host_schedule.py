"""The spacing of requests to a web origin, shared by every run and worker.

One row per origin holds the earliest start of its next request. A request
about to leave asks for its start in one statement (the row lock makes
concurrent asks queue): granted when that time has come, and the origin is
then held (its row moves on by the delay and SENDING) until the request's
headers are written and `sent` moves it to `delay` after that moment;
otherwise it is told how long to wait, and asks again then. So two requests
to one origin leave `delay` apart whichever process makes them: one that is
late, after its grant or before its bytes leave, cannot come close to the
next. A process that dies holding an origin holds it SENDING longer at most.
Times come from PostgreSQL's clock, so workers whose clocks disagree still agree.
"""

from __future__ import annotations

import uuid

import psycopg
from sqlalchemy.engine import Engine

# Seconds a granted request may take to write its headers before the origin
# is free again anyway (its process may have died between the two).
SENDING = 10.0

# statement_timestamp(): one "now" for the whole statement, so both CASEs agree.
_ASK = (
    "INSERT INTO newsdesk.host_schedule AS h (origin, next_at, holder)"
    " VALUES (%(origin)s, statement_timestamp() + make_interval(secs => %(delay)s + %(sending)s), %(me)s)"
    " ON CONFLICT (origin) DO UPDATE SET"
    " next_at = CASE WHEN h.next_at <= statement_timestamp() THEN EXCLUDED.next_at ELSE h.next_at END,"
    " holder = CASE WHEN h.next_at <= statement_timestamp() THEN EXCLUDED.holder ELSE h.holder END"
    " RETURNING h.holder = %(me)s, extract(epoch FROM h.next_at - statement_timestamp())::float8"
)

_SENT = (
    "UPDATE newsdesk.host_schedule SET next_at = statement_timestamp() + make_interval(secs => %(delay)s)"
    " WHERE origin = %(origin)s AND holder = %(me)s"
)


class HostSchedule:
    """The shared schedule, asked over one connection of its own (autocommit)
    from the frontier's event loop: a request's ask is one round trip, with no
    thread or pool between the answer and the request leaving."""

    def __init__(self, engine: Engine):
        self.conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._connection: psycopg.AsyncConnection | None = None
        self._held: dict[str, str] = {}  # origin -> the holder id of its granted ask, until `sent`

    async def ask(self, origin: str, delay: float) -> float:
        """Ask to start a request to `origin` now: 0 when granted (the origin
        is then held until `sent`), else the seconds to wait before asking again."""
        connection = await self._connect()
        me = uuid.uuid4().hex
        cursor = await connection.execute(_ASK, {"origin": origin, "delay": delay, "sending": SENDING, "me": me})
        row = await cursor.fetchone()
        assert row is not None
        granted, wait = row
        if granted:
            self._held[origin] = me
            return 0.0
        # Held by a request still writing, the row says SENDING more: its
        # `sent` will say sooner, so ask again within a delay.
        return min(max(float(wait), 0.001), delay)

    async def sent(self, origin: str, delay: float) -> None:
        """The granted request to `origin` has written its headers (or failed
        to): the next, from any process, may start `delay` from now."""
        me = self._held.pop(origin, None)
        if me is not None:
            connection = await self._connect()
            await connection.execute(_SENT, {"origin": origin, "delay": delay, "me": me})

    async def _connect(self) -> psycopg.AsyncConnection:
        if self._connection is None or self._connection.closed:
            self._connection = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
            # An ask need not wait for its commit to reach the disk: a schedule
            # row lost in a crash only lets the first request after it go at once.
            await self._connection.execute("SET synchronous_commit TO off")
        return self._connection

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
