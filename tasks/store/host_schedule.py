"""Web origins leased to one process at a time: the spacing of requests and
the per-host limit, shared by every run and worker.

One row per origin (`host_schedule`). A process about to start a request to
an origin leases it (one statement): granted when no other process holds it
and its next start (`next_at`) has come. While it holds the lease only it
starts requests to the origin, and it spaces them and counts them against
NEWSDESK_PER_HOST itself, with no statement per request. A lease is a span
of starts (`held_until`), renewed in one statement when no other process has
asked for the origin meanwhile (`wanted_by`, the first that asked); when one
has, the holder starts no more, and releases the origin once its requests
have ended. It also releases it when its requests to it have ended and none
is queued (`tasks.web.leases`), and at the end of its run. A release moves
`next_at` to a delay after the holder's last request's headers were written,
and the process that asked first has the origin before the one releasing may
take it again (for WAITER_GRACE, should the other have gone). A process that
dies holding an origin holds it until its lease's span, a request's longest
time (its requests may still run at the server) and a delay have passed.
Times come from PostgreSQL's clock, so workers whose clocks disagree still agree.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from newsdesk.tasks.store.own_connection import OwnConnection

# Seconds the process that asked first for a released origin has it to itself:
# a waiter asks again within LEASE_POLL (tasks.web.leases), so this only
# matters when the waiter has gone.
WAITER_GRACE = 2.0

# A statement need not wait for its commit to reach the disk: a schedule row
# lost in a crash only lets the first request after it go at once.
_SETUP = ("SET synchronous_commit TO off",)

# statement_timestamp(): one "now" for the whole statement. The grant's
# condition, worked out once for the row as it was: this process renews the
# lease it holds when no other process waits for the origin; else anyone may
# take it once it is free (released, or its holder gone: its span and `drain`
# past) and its next start has come, the process that asked first before the
# others (for `grace`). Refused, a process notes that it waits, if none does.
_LEASE = (
    "INSERT INTO newsdesk.host_schedule AS h (origin, next_at, holder, held_until)"
    " VALUES (%(origin)s, statement_timestamp(), %(me)s, statement_timestamp() + make_interval(secs => %(span)s))"
    " ON CONFLICT (origin) DO UPDATE SET (holder, held_until, wanted_by) = ("
    " SELECT CASE WHEN g.granted THEN EXCLUDED.holder ELSE h.holder END,"
    " CASE WHEN g.granted THEN EXCLUDED.held_until ELSE h.held_until END,"
    " CASE WHEN g.granted THEN NULL"
    " WHEN h.wanted_by IS NULL AND h.holder IS DISTINCT FROM %(me)s THEN %(me)s ELSE h.wanted_by END"
    " FROM (SELECT"
    " (h.holder = %(me)s AND h.held_until IS NOT NULL AND h.wanted_by IS NULL)"
    " OR ((h.held_until IS NULL OR h.held_until + make_interval(secs => %(drain)s) <= statement_timestamp())"
    " AND h.next_at <= statement_timestamp()"
    " AND (h.wanted_by IS NULL OR h.wanted_by = %(me)s"
    " OR h.next_at + make_interval(secs => %(grace)s) <= statement_timestamp()))"
    " AS granted) AS g)"
    " RETURNING h.holder = %(me)s AND h.held_until = statement_timestamp() + make_interval(secs => %(span)s),"
    " h.holder = %(me)s AND h.held_until IS NOT NULL,"
    " extract(epoch FROM h.next_at - statement_timestamp())::float8"
)
_RELEASE = (
    "UPDATE newsdesk.host_schedule SET holder = NULL, held_until = NULL,"
    " next_at = greatest(next_at, statement_timestamp() + make_interval(secs => %(after)s))"
    " WHERE origin = %(origin)s AND holder = %(me)s AND held_until IS NOT NULL"
)

_RELEASE_ALL = (
    "UPDATE newsdesk.host_schedule SET holder = NULL, held_until = NULL,"
    " next_at = greatest(next_at, statement_timestamp() + make_interval(secs => %(after)s))"
    " WHERE holder = %(me)s AND held_until IS NOT NULL"
)


@dataclass(frozen=True)
class Answer:
    """The schedule's answer to a lease: `granted`; else `mine` when this
    process holds the origin but another has asked for it (release it once
    its requests end), and `next_in`, the seconds until the origin's next
    start (zero or less when only another holder stands in the way)."""

    granted: bool
    mine: bool
    next_in: float


class HostSchedule:
    """The shared schedule, asked over one connection of its own (autocommit)
    from the frontier's event loop: a lease is one round trip, with no thread
    or pool between the answer and the requests it lets start. One holder
    name per instance: an instance stands for one process."""

    def __init__(self, engine: Engine):
        self._connection = OwnConnection(engine, _SETUP)
        self.me = uuid.uuid4().hex

    async def lease(self, origin: str, span: float, drain: float) -> Answer:
        """Lease `origin` (or renew this process's lease) for `span` seconds
        of starts. `drain` is how long after a holder's span its requests may
        still run, plus a delay: a holder that neither renewed nor released
        by then has gone."""
        row = await self._connection.execute(
            _LEASE, {"origin": origin, "me": self.me, "span": span, "drain": drain, "grace": WAITER_GRACE}
        )
        assert row is not None
        granted, mine, next_in = row
        return Answer(bool(granted), bool(mine) and not granted, float(next_in))

    async def release(self, origin: str, after: float) -> None:
        """This process's requests to `origin` have ended: another may start
        one `after` seconds from now (a delay after the last one's headers)."""
        await self._connection.execute(_RELEASE, {"origin": origin, "me": self.me, "after": after})

    async def release_all(self, after: float) -> None:
        """This process's run is ending: every origin it holds is released,
        the next start `after` seconds from now (a delay: its last request
        may have just left). One statement, and it also frees an origin
        whose grant this process never read (its request was cancelled)."""
        await self._connection.execute(_RELEASE_ALL, {"me": self.me, "after": after})

    async def close(self) -> None:
        await self._connection.close()
