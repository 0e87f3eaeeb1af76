"""Unchanged files are skipped unread on a rerun (size and modification time, as
make and rsync do), through real ingest runs."""

import os
import time

import pytest

from tests.helpers import assert_counts_add_up, fetch
from tests.helpers import run_ingest as run
from tests.texts import distinct_story

pytestmark = pytest.mark.usefixtures("prefect_server")

HOUR_AGO_NS = (time.time_ns() // 10**9 - 3600) * 10**9


def age(path, mtime_ns=HOUR_AGO_NS):
    """Date a file back (a file written moments ago is not trusted by its time)."""
    os.utime(path, ns=(mtime_ns, mtime_ns))


def rewrite_keeping_stat(path, text: str):
    """New bytes of the same length under the same modification time: what only a read would notice."""
    stat = os.stat(path)
    old = path.read_bytes()
    new = text.encode()[: len(old)].ljust(len(old), b" ")
    path.write_bytes(new)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_a_rerun_skips_files_by_size_and_time_and_reads_touched_ones(db, corpus):
    paths = [corpus.write(f"{i:02}.txt", distinct_story(i)) for i in range(6)]
    for path in paths:
        age(path)
    corpus.configure()
    first = run(corpus.sources)
    assert first["n_inserted"] == 6
    stored = fetch(db, "SELECT locator, byte_size, file_mtime_ns FROM newsdesk.documents ORDER BY locator")
    assert [(r["byte_size"], r["file_mtime_ns"]) for r in stored] == [(p.stat().st_size, HOUR_AGO_NS) for p in paths]

    # Same size and time: not opened, so even new bytes go unnoticed (the documented trade-off).
    rewrite_keeping_stat(paths[0], distinct_story(40))
    second = run(corpus.sources)
    assert (second["n_discovered"], second["n_unchanged"]) == (6, 6)
    assert_counts_add_up(second)

    # A touch (new time, same bytes) is read, found unchanged, and its new time noted...
    paths[1].touch()
    age(paths[1], HOUR_AGO_NS + 10**9)
    # ...and a change with a new time is read and becomes a new version.
    paths[2].write_text(distinct_story(41), encoding="utf-8")
    age(paths[2], HOUR_AGO_NS + 2 * 10**9)
    third = run(corpus.sources)
    assert (third["n_unchanged"], third["n_updated"]) == (5, 1)
    assert_counts_add_up(third)
    [touched] = fetch(
        db,
        "SELECT d.file_mtime_ns FROM newsdesk.documents d JOIN newsdesk.articles a ON a.document_id = d.id"
        " WHERE a.is_current AND a.locator = :p",
        p=str(paths[1]),
    )
    assert touched["file_mtime_ns"] == HOUR_AGO_NS + 10**9

    # The noted time is trusted next run: the touched file is skipped unread.
    rewrite_keeping_stat(paths[1], distinct_story(42))
    fourth = run(corpus.sources)
    assert fourth["n_unchanged"] == 6
    assert fetch(db, "SELECT count(*) AS n FROM newsdesk.articles")[0]["n"] == 7


def test_file_check_content_reads_every_file(db, corpus, monkeypatch):
    path = corpus.write("a.txt", distinct_story(5))
    age(path)
    corpus.configure()
    assert run(corpus.sources)["n_inserted"] == 1
    rewrite_keeping_stat(path, distinct_story(6))
    assert run(corpus.sources)["n_unchanged"] == 1  # by size and time, as by default
    monkeypatch.setenv("NEWSDESK_FILE_CHECK", "content")
    third = run(corpus.sources)
    assert third["n_updated"] == 1  # read, hashed, and found changed
    assert_counts_add_up(third, db)


def test_a_file_modified_moments_before_it_was_read_is_read_again(db, corpus):
    path = corpus.write("fresh.txt", distinct_story(3))  # written just now
    corpus.configure()
    assert run(corpus.sources)["n_inserted"] == 1
    assert fetch(db, "SELECT file_mtime_ns FROM newsdesk.documents")[0]["file_mtime_ns"] is None
    # Its time is not trusted, so a same-size rewrite is read and noticed.
    rewrite_keeping_stat(path, distinct_story(4))
    assert run(corpus.sources)["n_updated"] == 1


def test_listing_in_small_chunks_counts_every_file_once(db, corpus, monkeypatch):
    import newsdesk.flows.ingest

    monkeypatch.setattr(newsdesk.flows.ingest, "LISTING_CHUNK", 4)
    for i in range(11):
        age(corpus.write(f"{i:02}.txt", distinct_story(i)))
    corpus.write("bad.txt", b"\x00\x01\x02binary\xff" * 50)
    corpus.configure()
    first = run(corpus.sources, batch_size=3)
    assert (first["n_discovered"], first["n_inserted"], first["n_rejected"]) == (12, 11, 1)
    assert_counts_add_up(first)
    second = run(corpus.sources, batch_size=3)
    # The rejected file has nothing stored to compare with: it is read (and rejected) again.
    assert (second["n_discovered"], second["n_unchanged"], second["n_rejected"]) == (12, 11, 1)
    assert_counts_add_up(second)
