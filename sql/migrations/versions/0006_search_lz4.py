"""The full-text search vector compressed with lz4, like the body it is made
from: PostgreSQL compresses every stored vector (a few kB each) as the row is
written, and lz4 does it several times faster than the default pglz.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Servers built without lz4 keep pglz, as in 0001. Only values written from
# now on are compressed the new way; stored ones stay as they are.
UPGRADE = """
DO $$
BEGIN
    ALTER TABLE newsdesk.articles ALTER COLUMN search SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    NULL;
END $$;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("ALTER TABLE newsdesk.articles ALTER COLUMN search SET COMPRESSION default")
