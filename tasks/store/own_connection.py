"""One autocommit connection of a component's own, opened on first use.

The frontier's shared schedule and robots.txt reads each talk to PostgreSQL
over a connection of their own, from the crawl's event loop, where hundreds
of hosts' first requests start at once. Opened as "if none yet, connect",
every one of those coroutines would find none and open its own (a run of 200
sites opened over 100 at once, and PostgreSQL's default `max_connections`
refused the rest: their sources failed). Here the first opens it and the
others wait for that one.

Their statements are idempotent (each names its holder), so one that loses
its connection (PostgreSQL restarted, the backend terminated) is sent again
on a new one, for RECONNECT_DELAYS: a restart of a second or two costs the
crawl a pause, not the pages whose turn it was (docs/operations.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import psycopg
from sqlalchemy.engine import Engine

# Seconds to wait before each new attempt of a statement whose connection was
# lost: about 15 s in all, the time a restart of PostgreSQL takes and more.
RECONNECT_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)


class OwnConnection:
    """An autocommit connection to `engine`'s database, outside its pool,
    opened once by whichever coroutine needs it first (`setup` statements run
    on it before anyone gets it), and again if it was closed."""

    def __init__(self, engine: Engine, setup: Sequence[str] = ()):
        self.conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.setup = tuple(setup)
        self._connection: psycopg.AsyncConnection | None = None
        self._opening = asyncio.Lock()

    async def get(self) -> psycopg.AsyncConnection:
        """The connection, opened if there is none open."""
        connection = self._connection
        if connection is not None and not connection.closed:
            return connection
        async with self._opening:
            connection = self._connection
            if connection is None or connection.closed:
                connection = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
                for statement in self.setup:
                    await connection.execute(statement)
                self._connection = connection
            return connection

    async def execute(self, statement: str, params: dict) -> tuple | None:
        """Run an idempotent `statement`: its first row (None when it returns
        none), sent again on a new connection when the connection is lost."""
        delays = iter(RECONNECT_DELAYS)
        while True:
            connection = None  # stays None when the connection cannot be opened
            try:
                connection = await self.get()
                cursor = await connection.execute(statement, params)
                return await cursor.fetchone() if cursor.description else None
            except psycopg.OperationalError:
                if connection is not None and not connection.closed:
                    raise  # the statement failed, not the connection
                if (delay := next(delays, None)) is None:
                    raise
                await asyncio.sleep(delay)

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
