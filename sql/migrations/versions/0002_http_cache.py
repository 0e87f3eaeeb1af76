"""HTTP validators per URL, for conditional GETs.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE newsdesk.http_cache (
            url            text PRIMARY KEY,
            etag           text,
            last_modified  text,
            body           bytea,
            checked_at     timestamptz NOT NULL DEFAULT now()
        );
        COMMENT ON TABLE newsdesk.http_cache IS
            'ETag and Last-Modified of every fetched page, feed and sitemap, sent back as If-None-Match / If-Modified-Since.';
        COMMENT ON COLUMN newsdesk.http_cache.body IS
            'Feeds and sitemaps only: the last body, re-read when the server answers 304 Not Modified.';
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS newsdesk.http_cache")
