"""A worker that reaches another database than its flow's fails its loads,
naming the database it reached (tasks/store/identity.py)."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from newsdesk.database import engine_for_url, migrate
from newsdesk.tasks.store import identity, runs


@pytest.fixture
def other_database(database_url):
    """A second newsdesk database on the same server, as a mistyped DATABASE_URL would reach."""
    name = f"newsdesk_other_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(make_url(database_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine = engine_for_url(make_url(database_url).set(database=name).render_as_string(hide_password=False))
    migrate(engine)
    yield name, engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_a_worker_on_another_database_is_refused_naming_it(db, other_database):
    flow_run = str(uuid.uuid4())
    lease = runs.open_run(db, flow_run_id=flow_run, sources_file=None)
    try:
        identity.check_run(db, lease.id, flow_run)  # the flow's own database
        name, other = other_database
        with pytest.raises(identity.WrongDatabase, match=rf"run {lease.id} .*database '{name}' \(oid \d+\)"):
            identity.check_run(other, lease.id, flow_run)
        # Another database where a run of that id exists, of another flow run, is refused too.
        other_lease = runs.open_run(other, flow_run_id=str(uuid.uuid4()), sources_file=None)
        other_lease.close()
        with pytest.raises(identity.WrongDatabase, match="server system identifier"):
            identity.check_run(other, other_lease.id, flow_run)
    finally:
        lease.close()
