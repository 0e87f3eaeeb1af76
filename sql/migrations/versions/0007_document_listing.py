"""What a feed or sitemap entry said about a fetched page (title, date, author,
summary), kept with the raw page: a reprocess fills the same gaps from it that
the ingest filled.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COMMENT = (
    "What the feed or sitemap entry that listed this page said about it (title, published, author, summary),"
    " as JSON; null for files and pages listed without metadata. Cleaning uses it for what the page lacks."
)


def upgrade() -> None:
    op.execute("ALTER TABLE newsdesk.documents ADD COLUMN listing jsonb")
    op.execute(f"COMMENT ON COLUMN newsdesk.documents.listing IS '{COMMENT.replace(chr(39), chr(39) * 2)}'")


def downgrade() -> None:
    op.execute("ALTER TABLE newsdesk.documents DROP COLUMN listing")
