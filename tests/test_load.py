"""The loader on its own: atomic batches, concurrent loads, migrations."""

import psycopg
import pytest
import sqlalchemy as sa

from newsdesk.database import migrate
from newsdesk.tasks.records import Problem
from newsdesk.tasks.store import load, versions
from tests.helpers import fetch, load_at_once, new_run, prepared


def test_migrations_are_idempotent(db):
    migrate(db)
    migrate(db)
    [row] = fetch(db, "SELECT version_num FROM newsdesk.alembic_version")
    assert row["version_num"] == "0013_i25"
    names = {
        r["table_name"]
        for r in fetch(db, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'newsdesk'")
    }
    assert {
        "articles",
        "documents",
        "ingest_runs",
        "rejections",
        "articles_canonical",
        "stories",
        "http_cache",
        "near_keys",
        "story_keys",
    } <= names
    # Raw documents come compressed (zstd, tasks.packing): stored as they come,
    # never compressed again.
    [raw] = fetch(
        db, "SELECT attstorage FROM pg_attribute WHERE attrelid = 'newsdesk.documents'::regclass AND attname = 'raw'"
    )
    assert raw["attstorage"] == "e"
    # Stored texts and the search vector made from them are compressed with lz4
    # (much faster to write than pglz) where the server has it.
    if fetch(
        db, "SELECT count(*) AS n FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)"
    )[0]["n"]:
        methods = {
            r["attname"]: r["attcompression"]
            for r in fetch(
                db,
                "SELECT attname, attcompression FROM pg_attribute"
                " WHERE attrelid IN ('newsdesk.articles'::regclass, 'newsdesk.documents'::regclass) AND attname IN ('raw', 'body', 'search')",
            )
        }
        assert methods == {"raw": "l", "body": "l", "search": "l"}


def test_contract_columns_exist(db):
    columns = {
        r["column_name"]
        for r in fetch(
            db,
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'newsdesk' AND table_name = 'articles'",
        )
    }
    assert {
        "id",
        "locator",
        "url",
        "title",
        "summary",
        "body",
        "published_at",
        "source_name",
        "author",
        "duplicate_of",
        "dup_kind",
        "story_id",
        "created_at",
        "updated_at",
    } <= columns
    run_columns = {
        r["column_name"]
        for r in fetch(
            db,
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'newsdesk' AND table_name = 'ingest_runs'",
        )
    }
    assert {
        "id",
        "flow_run_id",
        "status",
        "started_at",
        "finished_at",
        "n_discovered",
        "n_inserted",
        "n_duplicate",
        "n_updated",
        "n_unchanged",
        "n_rejected",
        "n_failed",
    } <= run_columns


def test_a_batch_is_loaded_whole_or_not_at_all(db):
    run_id = new_run(db)
    items = [prepared("/a", "first body of text here"), prepared("/b", "second body of text here")]
    # A body PostgreSQL refuses (a NUL character) fails the whole batch...
    items.append(prepared("/c", "bad \x00 body"))
    with pytest.raises((sa.exc.DataError, psycopg.DataError)):
        load.load_batch(db, run_id=run_id, source="s", items=items)
    assert fetch(db, "SELECT count(*) AS n FROM newsdesk.articles")[0]["n"] == 0
    assert fetch(db, "SELECT n_discovered FROM newsdesk.ingest_runs WHERE id = :id", id=run_id)[0]["n_discovered"] == 0
    # ...and retrying the good part loads it once.
    counts = load.load_batch(db, run_id=run_id, source="s", items=items[:2])
    assert counts == {"inserted": 2}
    assert fetch(db, "SELECT count(*) AS n FROM newsdesk.articles")[0]["n"] == 2


def test_problems_are_recorded_with_the_batch(db):
    run_id = new_run(db)
    counts = load.load_batch(
        db,
        run_id=run_id,
        source="s",
        items=[
            prepared("/a", "a body of text"),
            Problem("/b", "rejected", "decode", "blank file"),
            Problem("/c", "failed", "clean", "ValueError: boom"),
        ],
    )
    assert counts == {"inserted": 1, "rejected": 1, "failed": 1}
    [run] = fetch(db, "SELECT * FROM newsdesk.ingest_runs WHERE id = :id", id=run_id)
    assert (run["n_discovered"], run["n_inserted"], run["n_rejected"], run["n_failed"]) == (3, 1, 1, 1)
    assert {r["locator"] for r in fetch(db, "SELECT locator FROM newsdesk.rejections")} == {"/b", "/c"}


def test_concurrent_loads_of_overlapping_batches_insert_each_story_once(db):
    run_id = new_run(db)
    bodies = [f"story number {i} with its own words" for i in range(40)]
    # Two workers see the same stories under different locators, in opposite orders.
    batch_a = [prepared(f"/a/{i}", body) for i, body in enumerate(bodies)]
    batch_b = [prepared(f"/b/{i}", body) for i, body in reversed(list(enumerate(bodies)))]
    results = load_at_once(db, run_id, [batch_a, batch_b])
    assert sorted(r["inserted"] for r in results) == [0, 40]
    assert sum(r["duplicate"] for r in results) == 40
    canonical = fetch(
        db, "SELECT body_hash, count(*) AS n FROM newsdesk.articles WHERE duplicate_of IS NULL GROUP BY 1"
    )
    assert len(canonical) == 40 and all(r["n"] == 1 for r in canonical)


def test_the_same_locator_twice_in_a_batch_is_loaded_once(db):
    run_id = new_run(db)
    counts = load.load_batch(db, run_id=run_id, source="s", items=[prepared("/a", "x y z"), prepared("/a", "x y z")])
    assert counts == {"inserted": 1, "rejected": 1}


def test_a_duplicate_that_changes_becomes_its_own_story(db):
    run_id = new_run(db)
    load.load_batch(db, run_id=run_id, source="s", items=[prepared("/a", "same words"), prepared("/b", "same words")])
    counts = load.load_batch(db, run_id=run_id, source="s", items=[prepared("/b", "different words now")])
    assert counts == {"updated": 1}
    [b] = fetch(db, "SELECT * FROM newsdesk.articles WHERE locator = '/b' AND is_current")
    assert b["duplicate_of"] is None and b["story_id"] == b["id"]


def test_unchanged_items_are_counted_without_touching_rows(db):
    from newsdesk.tasks.records import Unchanged

    run_id = new_run(db)
    load.load_batch(db, run_id=run_id, source="s", items=[prepared("/a", "words of a body")])
    stored = versions.stored_versions(db, ["/a", "/b"])
    assert list(stored) == ["/a"] and stored["/a"].content_sha256 == prepared("/a", "words of a body").document.sha256
    counts = load.load_batch(db, run_id=run_id, source="s", items=[Unchanged("/a")])
    assert counts == {"unchanged": 1}
    assert fetch(db, "SELECT count(*) AS n FROM newsdesk.documents")[0]["n"] == 1


def test_migrations_go_down_to_the_first_and_up_again(db):
    from alembic import command
    from alembic.config import Config

    from newsdesk.database import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with db.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0001")
        assert conn.scalar(sa.text("SELECT to_regclass('newsdesk.near_keys')")) is None
        command.upgrade(config, "head")
    [row] = fetch(db, "SELECT version_num FROM newsdesk.alembic_version")
    assert row["version_num"] == "0013_i25"
    assert fetch(db, "SELECT count(*) AS n FROM newsdesk.run_history")[0]["n"] == 0


def test_raw_documents_are_stored_compressed_and_a_downgrade_restores_them(db):
    """Migration 0012: loads store raw zstd-compressed; going below it turns
    every such row back into the bytes as read, and coming back keeps them."""
    from alembic import command
    from alembic.config import Config

    from newsdesk.database import MIGRATIONS
    from newsdesk.tasks.packing import unpack

    raw = "Le café de la gare rouvre. ".encode("latin-1") * 200
    load.load_batch(db, run_id=new_run(db), source="s", items=[prepared("/a", "a body", raw=raw)])
    [doc] = fetch(db, "SELECT raw, raw_encoding, byte_size FROM newsdesk.documents")
    assert doc["raw_encoding"] == "zstd" and len(doc["raw"]) < len(raw) / 10
    assert unpack(doc["raw"], doc["raw_encoding"]) == raw and doc["byte_size"] == len(raw)

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with db.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0011")
        assert conn.execute(sa.text("SELECT raw FROM newsdesk.documents")).scalar_one() == raw
        command.upgrade(config, "head")
    [doc] = fetch(db, "SELECT raw, raw_encoding FROM newsdesk.documents")
    assert (bytes(doc["raw"]), doc["raw_encoding"]) == (raw, "identity")


def test_a_batch_of_several_sources_counts_each_and_loads_in_their_order(db):
    """A web batch (`load.load_parts`): each source's counts are its own; a
    story in two sources is canonical in the first; a URL both list is
    loaded by the first and is unchanged for the second."""
    run_id = new_run(db)
    counts = load.load_parts(
        db,
        run_id=run_id,
        parts=[
            ("first", [prepared("/a", "one story told here"), prepared("/shared", "a page both sources list")]),
            (
                "second",
                [
                    prepared("/b", "one story told here"),
                    prepared("/shared", "a page both sources list"),
                    Problem("/c", "rejected", "fetch", "HTTP 404"),
                ],
            ),
            ("third", []),
        ],
    )
    assert counts == {
        "first": {"inserted": 2},
        "second": {"duplicate": 1, "unchanged": 1, "rejected": 1},
        "third": {},
    }
    rows = fetch(db, "SELECT source, n_discovered FROM newsdesk.ingest_run_sources WHERE run_id = :id", id=run_id)
    assert {row["source"]: row["n_discovered"] for row in rows} == {"first": 2, "second": 3, "third": 0}
    [b] = fetch(
        db,
        "SELECT a.duplicate_of, c.locator FROM newsdesk.articles a JOIN newsdesk.articles c"
        " ON c.id = a.duplicate_of WHERE a.locator = '/b'",
    )
    assert b["locator"] == "/a"
    [run] = fetch(db, "SELECT n_discovered, n_inserted FROM newsdesk.ingest_runs WHERE id = :id", id=run_id)
    assert (run["n_discovered"], run["n_inserted"]) == (5, 2)
