"""Files already stored as they are on disk: counted `unchanged` without being read.

A file whose size and modification time are those recorded with its current
stored version is taken as unchanged, as make and rsync take it, so an
unchanged rerun costs a directory listing and one query per chunk of files,
not a read and a hash per file. The time is recorded only when the file had
not been modified in the last RACY_SECONDS before it was listed: a file being
written while it was read (same time stamp, new bytes) is read again next run.
NEWSDESK_FILE_CHECK=content turns the skipping off (every file read and hashed),
for trees whose files are rewritten with the same size and time.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from newsdesk.tasks.files import FileEntry
from newsdesk.tasks.records import Unchanged
from newsdesk.tasks.store.outcomes import add_counts

RACY_SECONDS = 2


def trusted_mtime(entry: FileEntry) -> int | None:
    """The modification time to record with the file's bytes, if it can be trusted later."""
    return entry.mtime_ns if time.time_ns() - entry.mtime_ns > RACY_SECONDS * 1_000_000_000 else None


def skip_unchanged(engine: Engine, *, run_id: int, source: str, entries: Sequence[FileEntry]) -> list[FileEntry]:
    """The entries that must be read (new, or changed since stored); the others
    are counted `unchanged` for the run, in the same transaction as the check."""
    if not entries:
        return []
    with engine.begin() as conn:
        unchanged = set(
            conn.scalars(
                sa.text(
                    "SELECT f.locator FROM unnest(CAST(:paths AS text[]), CAST(:sizes AS bigint[]), CAST(:mtimes AS bigint[]))"
                    "   AS f(locator, size, mtime_ns)"
                    " JOIN newsdesk.articles a ON a.locator = f.locator AND a.is_current"
                    " JOIN newsdesk.documents d ON d.id = a.document_id"
                    " WHERE d.byte_size = f.size AND d.file_mtime_ns = f.mtime_ns"
                ),
                {
                    "paths": [e.path for e in entries],
                    "sizes": [e.size for e in entries],
                    "mtimes": [e.mtime_ns for e in entries],
                },
            )
        )
        if unchanged:
            add_counts(conn, run_id, source, Counter(unchanged=len(unchanged)))
    return [entry for entry in entries if entry.path not in unchanged]


def note_times(conn: Connection, items: Sequence[Unchanged]) -> None:
    """Record the new modification time of files read again and found unchanged
    (touched, copied over with the same bytes), so the next run skips them."""
    rows = [item for item in items if item.mtime_ns is not None and item.sha256 is not None]
    if not rows:
        return
    conn.execute(
        sa.text(
            "UPDATE newsdesk.documents d SET file_mtime_ns = f.mtime_ns"
            " FROM unnest(CAST(:paths AS text[]), CAST(:hashes AS text[]), CAST(:mtimes AS bigint[])) AS f(locator, sha256, mtime_ns)"
            " JOIN newsdesk.articles a ON a.locator = f.locator AND a.is_current"
            " WHERE d.id = a.document_id AND d.content_sha256 = f.sha256"
        ),
        {"paths": [i.locator for i in rows], "hashes": [i.sha256 for i in rows], "mtimes": [i.mtime_ns for i in rows]},
    )
