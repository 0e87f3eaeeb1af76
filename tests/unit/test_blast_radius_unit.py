"""Pure parts of "one bad input costs only itself" (issue 27): text made
storable, names made printable, feed character references, the extraction
budget, metadata cut to length."""

from __future__ import annotations

import contextlib
import json
import threading
import time

import pytest

from newsdesk.cli import _table
from newsdesk.tasks.extract import budget
from newsdesk.tasks.extract.metadata import MAX_FIELD_CHARS, cut
from newsdesk.tasks.records import Article, ListingHints, Prepared, Problem, RawDocument
from newsdesk.tasks.store.storable import Counter, storable, storable_item
from newsdesk.tasks.web.listings import parse_listing
from newsdesk.tasks.words import printable


def test_storable_replaces_nul_and_lone_surrogates_only():
    assert storable("a\x00b\ud800c\udfffd") == "a\ufffdb\ufffdc\ufffdd"
    text = "café 😀 \u2028 \x07 \ufffd"  # real characters, even odd ones, stay
    assert storable(text) == text


def test_storable_item_counts_and_leaves_clean_items_alone():
    document = RawDocument("http://x/\ud800", b"raw", "text/html", "0" * 64, hints=ListingHints(title="t\x00"))
    article = Article(body="body \ud800", title="title", authors=["A \udcff", "B"])
    item = Prepared(document, "utf-8", article, "h")
    counter = Counter()
    clean = storable_item(item, counter)
    assert clean.document.locator == "http://x/\ufffd" and clean.document.hints.title == "t\ufffd"
    assert clean.article.body == "body \ufffd" and clean.article.authors == ["A \ufffd", "B"]
    assert clean.document.raw == b"raw" and clean.body_hash == "h"
    assert (counter.characters, counter.items) == (4, 1)
    problem = Problem("/ok", "rejected", "acquire", "fine")
    assert storable_item(problem, counter) is problem and counter.items == 1


def test_printable_escapes_what_could_forge_a_line_or_drive_a_terminal():
    assert printable("a\nb") == "a\\nb"
    assert printable("red\x1b[31m") == "red\\x1b[31m"
    assert printable("x\u2028y\r\t") == "x\\u2028y\\r\\t"
    assert printable("bad-\udcff") == "bad-\\udcff"
    assert printable("café ✓") == "café ✓"


def test_the_cli_table_keeps_one_line_per_row():
    table = _table(["source", "n"], [["evil\nname  0\nforged", 1], ["good", 2]])
    assert len(table.splitlines()) == 4
    assert "evil\\nname  0\\nforged" in table


def test_a_character_reference_xml_forbids_does_not_fail_the_feed():
    feed = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        b"<item><title>Bad &#xD800; &#0; &#1114112; &#55296; ok &#x41;</title><link>http://a.test/1</link></item>"
        b"<item><title>Good</title><link>http://a.test/2</link></item></channel></rss>"
    )
    listing = parse_listing(feed, "http://a.test/feed.xml", max_bytes=1_000_000)
    assert [item.url for item in listing.items] == ["http://a.test/1", "http://a.test/2"]
    assert listing.items[0].title == "Bad \ufffd \ufffd \ufffd \ufffd ok A"
    assert not listing.problems


def test_a_json_feed_url_with_a_lone_surrogate_is_that_entry_s_problem():
    feed = json.dumps(
        {
            "items": [
                {"url": "http://a.test/\ud800"},
                {"id": "http://a.test/\udfff"},
                {"url": "http://a.test/fine", "title": "T \ud800"},
            ]
        }
    ).encode()
    listing = parse_listing(feed, "http://a.test/feed.json", max_bytes=1_000_000)
    assert [item.url for item in listing.items] == ["http://a.test/fine"]
    assert listing.items[0].title == "T \ud800"  # made storable at the load, not here
    assert [locator for locator, _ in listing.problems] == [
        "http://a.test/feed.json#entry-1",
        "http://a.test/feed.json#entry-2",
    ]
    assert all("lone surrogate" in reason for _, reason in listing.problems)


def _spin(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_the_cpu_budget_stops_a_thread_and_a_library_cannot_swallow_it():
    def swallowing():
        with contextlib.suppress(Exception):  # as trafilatura guards its steps
            _spin(30)

    started = time.monotonic()
    with pytest.raises(budget.OverBudget), budget.within_budget(budget.Limits(cpu_seconds=0.3, memory_mb=0)):
        swallowing()
    assert time.monotonic() - started < 20  # stopped, not left to run its 30 s
    # The thread goes on afterwards, with nothing pending.
    with budget.within_budget(budget.Limits(cpu_seconds=5, memory_mb=0)):
        _spin(0.2)
    _spin(0.3)


def test_the_cpu_budget_counts_each_thread_alone():
    """A thread over its budget is stopped; one beside it, within its own, is not."""
    outcomes: dict[str, str] = {}

    def work(name: str, seconds: float) -> None:
        try:
            with budget.within_budget(budget.Limits(cpu_seconds=1.0, memory_mb=0)):
                _spin(seconds)
            outcomes[name] = "done"
        except budget.OverBudget:
            outcomes[name] = "over"

    threads = [threading.Thread(target=work, args=args) for args in (("short", 0.2), ("long", 30))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcomes == {"short": "done", "long": "over"}


def test_long_metadata_is_cut_as_trafilatura_cuts_it():
    assert cut("short") == "short" and cut(None) is None
    cut_title = cut("x" * 1_000_000)
    assert cut_title is not None and len(cut_title) == MAX_FIELD_CHARS and cut_title.endswith("…")
