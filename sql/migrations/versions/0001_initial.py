"""Initial schema: documents, articles, run history, rejections, analyst views.

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = """
CREATE TABLE newsdesk.ingest_runs (
    id            bigserial PRIMARY KEY,
    flow_run_id   uuid,
    kind          text NOT NULL DEFAULT 'ingest',
    status        text NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'crashed')),
    sources_file  text,
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    n_discovered  integer NOT NULL DEFAULT 0,
    n_inserted    integer NOT NULL DEFAULT 0,
    n_duplicate   integer NOT NULL DEFAULT 0,
    n_updated     integer NOT NULL DEFAULT 0,
    n_unchanged   integer NOT NULL DEFAULT 0,
    n_rejected    integer NOT NULL DEFAULT 0,
    n_failed      integer NOT NULL DEFAULT 0,
    error         text
);
CREATE INDEX ingest_runs_running ON newsdesk.ingest_runs (id) WHERE status = 'running';

CREATE TABLE newsdesk.ingest_run_sources (
    run_id        bigint NOT NULL REFERENCES newsdesk.ingest_runs (id) ON DELETE CASCADE,
    source        text NOT NULL,
    n_discovered  integer NOT NULL DEFAULT 0,
    n_inserted    integer NOT NULL DEFAULT 0,
    n_duplicate   integer NOT NULL DEFAULT 0,
    n_updated     integer NOT NULL DEFAULT 0,
    n_unchanged   integer NOT NULL DEFAULT 0,
    n_rejected    integer NOT NULL DEFAULT 0,
    n_failed      integer NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, source)
);

CREATE TABLE newsdesk.documents (
    id              bigserial PRIMARY KEY,
    locator         text NOT NULL,
    source          text NOT NULL,
    media_type      text NOT NULL,
    encoding        text NOT NULL,
    content_sha256  text NOT NULL,
    byte_size       integer NOT NULL,
    raw             bytea NOT NULL,
    run_id          bigint REFERENCES newsdesk.ingest_runs (id),
    fetched_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (locator, content_sha256)
);

CREATE TABLE newsdesk.articles (
    id             bigserial PRIMARY KEY,
    document_id    bigint NOT NULL REFERENCES newsdesk.documents (id),
    locator        text NOT NULL,
    version        integer NOT NULL DEFAULT 1,
    is_current     boolean NOT NULL DEFAULT true,
    url            text,
    title          text,
    summary        text,
    body           text NOT NULL,
    published_at   timestamptz,
    source_name    text,
    author         text,
    language       text,
    ingested_from  text NOT NULL,
    body_hash      text NOT NULL,
    duplicate_of   bigint REFERENCES newsdesk.articles (id),
    dup_kind       text CHECK (dup_kind IN ('exact', 'near', 'story')),
    dup_score      real,
    story_id       bigint NOT NULL,
    run_id         bigint REFERENCES newsdesk.ingest_runs (id),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CHECK ((duplicate_of IS NULL) = (dup_kind IS NULL)),
    UNIQUE (locator, version)
);
CREATE UNIQUE INDEX articles_one_current_per_locator ON newsdesk.articles (locator) WHERE is_current;
CREATE INDEX articles_body_hash ON newsdesk.articles (body_hash) WHERE is_current;
CREATE INDEX articles_story ON newsdesk.articles (story_id);
CREATE INDEX articles_published ON newsdesk.articles (published_at);

-- lz4 compresses several times faster than the default pglz; servers built
-- without it keep pglz.
DO $$
BEGIN
    ALTER TABLE newsdesk.documents ALTER COLUMN raw SET COMPRESSION lz4;
    ALTER TABLE newsdesk.articles ALTER COLUMN body SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    NULL;
END $$;

CREATE TABLE newsdesk.rejections (
    id          bigserial PRIMARY KEY,
    run_id      bigint NOT NULL REFERENCES newsdesk.ingest_runs (id) ON DELETE CASCADE,
    source      text NOT NULL,
    locator     text NOT NULL,
    outcome     text NOT NULL CHECK (outcome IN ('rejected', 'failed')),
    stage       text NOT NULL,
    reason      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rejections_run ON newsdesk.rejections (run_id);

CREATE VIEW newsdesk.articles_canonical AS
SELECT id, story_id, locator, url, title, summary, body, published_at, source_name,
       author, language, ingested_from, created_at, updated_at
FROM newsdesk.articles
WHERE is_current AND duplicate_of IS NULL;

CREATE VIEW newsdesk.stories AS
SELECT a.story_id,
       c.title                                  AS title,
       min(a.published_at)                      AS first_published_at,
       min(a.created_at)                        AS first_seen_at,
       max(a.created_at)                        AS last_seen_at,
       count(*)                                 AS n_articles,
       array_agg(DISTINCT coalesce(a.source_name, a.ingested_from)) AS sources
FROM newsdesk.articles a
LEFT JOIN newsdesk.articles_canonical c ON c.story_id = a.story_id
WHERE a.is_current
GROUP BY a.story_id, c.title;
"""

COMMENTS = {
    "TABLE newsdesk.ingest_runs": "One row per ingest run; the outcome counts add up to n_discovered.",
    "COLUMN newsdesk.ingest_runs.flow_run_id": "The Prefect flow run that did this run (look it up in the Prefect UI).",
    "COLUMN newsdesk.ingest_runs.status": "running, completed, failed, or crashed (killed; marked by the next run).",
    "TABLE newsdesk.ingest_run_sources": "Outcome counts of one run for one configured source.",
    "TABLE newsdesk.documents": "Raw inputs exactly as read or fetched, one row per distinct content of a locator.",
    "COLUMN newsdesk.documents.raw": "The bytes as read; PostgreSQL compresses them (TOAST).",
    "TABLE newsdesk.articles": "One row per distinct version of a document, cleaned.",
    "COLUMN newsdesk.articles.locator": "Where the document came from: a file path or a URL.",
    "COLUMN newsdesk.articles.is_current": "False for versions replaced by a newer read of the same locator.",
    "COLUMN newsdesk.articles.source_name": "The publisher the article names (e.g. its Source: line or site name).",
    "COLUMN newsdesk.articles.ingested_from": "The [[source]] entry of sources.toml that brought it in.",
    "COLUMN newsdesk.articles.body_hash": "SHA-256 of the normalised body (case, punctuation and spacing folded).",
    "COLUMN newsdesk.articles.duplicate_of": "The canonical (first seen) article of this story; null for the canonical one.",
    "COLUMN newsdesk.articles.dup_kind": "exact (same normalised body), near (copy), story (rewrite), or null.",
    "COLUMN newsdesk.articles.story_id": "The story this article tells: the id of its canonical article.",
    "TABLE newsdesk.rejections": "Every item of a run that was rejected (bad input) or failed, with the stage and reason.",
    "VIEW newsdesk.articles_canonical": "One row per story: the current version of its canonical article.",
    "VIEW newsdesk.stories": "One row per story with its title, first and last seen times, sources and article count.",
}


def upgrade() -> None:
    op.execute(SCHEMA)
    for target, text in COMMENTS.items():
        op.execute(f"COMMENT ON {target} IS '{text.replace(chr(39), chr(39) * 2)}'")


def downgrade() -> None:
    for name in ("stories", "articles_canonical"):
        op.execute(f"DROP VIEW IF EXISTS newsdesk.{name}")
    for name in ("rejections", "articles", "documents", "ingest_run_sources", "ingest_runs"):
        op.execute(f"DROP TABLE IF EXISTS newsdesk.{name}")
