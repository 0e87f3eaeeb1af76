"""The spacing of requests to a web origin, shared by every run and worker.

One row per origin holds the earliest start of its next request. A fetch
claims its start and moves the row on by the delay in one statement (the row
lock makes concurrent claims queue), so two request starts to one origin are
`delay` apart whichever process makes them. Times come from PostgreSQL's
clock, so workers whose clocks disagree still agree on the schedule.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

_CLAIM = sa.text(
    "INSERT INTO newsdesk.host_schedule AS h (origin, next_at)"
    " VALUES (:origin, clock_timestamp() + make_interval(secs => :delay))"
    " ON CONFLICT (origin) DO UPDATE SET next_at = greatest(h.next_at, clock_timestamp()) + make_interval(secs => :delay)"
    " RETURNING extract(epoch FROM h.next_at - make_interval(secs => :delay) - clock_timestamp())"
)


def claim_start(engine: Engine, origin: str, delay: float) -> float:
    """Claim the next request start on `origin`; the seconds to wait for it (0 or more)."""
    with engine.begin() as conn:
        wait = conn.scalar(_CLAIM, {"origin": origin, "delay": delay})
    return max(float(wait or 0.0), 0.0)
