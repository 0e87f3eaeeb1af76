"""Analyst-grade articles: publication precision, clean metadata columns, search
per language, a story table kept up to date by every load, and the views for
the daily question.

- articles: `source_name` becomes `publisher` (a generated `source_name` stays
  as its alias), new `published_precision`, `published_day`, `authors`,
  `publisher_domain`, `keywords`, `section`; `search` is built with the text
  search configuration of the article's language (`newsdesk.search_config`).
- story_facts: one row per story, rewritten for the stories a load or
  reprocess touches in its own transaction, rebuilt whole by a dedup rebuild.
- views: `stories` reads story_facts; `stories_by_day`, `stories_new_today`
  and `new_stories(since)`; `daily_counts` by publication day with undated
  articles apart (day null, `n_undated`).

Existing rows get their new metadata from `newsdesk reprocess`.

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Languages with a PostgreSQL stemmer; every other language, and none, gets 'simple'.
CONFIGS = {
    "ar": "arabic",
    "hy": "armenian",
    "eu": "basque",
    "ca": "catalan",
    "da": "danish",
    "nl": "dutch",
    "en": "english",
    "fi": "finnish",
    "fr": "french",
    "de": "german",
    "el": "greek",
    "hi": "hindi",
    "hu": "hungarian",
    "id": "indonesian",
    "ga": "irish",
    "it": "italian",
    "lt": "lithuanian",
    "ne": "nepali",
    "no": "norwegian",
    "nb": "norwegian",
    "nn": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "es": "spanish",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}
_CASE = " ".join(f"WHEN '{code}' THEN '{name}'::regconfig" for code, name in CONFIGS.items())

STORY_FACTS_SELECT = """
SELECT a.story_id,
       (array_agg(a.id ORDER BY a.duplicate_of IS NOT NULL, a.id))[1]            AS canonical_id,
       coalesce(min(a.title) FILTER (WHERE a.duplicate_of IS NULL), min(a.title)) AS title,
       count(*)                                                                  AS n_articles,
       array_remove(array_agg(DISTINCT a.publisher ORDER BY a.publisher), NULL)  AS publishers,
       array_agg(DISTINCT a.ingested_from ORDER BY a.ingested_from)              AS sources,
       array_remove(array_agg(DISTINCT a.dup_kind ORDER BY a.dup_kind), NULL)    AS dup_kinds,
       min(a.published_at)                                                       AS first_published_at,
       (array_agg(a.published_precision ORDER BY a.published_at, a.id)
            FILTER (WHERE a.published_at IS NOT NULL))[1]                        AS first_published_precision,
       (array_agg(a.id ORDER BY a.published_at, a.id)
            FILTER (WHERE a.published_at IS NOT NULL))[1]                        AS first_published_id,
       min(a.published_day)                                                      AS first_published_day,
       min(a.created_at)                                                         AS first_seen_at,
       max(a.created_at)                                                         AS last_seen_at
FROM newsdesk.articles a
WHERE a.is_current
"""

SCHEMA = f"""
DROP VIEW newsdesk.stories;
DROP VIEW newsdesk.daily_counts;
DROP VIEW newsdesk.articles_canonical;

CREATE FUNCTION newsdesk.search_config(language text) RETURNS regconfig
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE language {_CASE} ELSE 'simple'::regconfig END;

ALTER TABLE newsdesk.articles RENAME COLUMN source_name TO publisher;
ALTER TABLE newsdesk.articles
    ADD COLUMN source_name text GENERATED ALWAYS AS (publisher) STORED,
    ADD COLUMN published_precision text CHECK (published_precision IN ('datetime', 'date')),
    ADD COLUMN published_day date GENERATED ALWAYS AS ((published_at AT TIME ZONE 'UTC')::date) STORED,
    ADD COLUMN authors text[] NOT NULL DEFAULT '{{}}',
    ADD COLUMN publisher_domain text,
    ADD COLUMN keywords text[] NOT NULL DEFAULT '{{}}',
    ADD COLUMN section text;
-- Until a reprocess, a stored date was written as midnight UTC, whatever the page gave.
UPDATE newsdesk.articles SET published_precision = 'date' WHERE published_at IS NOT NULL;
UPDATE newsdesk.articles SET authors = string_to_array(author, '; ') WHERE author IS NOT NULL;

ALTER TABLE newsdesk.articles DROP COLUMN search;
ALTER TABLE newsdesk.articles ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector(newsdesk.search_config(language), coalesce(title, '')), 'A')
    || setweight(to_tsvector(newsdesk.search_config(language), body), 'B')
) STORED;
CREATE INDEX articles_search ON newsdesk.articles USING gin (search);
DO $$
BEGIN
    ALTER TABLE newsdesk.articles ALTER COLUMN search SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    NULL;
END $$;

CREATE TABLE newsdesk.story_facts (
    story_id                  bigint PRIMARY KEY REFERENCES newsdesk.articles (id) ON DELETE CASCADE,
    canonical_id              bigint NOT NULL,
    title                     text,
    n_articles                integer NOT NULL,
    publishers                text[] NOT NULL,
    sources                   text[] NOT NULL,
    dup_kinds                 text[] NOT NULL,
    first_published_at        timestamptz,
    first_published_precision text,
    first_published_id        bigint,
    first_published_day       date,
    first_seen_at             timestamptz NOT NULL,
    last_seen_at              timestamptz NOT NULL
);
CREATE INDEX story_facts_retold ON newsdesk.story_facts (n_articles) WHERE n_articles > 1;
CREATE INDEX story_facts_day ON newsdesk.story_facts (first_published_day);
CREATE INDEX story_facts_first_seen ON newsdesk.story_facts (first_seen_at);
INSERT INTO newsdesk.story_facts {STORY_FACTS_SELECT} GROUP BY a.story_id;

CREATE VIEW newsdesk.articles_canonical AS
SELECT id, story_id, locator, url, title, summary, body, published_at, published_precision, published_day,
       publisher, source_name, publisher_domain, authors, author, language, keywords, section,
       ingested_from, ingested_from AS source, created_at, updated_at, search
FROM newsdesk.articles
WHERE is_current AND duplicate_of IS NULL;

CREATE VIEW newsdesk.stories AS
SELECT story_id, title, n_articles, publishers, sources, dup_kinds, canonical_id,
       first_published_id, first_published_at, first_published_precision, first_published_day,
       first_seen_at, last_seen_at
FROM newsdesk.story_facts;

CREATE VIEW newsdesk.stories_by_day AS
SELECT first_published_day                     AS day,
       count(*)                                AS n_stories,
       count(*) FILTER (WHERE n_articles > 1)  AS n_retold,
       sum(n_articles)::bigint                 AS n_articles
FROM newsdesk.story_facts
GROUP BY first_published_day;

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
       count(*) FILTER (WHERE duplicate_of IS NULL)   AS n_stories,
       count(*) FILTER (WHERE dup_kind = 'exact')     AS n_exact,
       count(*) FILTER (WHERE dup_kind = 'near')      AS n_near,
       count(*) FILTER (WHERE dup_kind = 'story')     AS n_story,
       count(*) FILTER (WHERE published_day IS NULL)  AS n_undated
FROM newsdesk.articles
WHERE is_current
GROUP BY 1, 2;

GRANT SELECT ON ALL TABLES IN SCHEMA newsdesk TO newsdesk_analyst;
GRANT EXECUTE ON FUNCTION newsdesk.search_config(text), newsdesk.new_stories(timestamptz) TO newsdesk_analyst;
"""

_ARTICLE_COLUMNS = {
    "publisher": "The publisher, cleaned: from the page's site name, JSON-LD publisher, Source: line or front matter; null when none is named.",
    "source_name": "Old name of publisher, kept as an alias (generated from it).",
    "published_at": "Publication time in UTC as the document states it (meta tags, JSON-LD, front matter, feed); null when it gives none. See published_precision.",
    "published_precision": "datetime: published_at is the stated time; date: only the day is known and published_at is its midnight UTC; null: undated.",
    "published_day": "The UTC day of published_at (the stated day for date precision); null when undated.",
    "authors": "Person names of the byline: no dates, roles or placeholder accounts.",
    "author": "authors joined with ', ' (the old single-text column).",
    "publisher_domain": "Registered domain of the article URL (e.g. bbc.co.uk); null for files without a URL.",
    "keywords": "Keywords or tags the page declares (meta keywords, article:tag, JSON-LD keywords).",
    "section": "The section the page declares (article:section, JSON-LD articleSection).",
    "language": "ISO 639-1 language code (en, de, ru...), null when unknown.",
    "search": "Full-text vector of title (weight A) and body (B), built with search_config(language): the language's stemmer, else simple. GIN-indexed.",
}
_STORY_COLUMNS = {
    "story_id": "The story: the id of its first (canonical) article.",
    "title": "The canonical article's title, or another of the story's when it has none.",
    "n_articles": "Current articles telling this story (the canonical one included).",
    "publishers": "Publishers that carried it (articles.publisher).",
    "sources": "The [[source]] entries that brought its articles in (articles.ingested_from).",
    "dup_kinds": "How its copies matched: exact, near, story.",
    "canonical_id": "The current version of its canonical article.",
    "first_published_id": "The article published first (earliest published_at); null when none is dated.",
    "first_published_at": "Earliest publication time among its articles.",
    "first_published_precision": "published_precision of the article published first.",
    "first_published_day": "UTC day of first_published_at; null when no article is dated.",
    "first_seen_at": "When its first current article was loaded.",
    "last_seen_at": "When its latest article was loaded.",
}
COMMENTS = {
    **{f"COLUMN newsdesk.articles.{c}": t for c, t in _ARTICLE_COLUMNS.items()},
    **{f"COLUMN newsdesk.articles_canonical.{c}": t for c, t in _ARTICLE_COLUMNS.items()},
    "VIEW newsdesk.articles_canonical": "One row per story: its canonical (first seen) article, current version.",
    "COLUMN newsdesk.articles_canonical.source": "The [[source]] entry of sources.toml that brought it in (= ingested_from).",
    "TABLE newsdesk.story_facts": "One row per story, rewritten in the load transaction for every story a load, reprocess or rebuild touches. Read it through the view stories.",
    **{f"COLUMN newsdesk.story_facts.{c}": t for c, t in _STORY_COLUMNS.items()},
    "VIEW newsdesk.stories": "One row per story: title, copies, publishers, sources, canonical and first-published article, first and last seen (index-fast: reads story_facts).",
    **{f"COLUMN newsdesk.stories.{c}": t for c, t in _STORY_COLUMNS.items()},
    "VIEW newsdesk.stories_by_day": "Stories per UTC day of their first publication (day null: stories with no dated article).",
    "COLUMN newsdesk.stories_by_day.day": "UTC day the story was first published; null for undated stories.",
    "COLUMN newsdesk.stories_by_day.n_stories": "Stories first published that day.",
    "COLUMN newsdesk.stories_by_day.n_retold": "Of which told more than once (n_articles > 1).",
    "COLUMN newsdesk.stories_by_day.n_articles": "Current articles of those stories, copies included.",
    "VIEW newsdesk.stories_new_today": "Stories whose first article was loaded today (UTC); new_stories(since) for any other start.",
    **{f"COLUMN newsdesk.stories_new_today.{c}": t for c, t in _STORY_COLUMNS.items()},
    "VIEW newsdesk.daily_counts": "Current articles per UTC publication day and source; undated articles in the row with day null (n_undated).",
    "COLUMN newsdesk.daily_counts.day": "Publication day in UTC; null for the articles with no publication date.",
    "COLUMN newsdesk.daily_counts.source": "The [[source]] entry of sources.toml.",
    "COLUMN newsdesk.daily_counts.n_articles": "Current articles.",
    "COLUMN newsdesk.daily_counts.n_stories": "Of which canonical articles: new stories.",
    "COLUMN newsdesk.daily_counts.n_exact": "Of which exact copies.",
    "COLUMN newsdesk.daily_counts.n_near": "Of which near copies.",
    "COLUMN newsdesk.daily_counts.n_story": "Of which rewrites of a story.",
    "COLUMN newsdesk.daily_counts.n_undated": "Of which without a publication date (only in the row with day null).",
    "FUNCTION newsdesk.search_config(text)": "The text search configuration for an ISO 639-1 code: english, german, russian... else simple.",
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
          AND col_description('newsdesk.articles_canonical'::regclass, v.attnum) IS NULL
    LOOP
        EXECUTE format('COMMENT ON COLUMN newsdesk.articles_canonical.%I IS %L', r.attname, r.comment);
    END LOOP;
END $$;
"""


def upgrade() -> None:
    op.execute(SCHEMA)
    for target, text in COMMENTS.items():
        op.execute(f"COMMENT ON {target} IS '{text.replace(chr(39), chr(39) * 2)}'")
    op.execute(COPY_CANONICAL_COMMENTS)


def downgrade() -> None:
    # Back to 0008's articles and views; the new columns' contents are lost.
    op.execute(
        """
        DROP FUNCTION newsdesk.new_stories(timestamptz);
        DROP VIEW newsdesk.stories_new_today;
        DROP VIEW newsdesk.stories_by_day;
        DROP VIEW newsdesk.stories;
        DROP VIEW newsdesk.daily_counts;
        DROP VIEW newsdesk.articles_canonical;
        DROP TABLE newsdesk.story_facts;
        -- Kept by 0013's downgrade, which leaves `search` a plain column filled by this trigger.
        DROP TRIGGER IF EXISTS articles_search ON newsdesk.articles;
        DROP FUNCTION IF EXISTS newsdesk.articles_fill_search();
        DROP FUNCTION IF EXISTS newsdesk.article_search(text, text, text);
        ALTER TABLE newsdesk.articles DROP COLUMN search;
        ALTER TABLE newsdesk.articles DROP COLUMN source_name, DROP COLUMN published_precision,
            DROP COLUMN published_day, DROP COLUMN authors, DROP COLUMN publisher_domain,
            DROP COLUMN keywords, DROP COLUMN section;
        ALTER TABLE newsdesk.articles RENAME COLUMN publisher TO source_name;
        DROP FUNCTION newsdesk.search_config(text);
        ALTER TABLE newsdesk.articles ADD COLUMN search tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('english', coalesce(title, '')), 'A') || setweight(to_tsvector('english', body), 'B')
        ) STORED;
        CREATE INDEX articles_search ON newsdesk.articles USING gin (search);
        CREATE VIEW newsdesk.articles_canonical AS
        SELECT id, story_id, locator, url, title, summary, body, published_at, source_name,
               author, language, ingested_from, created_at, updated_at, search
        FROM newsdesk.articles WHERE is_current AND duplicate_of IS NULL;
        CREATE VIEW newsdesk.stories AS
        SELECT a.story_id, coalesce(c.title, min(a.title)) AS title, min(a.published_at) AS first_published_at,
               min(a.created_at) AS first_seen_at, max(a.created_at) AS last_seen_at, count(*) AS n_articles,
               array_agg(DISTINCT coalesce(a.source_name, a.ingested_from)) AS sources,
               array_remove(array_agg(DISTINCT a.dup_kind), NULL) AS dup_kinds
        FROM newsdesk.articles a LEFT JOIN newsdesk.articles_canonical c ON c.story_id = a.story_id
        WHERE a.is_current GROUP BY a.story_id, c.title;
        CREATE VIEW newsdesk.daily_counts AS
        SELECT (coalesce(published_at, created_at) AT TIME ZONE 'UTC')::date AS day, ingested_from AS source,
               count(*) AS n_articles, count(*) FILTER (WHERE duplicate_of IS NULL) AS n_stories,
               count(*) FILTER (WHERE dup_kind = 'exact') AS n_exact, count(*) FILTER (WHERE dup_kind = 'near') AS n_near,
               count(*) FILTER (WHERE dup_kind = 'story') AS n_story
        FROM newsdesk.articles WHERE is_current GROUP BY 1, 2;
        GRANT SELECT ON ALL TABLES IN SCHEMA newsdesk TO newsdesk_analyst;
        """
    )
