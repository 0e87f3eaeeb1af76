"""The ingest flow end to end: real Prefect runs against a real PostgreSQL."""

import json
import shutil

import pytest
import sqlalchemy as sa

from newsdesk.tasks.packing import unpack
from tests.helpers import SEEDS, assert_counts_add_up, fetch, refusing_inserts
from tests.helpers import run_ingest as run
from tests.texts import distinct_story

pytestmark = pytest.mark.usefixtures("prefect_server")

BODY = (
    "The regional water board voted on Thursday to raise rates by four percent, citing the cost of "
    "replacing pipes laid in the 1950s. Residents who spoke at the meeting were divided."
)


def test_seeds_end_to_end_then_unchanged(db):
    first = run(SEEDS / "sources.toml")
    assert first["status"] == "completed" and first["flow_run_id"] is not None
    assert (first["n_discovered"], first["n_inserted"], first["n_duplicate"]) == (5, 4, 1)
    assert_counts_add_up(first)

    rows = {r["locator"].rsplit("/", 1)[1][:3]: r for r in fetch(db, "SELECT * FROM newsdesk.articles")}
    assert sorted(rows) == ["000", "001", "002", "003", "004"]
    assert rows["000"]["title"] == "US, Taiwan deepening cooperation in digital economy development"
    assert rows["000"]["published_at"].date().isoformat() == "2019-12-12"
    assert rows["000"]["source_name"] == "DIGITIMES"
    assert rows["000"]["summary"].startswith("US and Taiwanese firms")
    assert rows["002"]["title"] == "Taiwan and US Deepen Strategic Tech Partnership in High-Level Dialogue"
    assert rows["003"]["title"].startswith("United States and Taiwan to Hold Negotiating Round")
    assert rows["003"]["published_at"].date().isoformat() == "2023-01-04"
    # Four stories: 002 is a rewrite of 001; 000, 003 and 004 share a topic, not a story.
    assert rows["002"]["dup_kind"] == "story" and rows["002"]["duplicate_of"] == rows["001"]["id"]
    assert rows["002"]["story_id"] == rows["001"]["id"] and 0.55 <= rows["002"]["dup_score"] <= 1
    for number, row in rows.items():
        assert row["ingested_from"] == "seeds" and row["is_current"]
        if number != "002":
            assert row["duplicate_of"] is None and row["dup_kind"] is None and row["story_id"] == row["id"]
        assert "](" not in row["body"] and "<br" not in row["body"] and "»" not in row["body"]

    documents = fetch(db, "SELECT locator, raw, raw_encoding, byte_size, encoding FROM newsdesk.documents")
    assert len(documents) == 5
    for doc in documents:
        with open(doc["locator"], "rb") as f:
            read = f.read()
        # Stored compressed (tasks.packing), the bytes as read within.
        assert doc["raw_encoding"] == "zstd" and bytes(doc["raw"]) != read
        assert unpack(doc["raw"], doc["raw_encoding"]) == read and doc["byte_size"] == len(read)

    second = run(SEEDS / "sources.toml")
    assert (second["n_discovered"], second["n_unchanged"]) == (5, 5)
    assert_counts_add_up(second)
    assert fetch(db, "SELECT count(*) AS n FROM newsdesk.articles")[0]["n"] == 5
    assert fetch(db, "SELECT count(*) AS n FROM newsdesk.documents")[0]["n"] == 5
    assert fetch(db, "SELECT count(*) AS n FROM newsdesk.articles_canonical")[0]["n"] == 4
    stories = fetch(db, "SELECT story_id, n_articles FROM newsdesk.stories ORDER BY story_id")
    assert [s["n_articles"] for s in stories] == [1, 2, 1, 1]

    runs = fetch(db, "SELECT * FROM newsdesk.ingest_runs ORDER BY id")
    assert [r["status"] for r in runs] == ["completed", "completed"]
    assert all(r["finished_at"] >= r["started_at"] for r in runs)


def test_changed_file_is_updated_and_copy_is_an_exact_duplicate(db, corpus):
    original = corpus.write("a.txt", "Water Rates Rise\n\n" + BODY)
    corpus.configure()
    first = run(corpus.sources)
    assert first["n_inserted"] == 1

    # Same body elsewhere, differing only in typography: an exact duplicate.
    corpus.write("copy.md", "# Water rates rise\n\n" + BODY.upper().replace(",", " ,"))
    original.write_text("Water Rates Rise\n\n" + BODY + " The board meets again in May.", encoding="utf-8")
    second = run(corpus.sources)
    assert (second["n_updated"], second["n_duplicate"], second["n_discovered"]) == (1, 1, 2)
    assert_counts_add_up(second)

    versions = fetch(db, "SELECT * FROM newsdesk.articles WHERE locator = :l ORDER BY version", l=str(original))
    assert [(v["version"], v["is_current"]) for v in versions] == [(1, False), (2, True)]
    assert versions[1]["story_id"] == versions[0]["id"] and versions[1]["duplicate_of"] is None
    assert versions[1]["body"].endswith("The board meets again in May.")

    [copy] = fetch(db, "SELECT * FROM newsdesk.articles WHERE locator LIKE '%copy.md'")
    assert copy["dup_kind"] == "exact"
    assert copy["duplicate_of"] == versions[0]["id"] == copy["story_id"]
    stories = fetch(db, "SELECT * FROM newsdesk.stories")
    assert len(stories) == 1 and stories[0]["n_articles"] == 2
    assert len(fetch(db, "SELECT * FROM newsdesk.articles_canonical")) == 1


def test_duplicates_within_one_batch(db, corpus):
    for name in ("one.txt", "two.txt", "three.txt"):
        corpus.write(name, BODY)
    corpus.configure()
    record = run(corpus.sources, batch_size=2)
    assert (record["n_inserted"], record["n_duplicate"]) == (1, 2)
    rows = fetch(db, "SELECT locator, duplicate_of, story_id FROM newsdesk.articles ORDER BY locator")
    canonical = [r for r in rows if r["duplicate_of"] is None]
    assert len(canonical) == 1 and canonical[0]["locator"].endswith("one.txt")
    assert {r["story_id"] for r in rows} == {rows[0]["story_id"]}


def test_bad_input_is_rejected_and_the_run_completes(db, corpus, monkeypatch):
    monkeypatch.setenv("NEWSDESK_MAX_FILE_BYTES", "5000")
    corpus.write("good.txt", BODY)
    corpus.write("empty.txt", b"")
    corpus.write("blank.md", "  \n\n\t \n")
    corpus.write("binary.txt", b"%PDF-1.4\n" + bytes(range(256)) * 4)
    corpus.write("nul.txt", b"Ordinary words\x00then a NUL byte in the middle of a line of text.")
    corpus.write("noise.txt", bytes(range(1, 32)) * 40)
    corpus.write("huge.txt", "word " * 2000)
    corpus.write("stub.html", "<html><body><nav><a href='/'>Home</a></nav></body></html>")
    corpus.write("notes.docx", b"PK\x03\x04")
    corpus.configure('[[source]]\nname = "local"\nkind = "files"\npath = "articles"\ninclude = "*"\n')
    record = run(corpus.sources)
    assert record["status"] == "completed"
    assert (record["n_discovered"], record["n_inserted"], record["n_rejected"]) == (9, 1, 8)
    assert_counts_add_up(record)
    reasons = {
        r["locator"].rsplit("/", 1)[1]: (r["stage"], r["reason"])
        for r in fetch(db, "SELECT * FROM newsdesk.rejections WHERE run_id = :id", id=record["id"])
    }
    assert reasons["empty.txt"] == ("acquire", "empty file")
    assert reasons["blank.md"][0] == "decode" and "blank" in reasons["blank.md"][1]
    assert "PDF" in reasons["binary.txt"][1]
    assert "NUL" in reasons["nul.txt"][1]
    assert reasons["noise.txt"][0] == "decode"
    assert "over the limit of 5000" in reasons["huge.txt"][1]
    assert reasons["stub.html"][0] == "clean"
    assert "unsupported file type" in reasons["notes.docx"][1]


def test_sources_that_cannot_be_read_are_recorded(db, corpus):
    corpus.write("good.txt", BODY)
    corpus.configure(
        '[[source]]\nname = "local"\nkind = "files"\npath = "articles"\n',
        '[[source]]\nname = "gone"\nkind = "files"\npath = "no-such-folder"\n',
    )
    record = run(corpus.sources)
    assert record["status"] == "failed"  # a source failed outright; the other's items are loaded
    by_source = {row["source"]: row for row in record["sources"]}
    assert by_source["local"]["n_inserted"] == 1
    assert by_source["gone"]["n_failed"] == 1
    assert_counts_add_up(record)
    problems = fetch(db, "SELECT source, stage, reason FROM newsdesk.rejections ORDER BY id")
    assert {p["source"] for p in problems} == {"gone"}
    assert any("folder not found" in p["reason"] for p in problems)


def test_an_invalid_sources_file_fails_the_run_with_the_reason(db, corpus):
    corpus.configure('[[source]]\nname = "x"\nkind = "ftp"\n')
    with pytest.raises(Exception, match="kind must be one of"):
        run(corpus.sources)
    [row] = fetch(db, "SELECT status, error FROM newsdesk.ingest_runs")
    assert row["status"] == "failed" and "kind must be one of" in row["error"]


def test_a_killed_run_is_marked_crashed_by_the_next_one(db, corpus):
    corpus.write("good.txt", BODY)
    corpus.configure()
    with db.begin() as conn:
        dead = conn.scalar(sa.text("INSERT INTO newsdesk.ingest_runs (status) VALUES ('running') RETURNING id"))
        alive = conn.scalar(sa.text("INSERT INTO newsdesk.ingest_runs (status) VALUES ('running') RETURNING id"))
    from newsdesk.tasks.store.runs import RUN_LOCK_NAMESPACE

    # A live run holds its lock on its own connection; the dead one's is gone.
    holder = db.connect()
    holder.execute(sa.text("SELECT pg_advisory_lock(:ns, :id)"), {"ns": RUN_LOCK_NAMESPACE, "id": alive})
    try:
        run(corpus.sources)
        status = {r["id"]: r["status"] for r in fetch(db, "SELECT id, status FROM newsdesk.ingest_runs")}
        assert status[dead] == "crashed"
        assert status[alive] == "running"
    finally:
        # End the session, not just return it to the pool, where it would keep the
        # lock: run ids restart with each test's fresh tables, and a later run given
        # this id would wait for the lock forever.
        holder.invalidate()
        holder.close()


def test_batches_and_task_runs_scale_with_batches_not_articles(db, corpus):
    for i in range(12):
        corpus.write(f"{i:02}.txt", distinct_story(i))
    corpus.configure()
    record = run(corpus.sources, batch_size=5)
    assert record["n_inserted"] == 12

    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async def task_run_names():
        async with get_client() as client:
            runs = await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[record["flow_run_id"]]))
            )
            return sorted(r.name for r in runs)

    names = asyncio.run(task_run_names())
    assert names == sorted(
        ["discover-local-1"] + [f"{step}-local-batch-{n}" for step in ("clean", "load") for n in (1, 2, 3)]
    )


def test_articles_in_memory_are_bounded_by_the_batches_in_flight(db, corpus, monkeypatch):
    """Memory follows the batch size, not the corpus: however many batches a run
    has, only those being cleaned or loaded hold their articles."""
    import gc

    import newsdesk.flows.ingest
    from newsdesk.tasks.records import Prepared

    for i in range(60):
        corpus.write(f"{i:03}.txt", distinct_story(i))
    corpus.configure()
    live = []
    settle = newsdesk.flows.ingest._settle

    def prepared_alive() -> int:
        gc.collect()
        return sum(isinstance(o, Prepared) for o in gc.get_objects())

    # What earlier tests of the session left alive is not this run's.
    before = prepared_alive()

    def settle_and_count(*args):
        settle(*args)
        live.append(prepared_alive() - before)

    monkeypatch.setattr(newsdesk.flows.ingest, "_settle", settle_and_count)
    record = run(corpus.sources, batch_size=4)
    assert record["n_inserted"] == 60 and len(live) == 15
    # At most the batch being cleaned, the one loading and the one just loaded.
    assert 0 < max(live) <= 3 * 4, live


def test_the_run_publishes_its_counts_and_rejections_as_artifacts(db, corpus):
    corpus.write("good.txt", BODY)
    corpus.write("empty.txt", b"")
    corpus.configure()
    record = run(corpus.sources)

    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async def artifacts():
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[record["flow_run_id"]]))
            )
            return {a.key: a for a in found}

    found = asyncio.run(artifacts())
    table = found["ingest-counts"]
    assert table.type == "table"
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    assert rows == [
        {
            "source": "local",
            "health": "rejections",
            "discovered": 2,
            "inserted": 1,
            "duplicate": 0,
            "updated": 0,
            "unchanged": 0,
            "rejected": 1,
            "failed": 0,
        },
        {
            "source": "(total)",
            "health": "rejections",
            "discovered": 2,
            "inserted": 1,
            "duplicate": 0,
            "updated": 0,
            "unchanged": 0,
            "rejected": 1,
            "failed": 0,
        },
    ]
    rejections = found["ingest-rejections"]
    assert rejections.type == "markdown" and "empty.txt" in rejections.data and "empty file" in rejections.data


def test_seeds_copied_elsewhere_are_exact_duplicates(db, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(SEEDS, copy)
    first = run(SEEDS / "sources.toml")
    second = run(copy / "sources.toml")
    # Seed 002 retells 001: four stories, five articles; the copies join them.
    assert (first["n_inserted"], first["n_duplicate"], second["n_duplicate"]) == (4, 1, 5)
    rows = fetch(db, "SELECT count(DISTINCT story_id) AS stories FROM newsdesk.articles")
    assert rows[0]["stories"] == 4


def test_reprocess_recleans_stored_documents_without_reading_sources(db, corpus):
    from newsdesk.flows.reprocess import reprocess_stored

    path = corpus.write("a.txt", "Water Rates Rise\n\n" + BODY)
    corpus.configure()
    run(corpus.sources)
    # Simulate an older cleaner's output, and take the source away: reprocess
    # must work from the stored raw document alone.
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE newsdesk.articles SET body = body || ' Share this article'"))
    path.unlink()

    record = reprocess_stored()
    assert record["status"] == "completed" and record["kind"] == "reprocess"
    assert (record["n_discovered"], record["n_updated"]) == (1, 1)
    versions = fetch(db, "SELECT version, is_current, body, story_id, id FROM newsdesk.articles ORDER BY version")
    assert [(v["version"], v["is_current"]) for v in versions] == [(1, False), (2, True)]
    assert versions[1]["body"] == BODY and versions[1]["story_id"] == versions[0]["id"]

    again = reprocess_stored()
    assert (again["n_discovered"], again["n_unchanged"]) == (1, 1)


def test_an_item_the_database_refuses_fails_alone_and_its_batch_loads(db, corpus):
    for i in range(6):
        corpus.write(f"{i}.txt", distinct_story(i))
    corpus.configure()
    with refusing_inserts(db, "/3.txt"):
        record = run(corpus.sources, batch_size=2)
    # Batch 2 (2.txt, 3.txt) is refused whole, then loaded item by item: only 3.txt fails.
    assert record["status"] == "failed"  # an item failed, the others loaded
    assert (record["n_discovered"], record["n_inserted"], record["n_failed"]) == (6, 5, 1)
    assert_counts_add_up(record)
    failed = fetch(db, "SELECT locator, stage, reason FROM newsdesk.rejections ORDER BY locator")
    assert [f["locator"].rsplit("/", 1)[1] for f in failed] == ["3.txt"]
    assert all(f["stage"] == "load" and "refused by test trigger" in f["reason"] for f in failed)
    loaded = {r["locator"].rsplit("/", 1)[1] for r in fetch(db, "SELECT locator FROM newsdesk.articles")}
    assert loaded == {"0.txt", "1.txt", "2.txt", "4.txt", "5.txt"}
