"""Origins leased to one process at a time (`tasks.store.host_schedule`,
`tasks.web.leases`), on a real PostgreSQL: two schedules stand for two runs
or workers."""

from __future__ import annotations

import asyncio
import time
import uuid

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from newsdesk.tasks.store.host_schedule import WAITER_GRACE, Answer, HostSchedule
from newsdesk.tasks.store.shared_robots import SharedRobots
from tests.helpers import AtOnce

DELAY = 0.2
SPAN = 30.0
DRAIN = 60.0


async def _until_granted(schedule: HostSchedule, origin: str, span: float = SPAN, drain: float = DRAIN) -> None:
    while not (answer := await schedule.lease(origin, span, drain)).granted:
        await asyncio.sleep(answer.next_in if answer.next_in > 0 else 0.05)


def test_a_leased_host_goes_to_another_process_a_delay_after_the_holders_last_request(db):
    """While one process holds a host, another is refused however long it
    asks; once released, it has it a delay after the holder's last request."""
    origin = f"http://{uuid.uuid4().hex}.example"

    async def run() -> float:
        first, second = HostSchedule(db), HostSchedule(db)
        try:
            assert (await first.lease(origin, SPAN, DRAIN)).granted
            deadline = time.monotonic() + 3 * DELAY
            while time.monotonic() < deadline:
                answer = await second.lease(origin, SPAN, DRAIN)
                assert not answer.granted and not answer.mine, "granted while another process held the host"
                await asyncio.sleep(DELAY / 4)
            await first.release(origin, DELAY)  # its last request's headers were written just now
            released = time.monotonic()
            await _until_granted(second, origin)
            return time.monotonic() - released
        finally:
            await first.close()
            await second.close()

    assert asyncio.run(run()) >= DELAY / 2  # a delay after the release (less a round trip or two)


def test_a_holder_renews_until_another_asks_then_the_other_has_it_next(db):
    """The holder renews its lease while nobody else waits; once another
    process has asked, the renewal is refused (`mine`: hand it over), and
    after the release the waiting process has the host before the holder
    may take it again."""
    origin = f"http://{uuid.uuid4().hex}.example"

    async def run() -> None:
        holder, waiter = HostSchedule(db), HostSchedule(db)
        try:
            assert (await holder.lease(origin, SPAN, DRAIN)).granted
            assert (await holder.lease(origin, SPAN, DRAIN)).granted  # renewed: nobody waits
            assert not (await waiter.lease(origin, SPAN, DRAIN)).granted
            refused = await holder.lease(origin, SPAN, DRAIN)
            assert (refused.granted, refused.mine) == (False, True)
            await holder.release(origin, 0.0)
            again = await holder.lease(origin, SPAN, DRAIN)
            assert not again.granted, "the releasing process took the host back before the waiter"
            assert (await waiter.lease(origin, SPAN, DRAIN)).granted
        finally:
            await holder.close()
            await waiter.close()

    asyncio.run(run())


def test_a_gone_holders_host_is_free_once_its_requests_could_have_ended(db):
    """A process that dies holding a host neither renews nor releases it:
    another has it once the span and the drain (a request's longest time
    and a delay) have passed, not before; a waiter that has gone holds a
    released host for WAITER_GRACE at most."""
    origin = f"http://{uuid.uuid4().hex}.example"
    span, drain = 0.3, 0.4

    async def run() -> tuple[float, float]:
        dead, other, ghost = HostSchedule(db), HostSchedule(db), HostSchedule(db)
        try:
            assert (await dead.lease(origin, span, drain)).granted
            leased = time.monotonic()
            await _until_granted(other, origin, span, drain)
            took_over = time.monotonic() - leased
            assert not (await ghost.lease(origin, span, drain)).granted  # asks once, then goes
            await other.release(origin, 0.0)
            released = time.monotonic()
            await _until_granted(other, origin, span, drain)
            return took_over, time.monotonic() - released
        finally:
            for schedule in (dead, other, ghost):
                await schedule.close()

    took_over, after_ghost = asyncio.run(run())
    assert took_over >= span + drain - 0.05, took_over
    assert WAITER_GRACE - 0.1 <= after_ghost < WAITER_GRACE + 5, after_ghost


def test_the_end_of_a_run_releases_every_host_it_holds(db):
    """At the end of a run one statement frees every host the process holds,
    whether or not it knew (a request cancelled while its lease was being
    granted); another process has each a delay later, not after the lease."""
    origins = [f"http://{uuid.uuid4().hex}.example" for _ in range(3)]

    async def run() -> None:
        ending, other = HostSchedule(db), HostSchedule(db)
        try:
            for origin in origins:
                assert (await ending.lease(origin, SPAN, DRAIN)).granted
            await ending.release_all(DELAY)
            for origin in origins:
                await _until_granted(other, origin)
        finally:
            await ending.close()
            await other.close()

    asyncio.run(asyncio.wait_for(run(), 10 * DELAY + 5))  # not SPAN + DRAIN


def test_the_first_requests_of_many_hosts_at_once_open_one_connection(db, database_url):
    """A crawl's first requests to hundreds of hosts start together: the
    schedule and the robots.txt reads each open one connection for them all
    (each request opening its own ran PostgreSQL out of connections, and
    sources failed). Here the server itself refuses a fourth connection: the
    role has a connection limit of 2."""
    name = f"crawler_{uuid.uuid4().hex[:8]}"
    with db.begin() as conn:
        conn.execute(sa.text(f"CREATE ROLE {name} LOGIN CONNECTION LIMIT 2"))
        conn.execute(sa.text(f"GRANT USAGE ON SCHEMA newsdesk TO {name}"))
        conn.execute(
            sa.text(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON newsdesk.host_schedule,"
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
            # One connection for the leases, one for robots.txt.
            answers = await asyncio.gather(
                *(schedule.lease(origin, SPAN, DRAIN) for origin in origins),
                *(robots.claim(origin, 30.0) for origin in origins),
            )
            assert all(answer.granted for answer in answers[: len(origins)] if isinstance(answer, Answer))
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
            assert (await schedule.lease(origin, SPAN, DRAIN)).granted
            assert (await robots.claim(origin, 30.0))[0]
            pids = [
                (await connection.get()).info.backend_pid for connection in (schedule._connection, robots._connection)
            ]
            with db.connect() as conn:
                for pid in pids:
                    assert conn.scalar(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            # Each component's next statement finds its connection gone, and is sent again.
            assert (await schedule.lease(origin, SPAN, DRAIN)).granted  # renewed
            await schedule.release(origin, 0.0)
            await robots.save(origin, None, None, b"User-agent: *\nDisallow:\n")
        finally:
            await schedule.close()
            await robots.close()

    asyncio.run(run())


class _CountingSchedule(HostSchedule):
    """The real schedule, counting the statements a process sends."""

    def __init__(self, engine):
        super().__init__(engine)
        self.leased = self.released = self.released_all = 0

    async def lease(self, origin: str, span: float, drain: float) -> Answer:
        self.leased += 1
        return await super().lease(origin, span, drain)

    async def release(self, origin: str, after: float) -> None:
        self.released += 1
        await super().release(origin, after)

    async def release_all(self, after: float) -> None:
        self.released_all += 1
        await super().release_all(after)


def _host_row(db, host: str):
    with db.connect() as conn:
        return conn.execute(
            sa.text("SELECT holder, held_until FROM newsdesk.host_schedule WHERE origin = :o"), {"o": host}
        ).one_or_none()


def test_a_hosts_requests_cost_one_lease_and_one_release_not_statements_each(db, httpserver):
    """Twelve pages to one host, two at a time: the process leases the host
    once (robots.txt's request and the pages inside one lease) and gives it
    back when the run ends; the per-host limit and the spacing still hold."""
    from newsdesk.tasks.web import fetch
    from newsdesk.tasks.web.origins import origin

    page = AtOnce("<html><body><p>page</p></body></html>", 0.05)
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nDisallow:\n")
    httpserver.expect_request("/p").respond_with_handler(page)
    settings = fetch.FetchSettings(backoff=0.01, host_delay=0.02, read_timeout=5.0, connect_timeout=5.0, per_host=2)
    host = origin(httpserver.url_for("/p"))

    async def run() -> _CountingSchedule:
        schedule = _CountingSchedule(db)
        try:
            async with fetch.client(settings) as client:
                polite = fetch.Politeness(client, settings, schedule=schedule)
                await asyncio.gather(*(fetch.fetch(polite, httpserver.url_for(f"/p?n={n}")) for n in range(12)))
                assert _host_row(db, host).holder == schedule.me  # still held: the run goes on
                await polite.release_leases()
        finally:
            await schedule.close()
        return schedule

    schedule = asyncio.run(run())
    assert page.peak <= settings.per_host
    # It was two statements per request, and a slot taken and freed per two.
    assert (schedule.leased, schedule.released, schedule.released_all) == (1, 0, 1)
    assert _host_row(db, host).held_until is None


def test_a_host_is_released_when_idle_and_handed_to_a_waiting_process(db, httpserver, monkeypatch):
    """Two processes fetch from one host: the first holds it while its
    requests run, releases it once they have ended (after IDLE), and the
    second, waiting, then has it; never more than the per-host limit at once."""
    from newsdesk.tasks.web import fetch, leases
    from newsdesk.tasks.web.origins import origin

    monkeypatch.setattr(leases, "IDLE", 0.2)
    monkeypatch.setattr(leases, "LEASE_POLL", 0.05)
    page = AtOnce("<html><body><p>page</p></body></html>", 0.1)
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nDisallow:\n")
    httpserver.expect_request("/p").respond_with_handler(page)
    settings = fetch.FetchSettings(backoff=0.01, host_delay=0.02, read_timeout=5.0, connect_timeout=5.0, per_host=2)
    host = origin(httpserver.url_for("/p"))

    async def crawl(schedule: HostSchedule, name: str, ends: dict[str, float]) -> None:
        async with fetch.client(settings) as client:
            polite = fetch.Politeness(client, settings, schedule=schedule)
            await asyncio.gather(*(fetch.fetch(polite, httpserver.url_for(f"/p?{name}={n}")) for n in range(4)))
            ends[name] = time.monotonic()
            await asyncio.sleep(3.0)  # the run goes on with other hosts: idle here
            ends[f"{name} ended"] = time.monotonic()
            await polite.release_leases()

    async def run() -> tuple[_CountingSchedule, _CountingSchedule, dict[str, float]]:
        first, second = _CountingSchedule(db), _CountingSchedule(db)
        ends: dict[str, float] = {}
        try:
            await asyncio.gather(crawl(first, "a", ends), crawl(second, "b", ends))
        finally:
            await first.close()
            await second.close()
        return first, second, ends

    first, second, ends = asyncio.run(run())
    assert page.peak <= settings.per_host
    # The one that waited had the host when the other let it go, not at the end of its run.
    first_done, last_done = sorted(("a", "b"), key=ends.__getitem__)
    assert ends[last_done] < ends[f"{first_done} ended"], ends
    assert first.released + second.released >= 1  # the first one's, once idle
    assert _host_row(db, host).held_until is None
