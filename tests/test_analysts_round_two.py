"""Issue 31 on a real PostgreSQL: the read-only commands as a member of
newsdesk_analyst and on a schema they cannot use, one search in every
language, and the export's uniform times, nulls, new columns and relative --since."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from newsdesk.tasks.store.export import parse_since
from tests.helpers import ROOT, SEEDS, fetch

pytestmark = pytest.mark.usefixtures("prefect_server")

NEWSDESK = str(Path(sys.executable).with_name("newsdesk"))

TEXTS = {
    "de.md": "# Hochschulen\n\n"
    + "Die Studierenden der Universität protestieren gegen die hohen Mieten in der Stadt und fordern mehr"
    " Wohnheime. Viele von ihnen arbeiten neben dem Studium, um die Miete bezahlen zu können, und haben"
    " kaum noch Zeit für Vorlesungen und Prüfungen. " * 2,
    "fr.md": "# Marché\n\n"
    + "Les rumeurs de fusion entre les deux banques se multiplient depuis lundi, et les investisseurs"
    " attendent une annonce officielle avant la fin de la semaine. Les syndicats craignent des suppressions"
    " de postes dans les agences régionales. " * 2,
    "es.md": "# Economía\n\n"
    + "El gobierno publicó el informe sobre la deuda externa del país, que creció durante el último año por"
    " los nuevos préstamos de organismos internacionales. Los economistas advierten que el pago de intereses"
    " limitará la inversión pública. " * 2,
    "ru.md": "# Здоровье\n\n"
    + "Врачи предупреждают, что модные диеты без контроля специалиста могут навредить здоровью. Многие"
    " люди отказываются от завтрака и теряют силы к середине дня, а затем переедают вечером и плохо спят"
    " ночью. " * 2,
}


@pytest.fixture
def languages(db, corpus):
    from newsdesk.flows.ingest import ingest

    for name, text in TEXTS.items():
        corpus.write(name, text)
    corpus.write("empty-summary.md", "---\ntitle: No summary\nsummary: ''\n---\n" + TEXTS["de.md"].replace("#", "##"))
    corpus.configure()
    return ingest(sources_file=str(corpus.sources))


def test_one_search_finds_every_language_by_its_own_stems(languages, db):
    for words, language in (
        ("Studierende", "de"),
        ("rumeurs", "fr"),
        ("deudas externas", "es"),
        ("диеты", "ru"),
    ):
        found = fetch(
            db,
            "SELECT DISTINCT language FROM newsdesk.articles WHERE search @@ newsdesk.search_any(:q)",
            q=words,
        )
        assert found == [{"language": language}], words
    # What the README used to say misses words that only the language's own stemmer reduces.
    assert not fetch(
        db,
        "SELECT 1 FROM newsdesk.articles"
        " WHERE search @@ (websearch_to_tsquery('english', :q) || websearch_to_tsquery('simple', :q))",
        q="Studierende",
    )


@pytest.fixture
def analyst_url(db, database_url):
    """The database URL as a login role that is a member of newsdesk_analyst, nothing more."""
    name = f"analyst_{uuid.uuid4().hex[:8]}"
    with db.begin() as conn:
        conn.execute(sa.text(f"CREATE ROLE {name} LOGIN"))
        conn.execute(sa.text(f"GRANT newsdesk_analyst TO {name}"))
    yield make_url(database_url).set(username=name, password=None).render_as_string(hide_password=False)
    with db.begin() as conn:
        conn.execute(sa.text(f"DROP OWNED BY {name}"))
        conn.execute(sa.text(f"DROP ROLE {name}"))


def _run(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run([NEWSDESK, *args], capture_output=True, text=True, env=env, timeout=120, cwd=ROOT)


def test_read_only_commands_run_as_an_analyst(db, analyst_url):
    from newsdesk.flows.ingest import ingest

    ingest(sources_file=str(SEEDS / "sources.toml"))
    [locator] = fetch(db, "SELECT locator FROM newsdesk.documents ORDER BY id LIMIT 1")
    for args in (("export", "--format", "csv"), ("raw", locator["locator"]), ("runs",), ("status",)):
        done = _run(analyst_url, *args)
        assert done.returncode == 0, (args, done.stderr)
        assert "permission denied" not in done.stderr
    # and the analyst still cannot write
    engine = sa.create_engine(make_url(analyst_url).set(drivername="postgresql+psycopg"))
    try:
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"), engine.begin() as conn:
            conn.execute(sa.text("CREATE SCHEMA IF NOT EXISTS newsdesk"))
    finally:
        engine.dispose()


def test_read_only_commands_never_migrate_and_say_why(db, database_url):
    # A database with no schema: a clear line, and still no schema after.
    admin = sa.create_engine(make_url(database_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    empty = f"newsdesk_empty_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{empty}"'))
    try:
        empty_url = make_url(database_url).set(database=empty).render_as_string(hide_password=False)
        for command in ("runs", "status", "export"):
            done = _run(empty_url, command)
            assert done.returncode == 1
            assert "has no newsdesk schema yet" in done.stderr and "Traceback" not in done.stderr
        probe = sa.create_engine(make_url(empty_url).set(drivername="postgresql+psycopg"))
        with probe.connect() as conn:
            assert conn.scalar(sa.text("SELECT to_regnamespace('newsdesk')")) is None
        probe.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{empty}" WITH (FORCE)'))
        admin.dispose()

    # A schema older than the code: said, not migrated.
    [version] = fetch(db, "SELECT version_num FROM newsdesk.alembic_version")
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE newsdesk.alembic_version SET version_num = '0012'"))
    try:
        done = _run(database_url, "runs")
        assert done.returncode == 1 and "older than this code" in done.stderr
        assert fetch(db, "SELECT version_num FROM newsdesk.alembic_version") == [{"version_num": "0012"}]
    finally:
        with db.begin() as conn:
            conn.execute(sa.text("UPDATE newsdesk.alembic_version SET version_num = :v"), {"v": version["version_num"]})


def test_export_times_nulls_new_columns_and_relative_since(languages, db, database_url):
    with db.begin() as conn:  # cleaning never stores one, but an analyst's own rows may
        conn.execute(
            sa.text("UPDATE newsdesk.articles SET summary = '' WHERE id = (SELECT min(id) FROM newsdesk.articles)")
        )
    done = _run(database_url, "export", "--format", "csv")
    assert done.returncode == 0, done.stderr
    header = done.stdout.splitlines()[0].split(",")
    assert {"dup_score", "published_day", "version"} <= set(header)
    table = list(csv.DictReader(io.StringIO(done.stdout)))
    assert len(table) == 5
    for row in table:
        # one form for every time: microseconds and the UTC offset always there
        datetime.strptime(row["created_at"], "%Y-%m-%dT%H:%M:%S.%f%z")
        assert row["version"] == "1"
    # null is an empty unquoted field, an empty string a quoted one
    lines = done.stdout.splitlines()[1:]
    assert any(',"",' in line for line in lines)  # the empty summary
    assert any(",," in line for line in lines)  # nulls (no url for a file)
    marked = _run(database_url, "export", "--format", "csv", "--null", r"\N")
    assert r",\N," in marked.stdout and ',"",' in marked.stdout

    jsonl = _run(database_url, "export", "--format", "jsonl", "--since", "1h")
    assert len(jsonl.stdout.splitlines()) == 5
    record = json.loads(jsonl.stdout.splitlines()[0])
    assert record["version"] == 1 and "dup_score" in record and "published_day" in record
    assert _run(database_url, "export", "--since", "2999-01-01").stdout == ""
    # loaded more than a day later: a relative --since leaves them out
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE newsdesk.articles SET created_at = created_at - interval '3 days'"))
    assert _run(database_url, "export", "--since", "24h").stdout == ""
    assert len(_run(database_url, "export", "--since", "7d").stdout.splitlines()) == 5


def test_since_values():
    now = datetime(2024, 3, 10, 12, tzinfo=UTC)
    assert parse_since("7d", now=now) == now - timedelta(days=7)
    assert parse_since("24h", now=now) == now - timedelta(hours=24)
    assert parse_since("2w", now=now) == now - timedelta(weeks=2)
    assert parse_since("2024-03-01") == datetime(2024, 3, 1, tzinfo=UTC)
    assert parse_since("2024-03-01T12:00+01:00") == datetime(2024, 3, 1, 11, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_since("last week")
