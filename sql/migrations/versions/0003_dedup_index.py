"""The dedup index: LSH band keys for near copies, key terms for same-story candidates.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# No foreign keys and no index on article_id: loads only append and look up by
# key; rows of replaced versions are skipped when candidates are read (they
# must be current), and `newsdesk dedup --rebuild` rewrites both tables. The
# story is copied in so that candidates can be cut to one per story without
# reading the articles table.
SCHEMA = """
CREATE TABLE newsdesk.near_keys (
    key         bigint NOT NULL,
    article_id  bigint NOT NULL,
    story_id    bigint NOT NULL
);
CREATE INDEX near_keys_key ON newsdesk.near_keys (key);

CREATE TABLE newsdesk.story_keys (
    key         bigint NOT NULL,
    day         date NOT NULL,
    article_id  bigint NOT NULL,
    story_id    bigint NOT NULL
);
CREATE INDEX story_keys_key_day ON newsdesk.story_keys (key, day);

-- A story's title is its canonical article's, or, when that has none, the
-- title of another of its articles.
CREATE OR REPLACE VIEW newsdesk.stories AS
SELECT a.story_id,
       coalesce(c.title, min(a.title))          AS title,
       min(a.published_at)                      AS first_published_at,
       min(a.created_at)                        AS first_seen_at,
       max(a.created_at)                        AS last_seen_at,
       count(*)                                 AS n_articles,
       array_agg(DISTINCT coalesce(a.source_name, a.ingested_from)) AS sources,
       array_remove(array_agg(DISTINCT a.dup_kind), NULL) AS dup_kinds
FROM newsdesk.articles a
LEFT JOIN newsdesk.articles_canonical c ON c.story_id = a.story_id
WHERE a.is_current
GROUP BY a.story_id, c.title;
"""

COMMENTS = {
    "TABLE newsdesk.near_keys": "Near-copy index: one row per MinHash LSH band of each article (body and lead).",
    "COLUMN newsdesk.near_keys.key": "A band's hash; articles sharing a key are near-copy candidates, verified before linking.",
    "TABLE newsdesk.story_keys": "Same-story index: the rare key terms of each article's title and lead, by day.",
    "COLUMN newsdesk.story_keys.key": "Hash of one key term.",
    "COLUMN newsdesk.story_keys.day": "Publication day (or the day it was loaded): the time window searches by it.",
    "VIEW newsdesk.stories": "One row per story: its title, first and last seen times, sources, article count and how its copies matched.",
    "COLUMN newsdesk.articles.dup_score": "Similarity to the matched article: 1 exact, shingle containment (near), ordered sentence coverage (story).",
}


def upgrade() -> None:
    op.execute(SCHEMA)
    for target, text in COMMENTS.items():
        op.execute(f"COMMENT ON {target} IS '{text.replace(chr(39), chr(39) * 2)}'")


def downgrade() -> None:
    op.execute("DROP TABLE newsdesk.story_keys")
    op.execute("DROP TABLE newsdesk.near_keys")
