"""What is stored already: the current version of each locator."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from newsdesk.tasks.dedup.match import Link


@dataclass(slots=True)
class StoredVersion:
    """The current stored version of a locator."""

    id: int
    version: int
    story_id: int
    is_canonical: bool  # written separately (duplicate_of null): the first of its story or a joined report
    content_sha256: str
    fetched_at: datetime
    # How it joined its story: dup_kind, dup_score, duplicate_of, event_score.
    dup_kind: str | None = None
    dup_score: float | None = None
    duplicate_of: int | None = None
    event_score: float | None = None

    @property
    def link(self) -> Link:
        """Its place in its story, which a new version of it keeps."""
        return Link(self.story_id, self.dup_kind, self.dup_score, self.duplicate_of, self.event_score)


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
            "SELECT a.locator, a.id, a.version, a.story_id, a.duplicate_of IS NULL, d.content_sha256, d.fetched_at,"
            " a.dup_kind, a.dup_score, a.duplicate_of, a.event_score"
            " FROM newsdesk.articles a JOIN newsdesk.documents d ON d.id = a.document_id"
            " WHERE a.is_current AND a.locator = ANY(:locators)"
        ),
        {"locators": locators},
    )
    return {row[0]: StoredVersion(*row[1:]) for row in rows}
