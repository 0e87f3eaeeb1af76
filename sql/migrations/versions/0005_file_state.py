"""A file's modification time beside its stored bytes, so an unchanged rerun
need not read the file again.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COMMENT = (
    "For files: the modification time (ns since the epoch) when it was read, with byte_size the"
    " stat that lets a rerun skip the file unread (as make and rsync do). Null for web pages, and for a"
    " file modified moments before it was read, which is read again next time."
)


def upgrade() -> None:
    op.execute("ALTER TABLE newsdesk.documents ADD COLUMN file_mtime_ns bigint")
    op.execute(f"COMMENT ON COLUMN newsdesk.documents.file_mtime_ns IS '{COMMENT.replace(chr(39), chr(39) * 2)}'")


def downgrade() -> None:
    op.execute("ALTER TABLE newsdesk.documents DROP COLUMN file_mtime_ns")
