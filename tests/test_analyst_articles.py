"""Issue #17 on a real PostgreSQL: stated timestamps in UTC with their precision,
clean metadata columns, story_facts in step with the articles, search per
language, days that do not move with the session's time zone, the analyst's
search_path and `newsdesk export`."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.helpers import ROOT, fetch

pytestmark = pytest.mark.usefixtures("prefect_server")

NEWSDESK = str(Path(sys.executable).with_name("newsdesk"))
BODY = (
    "<p>The city council voted on Tuesday to approve a new budget for the harbour district, after months of debate"
    " about the cost of the sea wall and the ferry terminal.</p><p>Supporters said the money would protect homes"
    " from winter storms, while critics asked for an independent review of the engineering plans first.</p>"
)
GERMAN = (
    "<p>Der Stadtrat hat am Dienstag einen neuen Haushalt für das Hafenviertel beschlossen, nach monatelangen"
    " Debatten über die Kosten der Kaimauer und der Halbleitern gewidmeten Fabrik am Fährterminal.</p><p>Die"
    " Befürworter sagten, das Geld schütze die Häuser vor Winterstürmen, Kritiker verlangten eine Prüfung.</p>"
)


def page(title: str, body: str, head: str = "", lang: str = "en") -> str:
    return f'<!doctype html><html lang="{lang}"><head><title>{title}</title>{head}</head><body><article><h1>{title}</h1>{body}</article></body></html>'


@pytest.fixture
def loaded(db, corpus):
    from newsdesk.flows.ingest import ingest

    jsonld = json.dumps(
        {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "datePublished": "2024-03-01T22:30:00-05:00",
            "author": [{"@type": "Person", "name": "Ana Ruiz"}, {"@type": "Person", "name": "Admin"}],
            "keywords": "budget, harbour, Budget",
            "articleSection": "Local",
        }
    )
    corpus.write(
        "timed.html",
        page(
            "Harbour budget approved - The Daily Ledger",
            BODY,
            f'<meta property="og:site_name" content="The Daily Ledger"><meta name="author" content="Ana Ruiz; Admin">'
            f'<script type="application/ld+json">{jsonld}</script>',
            lang="en-US",
        ),
    )
    # A copy of the same story, loaded after it (so not canonical) but stating an earlier day.
    corpus.write("z-copy.html", page("Harbour budget approved", BODY, '<meta name="date" content="2024-03-01">'))
    corpus.write("german.html", page("Haushalt beschlossen", GERMAN, lang="de-DE"))
    corpus.write(
        "undated.md", "# A story with no date\n\n" + "Lorem words about ferries and sea walls, said nobody. " * 6
    )
    corpus.configure()
    record = ingest(sources_file=str(corpus.sources))
    return record


def test_stated_timestamps_metadata_and_story_facts(loaded, db):
    rows = {
        Path(r["locator"]).name: r
        for r in fetch(
            db,
            "SELECT locator, title, published_at, published_precision, published_day, authors, author, publisher,"
            " source_name, language, keywords, section, story_id, id FROM newsdesk.articles",
        )
    }
    timed = rows["timed.html"]
    # 22:30 at UTC-5 is 03:30 the next day in UTC: time and zone kept, day right.
    assert timed["published_at"] == datetime(2024, 3, 2, 3, 30, tzinfo=UTC)
    assert (timed["published_precision"], str(timed["published_day"])) == ("datetime", "2024-03-02")
    assert (timed["authors"], timed["author"]) == (["Ana Ruiz"], "Ana Ruiz")
    assert (timed["publisher"], timed["source_name"], timed["title"]) == (
        "The Daily Ledger",
        "The Daily Ledger",
        "Harbour budget approved",
    )
    assert (timed["language"], timed["keywords"], timed["section"]) == ("en", ["budget", "harbour"], "Local")
    copy = rows["z-copy.html"]
    assert (copy["published_precision"], str(copy["published_day"])) == ("date", "2024-03-01")
    assert copy["story_id"] == timed["story_id"]
    assert rows["german.html"]["language"] == "de"
    assert (rows["undated.md"]["published_at"], rows["undated.md"]["published_precision"]) == (None, None)

    [story] = fetch(db, "SELECT * FROM newsdesk.stories WHERE story_id = :id", id=timed["story_id"])
    assert story["n_articles"] == 2
    assert story["canonical_id"] == timed["id"]
    assert story["first_published_id"] == copy["id"]  # the date-only copy states the earlier day
    assert story["first_published_precision"] == "date"
    assert story["publishers"] == ["The Daily Ledger"]
    assert story["sources"] == ["local"]
    _assert_facts_match_articles(db)


def _assert_facts_match_articles(db):
    """story_facts holds what aggregating the current articles gives."""
    facts = fetch(
        db, "SELECT story_id, n_articles, first_seen_at, first_published_at FROM newsdesk.story_facts ORDER BY 1"
    )
    # First seen over every version; first published: the earliest day, a stated time before a bare date.
    truth = fetch(
        db,
        "SELECT story_id, count(*) FILTER (WHERE is_current) AS n_articles, min(created_at) AS first_seen_at,"
        " (array_agg(published_at ORDER BY published_day, published_precision = 'date', published_at, id)"
        "  FILTER (WHERE is_current AND published_at IS NOT NULL))[1] AS first_published_at"
        " FROM newsdesk.articles GROUP BY 1 HAVING bool_or(is_current) ORDER BY 1",
    )
    assert facts == truth and facts


def test_story_facts_follow_reprocess_and_rebuild(loaded, db):
    from newsdesk.flows.dedup import rebuild_dedup
    from newsdesk.flows.reprocess import reprocess_stored

    with db.begin() as conn:  # as a pre-0009 load left it: stale metadata, to be reprocessed
        conn.execute(sa.text("UPDATE newsdesk.articles SET title = title || ' - Old', authors = '{}'"))
    reprocess_stored()
    assert (
        fetch(db, "SELECT count(*) AS n FROM newsdesk.articles WHERE is_current AND title LIKE '%- Old'")[0]["n"] == 0
    )
    _assert_facts_match_articles(db)
    with db.begin() as conn:
        conn.execute(sa.text("DELETE FROM newsdesk.story_facts"))
    rebuild_dedup()
    _assert_facts_match_articles(db)


def test_days_do_not_move_with_the_session_time_zone(loaded, db):
    with db.connect() as conn:
        conn.execute(sa.text("SET TimeZone = 'America/New_York'"))
        days = conn.execute(
            sa.text("SELECT day, n_articles, n_undated FROM newsdesk.daily_counts ORDER BY day NULLS LAST")
        ).all()
        by_day = conn.execute(
            sa.text("SELECT day, n_stories FROM newsdesk.stories_by_day ORDER BY day NULLS LAST")
        ).all()
    # The page stating 22:30 at UTC-5 counts on 2 March; the German page and the file give no date.
    assert [(str(d), n, u) for d, n, u in days] == [("2024-03-01", 1, 0), ("2024-03-02", 1, 0), ("None", 2, 2)]
    assert [(str(d), n) for d, n in by_day] == [("2024-03-01", 1), ("None", 2)]  # the story by its first day


def test_search_uses_the_article_language(loaded, db):
    german = fetch(
        db, "SELECT language FROM newsdesk.articles WHERE search @@ websearch_to_tsquery('german', 'Halbleiter')"
    )
    assert german == [{"language": "de"}]  # found by its stem: the text says "Halbleitern"
    assert not fetch(db, "SELECT 1 FROM newsdesk.articles WHERE search @@ websearch_to_tsquery('simple', 'Halbleiter')")
    english = fetch(db, "SELECT count(*) AS n FROM newsdesk.articles WHERE search @@ to_tsquery('english', 'harb:*')")
    assert english[0]["n"] == 2  # prefix search: "harbour"


def test_psql_sets_the_search_path_and_export_streams(loaded, db, database_url):
    env = {**os.environ, "DATABASE_URL": database_url}
    shown = subprocess.run(
        [NEWSDESK, "psql", "-Atc", "SHOW search_path"], capture_output=True, text=True, env=env, timeout=60, cwd=ROOT
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip().replace(" ", "") == "newsdesk,public"

    jsonl = subprocess.run(
        [NEWSDESK, "export", "--format", "jsonl", "--canonical"], capture_output=True, text=True, env=env, timeout=120
    )
    assert jsonl.returncode == 0, jsonl.stderr
    records = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert len(records) == 3  # four articles, three stories
    timed = next(r for r in records if r["publisher"] == "The Daily Ledger")
    assert (timed["authors"], timed["published_at"]) == (["Ana Ruiz"], "2024-03-02T03:30:00.000000+00:00")

    out = subprocess.run(
        [NEWSDESK, "export", "--format", "csv", "--since", "2999-01-01"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 0 and out.stdout.splitlines()[0].startswith("id,story_id")
    assert len(out.stdout.splitlines()) == 1  # nothing loaded that late
    every = subprocess.run(
        [NEWSDESK, "export", "--format", "csv"], capture_output=True, text=True, env=env, timeout=120
    )
    table = list(csv.DictReader(io.StringIO(every.stdout)))
    assert len(table) == 4
    assert json.loads(next(r for r in table if r["publisher"] == "The Daily Ledger")["keywords"]) == [
        "budget",
        "harbour",
    ]


def test_raw_prints_a_stored_document_as_read(loaded, db, corpus, database_url):
    """Raw documents are stored compressed; `newsdesk raw` gives back the bytes as read."""
    env = {**os.environ, "DATABASE_URL": database_url}
    [stored] = fetch(db, "SELECT locator FROM newsdesk.documents WHERE locator LIKE '%german.html'")
    path = Path(stored["locator"])
    assert path.name == "german.html"
    shown = subprocess.run([NEWSDESK, "raw", str(path)], capture_output=True, env=env, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == path.read_bytes()
    missing = subprocess.run(
        [NEWSDESK, "raw", str(path) + ".gone"], capture_output=True, text=True, env=env, timeout=60
    )
    assert missing.returncode == 1 and "no document stored for" in missing.stderr
