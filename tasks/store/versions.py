"""What is stored already: the current version of each locator."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine


@dataclass(slots=True)
class StoredVersion:
    """The current stored version of a locator."""

    id: int
    version: int
    story_id: int
    is_canonical: bool
    content_sha256: str
    fetched_at: datetime


def stored_versions(engine: Engine, locators: Sequence[str]) -> dict[str, StoredVersion]:
    """The current stored version of each known locator (a batch's items are
    checked against it before any cleaning or fetching)."""
    with engine.connect() as conn:
        return current_versions(conn, list(locators))


def current_versions(conn: Connection, locators: list[str]) -> dict[str, StoredVersion]:
    if not locators:
        return {}
    rows = conn.execute(
        sa.text(
            "SELECT a.locator, a.id, a.version, a.story_id, a.duplicate_of IS NULL, d.content_sha256, d.fetched_at"
            " FROM newsdesk.articles a JOIN newsdesk.documents d ON d.id = a.document_id"
            " WHERE a.is_current AND a.locator = ANY(:locators)"
        ),
        {"locators": locators},
    )
    return {row[0]: StoredVersion(*row[1:]) for row in rows}
