"""Which database a process reaches, and the check that a task's worker reaches
its flow's.

A worker (a Dask worker, a process of another machine) connects with its own
`DATABASE_URL`. Pointed at another database than the flow's, it would load
there while the flow counts nothing. Every load therefore first checks, once
per process and run, that the run's `ingest_runs` row is in the database it
reaches and belongs to the task's flow run, and fails otherwise, naming the
database it reached (server system identifier, database name and oid).
"""

from __future__ import annotations

import threading

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

_checked: set[tuple[str, int, str | None]] = set()
_lock = threading.Lock()


class WrongDatabase(RuntimeError):
    """This process reaches another database than its flow's."""


def describe(conn: Connection) -> str:
    """The database `conn` reaches: server system identifier, database name and oid."""
    name, oid = conn.execute(
        sa.text("SELECT current_database(), (SELECT oid FROM pg_database WHERE datname = current_database())")
    ).one()
    try:
        system = conn.scalar(sa.text("SELECT system_identifier FROM pg_control_system()"))
    except sa.exc.DBAPIError:  # a role without the right to read it
        conn.rollback()
        system = "unknown"
    return f"server system identifier {system}, database {name!r} (oid {oid}) at {conn.engine.url.render_as_string()}"


def check_run(engine: Engine, run_id: int, flow_run_id: str | None) -> None:
    """Raise WrongDatabase unless run `run_id` (of flow run `flow_run_id`, when
    known) is in the database `engine` reaches; checked once per process and run."""
    key = (str(engine.url), run_id, flow_run_id)
    if key in _checked:
        return
    with engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT flow_run_id FROM newsdesk.ingest_runs WHERE id = :id"), {"id": run_id}
        ).one_or_none()
        stored = None if row is None or row.flow_run_id is None else str(row.flow_run_id)
        if row is None or (flow_run_id and stored and stored != flow_run_id):
            raise WrongDatabase(
                f"run {run_id} (flow run {flow_run_id or 'unknown'}) is not in the database this worker reaches:"
                f" {describe(conn)}. Give every worker the DATABASE_URL of the flow that runs it."
            )
    with _lock:
        _checked.add(key)
