"""Stories decided before the load lock and re-checked under it
(tasks/store/load.py, tasks/store/changes.py): loads that both decided before
either took the lock still make one story of one text, and the lock holds only
the check."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
import sqlalchemy as sa

from newsdesk.tasks.dedup.match import Link, Thresholds
from newsdesk.tasks.store import changes, load, placement
from newsdesk.tasks.store.lock import LOCK_TABLE, hold_load_lock
from newsdesk.tasks.store.rows import next_ids
from tests.helpers import fetch, new_run, prepared
from tests.test_stories_db import EUROPA, page, partition, read
from tests.texts import distinct_story

TEXT = distinct_story(11, sentences=8)
# The same text with one sentence reworded: a near copy.
NEAR = TEXT.replace(TEXT.split(". ")[2], "Officials declined to say more about it on Friday", 1)


def decided_before_either_locks(monkeypatch, loads: int) -> list[list[Link]]:
    """Make each load's first take of the lock wait until every load has decided
    (and written) before it; the links each pre-lock decision gave."""
    barrier = threading.Barrier(loads, timeout=30)
    decisions: list[list[Link]] = []
    waited: set[int] = set()
    decide, hold = placement.decide, load.hold_load_lock

    def recording_decide(conn, entries, thresholds):
        decision = decide(conn, entries, thresholds)
        decisions.append(list(decision.placed.links))
        return decision

    def waiting_hold(conn, timeout=None, **options):
        if threading.get_ident() not in waited:
            waited.add(threading.get_ident())
            barrier.wait()
        return hold(conn, timeout, **options)

    monkeypatch.setattr(placement, "decide", recording_decide)
    monkeypatch.setattr(load, "hold_load_lock", waiting_hold)
    return decisions


def load_together(db, run_id: int, batches: list) -> list:
    results: list = []
    threads = [
        threading.Thread(target=lambda b=b: results.append(load.load_batch(db, run_id=run_id, source="s", items=b)))
        for b in batches
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.parametrize("copy", [TEXT, NEAR], ids=["exact", "near"])
def test_two_loads_that_both_decided_new_story_for_one_text_make_one_story(db, monkeypatch, copy):
    run_id = new_run(db)
    decisions = decided_before_either_locks(monkeypatch, 2)
    results = load_together(db, run_id, [[prepared("/a", TEXT)], [prepared("/b", copy)]])
    # Before the lock, each saw an empty index: both decided "a story of its own".
    assert len(decisions) == 2 and all(links[0].kind is None and links[0].event_score is None for links in decisions)
    assert sorted(tuple(sorted(r)) for r in results) == [("duplicate",), ("inserted",)]
    rows = fetch(db, "SELECT id, story_id, duplicate_of, dup_kind FROM newsdesk.articles ORDER BY story_id, id")
    assert len({row["story_id"] for row in rows}) == 1
    [first, second] = sorted(rows, key=lambda row: row["duplicate_of"] is not None)
    assert second["duplicate_of"] == first["id"] == first["story_id"]
    assert second["dup_kind"] == ("exact" if copy == TEXT else "near")
    # The keys the second one filed before the lock follow its story too.
    keys = fetch(db, "SELECT DISTINCT article_id, story_id FROM newsdesk.near_keys")
    assert {(k["article_id"], k["story_id"]) for k in keys} == {(r["id"], r["story_id"]) for r in rows}
    [facts] = fetch(db, "SELECT story_id, n_articles FROM newsdesk.story_facts")
    assert (facts["story_id"], facts["n_articles"]) == (first["id"], 2)


def test_three_reports_of_one_event_decided_at_once_make_one_story(db, monkeypatch):
    run_id = new_run(db)
    decisions = decided_before_either_locks(monkeypatch, 3)
    load_together(db, run_id, [[read(page(prefix))] for prefix in EUROPA.values()])
    assert len(decisions) == 3 and all(links[0] == Link(links[0].story_id) for links in decisions)
    assert len(partition(db)) == 1


def test_a_page_two_loads_wrote_at_once_is_loaded_once(db, monkeypatch):
    """The second load's rows, written before the lock, wait for the first's and
    give way: it loads its batch again under the lock, where the page is unchanged."""
    run_id = new_run(db)
    first_wrote = threading.Event()
    hold = load.hold_load_lock

    def hold_once_the_other_waits(conn, timeout=None, **options):
        if not first_wrote.is_set():
            first_wrote.set()
            waiting = (
                "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND query LIKE 'COPY%'"
            )
            for _ in range(300):
                if fetch(db, waiting)[0]["n"]:
                    break
                threading.Event().wait(0.1)
            else:
                raise AssertionError("the second load did not wait for the first one's rows")
        return hold(conn, timeout, **options)

    monkeypatch.setattr(load, "hold_load_lock", hold_once_the_other_waits)
    under_lock = load._decide_under_lock
    fell_back: list[int] = []

    def counted(*args):
        fell_back.append(1)
        return under_lock(*args)

    monkeypatch.setattr(load, "_decide_under_lock", counted)
    item = prepared("/same", TEXT)
    results: list = []
    first = threading.Thread(
        target=lambda: results.append(
            load.load_batch(db, run_id=run_id, source="s", items=[item, prepared("/x", distinct_story(12))])
        )
    )
    first.start()
    assert first_wrote.wait(30)
    second = load.load_batch(db, run_id=run_id, source="s", items=[item])
    first.join()
    assert results == [{"inserted": 2}] and second == {"unchanged": 1}
    assert fell_back == [1]  # the second load, once its rows gave way
    assert fetch(db, "SELECT count(*) AS n FROM newsdesk.articles WHERE locator = '/same'")[0]["n"] == 1
    assert fetch(db, "SELECT count(*) AS n FROM newsdesk.documents WHERE locator = '/same'")[0]["n"] == 1


def test_a_load_after_a_holder_that_lists_nothing_checks_every_article_again(db, monkeypatch):
    """A reprocess or rebuild does not list its changes: a load that decided before
    it re-checks its whole batch, and finds the copy that holder stored."""
    run_id = new_run(db)
    decided, go_on = threading.Event(), threading.Event()
    decide = placement.decide

    def pausing_decide(conn, entries, thresholds):
        decision = decide(conn, entries, thresholds)
        if not decided.is_set():
            decided.set()
            assert go_on.wait(30)
        return decision

    monkeypatch.setattr(placement, "decide", pausing_decide)
    results: list = []
    loader = threading.Thread(
        target=lambda: results.append(load.load_batch(db, run_id=run_id, source="s", items=[prepared("/b", TEXT)]))
    )
    loader.start()
    assert decided.wait(30)
    # Meanwhile a holder that lists nothing stores the same text, decided under the lock.
    with db.begin() as conn:
        held = hold_load_lock(conn)
        ids = load.Ids(
            {"/a": next_ids(conn, "newsdesk.documents_id_seq", 1)[0]},
            {"/a": next_ids(conn, "newsdesk.articles_id_seq", 1)[0]},
            {"/a": "s"},
            run_id,
        )
        load._decide_under_lock(conn, [("s", prepared("/a", TEXT))], [], {"s": Counter()}, ids, set(), Thresholds())
        held.record(1)
    go_on.set()
    loader.join()
    assert results == [{"duplicate": 1}]
    [a] = fetch(db, "SELECT id FROM newsdesk.articles WHERE locator = '/a'")
    [b] = fetch(db, "SELECT duplicate_of, story_id FROM newsdesk.articles WHERE locator = '/b'")
    assert b["duplicate_of"] == b["story_id"] == a["id"]


def test_changes_outside_the_kept_window_mean_anything(db):
    with db.begin() as conn:
        seq = conn.scalar(sa.text(f"UPDATE {LOCK_TABLE} SET changes_from = seq + 5 RETURNING seq"))
        assert changes.since(conn, 0, seq, seq + 7, seq + 5).anything
        assert changes.since(conn, 0, seq + 6, seq + 7, seq + 5).empty
        conn.rollback()


def test_two_loads_joining_one_stored_story_at_once_both_count_in_its_summed_vector(db, monkeypatch):
    """Both read the story's summed vector before either locked; the one that
    locks second is re-checked (the two share keys, and the story whose sum
    both read is listed), decides again against the sum the first wrote, and
    writes its sum under the lock: neither overwrites the other's report
    (story_centroids.n counts all three)."""
    run_id = new_run(db)
    first, *others = (read(page(prefix)) for prefix in EUROPA.values())
    load.load_batch(db, run_id=run_id, source="s", items=[first])
    [stored] = fetch(db, "SELECT story_id, n FROM newsdesk.story_centroids")
    assert stored["n"] == 1
    decisions = decided_before_either_locks(monkeypatch, 2)
    load_together(db, run_id, [[item] for item in others])
    assert len(decisions) == 2 and all(links[0].story_id == stored["story_id"] for links in decisions)
    assert len(partition(db)) == 1
    assert fetch(db, "SELECT story_id, n FROM newsdesk.story_centroids") == [{"story_id": stored["story_id"], "n": 3}]
