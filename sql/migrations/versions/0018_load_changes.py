"""What each holder of the load lock changed, so that a load can decide its
stories before it takes the lock and only re-check under it.

- load_lock.seq: the number of the last holder (each holder takes the next
  one under the lock, and holders commit in that order); load_lock.changes_from:
  the first number whose changes are still kept.
- load_changes: one row per holder: the dedup keys and body hashes of the
  articles it filed, the stories whose summed vectors it read or wrote, the
  articles it replaced and the stories it merged away,
  or `anything` when it did not say (a reprocess, a rebuild). A load that read
  the index when seq was N re-checks only the rows with a larger seq.

Revision ID: 0018
Revises: 0017
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
ALTER TABLE newsdesk.load_lock
    ADD COLUMN seq bigint NOT NULL DEFAULT 0,
    ADD COLUMN changes_from bigint NOT NULL DEFAULT 1;
COMMENT ON COLUMN newsdesk.load_lock.seq IS
    'Number of the last holder of the lock: each holder takes the next one while it holds it.';
COMMENT ON COLUMN newsdesk.load_lock.changes_from IS
    'The smallest holder number whose row in load_changes is still kept (older rows are deleted).';

CREATE TABLE newsdesk.load_changes (
    token bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    seq bigint,
    anything boolean NOT NULL DEFAULT false,
    near bigint[] NOT NULL DEFAULT '{}',
    story bigint[] NOT NULL DEFAULT '{}',
    story_owner int[] NOT NULL DEFAULT '{}',
    hashes bigint[] NOT NULL DEFAULT '{}',
    gone bigint[] NOT NULL DEFAULT '{}',
    stories bigint[] NOT NULL DEFAULT '{}'
);
CREATE INDEX load_changes_seq ON newsdesk.load_changes (seq);
GRANT SELECT ON newsdesk.load_changes TO newsdesk_analyst;
COMMENT ON TABLE newsdesk.load_changes IS
    'What each holder of the load lock changed in the dedup index, by holder number (load_lock.seq): a load that'
    ' decided its stories before taking the lock re-checks its decision against the rows of later holders only.'
    ' Rows older than the last few hundred holders are deleted.';
COMMENT ON COLUMN newsdesk.load_changes.token IS 'Row id, drawn before the holder takes the lock.';
COMMENT ON COLUMN newsdesk.load_changes.seq IS 'The holder''s number (load_lock.seq), set while it holds the lock.';
COMMENT ON COLUMN newsdesk.load_changes.anything IS
    'The holder did not list its changes (a reprocess, a dedup rebuild): every decision made before it is re-checked.';
COMMENT ON COLUMN newsdesk.load_changes.near IS 'Near-copy keys (near_keys.key) of the articles it filed.';
COMMENT ON COLUMN newsdesk.load_changes.story IS 'Story keys (story_keys.key) of the articles it filed.';
COMMENT ON COLUMN newsdesk.load_changes.story_owner IS
    'For each story key, the position of its article among those the holder filed.';
COMMENT ON COLUMN newsdesk.load_changes.hashes IS
    'The first 60 bits of the body hashes of the articles it filed and of those it replaced.';
COMMENT ON COLUMN newsdesk.load_changes.stories IS
    'Stories whose summed vectors (story_centroids) the holder read for its decision or wrote.';
COMMENT ON COLUMN newsdesk.load_changes.gone IS
    'Ids of the article versions it replaced and of the stories it merged into others.';
"""
    )


def downgrade() -> None:
    op.execute(
        "DROP TABLE newsdesk.load_changes; ALTER TABLE newsdesk.load_lock DROP COLUMN seq, DROP COLUMN changes_from;"
    )
