"""Requests to a web origin are granted their start at the moment they leave:
the schedule row also names the request that was granted last.

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE newsdesk.host_schedule ADD COLUMN holder text;
        COMMENT ON TABLE newsdesk.host_schedule IS
            'Per web origin (scheme://host:port): the earliest start of its next request. A request about to leave'
            ' asks for its start in one statement: granted when that time has come (and moved on by the delay),'
            ' else told how long to wait; so runs and workers share the spacing.';
        COMMENT ON COLUMN newsdesk.host_schedule.holder IS
            'The request last granted its start (a token of its own), by which it knows it was granted.';
        """
    )


def downgrade() -> None:
    op.execute("ALTER TABLE newsdesk.host_schedule DROP COLUMN IF EXISTS holder")
