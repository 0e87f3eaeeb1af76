"""When each web origin may next be requested: one row per origin, claimed
atomically by every fetch, so the spacing between requests to a site holds
across concurrent runs and workers on several machines.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE newsdesk.host_schedule (
            origin   text PRIMARY KEY,
            next_at  timestamptz NOT NULL
        );
        COMMENT ON TABLE newsdesk.host_schedule IS
            'Per web origin (scheme://host:port): the earliest start of its next request. Each fetch claims its start'
            ' and moves this on by the delay, in one statement, so runs and workers share the spacing.';
        COMMENT ON COLUMN newsdesk.host_schedule.origin IS 'scheme://host:port of a web site, as requested.';
        COMMENT ON COLUMN newsdesk.host_schedule.next_at IS
            'The earliest time (the database''s clock) the next request to the origin may start.';
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS newsdesk.host_schedule")
