"""The run history: one `ingest_runs` row per run, and crash detection.

A running run holds a session-level advisory lock keyed by its id for as long
as its process lives. PostgreSQL drops the lock when the process dies, however
it dies, so a later run that can take the lock knows the owner is gone and
marks the run `crashed`; a run that is merely slow keeps its lock and its status.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

RUN_LOCK_NAMESPACE = 7_214_003


class _ReadByName(Mapping[str, Any]):
    """A record whose fields can also be read by name (`record["n_inserted"]`),
    as callers of the flows and the Prefect UI's JSON view read them."""

    def __getitem__(self, name: str) -> Any:
        if name not in self._names():
            raise KeyError(name)
        return getattr(self, name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    @classmethod
    def _names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Counts(_ReadByName):
    """Items discovered, and how many ended in each outcome."""

    n_discovered: int = 0
    n_inserted: int = 0
    n_duplicate: int = 0
    n_updated: int = 0
    n_unchanged: int = 0
    n_rejected: int = 0
    n_failed: int = 0


@dataclass(frozen=True)
class SourceCounts(Counts):
    """One run's counts for one configured source (a row of `ingest_run_sources`)."""

    run_id: int = 0
    source: str = ""


@dataclass(frozen=True)
class RunRecord(Counts):
    """A finished run: its `ingest_runs` row, with its counts per source."""

    id: int = 0
    flow_run_id: uuid.UUID | None = None
    kind: str = "ingest"
    status: str = "running"
    sources_file: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    sources: list[SourceCounts] = field(default_factory=list)

    @classmethod
    def from_row(cls, row: Mapping[Any, Any], sources: list[SourceCounts] | None = None) -> RunRecord:
        names = {f.name for f in dataclasses.fields(cls)} - {"sources"}
        return cls(**{k: v for k, v in row.items() if k in names}, sources=sources or [])


class IngestFailed(Exception):
    """A run that went through but failed items or whole sources; `record` is its run record."""

    def __init__(self, message: str, record: RunRecord):
        super().__init__(message, record)
        self.record = record

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass
class RunLease:
    """An open run: its id, and the connection holding its liveness lock."""

    id: int
    connection: Connection
    record: RunRecord | None = None  # the finished run, once it is closed
    # Set by the flow before the run ends: ("failed", why) for a run that went
    # through but failed items or sources; None leaves it `completed`.
    verdict: tuple[str, str] | None = None

    def close(self) -> None:
        # Closing a pooled connection only returns it to the pool, where its
        # session (and the lock) would live on: end the session for real.
        self.connection.invalidate()
        self.connection.close()


def mark_crashed_runs(engine: Engine) -> list[int]:
    """Mark `crashed` every running run whose process is gone (its liveness lock is
    free); their ids. Every run start, `newsdesk runs` and `newsdesk status` sweep."""
    crashed = []
    with engine.connect() as conn:
        running = conn.scalars(sa.text("SELECT id FROM newsdesk.ingest_runs WHERE status = 'running'")).all()
        for run_id in running:
            if conn.scalar(sa.text("SELECT pg_try_advisory_lock(:ns, :id)"), {"ns": RUN_LOCK_NAMESPACE, "id": run_id}):
                conn.execute(
                    sa.text(
                        "UPDATE newsdesk.ingest_runs SET status = 'crashed', finished_at = now(),"
                        " error = 'the process running it stopped before finishing'"
                        " WHERE id = :id AND status = 'running'"
                    ),
                    {"id": run_id},
                )
                conn.commit()
                conn.execute(sa.text("SELECT pg_advisory_unlock(:ns, :id)"), {"ns": RUN_LOCK_NAMESPACE, "id": run_id})
                crashed.append(run_id)
        conn.commit()
    return crashed


def open_run(
    engine: Engine, *, flow_run_id: uuid.UUID | str | None, sources_file: str | None, kind: str = "ingest"
) -> RunLease:
    mark_crashed_runs(engine)
    conn = engine.connect()
    try:
        run_id = conn.scalar(
            sa.text(
                "INSERT INTO newsdesk.ingest_runs (flow_run_id, kind, status, sources_file)"
                " VALUES (:flow_run_id, :kind, 'running', :sources_file) RETURNING id"
            ),
            {"flow_run_id": str(flow_run_id) if flow_run_id else None, "kind": kind, "sources_file": sources_file},
        )
        conn.execute(sa.text("SELECT pg_advisory_lock(:ns, :id)"), {"ns": RUN_LOCK_NAMESPACE, "id": run_id})
        conn.commit()
    except Exception:
        conn.close()
        raise
    return RunLease(run_id, conn)


@contextmanager
def recorded_run(engine: Engine, *, flow_run_id, sources_file: str | None, kind: str = "ingest") -> Iterator[RunLease]:
    """A run row for the block: `completed` when it ends, `failed` with the
    error when it raises. The row is closed before the liveness lock is let go,
    so no other run can see it running with no owner."""
    lease = open_run(engine, flow_run_id=flow_run_id, sources_file=sources_file, kind=kind)
    try:
        yield lease
    except BaseException as exc:
        lease.record = finish_run(engine, lease.id, status="failed", error=f"{type(exc).__name__}: {exc}")
        raise
    else:
        status, error = lease.verdict or ("completed", None)
        lease.record = dataclasses.replace(
            finish_run(engine, lease.id, status=status, error=error), sources=counts_by_source(engine, lease.id)
        )
    finally:
        lease.close()


@dataclass(frozen=True)
class SourceFailure:
    """A source that failed outright in a run: its listing could not be read,
    or every item it listed failed."""

    source: str
    locator: str  # the listing's URL (or folder), else the first failed item
    reason: str


@dataclass(frozen=True)
class RunHealth:
    """What went wrong in a run, as the operator must see it."""

    failing_sources: list[SourceFailure]
    n_failed: int

    @property
    def failed(self) -> bool:
        return bool(self.failing_sources) or self.n_failed > 0


def health(engine: Engine, run_id: int) -> RunHealth:
    """Failed items, and the sources that failed outright, with the first reason each."""
    with engine.connect() as conn:
        sources = conn.execute(
            sa.text("SELECT source, n_discovered, n_failed FROM newsdesk.ingest_run_sources WHERE run_id = :id"),
            {"id": run_id},
        ).all()
        first_failures = {
            row.source: row
            for row in conn.execute(
                sa.text(
                    "SELECT DISTINCT ON (source) source, locator, stage, reason FROM newsdesk.rejections"
                    " WHERE run_id = :id AND outcome = 'failed' ORDER BY source, (stage = 'discover') DESC, id"
                ),
                {"id": run_id},
            )
        }
    failing = []
    for source, n_discovered, n_failed in sorted(sources):
        first = first_failures.get(source)
        if first is None:
            continue
        if first.stage == "discover" or n_failed == n_discovered:
            failing.append(SourceFailure(source, first.locator, first.reason))
    return RunHealth(failing, sum(row.n_failed for row in sources))


def register_sources(engine: Engine, run_id: int, names: list[str]) -> None:
    """A row in `ingest_run_sources` for every source of the run, counts at 0,
    so a source that lists nothing still shows in the run's counts and status."""
    if not names:
        return
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO newsdesk.ingest_run_sources (run_id, source) SELECT :run_id, unnest(CAST(:names AS text[]))"
                " ON CONFLICT (run_id, source) DO NOTHING"
            ),
            {"run_id": run_id, "names": names},
        )


def finish_run(engine: Engine, run_id: int, *, status: str, error: str | None = None) -> RunRecord:
    """Close the run row; returns it."""
    with engine.begin() as conn:
        row = (
            conn.execute(
                sa.text(
                    "UPDATE newsdesk.ingest_runs SET status = :status, finished_at = now(), error = :error"
                    " WHERE id = :id RETURNING *"
                ),
                {"status": status, "error": error, "id": run_id},
            )
            .mappings()
            .one()
        )
    return RunRecord.from_row(row)


def counts_by_source(engine: Engine, run_id: int) -> list[SourceCounts]:
    with engine.connect() as conn:
        rows = (
            conn.execute(
                sa.text("SELECT * FROM newsdesk.ingest_run_sources WHERE run_id = :id ORDER BY source"), {"id": run_id}
            )
            .mappings()
            .all()
        )
    return [SourceCounts(**row) for row in rows]


def rejections(engine: Engine, run_id: int, *, limit: int | None = None) -> list[dict]:
    with engine.connect() as conn:
        rows = (
            conn.execute(
                sa.text(
                    "SELECT source, locator, outcome, stage, reason FROM newsdesk.rejections"
                    " WHERE run_id = :id ORDER BY id LIMIT :limit"
                ),
                {"id": run_id, "limit": limit},
            )
            .mappings()
            .all()
        )
    return [dict(row) for row in rows]


def history(engine: Engine, *, limit: int = 20) -> list[dict]:
    """The last runs, newest first; a run whose process died shows `crashed` (swept first)."""
    mark_crashed_runs(engine)
    with engine.connect() as conn:
        rows = (
            conn.execute(sa.text("SELECT * FROM newsdesk.ingest_runs ORDER BY id DESC LIMIT :limit"), {"limit": limit})
            .mappings()
            .all()
        )
    return [dict(row) for row in rows]


# A source is "failing repeatedly" when each of its last FAILING_RUNS ingest
# runs failed it: items failed on our side, or items were found and none loaded.
FAILING_RUNS = 3


@dataclass
class SourceStatus:
    source: str
    last: dict  # the source's row of its last finished ingest run, with the run's id, status and start
    last_good_at: datetime | None  # start of its last run in which nothing failed
    failing: bool


def source_status(engine: Engine) -> list[SourceStatus]:
    """Every source's last finished ingest run, and whether it keeps failing."""
    mark_crashed_runs(engine)
    with engine.connect() as conn:
        rows = (
            conn.execute(
                sa.text(
                    "SELECT * FROM ("
                    "  SELECT s.*, r.status, r.started_at,"
                    "         row_number() OVER (PARTITION BY s.source ORDER BY r.id DESC) AS recency"
                    "  FROM newsdesk.ingest_run_sources s JOIN newsdesk.ingest_runs r ON r.id = s.run_id"
                    "  WHERE r.kind = 'ingest' AND r.status <> 'running'"
                    ") ranked ORDER BY source, recency"
                )
            )
            .mappings()
            .all()
        )
    by_source: dict[str, list[dict]] = {}
    for row in rows:
        by_source.setdefault(row["source"], []).append(dict(row))
    result = []
    for source, history in by_source.items():
        bad = [_went_wrong(run) for run in history]
        good = [run["started_at"] for run, wrong in zip(history, bad) if not wrong]
        failing = len(history) >= FAILING_RUNS and all(bad[:FAILING_RUNS])
        result.append(SourceStatus(source, history[0], good[0] if good else None, failing))
    return result


def _went_wrong(run: dict) -> bool:
    """Whether a source went wrong in a run: its own items failed, it found items
    and loaded none, or the run crashed. A run that is `failed` because another
    source failed does not count against this one."""
    loaded = run["n_inserted"] + run["n_duplicate"] + run["n_updated"] + run["n_unchanged"]
    return run["status"] == "crashed" or run["n_failed"] > 0 or (run["n_discovered"] > 0 and loaded == 0)
