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


def database_now(engine: Engine) -> datetime:
    """The database's clock, which every process shares."""
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT clock_timestamp()")).scalar_one()
