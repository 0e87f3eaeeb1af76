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

The per-host limit is shared the same way: `host_slots` has `limit` rows per
origin, and a request holds one (its holder and a lease) from before it
starts until it ends; a process that dies holding one holds it for a lease
at most.
"""

from __future__ import annotations

import uuid

from sqlalchemy.engine import Engine

from newsdesk.tasks.store.own_connection import OwnConnection

# Seconds a granted request may take to write its headers before the origin
# is free again anyway (its process may have died between the two).
SENDING = 10.0

# A statement need not wait for its commit to reach the disk: a schedule
# or slot row lost in a crash only lets the first request after it go at once.
_SETUP = ("SET synchronous_commit TO off",)

# statement_timestamp(): one "now" for the whole statement, so both CASEs agree.
_ASK = (
    "INSERT INTO newsdesk.host_schedule AS h (origin, next_at, holder)"
    " VALUES (%(origin)s, statement_timestamp() + make_interval(secs => %(delay)s + %(sending)s), %(me)s)"
    " ON CONFLICT (origin) DO UPDATE SET"
    " next_at = CASE WHEN h.next_at <= statement_timestamp() THEN EXCLUDED.next_at ELSE h.next_at END,"
    " holder = CASE WHEN h.next_at <= statement_timestamp() THEN EXCLUDED.holder ELSE h.holder END"
    " RETURNING h.holder = %(me)s, extract(epoch FROM h.next_at - statement_timestamp())::float8"
)

_SEED_SLOTS = (
    "INSERT INTO newsdesk.host_slots (origin, slot) SELECT %(origin)s, generate_series(1, %(limit)s)"
    " ON CONFLICT DO NOTHING"
)
# SKIP LOCKED: concurrent takers pass over a slot being taken; a slot taken
# meanwhile is checked again against its new holder (READ COMMITTED), so two
# takers never get one slot. A taker sent again (its connection lost after the
# commit) gets the slot it already holds.
_TAKE_SLOT = (
    "UPDATE newsdesk.host_slots SET holder = %(me)s, until = clock_timestamp() + make_interval(secs => %(lease)s)"
    " WHERE (origin, slot) = (SELECT origin, slot FROM newsdesk.host_slots"
    " WHERE origin = %(origin)s AND slot <= %(limit)s"
    " AND (holder IS NULL OR until < clock_timestamp() OR holder = %(me)s)"
    " ORDER BY holder IS NOT DISTINCT FROM %(me)s DESC, slot LIMIT 1 FOR UPDATE SKIP LOCKED)"
    " RETURNING slot"
)
_FREE_SLOT = "UPDATE newsdesk.host_slots SET holder = NULL, until = NULL WHERE origin = %(origin)s AND holder = %(me)s"

_SENT = (
    "UPDATE newsdesk.host_schedule SET next_at = statement_timestamp() + make_interval(secs => %(delay)s)"
    " WHERE origin = %(origin)s AND holder = %(me)s"
)


class HostSchedule:
    """The shared schedule, asked over one connection of its own (autocommit)
    from the frontier's event loop: a request's ask is one round trip, with no
    thread or pool between the answer and the request leaving."""

    def __init__(self, engine: Engine):
        self._connection = OwnConnection(engine, _SETUP)
        self._slots_connection = OwnConnection(engine, _SETUP)  # apart: asks never wait behind slots
        self._seeded: set[tuple[str, int]] = set()
        self._held: dict[str, str] = {}  # origin -> the holder id of its granted ask, until `sent`

    async def ask(self, origin: str, delay: float) -> float:
        """Ask to start a request to `origin` now: 0 when granted (the origin
        is then held until `sent`), else the seconds to wait before asking again."""
        me = uuid.uuid4().hex
        row = await self._connection.execute(_ASK, {"origin": origin, "delay": delay, "sending": SENDING, "me": me})
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
            await self._connection.execute(_SENT, {"origin": origin, "delay": delay, "me": me})

    async def take_slot(self, origin: str, limit: int, lease: float) -> str | None:
        """One of `origin`'s `limit` slots, shared by every process, held until
        `free_slot` or for `lease` seconds at most: its token, or None when
        all are held."""
        if (origin, limit) not in self._seeded:
            await self._slots_connection.execute(_SEED_SLOTS, {"origin": origin, "limit": limit})
            self._seeded.add((origin, limit))
        me = uuid.uuid4().hex
        taken = await self._slots_connection.execute(
            _TAKE_SLOT, {"origin": origin, "limit": limit, "lease": lease, "me": me}
        )
        return me if taken is not None else None

    async def free_slot(self, origin: str, token: str) -> None:
        """The request holding slot `token` of `origin` has ended."""
        await self._slots_connection.execute(_FREE_SLOT, {"origin": origin, "me": token})

    async def close(self) -> None:
        await self._connection.close()
        await self._slots_connection.close()
