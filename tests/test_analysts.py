"""What analysts rely on: comments everywhere, the read-only role, full-text
search and the daily_counts / run_history views, on a real PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.helpers import SEEDS, fetch

pytestmark = pytest.mark.usefixtures("prefect_server")


def test_every_table_view_and_column_has_a_comment(db):
    relations = fetch(
        db,
        """
        SELECT c.relname, c.relkind, obj_description(c.oid, 'pg_class') AS comment
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'newsdesk' AND c.relkind IN ('r', 'v', 'm')""",
    )
    assert {"articles", "stories", "daily_counts", "run_history", "near_keys"} <= {r["relname"] for r in relations}
    assert [r["relname"] for r in relations if not r["comment"]] == []
    columns = fetch(
        db,
        """
        SELECT c.relname, a.attname FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'newsdesk' AND c.relkind IN ('r', 'v', 'm') AND a.attnum > 0 AND NOT a.attisdropped
          AND col_description(c.oid, a.attnum) IS NULL""",
    )
    assert [f"{c['relname']}.{c['attname']}" for c in columns] == []


@pytest.fixture
def analyst(db, database_url):
    """A login role granted newsdesk_analyst, and an engine connected as it."""
    name = f"analyst_{uuid.uuid4().hex[:8]}"
    with db.begin() as conn:
        conn.execute(sa.text(f"CREATE ROLE {name} LOGIN"))
        conn.execute(sa.text(f"GRANT newsdesk_analyst TO {name}"))
    engine = sa.create_engine(make_url(database_url).set(drivername="postgresql+psycopg", username=name, password=None))
    yield engine
    engine.dispose()
    with db.begin() as conn:
        conn.execute(sa.text(f"DROP ROLE {name}"))


def test_the_analyst_role_reads_everything_and_writes_nothing(db, analyst):
    from newsdesk.flows.ingest import ingest

    ingest(sources_file=str(SEEDS / "sources.toml"))
    [role] = fetch(db, "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'newsdesk_analyst'")
    assert role["rolcanlogin"] is False
    relations = [
        r["relname"]
        for r in fetch(
            db,
            """
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'newsdesk' AND c.relkind IN ('r', 'v')""",
        )
    ]
    with analyst.connect() as conn:
        for relation in relations:
            conn.execute(sa.text(f"SELECT * FROM newsdesk.{relation} LIMIT 1")).all()
        assert conn.scalar(sa.text("SELECT count(*) FROM newsdesk.stories")) == 4
    writes = [
        "INSERT INTO newsdesk.rejections (run_id, source, locator, outcome, stage, reason) VALUES (1, 's', 'l', 'failed', 'x', 'y')",
        "UPDATE newsdesk.articles SET title = 'x'",
        "DELETE FROM newsdesk.ingest_runs",
        "TRUNCATE newsdesk.near_keys",
        "CREATE TABLE newsdesk.mine (x int)",
        "DROP VIEW newsdesk.stories",
    ]
    for statement in writes:
        with analyst.connect() as conn, pytest.raises(sa.exc.ProgrammingError, match="permission denied|must be owner"):
            conn.execute(sa.text(statement))
    assert fetch(db, "SELECT count(*) AS n FROM newsdesk.articles WHERE title = 'x'")[0]["n"] == 0


def test_full_text_search_and_the_daily_and_run_views(db):
    from newsdesk.flows.ingest import ingest

    record = ingest(sources_file=str(SEEDS / "sources.toml"))
    hits = fetch(
        db,
        """
        SELECT title, ts_rank(search, query.q) AS rank
        FROM newsdesk.articles_canonical,
             (SELECT websearch_to_tsquery('english', 'semiconductors "supply chain"')
                     || websearch_to_tsquery('simple', 'semiconductors "supply chain"') AS q) AS query
        WHERE search @@ query.q ORDER BY rank DESC""",
    )
    assert hits and all(h["rank"] > 0 for h in hits)
    assert not fetch(db, "SELECT 1 FROM newsdesk.articles WHERE search @@ websearch_to_tsquery('english', 'zeppelin')")
    with db.connect() as conn:
        conn.execute(sa.text("SET enable_seqscan = off"))  # five rows: make the planner show it would use the index
        plan = "\n".join(
            conn.scalars(
                sa.text("EXPLAIN SELECT id FROM newsdesk.articles WHERE search @@ to_tsquery('english', 'taiwan')")
            )
        )
    assert "articles_search" in plan

    days = fetch(
        db,
        "SELECT sum(n_articles) AS articles, sum(n_stories) AS stories, sum(n_story) AS rewrites"
        " FROM newsdesk.daily_counts WHERE source = 'seeds'",
    )
    assert (days[0]["articles"], days[0]["stories"], days[0]["rewrites"]) == (5, 4, 1)
    undated = fetch(db, "SELECT count(*) AS n FROM newsdesk.articles WHERE published_at IS NULL")[0]["n"]
    assert fetch(db, "SELECT n_articles, n_undated FROM newsdesk.daily_counts WHERE day IS NULL") == [
        {"n_articles": undated, "n_undated": undated}
    ]
    dated = fetch(db, "SELECT day, n_articles FROM newsdesk.daily_counts WHERE day = '2019-12-12'")
    assert dated == [{"day": dated[0]["day"], "n_articles": 1}]

    [run] = fetch(db, "SELECT * FROM newsdesk.run_history WHERE run_id = :id", id=record["id"])
    assert (run["kind"], run["status"], run["n_discovered"], run["n_inserted"], run["n_sources"]) == (
        "ingest",
        "completed",
        5,
        4,
        1,
    )
    assert run["duration"].total_seconds() >= 0
