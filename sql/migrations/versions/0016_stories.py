"""Stories of real news: separately written reports of one event join its story.

- articles: `event_score`, set when the article joined its story as a report
  of an event already stored (no copy: `duplicate_of` stays null). The copy
  columns keep their meaning: `duplicate_of` is the original a copy derives
  from, `dup_kind` its tier (exact, near, or story: a rewrite of one text).
- story_vectors: each article's event features (term keys and weights);
  story_keys now holds their heaviest terms, stemmed per language.
- story_merges: every merge of two stories by an article reporting both
  events (the older story's id stays).
- story_facts and the view stories: outlets, originals and copies, languages,
  last publication; the canonical article is the story's first article that
  is neither a copy nor a joined report; the article published first puts a
  stated time before a bare date of the same day; first seen counts every
  version, so an edited article keeps it.
- articles_canonical and daily_counts follow the new canonical article.

Stored articles keep the stories they had: the index keys changed, so run
`newsdesk dedup --rebuild` once to file them under the new keys and to group
the reports of one event already stored.

Revision ID: 0016
Revises: 0015
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_FIRST = "ORDER BY a.published_day, a.published_precision = 'date', a.published_at, a.id"
_CANONICAL = "ORDER BY a.duplicate_of IS NOT NULL, a.event_score IS NOT NULL, a.id"
# What tasks/store/story_facts.py computes, in its column order.
STORY_FACTS_SELECT = f"""
SELECT a.story_id,
       (array_agg(a.id {_CANONICAL}))[1],
       coalesce((array_agg(a.title {_CANONICAL}))[1], min(a.title)),
       count(*),
       array_remove(array_agg(DISTINCT a.publisher ORDER BY a.publisher), NULL),
       array_agg(DISTINCT a.ingested_from ORDER BY a.ingested_from),
       array_remove(array_agg(DISTINCT a.dup_kind ORDER BY a.dup_kind), NULL),
       (array_agg(a.published_at {_FIRST}) FILTER (WHERE a.published_at IS NOT NULL))[1],
       (array_agg(a.published_precision {_FIRST}) FILTER (WHERE a.published_at IS NOT NULL))[1],
       (array_agg(a.id {_FIRST}) FILTER (WHERE a.published_at IS NOT NULL))[1],
       min(a.published_day),
       (SELECT min(v.created_at) FROM newsdesk.articles v WHERE v.story_id = a.story_id),
       max(a.created_at),
       count(DISTINCT coalesce(a.publisher_domain, a.publisher, a.ingested_from)),
       count(*) FILTER (WHERE a.duplicate_of IS NULL),
       count(*) FILTER (WHERE a.duplicate_of IS NOT NULL),
       array_remove(array_agg(DISTINCT a.language ORDER BY a.language), NULL),
       max(a.published_at)
FROM newsdesk.articles a
WHERE a.is_current
GROUP BY a.story_id
"""

_STORY_COLUMNS = (
    "story_id, canonical_id, title, n_articles, publishers, sources, dup_kinds, first_published_at,"
    " first_published_precision, first_published_id, first_published_day, first_seen_at, last_seen_at,"
    " n_outlets, n_originals, n_copies, languages, last_published_at"
)

SCHEMA = f"""
DROP FUNCTION newsdesk.new_stories(timestamptz);
DROP VIEW newsdesk.stories_new_today;
DROP VIEW newsdesk.stories;
DROP VIEW newsdesk.daily_counts;
DROP VIEW newsdesk.articles_canonical;

ALTER TABLE newsdesk.articles ADD COLUMN event_score real;

CREATE TABLE newsdesk.story_vectors (
    article_id  bigint PRIMARY KEY,
    terms       bigint[] NOT NULL,
    weights     real[] NOT NULL
);

CREATE TABLE newsdesk.story_merges (
    merged_story_id  bigint PRIMARY KEY,
    into_story_id    bigint NOT NULL,
    article_id       bigint NOT NULL,
    score            real NOT NULL,
    run_id           bigint,
    merged_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX story_merges_into ON newsdesk.story_merges (into_story_id);

ALTER TABLE newsdesk.story_facts
    ADD COLUMN n_outlets integer NOT NULL DEFAULT 1,
    ADD COLUMN n_originals integer NOT NULL DEFAULT 1,
    ADD COLUMN n_copies integer NOT NULL DEFAULT 0,
    ADD COLUMN languages text[] NOT NULL DEFAULT '{{}}',
    ADD COLUMN last_published_at timestamptz;
DELETE FROM newsdesk.story_facts;
INSERT INTO newsdesk.story_facts ({_STORY_COLUMNS}) {STORY_FACTS_SELECT};
CREATE INDEX story_facts_outlets ON newsdesk.story_facts (n_outlets) WHERE n_outlets > 1;

CREATE VIEW newsdesk.articles_canonical AS
SELECT id, story_id, locator, url, title, summary, body, published_at, published_precision, published_day,
       publisher, source_name, publisher_domain, authors, author, language, keywords, section,
       ingested_from, ingested_from AS source, created_at, updated_at, search
FROM newsdesk.articles
WHERE is_current AND duplicate_of IS NULL AND event_score IS NULL;

CREATE VIEW newsdesk.stories AS
SELECT story_id, title, n_articles, n_outlets, n_originals, n_copies, publishers, sources, languages, dup_kinds,
       canonical_id, first_published_id, first_published_at, first_published_precision, first_published_day,
       last_published_at, first_seen_at, last_seen_at
FROM newsdesk.story_facts;

CREATE VIEW newsdesk.stories_new_today AS
SELECT * FROM newsdesk.stories
WHERE first_seen_at >= (date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC');

CREATE FUNCTION newsdesk.new_stories(since timestamptz) RETURNS SETOF newsdesk.stories
LANGUAGE sql STABLE
AS $$ SELECT * FROM newsdesk.stories WHERE first_seen_at >= since ORDER BY first_seen_at $$;

CREATE VIEW newsdesk.daily_counts AS
SELECT published_day                                  AS day,
       ingested_from                                  AS source,
       count(*)                                       AS n_articles,
       count(*) FILTER (WHERE duplicate_of IS NULL AND event_score IS NULL) AS n_stories,
       count(*) FILTER (WHERE event_score IS NOT NULL) AS n_reports,
       count(*) FILTER (WHERE dup_kind = 'exact')     AS n_exact,
       count(*) FILTER (WHERE dup_kind = 'near')      AS n_near,
       count(*) FILTER (WHERE dup_kind = 'story')     AS n_story,
       count(*) FILTER (WHERE published_day IS NULL)  AS n_undated
FROM newsdesk.articles
WHERE is_current
GROUP BY 1, 2;

GRANT SELECT ON ALL TABLES IN SCHEMA newsdesk TO newsdesk_analyst;
GRANT EXECUTE ON FUNCTION newsdesk.new_stories(timestamptz) TO newsdesk_analyst;
"""

_STORY_VIEW_COLUMNS = {
    "story_id": "The story: the id of its first article (a merged story keeps the older id; see story_merges).",
    "title": "The canonical article's title, or another of the story's when it has none.",
    "n_articles": "Current articles in this story: its first article, separately written reports and copies.",
    "n_outlets": "Distinct outlets that carried it (publisher_domain, else publisher, else source).",
    "n_originals": "Of its articles, those written separately (duplicate_of null): its first article and the reports that joined it.",
    "n_copies": "Of its articles, copies of another (duplicate_of set: exact, near, rewrite).",
    "publishers": "Publishers that carried it (articles.publisher).",
    "sources": "The [[source]] entries that brought its articles in (articles.ingested_from).",
    "languages": "Languages of its articles.",
    "dup_kinds": "How its copies matched: exact, near, story (a rewrite of one text).",
    "canonical_id": "The current version of its canonical article: its first article that is neither a copy nor a joined report.",
    "first_published_id": "The article published first: earliest day, and within a day a stated time before a bare date; null when none is dated.",
    "first_published_at": "published_at of the article published first.",
    "first_published_precision": "published_precision of the article published first (datetime or date).",
    "first_published_day": "UTC day of first publication; null when no article is dated.",
    "last_published_at": "Latest publication time among its articles.",
    "first_seen_at": "When its first article was loaded (any version: an edited article keeps it).",
    "last_seen_at": "When its latest current article was loaded.",
}
COMMENTS = {
    "COLUMN newsdesk.articles.duplicate_of": "For a copy: the original article it derives from (the first version's id). Null for an article written separately.",
    "COLUMN newsdesk.articles.dup_kind": "How a copy matched its original: exact (same normalised body), near (near copy), story (a rewrite of the same text); null for an article written separately.",
    "COLUMN newsdesk.articles.dup_score": "Similarity to the original: 1 exact, shingle containment (near), ordered sentence coverage (story).",
    "COLUMN newsdesk.articles.story_id": "The event it reports: the id of the story's first article. Copies and separately written reports of one event share it.",
    "COLUMN newsdesk.articles.event_score": "Set when the article joined a stored story as a separately written report of its event (duplicate_of null): the cosine of its event terms with the closest report. Null for copies and first articles.",
    "TABLE newsdesk.story_vectors": "Same-event features of each article: its heaviest rare terms (stemmed per language) and their TF-IDF weights.",
    "COLUMN newsdesk.story_vectors.article_id": "The article.",
    "COLUMN newsdesk.story_vectors.terms": "64-bit hashes of its terms, heaviest first.",
    "COLUMN newsdesk.story_vectors.weights": "Their weights (the vector has unit length).",
    "TABLE newsdesk.story_keys": "Story index: each article's heaviest event terms, by day: rewrite and same-event candidates.",
    "COLUMN newsdesk.story_keys.key": "Hash of one term (stemmed).",
    "TABLE newsdesk.story_merges": "Every merge of two stories: an article reported the events of both, so the newer story joined the older.",
    "COLUMN newsdesk.story_merges.merged_story_id": "The story that was merged (its id no longer appears in articles).",
    "COLUMN newsdesk.story_merges.into_story_id": "The story it joined (the older one, whose id stays).",
    "COLUMN newsdesk.story_merges.article_id": "The article that reported both events.",
    "COLUMN newsdesk.story_merges.score": "Its lower event score with the two stories.",
    "COLUMN newsdesk.story_merges.run_id": "The run that merged them (ingest, reprocess or dedup rebuild).",
    "COLUMN newsdesk.story_merges.merged_at": "When.",
    "VIEW newsdesk.articles_canonical": "One row per story: its canonical article (its first, neither a copy nor a joined report), current version.",
    "TABLE newsdesk.story_facts": "One row per story, rewritten in the load transaction for every story a load, reprocess or rebuild touches. Read it through the view stories.",
    **{f"COLUMN newsdesk.story_facts.{c}": t for c, t in _STORY_VIEW_COLUMNS.items()},
    "VIEW newsdesk.stories": "One row per story (one real-world event): its articles, outlets, originals and copies, languages, canonical and first-published article, first and last seen (index-fast: reads story_facts).",
    **{f"COLUMN newsdesk.stories.{c}": t for c, t in _STORY_VIEW_COLUMNS.items()},
    "VIEW newsdesk.stories_new_today": "Stories whose first article was loaded today (UTC); new_stories(since) for any other start.",
    **{f"COLUMN newsdesk.stories_new_today.{c}": t for c, t in _STORY_VIEW_COLUMNS.items()},
    "VIEW newsdesk.daily_counts": "Current articles per UTC publication day and source; undated articles in the row with day null (n_undated).",
    "COLUMN newsdesk.daily_counts.day": "Publication day in UTC; null for the articles with no publication date.",
    "COLUMN newsdesk.daily_counts.source": "The [[source]] entry of sources.toml.",
    "COLUMN newsdesk.daily_counts.n_articles": "Current articles.",
    "COLUMN newsdesk.daily_counts.n_stories": "Of which first articles of a story.",
    "COLUMN newsdesk.daily_counts.n_reports": "Of which separately written reports that joined a stored story (event_score set).",
    "COLUMN newsdesk.daily_counts.n_exact": "Of which exact copies.",
    "COLUMN newsdesk.daily_counts.n_near": "Of which near copies.",
    "COLUMN newsdesk.daily_counts.n_story": "Of which rewrites of one text.",
    "COLUMN newsdesk.daily_counts.n_undated": "Of which without a publication date (only in the row with day null).",
    "FUNCTION newsdesk.new_stories(timestamptz)": "Stories whose first article was loaded at or after the given time, oldest first.",
}

# The view's other columns say what the table's columns of the same name say.
COPY_CANONICAL_COMMENTS = """
DO $$
DECLARE r record;
BEGIN
    FOR r IN
        SELECT v.attname, col_description('newsdesk.articles'::regclass, t.attnum) AS comment
        FROM pg_attribute v
        JOIN pg_attribute t ON t.attrelid = 'newsdesk.articles'::regclass AND t.attname = v.attname
        WHERE v.attrelid = 'newsdesk.articles_canonical'::regclass AND v.attnum > 0
    LOOP
        EXECUTE format('COMMENT ON COLUMN newsdesk.articles_canonical.%I IS %L', r.attname, r.comment);
    END LOOP;
END $$;
COMMENT ON COLUMN newsdesk.articles_canonical.source IS 'The [[source]] entry of sources.toml that brought it in (= ingested_from).';
"""


def upgrade() -> None:
    op.execute(SCHEMA)
    for target, text in COMMENTS.items():
        op.execute(f"COMMENT ON {target} IS '{text.replace(chr(39), chr(39) * 2)}'")
    op.execute(COPY_CANONICAL_COMMENTS)


def downgrade() -> None:
    # Back to 0012: joined reports become stories of their own again only after
    # a rebuild under the old code; the event columns and tables are dropped.
    op.execute(
        """
        DROP FUNCTION newsdesk.new_stories(timestamptz);
        DROP VIEW newsdesk.stories_new_today;
        DROP VIEW newsdesk.stories;
        DROP VIEW newsdesk.daily_counts;
        DROP VIEW newsdesk.articles_canonical;
        DROP INDEX newsdesk.story_facts_outlets;
        ALTER TABLE newsdesk.story_facts DROP COLUMN n_outlets, DROP COLUMN n_originals, DROP COLUMN n_copies,
            DROP COLUMN languages, DROP COLUMN last_published_at;
        DROP TABLE newsdesk.story_merges;
        DROP TABLE newsdesk.story_vectors;
        ALTER TABLE newsdesk.articles DROP COLUMN event_score;
        CREATE VIEW newsdesk.articles_canonical AS
        SELECT id, story_id, locator, url, title, summary, body, published_at, published_precision, published_day,
               publisher, source_name, publisher_domain, authors, author, language, keywords, section,
               ingested_from, ingested_from AS source, created_at, updated_at, search
        FROM newsdesk.articles WHERE is_current AND duplicate_of IS NULL;
        CREATE VIEW newsdesk.stories AS
        SELECT story_id, title, n_articles, publishers, sources, dup_kinds, canonical_id,
               first_published_id, first_published_at, first_published_precision, first_published_day,
               first_seen_at, last_seen_at
        FROM newsdesk.story_facts;
        CREATE VIEW newsdesk.stories_new_today AS
        SELECT * FROM newsdesk.stories
        WHERE first_seen_at >= (date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC');
        CREATE FUNCTION newsdesk.new_stories(since timestamptz) RETURNS SETOF newsdesk.stories
        LANGUAGE sql STABLE
        AS $$ SELECT * FROM newsdesk.stories WHERE first_seen_at >= since ORDER BY first_seen_at $$;
        CREATE VIEW newsdesk.daily_counts AS
        SELECT published_day AS day, ingested_from AS source, count(*) AS n_articles,
               count(*) FILTER (WHERE duplicate_of IS NULL) AS n_stories,
               count(*) FILTER (WHERE dup_kind = 'exact') AS n_exact,
               count(*) FILTER (WHERE dup_kind = 'near') AS n_near,
               count(*) FILTER (WHERE dup_kind = 'story') AS n_story,
               count(*) FILTER (WHERE published_day IS NULL) AS n_undated
        FROM newsdesk.articles WHERE is_current GROUP BY 1, 2;
        GRANT SELECT ON ALL TABLES IN SCHEMA newsdesk TO newsdesk_analyst;
        GRANT EXECUTE ON FUNCTION newsdesk.new_stories(timestamptz) TO newsdesk_analyst;
        """
    )
