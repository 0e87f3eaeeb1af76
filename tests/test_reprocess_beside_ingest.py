"""Reprocess cleans outside the load lock: loads go on while it cleans, and a
version a load stores meanwhile is not replaced by the reprocess's older one."""

from __future__ import annotations

import threading

from newsdesk.tasks.store import load, reprocess
from tests.helpers import fetch, new_run, prepared
from tests.texts import distinct_story


def test_loads_go_on_while_a_reprocess_cleans_and_win_over_it(db, monkeypatch):
    run_id = new_run(db)
    load.load_batch(
        db, run_id=run_id, source="s", items=[prepared(f"/{n}", distinct_story(i)) for i, n in enumerate("abc")]
    )
    documents = [r["id"] for r in fetch(db, "SELECT id FROM newsdesk.documents ORDER BY id")]

    # The reprocess stops inside its cleaning of the first document until the test lets it go.
    cleaning, go = threading.Event(), threading.Event()
    clean = reprocess.prepare

    def paused(document):
        if not cleaning.is_set():
            cleaning.set()
            assert go.wait(60), "the test never let the reprocess go"
        return clean(document)

    monkeypatch.setattr(reprocess, "prepare", paused)
    result: dict = {}
    reprocess_run = new_run(db)
    worker = threading.Thread(
        target=lambda: result.update(counts=reprocess.reprocess_batch(db, run_id=reprocess_run, document_ids=documents))
    )
    worker.start()
    try:
        assert cleaning.wait(60)
        # While it cleans, loads take the lock at once (a short timeout: waiting would fail them).
        monkeypatch.setenv("NEWSDESK_LOAD_LOCK_TIMEOUT", "5")
        newer = distinct_story(9)
        counts = load.load_batch(
            db, run_id=run_id, source="s", items=[prepared("/d", distinct_story(5)), prepared("/b", newer)]
        )
        assert counts == {"inserted": 1, "updated": 1}
    finally:
        go.set()
        worker.join(120)
    assert not worker.is_alive()

    # /a and /c get their reprocessed versions; /b keeps the one the load stored meanwhile.
    assert result["counts"] == {"updated": 2, "unchanged": 1}
    current = {
        r["locator"]: r
        for r in fetch(
            db, "SELECT locator, version, body, run_id FROM newsdesk.articles WHERE is_current ORDER BY locator"
        )
    }
    assert sorted(current) == ["/a", "/b", "/c", "/d"]
    assert current["/b"]["body"] == newer and current["/b"]["run_id"] == run_id
    assert (current["/a"]["version"], current["/a"]["run_id"]) == (2, reprocess_run)
    assert (current["/c"]["version"], current["/c"]["run_id"]) == (2, reprocess_run)
    [stories] = fetch(db, "SELECT count(*) AS n FROM newsdesk.story_facts")
    assert stories["n"] == len({r["body"] for r in current.values()})
