"""One autocommit connection of a component's own, opened on first use.

The frontier's shared schedule and robots.txt reads each talk to PostgreSQL
over a connection of their own, from the crawl's event loop, where hundreds
of hosts' first requests start at once. Opened as "if none yet, connect",
every one of those coroutines would find none and open its own (a run of 200
sites opened over 100 at once, and PostgreSQL's default `max_connections`
refused the rest: their sources failed). Here the first opens it and the
others wait for that one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import psycopg


class OwnConnection:
    """An autocommit connection to `conninfo`, opened once by whichever
    coroutine needs it first (`setup` statements run on it before anyone
    gets it), and again if it was closed."""

    def __init__(self, conninfo: str, setup: Sequence[str] = ()):
        self.conninfo = conninfo
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

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
