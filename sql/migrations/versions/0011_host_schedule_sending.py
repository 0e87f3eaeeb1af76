"""A granted request holds its origin's schedule row until its headers are
written, and the next start counts from then: the table's comment says so.

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        COMMENT ON TABLE newsdesk.host_schedule IS
            'Per web origin (scheme://host:port): the earliest start of its next request. A request about to leave'
            ' asks for its start in one statement: when that time has come it is granted and holds the origin'
            ' until its headers are written, when a second statement moves the next start a delay past that'
            ' moment (10 s at most if its process dies first); else it is told how long to wait. So runs and'
            ' workers share the spacing, counted from when requests really left.';
        COMMENT ON COLUMN newsdesk.host_schedule.holder IS
            'The request last granted its start (a token of its own), by which it knows it was granted and'
            ' reports that its headers were written.';
        """
    )


def downgrade() -> None:
    op.execute(
        """
        COMMENT ON TABLE newsdesk.host_schedule IS
            'Per web origin (scheme://host:port): the earliest start of its next request. A request about to leave'
            ' asks for its start in one statement: granted when that time has come (and moved on by the delay),'
            ' else told how long to wait; so runs and workers share the spacing.';
        COMMENT ON COLUMN newsdesk.host_schedule.holder IS
            'The request last granted its start (a token of its own), by which it knows it was granted.';
        """
    )
