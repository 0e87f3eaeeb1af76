"""The load lock becomes a table lock on `newsdesk.load_lock`, which only the
roles that write newsdesk's tables can take: PostgreSQL lets every role take
any advisory lock, so a read-only analyst holding advisory lock 7214001 could
stop every load. The table's one row also keeps how long loads held the lock.

`articles.search` stops being a generated column, so that a load can compute
its full-text vectors before it takes the lock (`newsdesk.article_search`, the
same expression) and only insert them under it; a trigger fills it for any
other writer that leaves it null, and whenever the title, body or language change.

Revision ID: 0015
Revises: 0014
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
CREATE TABLE newsdesk.load_lock (
    id int PRIMARY KEY CHECK (id = 1),
    holds bigint NOT NULL DEFAULT 0,
    items bigint NOT NULL DEFAULT 0,
    held_seconds double precision NOT NULL DEFAULT 0
);
INSERT INTO newsdesk.load_lock (id) VALUES (1);
COMMENT ON TABLE newsdesk.load_lock IS
    'The load lock: every load, reprocess and dedup rebuild takes LOCK TABLE newsdesk.load_lock IN EXCLUSIVE MODE'
    ' while it decides stories, which a role with only SELECT (newsdesk_analyst) cannot take or block. Its one row'
    ' sums the lock''s use since the migration.';
COMMENT ON COLUMN newsdesk.load_lock.id IS 'Always 1: the table has one row.';
COMMENT ON COLUMN newsdesk.load_lock.holds IS 'How many times a load, reprocess or rebuild held the lock.';
COMMENT ON COLUMN newsdesk.load_lock.items IS 'Articles decided under it (loaded, reprocessed or re-placed).';
COMMENT ON COLUMN newsdesk.load_lock.held_seconds IS
    'Seconds it was held, from taking it to the holder''s last statement before its commit.';

CREATE OR REPLACE FUNCTION newsdesk.article_search(language text, title text, body text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN setweight(to_tsvector(newsdesk.search_config(language), coalesce(title, '')), 'A')
    || setweight(to_tsvector(newsdesk.search_config(language), body), 'B');
GRANT EXECUTE ON FUNCTION newsdesk.article_search(text, text, text) TO newsdesk_analyst;

ALTER TABLE newsdesk.articles ALTER COLUMN search DROP EXPRESSION IF EXISTS;
CREATE OR REPLACE FUNCTION newsdesk.articles_fill_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.search IS NULL OR (TG_OP = 'UPDATE'
        AND (NEW.title, NEW.body, NEW.language) IS DISTINCT FROM (OLD.title, OLD.body, OLD.language)) THEN
        NEW.search := newsdesk.article_search(NEW.language, NEW.title, NEW.body);
    END IF;
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER articles_search BEFORE INSERT OR UPDATE OF title, body, language, search ON newsdesk.articles
    FOR EACH ROW EXECUTE FUNCTION newsdesk.articles_fill_search();
COMMENT ON COLUMN newsdesk.articles.search IS
    'Full-text vector of title (weight A) and body (weight B) in the search configuration of the article''s'
    ' language: newsdesk.article_search(language, title, body), computed by the load before it takes the load'
    ' lock, else by a trigger. Query with @@ and websearch_to_tsquery(newsdesk.search_config(language), ...).';
"""
    )


def downgrade() -> None:
    # `search` stays a plain column kept by the trigger: to every reader and to the
    # code of 0012, which never writes it, that is the generated column it was
    # (one cannot be made generated again without dropping the views over it).
    # 0009's downgrade drops the trigger with the column.
    op.execute("DROP TABLE newsdesk.load_lock")
