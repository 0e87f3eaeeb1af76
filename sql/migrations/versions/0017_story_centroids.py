"""Stories joined as a whole: each story's sum of event vectors.

- story_centroids: per story, the number of articles placed in it and the sum
  of their event vectors (its heaviest terms). A report joins a story when its
  mean cosine with the story's articles (the sum's dot product with its
  vector, over the count) reaches the threshold: group-average linkage, so an
  article close to one member only no longer chains a story onward, at the
  same cost however large the story grows. Two stories an article reaches are
  merged only when they are one event by the same measure.
- articles.event_score: now that mean cosine with the story it joined.

Stories stored before have no row and are scored by their one candidate
article until `newsdesk dedup --rebuild` recomputes them.

Revision ID: 0017
Revises: 0016
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

SCHEMA = """
CREATE TABLE newsdesk.story_centroids (
    story_id  bigint PRIMARY KEY,
    n         integer NOT NULL,
    terms     bigint[] NOT NULL,
    weights   real[] NOT NULL
);
GRANT SELECT ON newsdesk.story_centroids TO newsdesk_analyst;
"""

COMMENTS = {
    "TABLE newsdesk.story_centroids": "Same-event features of each story: the sum of its articles' event vectors, its heaviest terms kept. A report joins a story when its mean cosine with the story's articles reaches the threshold.",
    "COLUMN newsdesk.story_centroids.story_id": "The story.",
    "COLUMN newsdesk.story_centroids.n": "Articles summed (placed in the story, copies included; an edited version adds none).",
    "COLUMN newsdesk.story_centroids.terms": "64-bit hashes of the summed vector's heaviest terms, heaviest first.",
    "COLUMN newsdesk.story_centroids.weights": "Their summed weights (divide a dot product by n for the mean cosine).",
    "COLUMN newsdesk.articles.event_score": "Set when the article joined a stored story as a separately written report of its event (duplicate_of null): its mean cosine of event terms with the story's articles. Null for copies and first articles.",
}


def upgrade() -> None:
    op.execute(SCHEMA)
    for target, text in COMMENTS.items():
        op.execute(f"COMMENT ON {target} IS '{text.replace(chr(39), chr(39) * 2)}'")


def downgrade() -> None:
    op.execute("DROP TABLE newsdesk.story_centroids")
    op.execute(
        "COMMENT ON COLUMN newsdesk.articles.event_score IS 'Set when the article joined a stored story as a"
        " separately written report of its event (duplicate_of null): the cosine of its event terms with the"
        " closest report. Null for copies and first articles.'"
    )
