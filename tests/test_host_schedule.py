"""The spacing shared by processes (`tasks.store.host_schedule`), on a real
PostgreSQL: two schedules stand for two runs or workers."""

from __future__ import annotations

import asyncio
import time
import uuid

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from newsdesk.tasks.store.host_schedule import HostSchedule
from newsdesk.tasks.store.shared_robots import SharedRobots
from tests.helpers import AtOnce

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


def test_the_first_requests_of_many_hosts_at_once_open_one_connection(db, database_url):
    """A crawl's first requests to hundreds of hosts start together: the
    schedule and the robots.txt reads each open one connection for them all
    (each request opening its own ran PostgreSQL out of connections, and
    sources failed). Here the server itself refuses a fourth connection: the
    role has a connection limit of 3."""
    name = f"crawler_{uuid.uuid4().hex[:8]}"
    with db.begin() as conn:
        conn.execute(sa.text(f"CREATE ROLE {name} LOGIN CONNECTION LIMIT 3"))
        conn.execute(sa.text(f"GRANT USAGE ON SCHEMA newsdesk TO {name}"))
        conn.execute(
            sa.text(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON newsdesk.host_schedule, newsdesk.host_slots,"
                f" newsdesk.robots_reads, newsdesk.http_cache TO {name}"
            )
        )
    crawler = sa.create_engine(
        make_url(database_url).set(drivername="postgresql+psycopg", username=name, password=None), poolclass=NullPool
    )
    origins = [f"http://{uuid.uuid4().hex}.example" for _ in range(60)]

    async def run() -> None:
        schedule, robots = HostSchedule(crawler), SharedRobots(crawler, uuid.uuid4().hex)
        try:
            # One connection for the asks, one for the slots (apart, so asks never wait behind slots), one for robots.txt.
            await asyncio.gather(
                *(schedule.ask(origin, DELAY) for origin in origins),
                *(schedule.take_slot(origin, 2, 30.0) for origin in origins),
                *(robots.claim(origin, 30.0) for origin in origins),
            )
        finally:
            await schedule.close()
            await robots.close()

    try:
        asyncio.run(run())
    finally:
        crawler.dispose()
        with db.begin() as conn:
            conn.execute(sa.text(f"DROP OWNED BY {name}"))
            conn.execute(sa.text(f"DROP ROLE {name}"))


def test_a_lost_connection_costs_a_pause_not_the_request(db):
    """PostgreSQL restarted or the backend terminated: the schedule's and
    robots.txt's statements are sent again on a new connection (they are
    idempotent), so the requests waiting for them go on."""
    origin = f"http://{uuid.uuid4().hex}.example"

    async def run() -> None:
        schedule, robots = HostSchedule(db), SharedRobots(db, uuid.uuid4().hex)
        try:
            assert await schedule.ask(origin, DELAY) == 0.0
            await schedule.sent(origin, DELAY)
            token = await schedule.take_slot(origin, 1, 30.0)
            assert token is not None
            assert (await robots.claim(origin, 30.0))[0]
            pids = [
                (await connection.get()).info.backend_pid
                for connection in (schedule._connection, schedule._slots_connection, robots._connection)
            ]
            with db.connect() as conn:
                for pid in pids:
                    assert conn.scalar(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            # Each component's next statement finds its connection gone, and is sent again.
            while (wait := await schedule.ask(origin, DELAY)) > 0:
                await asyncio.sleep(wait)
            await schedule.free_slot(origin, token)
            assert await schedule.take_slot(origin, 1, 30.0) is not None  # the one slot was freed
            await robots.save(origin, None, None, b"User-agent: *\nDisallow:\n")
        finally:
            await schedule.close()
            await robots.close()

    asyncio.run(run())


class _CountingSchedule(HostSchedule):
    """The real schedule, counting the slot statements a process sends."""

    def __init__(self, engine):
        super().__init__(engine)
        self.taken = self.freed = 0

    async def take_slot(self, origin: str, limit: int, lease: float) -> str | None:
        self.taken += 1
        return await super().take_slot(origin, limit, lease)

    async def free_slot(self, origin: str, token: str) -> None:
        self.freed += 1
        await super().free_slot(origin, token)


def test_a_hosts_queued_requests_reuse_its_shared_slots_and_free_them_at_the_end(db, httpserver):
    """Requests queued for one host take over the shared slot of the request
    before them (while a request's longest time is left of its lease), so the
    slot statements are per slot, not per request; the last requests free
    theirs, and the per-host limit still holds."""
    from newsdesk.tasks.web import fetch
    from newsdesk.tasks.web.origins import origin

    page = AtOnce("<html><body><p>page</p></body></html>", 0.05)
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nDisallow:\n")
    httpserver.expect_request("/p").respond_with_handler(page)
    settings = fetch.FetchSettings(backoff=0.01, host_delay=0.0, read_timeout=5.0, connect_timeout=5.0, per_host=2)
    host = origin(httpserver.url_for("/p"))

    async def run() -> _CountingSchedule:
        schedule = _CountingSchedule(db)
        try:
            async with fetch.client(settings) as client:
                polite = fetch.Politeness(client, settings, schedule=schedule)
                await asyncio.gather(*(fetch.fetch(polite, httpserver.url_for(f"/p?n={n}")) for n in range(12)))
                await polite.free_kept_slots()
        finally:
            await schedule.close()
        return schedule

    schedule = asyncio.run(run())
    assert page.peak <= settings.per_host
    # robots.txt's request takes and frees one; the twelve pages share two (it was 13 of each).
    assert schedule.taken <= 1 + settings.per_host
    assert schedule.freed == schedule.taken
    with db.connect() as conn:
        held = conn.scalar(
            sa.text("SELECT count(*) FROM newsdesk.host_slots WHERE origin = :o AND holder IS NOT NULL"), {"o": host}
        )
    assert held == 0
