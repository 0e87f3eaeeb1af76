"""The global limit on requests in flight, served by priority.

A crawl's requests are not all equal: a robots.txt or a listing only leads to
pages, a page is work the extraction can start on. When the limit is reached,
waiting requests are let through highest priority first (in order of arrival
within one priority), so a run starts preparing pages while other sites'
listings are still being read, instead of reading every listing first.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from contextlib import asynccontextmanager

# Request priorities: what a request leads to.
ROBOTS = 0
LISTING = 1
PAGE = 2


class PriorityPermits:
    """At most `limit` holders at once; waiters served highest priority first."""

    def __init__(self, limit: int):
        self._free = limit
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    @asynccontextmanager
    async def hold(self, priority: int):
        await self._acquire(priority)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, priority: int) -> None:
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (-priority, next(self._order), granted))
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self._release()  # handed over just as the waiter was cancelled: pass it on
            else:
                granted.cancel()  # skipped when its turn comes
            raise

    def _release(self) -> None:
        while self._waiting:
            _, _, granted = heapq.heappop(self._waiting)
            if not granted.done():
                granted.set_result(None)
                return
        self._free += 1

    @property
    def waiting(self) -> int:
        return sum(1 for _, _, granted in self._waiting if not granted.done())
