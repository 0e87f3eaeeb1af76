"""Analysts, round two (issue 31): a publication time without a zone is
flagged (`published_precision = 'datetime_no_zone'`), and one search that
works in every language at once (`newsdesk.search_any(text)`).

`search_any` ORs the web-search query in every text search configuration
PostgreSQL ships (each language it stems, and `simple`): every article's
`search` vector was built in its own language's configuration, so the query
stemmed the same way finds it; one tsquery for the whole statement, so the
GIN index on `search` serves it.

Revision ID: 0014
Revises: 0013
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

PRECISION_COMMENT = (
    "datetime: published_at is the stated time with its zone; datetime_no_zone: the document gives a time of day"
    " but no zone, read as UTC (the true instant may be hours off); date: only the day is known and published_at"
    " is its midnight UTC; null: undated."
)

UPGRADE = f"""
DO $$
DECLARE name text;
BEGIN
    FOR name IN SELECT conname FROM pg_constraint
        WHERE conrelid = 'newsdesk.articles'::regclass AND contype = 'c'
          AND pg_get_constraintdef(oid) LIKE '%published_precision%'
    LOOP
        EXECUTE format('ALTER TABLE newsdesk.articles DROP CONSTRAINT %I', name);
    END LOOP;
END $$;
ALTER TABLE newsdesk.articles ADD CONSTRAINT articles_published_precision_check
    CHECK (published_precision IN ('datetime', 'datetime_no_zone', 'date'));
COMMENT ON COLUMN newsdesk.articles.published_precision IS '{PRECISION_COMMENT}';

CREATE FUNCTION newsdesk.search_any(query text) RETURNS tsquery
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    found tsquery := websearch_to_tsquery('simple', query);
    config regconfig;
BEGIN
    FOR config IN
        SELECT c.oid::regconfig FROM pg_ts_config c
        WHERE c.cfgnamespace = 'pg_catalog'::regnamespace AND c.cfgname <> 'simple'
        ORDER BY c.cfgname
    LOOP
        found := found || websearch_to_tsquery(config, query);
    END LOOP;
    RETURN found;
END $$;
COMMENT ON FUNCTION newsdesk.search_any(text) IS
    'A web-search query (quoted phrases, or, -excluded) in every language at once: '
    'WHERE search @@ newsdesk.search_any(''Studierende'') finds each article by its own language''s stems.';
GRANT EXECUTE ON FUNCTION newsdesk.search_any(text) TO newsdesk_analyst;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("DROP FUNCTION newsdesk.search_any(text)")
    op.execute(
        "UPDATE newsdesk.articles SET published_precision = 'datetime' WHERE published_precision = 'datetime_no_zone'"
    )
    op.execute("ALTER TABLE newsdesk.articles DROP CONSTRAINT articles_published_precision_check")
    op.execute(
        "ALTER TABLE newsdesk.articles ADD CONSTRAINT articles_published_precision_check"
        " CHECK (published_precision IN ('datetime', 'date'))"
    )
