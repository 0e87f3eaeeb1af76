"""The global request limit: at most `limit` at once, waiters served by priority."""

from __future__ import annotations

import asyncio

from newsdesk.tasks.web.permits import LISTING, PAGE, ROBOTS, PriorityPermits


def test_never_more_than_the_limit_and_pages_go_first():
    async def scenario():
        permits = PriorityPermits(2)
        holding, most, order = 0, 0, []
        release = asyncio.Event()

        async def request(name: str, priority: int, wait: bool):
            nonlocal holding, most
            async with permits.hold(priority):
                holding += 1
                most = max(most, holding)
                order.append(name)
                if wait:
                    await release.wait()
                holding -= 1

        first = [asyncio.create_task(request(f"robots-{i}", ROBOTS, True)) for i in range(2)]
        await asyncio.sleep(0)
        queued = [
            asyncio.create_task(request(name, priority, False))
            for name, priority in [("robots-2", ROBOTS), ("feed", LISTING), ("page-1", PAGE), ("page-2", PAGE)]
        ]
        await asyncio.sleep(0)
        assert permits.waiting == 4
        release.set()
        await asyncio.gather(*first, *queued)
        return most, order

    most, order = asyncio.run(scenario())
    assert most == 2
    assert order == ["robots-0", "robots-1", "page-1", "page-2", "feed", "robots-2"]


def test_a_cancelled_waiter_gives_up_its_place():
    async def scenario():
        permits = PriorityPermits(1)
        got = []

        async def request(name: str):
            async with permits.hold(PAGE):
                got.append(name)
                await asyncio.sleep(0.01)

        holder = asyncio.create_task(request("holder"))
        await asyncio.sleep(0)
        gone = asyncio.create_task(request("gone"))
        after = asyncio.create_task(request("after"))
        await asyncio.sleep(0)
        gone.cancel()
        await asyncio.gather(holder, after, return_exceptions=True)
        # The permit is free again: a new request gets it at once.
        await asyncio.wait_for(request("last"), 1)
        return got, permits.waiting

    got, waiting = asyncio.run(scenario())
    assert got == ["holder", "after", "last"]
    assert waiting == 0
