"""The per-host limit and robots.txt reads shared by every process: `host_slots`
(NEWSDESK_PER_HOST rows per origin, each held by one request at a time) and
`robots_reads` (the process reading an origin's robots.txt, while others wait
for its copy in `http_cache`).

Revision ID: 0013
Revises: 0012
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE newsdesk.host_slots (
            origin  text NOT NULL,
            slot    integer NOT NULL,
            holder  text,
            until   timestamptz,
            PRIMARY KEY (origin, slot)
        );
        COMMENT ON TABLE newsdesk.host_slots IS
            'Per web origin (scheme, host and port, in one form), one row per request it may have at once'
            ' (NEWSDESK_PER_HOST): a request takes a free row before it starts and frees it when it ends, so'
            ' runs and workers share the per-host limit.';
        COMMENT ON COLUMN newsdesk.host_slots.origin IS 'The web origin, normalised: scheme, host and port.';
        COMMENT ON COLUMN newsdesk.host_slots.slot IS 'The slot''s number, 0 to NEWSDESK_PER_HOST - 1.';
        COMMENT ON COLUMN newsdesk.host_slots.holder IS 'The request holding the slot (a token of its own); NULL: free.';
        COMMENT ON COLUMN newsdesk.host_slots.until IS
            'When the slot is free anyway (the database''s clock), if its holder''s process died.';
        CREATE TABLE newsdesk.robots_reads (
            origin  text PRIMARY KEY,
            holder  text NOT NULL,
            until   timestamptz NOT NULL
        );
        COMMENT ON TABLE newsdesk.robots_reads IS
            'The robots.txt reads under way: one process reads an origin''s robots.txt, the others running'
            ' meanwhile wait and use its copy (http_cache), so a site''s robots.txt is read once for them all.';
        COMMENT ON COLUMN newsdesk.robots_reads.origin IS 'The web origin whose robots.txt is being read, normalised.';
        COMMENT ON COLUMN newsdesk.robots_reads.holder IS 'The process reading it (a token of its own).';
        COMMENT ON COLUMN newsdesk.robots_reads.until IS
            'When another process may read it anyway (the reader''s process may have died).';
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS newsdesk.robots_reads; DROP TABLE IF EXISTS newsdesk.host_slots")
