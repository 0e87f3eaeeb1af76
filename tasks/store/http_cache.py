"""ETag / Last-Modified per URL (and the last body of feeds, sitemaps and robots.txt), in PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine


def validators(engine: Engine, urls: list[str]) -> dict[str, tuple[str | None, str | None]]:
    if not urls:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT url, etag, last_modified FROM newsdesk.http_cache WHERE url = ANY(:urls)"), {"urls": urls}
        )
        return {url: (etag, last_modified) for url, etag, last_modified in rows}


def cached(engine: Engine, url: str) -> tuple[str | None, str | None, bytes | None]:
    """(etag, last_modified, body) stored for a feed or sitemap URL."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT etag, last_modified, body FROM newsdesk.http_cache WHERE url = :url"), {"url": url}
        ).first()
    if row is None:
        return None, None, None
    return row[0], row[1], bytes(row[2]) if row[2] is not None else None


def remember(conn: Connection, entries: Iterable[tuple[str, str | None, str | None, bytes | None]]) -> None:
    """Upsert (url, etag, last_modified, body) rows."""
    rows = [{"url": u, "etag": e, "last_modified": m, "body": b} for u, e, m, b in entries if e or m or b]
    if not rows:
        return
    conn.execute(
        sa.text(
            "INSERT INTO newsdesk.http_cache (url, etag, last_modified, body) VALUES (:url, :etag, :last_modified, :body)"
            " ON CONFLICT (url) DO UPDATE SET etag = EXCLUDED.etag, last_modified = EXCLUDED.last_modified,"
            " body = EXCLUDED.body, checked_at = now()"
        ),
        rows,
    )


def robots(
    engine: Engine, url: str, since: datetime | None = None
) -> tuple[str | None, str | None, bytes | None, float, bool] | None:
    """(etag, last_modified, body, age in seconds, current) of a robots.txt as
    last read; body None: the site had none. `current`: checked at or after
    `since` (the database's clock), i.e. by a process running meanwhile."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT etag, last_modified, body, extract(epoch FROM clock_timestamp() - checked_at),"
                " coalesce(checked_at >= CAST(:since AS timestamptz), false)"
                " FROM newsdesk.http_cache WHERE url = :url"
            ),
            {"url": url, "since": since},
        ).first()
    if row is None:
        return None
    return row[0], row[1], bytes(row[2]) if row[2] is not None else None, float(row[3]), bool(row[4])


def database_now(engine: Engine) -> datetime:
    """The database's clock, which every process shares."""
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT clock_timestamp()")).scalar_one()


def claim_robots(engine: Engine, origin: str, holder: str, seconds: float) -> bool:
    """Take the read of `origin`'s robots.txt for up to `seconds` (a process
    that dies holding it holds it that long at most): False while another
    holder's read is under way."""
    with engine.begin() as conn:
        row = conn.execute(
            sa.text(
                "INSERT INTO newsdesk.robots_reads AS r (origin, holder, until)"
                " VALUES (:origin, :holder, clock_timestamp() + make_interval(secs => :seconds))"
                " ON CONFLICT (origin) DO UPDATE SET holder = EXCLUDED.holder, until = EXCLUDED.until"
                " WHERE r.until < clock_timestamp() OR r.holder = EXCLUDED.holder"
                " RETURNING true"
            ),
            {"origin": origin, "holder": holder, "seconds": seconds},
        ).first()
    return row is not None


def release_robots(engine: Engine, origin: str, holder: str) -> None:
    """The read of `origin`'s robots.txt is over (whatever came of it)."""
    with engine.begin() as conn:
        conn.execute(
            sa.text("DELETE FROM newsdesk.robots_reads WHERE origin = :origin AND holder = :holder"),
            {"origin": origin, "holder": holder},
        )


def remember_robots(engine: Engine, url: str, etag: str | None, last_modified: str | None, body: bytes | None) -> None:
    """Keep a robots.txt as just read (or revalidated), with the time it was checked."""
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO newsdesk.http_cache (url, etag, last_modified, body) VALUES (:url, :etag, :last_modified, :body)"
                " ON CONFLICT (url) DO UPDATE SET etag = EXCLUDED.etag, last_modified = EXCLUDED.last_modified,"
                " body = EXCLUDED.body, checked_at = now()"
            ),
            {"url": url, "etag": etag, "last_modified": last_modified, "body": body},
        )
