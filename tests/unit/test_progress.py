"""The terminal's progress display: a live bar on a terminal, plain lines elsewhere."""

import io
import time

from newsdesk import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_when_not_on_a_terminal():
    out = io.StringIO()
    with progress.shown(out, every=0.05):
        progress.add("listed", 1000)
        progress.add("cleaned", 420)
        time.sleep(0.3)
    lines = out.getvalue().splitlines()
    assert lines, "no progress line"
    assert lines[0].startswith("progress: 1,000 listed, 420 cleaned")
    assert len(set(lines)) == len(lines)  # a line only when something moved


def test_a_live_bar_on_a_terminal_with_counts_and_followed_figures():
    out = Terminal()
    fetched = {"fetched": 0}
    with progress.shown(out):
        progress.follow(lambda: dict(fetched))
        progress.add("listed", 3)
        for _ in range(3):
            progress.add("cleaned")
        fetched["fetched"] = 2
        time.sleep(0.8)
    text = out.getvalue()
    assert "listed" in text and "3/3" in text and "cleaned" in text
    assert "fetched" in text and "2/3" in text


def test_a_line_reads_as_words():
    counts = {"listed": 1000, "cleaned": 420, "fetched": 0, "loaded": 400}
    assert progress.line(counts, {"cleaned": 84.2, "loaded": 0.5}) == (
        "progress: 1,000 listed, 420 cleaned (84/s), 400 loaded"
    )
    assert progress.line({}, {}) == "progress: starting"
