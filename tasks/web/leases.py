"""This process's leases of web origins, over the shared schedule
(`tasks.store.host_schedule`): the requests of one process to one host cost
a statement when they begin and one when they end, not statements per request.

A request enters the origin's lease before it starts (taking or renewing it
when needed) and leaves it when it ends. A lease's span is LEASE_SPAN
seconds of entries; past half of it the next entry renews it, which the
schedule refuses when another process has asked for the origin: then no
request enters, and the last one inside releases it. The origin is also
released once no request of this process has been inside or queued for it
for IDLE (so another process waits at most about that long for a host this
one is not using), and at the end of the run (`release_all`, one statement
for every origin still held)."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Protocol

from newsdesk.tasks.store.host_schedule import Answer

# Seconds of entries a lease grants: another process that asks for a busy host
# has it within about half of this (the holder's next renewal is refused).
LEASE_SPAN = 30.0
# Seconds an origin stays leased with nothing of this process inside or queued.
IDLE = 2.0
# How often a process waiting for an origin another holds asks again.
LEASE_POLL = 0.5


class Schedule(Protocol):
    """Origins leased to one process at a time, among every run and worker:
    `tasks.store.host_schedule`, in PostgreSQL."""

    async def lease(self, origin: str, span: float, drain: float) -> Answer: ...

    async def release(self, origin: str, after: float) -> None: ...

    async def release_all(self, after: float) -> None: ...


class OriginLeases:
    """The origins this process holds, the requests inside each, and the
    releases due. `request_seconds` is a request's longest time; `queued(origin)`
    counts this process's requests waiting to enter; `last_sent(origin)` is the
    monotonic time its last request's headers were written (None if none)."""

    def __init__(
        self,
        schedule: Schedule,
        request_seconds: float,
        queued: Callable[[str], int],
        last_sent: Callable[[str], float | None],
    ):
        self.schedule = schedule
        self.request_seconds = request_seconds
        self._queued = queued
        self._last_sent = last_sent
        self._until: dict[str, float] = {}  # origin -> the loop's time its lease's span ends by
        self._inside: dict[str, int] = defaultdict(int)
        self._handing_over: set[str] = set()  # another process asked: no more entries
        self._delays: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._idle: dict[str, asyncio.TimerHandle] = {}
        self._releasing: set[asyncio.Task] = set()

    def _usable(self, origin: str, now: float) -> bool:
        """Whether a request may enter `origin` now without a statement: held,
        not being handed over, and more than half of the span left."""
        until = self._until.get(origin)
        return until is not None and until - now > LEASE_SPAN / 2 and origin not in self._handing_over

    async def enter(self, origin: str, delay: float) -> None:
        """Wait until this process holds `origin` (spacing its requests by
        `delay`), and count a request in."""
        loop = asyncio.get_running_loop()
        self._delays[origin] = delay
        if (idle := self._idle.pop(origin, None)) is not None:
            idle.cancel()
        if self._usable(origin, loop.time()):
            self._inside[origin] += 1
            return
        while (wait := await self._try_enter(origin, delay)) is not None:
            await asyncio.sleep(wait)

    async def _try_enter(self, origin: str, delay: float) -> float | None:
        """Count a request in if this process holds `origin` (leasing or
        renewing it first when needed): None, else the seconds to wait
        before trying again (slept without the origin's lock, which the
        release by the last request inside takes)."""
        loop = asyncio.get_running_loop()
        async with self._locks[origin]:
            now = loop.time()
            if self._usable(origin, now):
                self._inside[origin] += 1
                return None
            if origin in self._handing_over:
                return LEASE_POLL  # the last request inside releases it
            answer = await self.schedule.lease(origin, LEASE_SPAN, self.request_seconds + delay)
            if answer.granted:
                self._until[origin] = now + LEASE_SPAN  # `now` is before the statement's time
                self._inside[origin] += 1
                return None
            if answer.mine:  # another process asked for it: hand it over
                self._until.setdefault(origin, now)  # held, even if this process had not known it
                self._handing_over.add(origin)
                if self._inside[origin] == 0:
                    await self._release(origin)
                return 0.0
            self._until.pop(origin, None)  # held by another (ours ran out while this loop stalled)
            return answer.next_in if answer.next_in > 0 else LEASE_POLL

    def leave(self, origin: str) -> None:
        """A request that entered `origin` has ended."""
        self._inside[origin] -= 1
        if self._inside[origin] > 0:
            return
        if origin in self._handing_over:
            self._spawn(self._release_if_idle(origin, queued_too=False))
        else:
            self._release_when_idle(origin)

    def _release_when_idle(self, origin: str) -> None:
        """Look again in IDLE seconds whether `origin` can be released."""
        if origin not in self._idle:
            self._idle[origin] = asyncio.get_running_loop().call_later(IDLE, self._on_idle, origin)

    def _on_idle(self, origin: str) -> None:
        self._idle.pop(origin, None)
        self._spawn(self._release_if_idle(origin, queued_too=True))

    def _spawn(self, coroutine) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._releasing.add(task)
        task.add_done_callback(self._releasing.discard)

    async def _release_if_idle(self, origin: str, queued_too: bool) -> None:
        async with self._locks[origin]:
            if self._inside[origin] > 0:
                return  # one entered meanwhile: its leaving looks again
            if queued_too and self._queued(origin):  # about to enter (their spacing)
                self._release_when_idle(origin)
                return
            await self._release(origin)

    async def _release(self, origin: str) -> None:
        """Give `origin` back (under its lock): the next start, from any
        process, a delay after this one's last headers."""
        self._handing_over.discard(origin)
        if self._until.pop(origin, None) is None:
            return
        last = self._last_sent(origin)
        delay = self._delays.get(origin, 0.0)
        after = delay - (time.monotonic() - last) if last is not None else delay
        await self.schedule.release(origin, after)

    async def release_all(self) -> None:
        """The run is ending: give back every origin still held."""
        for handle in self._idle.values():
            handle.cancel()
        self._idle.clear()
        if self._releasing:
            await asyncio.gather(*self._releasing, return_exceptions=True)
        self._until.clear()
        self._handing_over.clear()
        await self.schedule.release_all(max(self._delays.values(), default=0.0))
