"""`make bench-analyst`: analyst story queries at scale.

Creates a scratch database on the server of `BENCH_DATABASE_URL` (else
`TEST_DATABASE_URL`, else `DATABASE_URL`), migrates it, generates N articles
with SQL (270 a day, one in 20 a copy of an earlier article's story, short
bodies, a language mix), builds `story_facts` as loads keep it, and times the
analyst queries (median of 5 runs after one warm-up), then drops the database.

    python -m bench.analyst [--articles 200000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid

import sqlalchemy as sa
from sqlalchemy.engine import make_url

GENERATE = """
INSERT INTO newsdesk.ingest_runs (id, status) VALUES (1, 'completed');
INSERT INTO newsdesk.documents (id, locator, source, media_type, encoding, content_sha256, byte_size, raw, run_id)
SELECT i, 'bench/' || i, 'bench', 'text/plain', 'utf-8', md5(i::text), 1, '\\x00', 1
FROM generate_series(1, :n) AS i;
INSERT INTO newsdesk.articles (id, document_id, locator, title, body, published_at, published_precision, publisher,
                               language, ingested_from, body_hash, duplicate_of, dup_kind, story_id, run_id, created_at)
SELECT i, i, 'bench/' || i,
       'Story ' || s || ' about ' || (ARRAY['taiwan', 'chips', 'harbour', 'budget', 'elections'])[1 + s % 5],
       'Body of story ' || s || ' with words about ' || (ARRAY['taiwan', 'chips', 'harbour', 'budget', 'elections'])[1 + s % 5]
         || ' and number ' || i,
       CASE WHEN i % 7 = 0 THEN NULL ELSE timestamptz '2024-01-01' + (i / 270.0) * interval '1 day' END,
       CASE WHEN i % 7 = 0 THEN NULL WHEN i % 3 = 0 THEN 'date' ELSE 'datetime' END,
       'Publisher ' || (i % 50),
       (ARRAY['en', 'en', 'en', 'de', 'fr', 'ru', NULL])[1 + i % 7],
       'source-' || (i % 5),
       md5(i::text),
       CASE WHEN s <> i THEN s END, CASE WHEN s <> i THEN 'near' END,
       s, 1,
       timestamptz '2024-01-01' + (i / 270.0) * interval '1 day'
FROM (SELECT i, CASE WHEN i % 20 = 0 AND i > 100 THEN i - 50 - (i % 40) ELSE i END AS s
      FROM generate_series(1, :n) AS i) AS g;
SELECT setval('newsdesk.articles_id_seq', :n);
SELECT setval('newsdesk.documents_id_seq', :n);
"""

QUERIES = {
    "stories WHERE n_articles > 1": "SELECT story_id, title, n_articles, publishers FROM newsdesk.stories"
    " WHERE n_articles > 1 ORDER BY n_articles DESC, story_id LIMIT 100",
    "count(*) stories WHERE n_articles > 1": "SELECT count(*) FROM newsdesk.stories WHERE n_articles > 1",
    "stories of one day": "SELECT story_id, title, first_published_at FROM newsdesk.stories"
    " WHERE first_published_day = DATE '2024-06-01'",
    "stories_by_day, 30 days": "SELECT * FROM newsdesk.stories_by_day WHERE day >= DATE '2024-06-01'"
    " AND day < DATE '2024-07-01' ORDER BY day",
    "new_stories(last day)": "SELECT count(*) FROM newsdesk.new_stories(TIMESTAMPTZ '2025-01-01' + interval '10 days')",
    "search joined to stories": "SELECT a.id, a.title, s.n_articles, ts_rank(a.search, q.q) AS rank"
    " FROM newsdesk.articles_canonical a JOIN newsdesk.stories s USING (story_id),"
    " (SELECT to_tsquery('english', 'harbour & 1234') || to_tsquery('simple', 'harbour & 1234') AS q) AS q"
    " WHERE a.search @@ q.q ORDER BY rank DESC LIMIT 10",
    "daily_counts, one month": "SELECT day, sum(n_articles) FROM newsdesk.daily_counts"
    " WHERE day >= DATE '2024-06-01' AND day < DATE '2024-07-01' GROUP BY day",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=200_000)
    args = parser.parse_args()
    server = (
        os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    )
    if not server:
        from newsdesk.config import Settings
        from newsdesk.database import resolve_url

        server = resolve_url(Settings.from_env())
    name = f"newsdesk_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(make_url(server).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(drivername="postgresql+psycopg", database=name)
    engine = sa.create_engine(url)
    try:
        from newsdesk.database import migrate
        from newsdesk.tasks.store import story_facts

        migrate(engine)
        start = time.perf_counter()
        with engine.begin() as conn:
            for statement in GENERATE.split(";\n"):
                if statement.strip():
                    conn.execute(sa.text(statement), {"n": args.articles})
            story_facts.rebuild(conn)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
        with engine.connect() as conn:
            stories = conn.scalar(sa.text("SELECT count(*) FROM newsdesk.story_facts"))
        print(f"{args.articles:,} articles, {stories:,} stories generated in {time.perf_counter() - start:.1f} s")
        # What the same stories query cost before story_facts: an aggregate over every current article.
        QUERIES["(before 0009) aggregate stories WHERE n_articles > 1"] = (
            "SELECT story_id, count(*) FROM newsdesk.articles WHERE is_current GROUP BY story_id HAVING count(*) > 1"
        )
        with engine.connect() as conn:
            for label, query in QUERIES.items():
                conn.execute(sa.text(query)).all()
                times = []
                for _ in range(5):
                    t = time.perf_counter()
                    conn.execute(sa.text(query)).all()
                    times.append((time.perf_counter() - t) * 1000)
                print(f"{label:55} {statistics.median(times):8.2f} ms")
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
