"""robots.txt kept across runs (`http_cache`) and read once for every process
running at once (`robots_reads`), asked from the frontier's event loop.

A site's robots.txt costs two statements: one that returns the copy kept
and, unless that copy is current (checked by another process since this
one's frontier opened), takes the read of it; and one that keeps what was
read and ends the read. Both go over one connection of their own
(autocommit), with no thread or pool between the loop and the database.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from newsdesk.tasks.store import http_cache
from newsdesk.tasks.store.own_connection import OwnConnection

# (etag, last_modified, body, age in seconds, current): a copy as kept.
Kept = tuple[str | None, str | None, bytes | None, float, bool]

# The copy kept and, unless it is current, the read taken (a read whose
# holder's time ran out is taken over). One snapshot: a read ended by another
# process after it began is seen as taken, and asked again after a poll.
_CLAIM = (
    "WITH kept AS ("
    " SELECT etag, last_modified, body, extract(epoch FROM clock_timestamp() - checked_at)::float8 AS age,"
    " coalesce(checked_at >= %(since)s, false) AS current"
    " FROM newsdesk.http_cache WHERE url = %(url)s),"
    " taken AS ("
    " INSERT INTO newsdesk.robots_reads AS r (origin, holder, until)"
    " SELECT %(origin)s, %(holder)s, clock_timestamp() + make_interval(secs => %(seconds)s)"
    " WHERE NOT EXISTS (SELECT FROM kept WHERE current)"
    " ON CONFLICT (origin) DO UPDATE SET holder = EXCLUDED.holder, until = EXCLUDED.until"
    " WHERE r.until < clock_timestamp() OR r.holder = EXCLUDED.holder"
    " RETURNING true AS taken)"
    " SELECT EXISTS (SELECT FROM taken), kept.etag, kept.last_modified, kept.body, kept.age, kept.current"
    " FROM (SELECT 1) AS one LEFT JOIN kept ON true"
)

# What was read kept, and the read ended, in one statement.
_SAVE = (
    "WITH ended AS (DELETE FROM newsdesk.robots_reads WHERE origin = %(origin)s AND holder = %(holder)s)"
    " INSERT INTO newsdesk.http_cache (url, etag, last_modified, body)"
    " VALUES (%(url)s, %(etag)s, %(last_modified)s, %(body)s)"
    " ON CONFLICT (url) DO UPDATE SET etag = EXCLUDED.etag, last_modified = EXCLUDED.last_modified,"
    " body = EXCLUDED.body, checked_at = now()"
)

_RELEASE = "DELETE FROM newsdesk.robots_reads WHERE origin = %(origin)s AND holder = %(holder)s"


class SharedRobots:
    """robots.txt in `http_cache`, its reads shared through `robots_reads`
    (see the module docstring), for one process's frontier."""

    def __init__(self, engine: Engine, holder: str):
        self.holder = holder
        # A copy checked at or after this moment was read by a process running meanwhile.
        self.opened_at: datetime = http_cache.database_now(engine)
        self._connection = OwnConnection(engine)
        self._ended: set[str] = set()  # origins whose read `save` ended

    async def claim(self, origin: str, seconds: float) -> tuple[bool, Kept | None]:
        """The copy of `origin`'s robots.txt kept (None: none), and whether this
        process now holds its read, for up to `seconds`: not when that copy is
        current (`Kept`'s last field), nor while another process's read is under way."""
        row = await self._connection.execute(
            _CLAIM,
            {
                "url": _url(origin),
                "since": self.opened_at,
                "origin": origin,
                "holder": self.holder,
                "seconds": seconds,
            },
        )
        assert row is not None
        taken, etag, last_modified, body, age, current = row
        if age is None:  # nothing kept
            return taken, None
        return taken, (etag, last_modified, bytes(body) if body is not None else None, age, current)

    async def save(self, origin: str, etag: str | None, last_modified: str | None, body: bytes | None) -> None:
        """Keep a robots.txt as just read (or revalidated), and end this process's read of it."""
        await self._connection.execute(
            _SAVE,
            {
                "origin": origin,
                "holder": self.holder,
                "url": _url(origin),
                "etag": etag,
                "last_modified": last_modified,
                "body": body,
            },
        )
        self._ended.add(origin)

    async def release(self, origin: str) -> None:
        """End this process's read of `origin`'s robots.txt (whatever came of it)."""
        if origin in self._ended:
            self._ended.discard(origin)
            return
        await self._connection.execute(_RELEASE, {"origin": origin, "holder": self.holder})

    async def close(self) -> None:
        await self._connection.close()


def _url(origin: str) -> str:
    return f"{origin}/robots.txt"
