"""For analysts: full-text search, the daily_counts and run_history views, a
comment on every table, view and column, and the read-only role newsdesk_analyst.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SCHEMA = """
-- Title words weigh more than body words in ts_rank. English stemming: most
-- sources are English; other languages still match on exact words.
ALTER TABLE newsdesk.articles ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', coalesce(title, '')), 'A') || setweight(to_tsvector('english', body), 'B')
) STORED;
CREATE INDEX articles_search ON newsdesk.articles USING gin (search);

CREATE OR REPLACE VIEW newsdesk.articles_canonical AS
SELECT id, story_id, locator, url, title, summary, body, published_at, source_name,
       author, language, ingested_from, created_at, updated_at, search
FROM newsdesk.articles
WHERE is_current AND duplicate_of IS NULL;

CREATE VIEW newsdesk.daily_counts AS
SELECT (coalesce(published_at, created_at) AT TIME ZONE 'UTC')::date AS day,
       ingested_from                                  AS source,
       count(*)                                       AS n_articles,
       count(*) FILTER (WHERE duplicate_of IS NULL)   AS n_stories,
       count(*) FILTER (WHERE dup_kind = 'exact')     AS n_exact,
       count(*) FILTER (WHERE dup_kind = 'near')      AS n_near,
       count(*) FILTER (WHERE dup_kind = 'story')     AS n_story
FROM newsdesk.articles
WHERE is_current
GROUP BY 1, 2;

CREATE VIEW newsdesk.run_history AS
SELECT r.id AS run_id, r.kind, r.status, r.started_at, r.finished_at,
       r.finished_at - r.started_at AS duration,
       r.n_discovered, r.n_inserted, r.n_duplicate, r.n_updated, r.n_unchanged, r.n_rejected, r.n_failed,
       (SELECT count(*) FROM newsdesk.ingest_run_sources s WHERE s.run_id = r.id) AS n_sources,
       r.sources_file, r.flow_run_id, r.error
FROM newsdesk.ingest_runs r;

-- Read-only access for analysts: grant it to login roles
-- (GRANT newsdesk_analyst TO alice). Roles belong to the server, not the
-- database, so it may exist already.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'newsdesk_analyst') THEN
        CREATE ROLE newsdesk_analyst NOLOGIN;
    END IF;
END $$;
GRANT USAGE ON SCHEMA newsdesk TO newsdesk_analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA newsdesk TO newsdesk_analyst;
ALTER DEFAULT PRIVILEGES IN SCHEMA newsdesk GRANT SELECT ON TABLES TO newsdesk_analyst;
"""

_COUNTS = {
    "n_discovered": "Items found by discovery; the sum of the six outcome counts.",
    "n_inserted": "Items loaded as the first article of a new story.",
    "n_duplicate": "Items loaded as a copy or rewrite of an existing story (see articles.dup_kind).",
    "n_updated": "Items whose locator was known with other content: a new version.",
    "n_unchanged": "Items whose content was already stored: nothing written.",
    "n_rejected": "Items refused as bad input (see rejections).",
    "n_failed": "Items that failed on our side: a bug or the database (see rejections).",
}
_ARTICLE_COLUMNS = {
    "id": "Article version id.",
    "story_id": "The story this article tells: the id of its canonical (first seen) article.",
    "locator": "Where the document came from: a file path or a URL.",
    "url": "The article's URL when known (fetched pages, or a URL named by the file).",
    "title": "Title, from the document's metadata or its first line.",
    "summary": "Summary or description from the document's metadata.",
    "body": "Clean article text; paragraphs separated by a blank line.",
    "published_at": "Publication time from the document (null when it gives none).",
    "source_name": "The publisher the article names (e.g. its Source: line or site name).",
    "author": "Author from the document's metadata.",
    "language": "Language code from the document's metadata, when given.",
    "ingested_from": "The [[source]] entry of sources.toml that brought it in.",
    "created_at": "When this version was loaded.",
    "updated_at": "When this row last changed (a new version replaced it, or dedup relinked it).",
    "search": "Full-text search vector of title (weight A) and body (weight B), English stemming; GIN-indexed.",
}
COMMENTS = {
    # articles and its views
    **{f"COLUMN newsdesk.articles.{c}": t for c, t in _ARTICLE_COLUMNS.items()},
    "COLUMN newsdesk.articles.document_id": "The raw document this version was cleaned from.",
    "COLUMN newsdesk.articles.version": "1 for the first read of a locator, +1 for each changed read.",
    "COLUMN newsdesk.articles.run_id": "The run that loaded this version.",
    "COLUMN newsdesk.articles.duplicate_of": "The canonical (first seen) article of this story; null for the canonical one.",
    "COLUMN newsdesk.articles.dup_kind": "How it matched its story: exact (same normalised body), near (copy), story (rewrite); null for the canonical one.",
    **{f"COLUMN newsdesk.articles_canonical.{c}": t for c, t in _ARTICLE_COLUMNS.items()},
    "COLUMN newsdesk.stories.story_id": "The story: the id of its canonical article.",
    "COLUMN newsdesk.stories.title": "The canonical article's title, or another of the story's when it has none.",
    "COLUMN newsdesk.stories.first_published_at": "Earliest publication time among the story's articles.",
    "COLUMN newsdesk.stories.first_seen_at": "When the story's first article was loaded.",
    "COLUMN newsdesk.stories.last_seen_at": "When its latest article was loaded.",
    "COLUMN newsdesk.stories.n_articles": "Current articles telling this story (the canonical one included).",
    "COLUMN newsdesk.stories.sources": "Publishers (or sources) that carried it.",
    "COLUMN newsdesk.stories.dup_kinds": "How its copies matched: exact, near, story.",
    "VIEW newsdesk.daily_counts": "Current articles per day (publication day, else load day, UTC) and source, with stories and copies by tier.",
    "COLUMN newsdesk.daily_counts.day": "Publication day in UTC, or the day it was loaded when the article gives no date.",
    "COLUMN newsdesk.daily_counts.source": "The [[source]] entry of sources.toml.",
    "COLUMN newsdesk.daily_counts.n_articles": "Current articles.",
    "COLUMN newsdesk.daily_counts.n_stories": "Of which canonical articles: new stories.",
    "COLUMN newsdesk.daily_counts.n_exact": "Of which exact copies.",
    "COLUMN newsdesk.daily_counts.n_near": "Of which near copies.",
    "COLUMN newsdesk.daily_counts.n_story": "Of which rewrites of a story.",
    "VIEW newsdesk.run_history": "One row per run (ingest, reprocess, dedup rebuild) with its duration and outcome counts.",
    "COLUMN newsdesk.run_history.run_id": "The run (ingest_runs.id).",
    "COLUMN newsdesk.run_history.kind": "ingest, reprocess or dedup.",
    "COLUMN newsdesk.run_history.status": "running, completed, failed, or crashed (killed; marked by the next run).",
    "COLUMN newsdesk.run_history.started_at": "Start time.",
    "COLUMN newsdesk.run_history.finished_at": "End time; null while running or after a crash.",
    "COLUMN newsdesk.run_history.duration": "finished_at - started_at.",
    **{f"COLUMN newsdesk.run_history.{c}": t for c, t in _COUNTS.items()},
    "COLUMN newsdesk.run_history.n_sources": "Sources the run went through.",
    "COLUMN newsdesk.run_history.sources_file": "The sources.toml the run read.",
    "COLUMN newsdesk.run_history.flow_run_id": "The Prefect flow run (look it up in the Prefect UI).",
    "COLUMN newsdesk.run_history.error": "Why a failed run failed.",
    # runs
    "COLUMN newsdesk.ingest_runs.id": "Run id.",
    "COLUMN newsdesk.ingest_runs.kind": "ingest, reprocess or dedup (newsdesk dedup --rebuild).",
    "COLUMN newsdesk.ingest_runs.sources_file": "The sources.toml the run read (ingest runs).",
    "COLUMN newsdesk.ingest_runs.started_at": "Start time.",
    "COLUMN newsdesk.ingest_runs.finished_at": "End time; null while running or after a crash.",
    "COLUMN newsdesk.ingest_runs.error": "Why a failed run failed.",
    **{f"COLUMN newsdesk.ingest_runs.{c}": t for c, t in _COUNTS.items()},
    "COLUMN newsdesk.ingest_run_sources.run_id": "The run.",
    "COLUMN newsdesk.ingest_run_sources.source": "The [[source]] entry of sources.toml.",
    **{f"COLUMN newsdesk.ingest_run_sources.{c}": t for c, t in _COUNTS.items()},
    # documents
    "COLUMN newsdesk.documents.id": "Document id.",
    "COLUMN newsdesk.documents.locator": "File path or URL it was read from.",
    "COLUMN newsdesk.documents.source": "The [[source]] entry that read it.",
    "COLUMN newsdesk.documents.media_type": "text/plain, text/markdown or text/html.",
    "COLUMN newsdesk.documents.encoding": "The character encoding it was decoded with.",
    "COLUMN newsdesk.documents.content_sha256": "SHA-256 of the raw bytes: the same bytes are never stored twice for a locator.",
    "COLUMN newsdesk.documents.byte_size": "Size of the raw bytes.",
    "COLUMN newsdesk.documents.run_id": "The run that read it.",
    "COLUMN newsdesk.documents.fetched_at": "When it was read or fetched.",
    # rejections
    "COLUMN newsdesk.rejections.id": "Rejection id.",
    "COLUMN newsdesk.rejections.run_id": "The run it happened in.",
    "COLUMN newsdesk.rejections.source": "The [[source]] entry.",
    "COLUMN newsdesk.rejections.locator": "The file path or URL.",
    "COLUMN newsdesk.rejections.outcome": "rejected (bad input) or failed (our side).",
    "COLUMN newsdesk.rejections.stage": "Where it stopped: discover, acquire, fetch, decode, clean, fingerprint or load.",
    "COLUMN newsdesk.rejections.reason": "What was wrong, in words.",
    "COLUMN newsdesk.rejections.created_at": "When it was recorded.",
    # http cache
    "COLUMN newsdesk.http_cache.url": "The URL fetched.",
    "COLUMN newsdesk.http_cache.etag": "The ETag it answered with, sent back as If-None-Match.",
    "COLUMN newsdesk.http_cache.last_modified": "The Last-Modified it answered with, sent back as If-Modified-Since.",
    "COLUMN newsdesk.http_cache.checked_at": "When it was last fetched or revalidated.",
    # dedup index
    "COLUMN newsdesk.near_keys.article_id": "The article filed under this key.",
    "COLUMN newsdesk.story_keys.article_id": "The article filed under this key.",
    "COLUMN newsdesk.near_keys.story_id": "The article's story when it was filed (a rebuild refiles every article).",
    "COLUMN newsdesk.story_keys.story_id": "The article's story when it was filed (a rebuild refiles every article).",
    # migrations
    "TABLE newsdesk.alembic_version": "The schema's migration version (Alembic); newsdesk migrates it at start.",
    "COLUMN newsdesk.alembic_version.version_num": "The last migration applied.",
}


def upgrade() -> None:
    op.execute(SCHEMA)
    for target, text in COMMENTS.items():
        op.execute(f"COMMENT ON {target} IS '{text.replace(chr(39), chr(39) * 2)}'")


def downgrade() -> None:
    op.execute("REVOKE ALL ON ALL TABLES IN SCHEMA newsdesk FROM newsdesk_analyst")
    op.execute("ALTER DEFAULT PRIVILEGES IN SCHEMA newsdesk REVOKE SELECT ON TABLES FROM newsdesk_analyst")
    op.execute("REVOKE USAGE ON SCHEMA newsdesk FROM newsdesk_analyst")
    op.execute("DROP VIEW newsdesk.run_history")
    op.execute("DROP VIEW newsdesk.daily_counts")
    # A view cannot lose a column in place: stories and articles_canonical are
    # recreated as 0003 left them.
    stories = op.get_bind().exec_driver_sql("SELECT pg_get_viewdef('newsdesk.stories'::regclass)").scalar()
    op.execute("DROP VIEW newsdesk.stories")
    op.execute("DROP VIEW newsdesk.articles_canonical")
    op.execute(
        "CREATE VIEW newsdesk.articles_canonical AS SELECT id, story_id, locator, url, title, summary, body,"
        " published_at, source_name, author, language, ingested_from, created_at, updated_at"
        " FROM newsdesk.articles WHERE is_current AND duplicate_of IS NULL"
    )
    op.execute(f"CREATE VIEW newsdesk.stories AS {stories}")
    op.execute("DROP INDEX newsdesk.articles_search")
    op.execute("ALTER TABLE newsdesk.articles DROP COLUMN search")
