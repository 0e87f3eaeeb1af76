"""The spacing shared by processes (`tasks.store.host_schedule`), on a real
PostgreSQL: two schedules stand for two runs or workers."""

from __future__ import annotations

import asyncio
import time
import uuid

from newsdesk.tasks.store.host_schedule import HostSchedule

DELAY = 0.2


def test_a_host_is_held_until_the_granted_request_has_left(db):
    """A process granted a start may be slow to send (a busy loop): another
    process is not granted the host until a delay after the first one's
    request has actually left, however long that takes."""
    origin = f"http://{uuid.uuid4().hex}.example"

    async def run() -> tuple[list[float], float]:
        first, second = HostSchedule(db), HostSchedule(db)
        try:
            assert await first.ask(origin, DELAY) == 0.0
            refusals = []
            deadline = time.monotonic() + 3 * DELAY  # the first holds on, well past a delay
            while time.monotonic() < deadline:
                wait = await second.ask(origin, DELAY)
                assert wait > 0, "granted while the first request had not left"
                refusals.append(wait)
                await asyncio.sleep(min(wait, deadline - time.monotonic(), DELAY / 4))
            await first.sent(origin, DELAY)
            left = time.monotonic()
            while (wait := await second.ask(origin, DELAY)) > 0:
                await asyncio.sleep(wait)
            return refusals, time.monotonic() - left
        finally:
            await first.close()
            await second.close()

    refusals, after = asyncio.run(run())
    assert all(wait <= DELAY for wait in refusals)  # a waiter asks again within a delay
    assert after >= DELAY / 2  # the next start moved to a delay after `sent` (less a round trip or two)
