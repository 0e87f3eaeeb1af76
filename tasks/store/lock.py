"""The load lock: one transaction at a time decides stories and writes them."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

# Serialises loads across runs and workers: dedup reads then writes, and two
# batches deciding "new story" for the same body at once would both insert it.
LOAD_LOCK = 7_214_001


def hold_load_lock(conn: Connection) -> None:
    """Wait for, then hold until the transaction ends, the lock every load,
    reprocess and dedup rebuild takes."""
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOAD_LOCK})
