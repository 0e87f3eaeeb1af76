"""Web origins leased to one process at a time: `host_schedule` gains the
lease's span (`held_until`) and the first process waiting for it
(`wanted_by`); `host_slots` goes, the holder counting the per-host limit.

Revision ID: 0019
Revises: 0018
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE newsdesk.host_schedule ADD COLUMN held_until timestamptz, ADD COLUMN wanted_by text;
        UPDATE newsdesk.host_schedule SET holder = NULL;
        COMMENT ON TABLE newsdesk.host_schedule IS
            'One row per web origin (scheme, host and port, in one form), leased to one process at a time:'
            ' only the holder starts requests to it, spacing them and counting NEWSDESK_PER_HOST itself, so'
            ' runs and workers keep both together.';
        COMMENT ON COLUMN newsdesk.host_schedule.next_at IS
            'The earliest start of the next request by a process that does not hold the origin (the database''s'
            ' clock): a delay after the last request of the process that released it.';
        COMMENT ON COLUMN newsdesk.host_schedule.holder IS 'The process holding the origin (a token of its own).';
        COMMENT ON COLUMN newsdesk.host_schedule.held_until IS
            'The end of the holder''s span of starts (renewed while no other process waits); NULL: not held.'
            ' A holder that neither renewed nor released it has gone once its requests could have ended.';
        COMMENT ON COLUMN newsdesk.host_schedule.wanted_by IS
            'The first process that asked for the origin while another held it: it has the origin next.';
        DROP TABLE IF EXISTS newsdesk.host_slots;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE newsdesk.host_schedule DROP COLUMN IF EXISTS held_until, DROP COLUMN IF EXISTS wanted_by;
        UPDATE newsdesk.host_schedule SET holder = NULL;
        CREATE TABLE newsdesk.host_slots (
            origin  text NOT NULL,
            slot    integer NOT NULL,
            holder  text,
            until   timestamptz,
            PRIMARY KEY (origin, slot)
        );
        """
    )
