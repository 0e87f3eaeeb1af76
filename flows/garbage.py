"""The garbage collector's pace while a web crawl runs in this process.

A crawl allocates steadily over a heap that Prefect and the imports made large,
so young collections come less often while it runs (fewer costly full
collections); the files path keeps CPython's default, since its parse trees are
cycles. Why, with the figures: docs/decisions.md ("the garbage collector's pace").
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

CRAWL_YOUNG_THRESHOLD = 10_000

_lock = threading.Lock()
_active = 0
_saved: tuple[int, int, int] | None = None


@contextmanager
def crawl_pace() -> Iterator[None]:
    """Young collections every CRAWL_YOUNG_THRESHOLD new objects while any
    crawl of this process runs; the previous pace after the last one ends."""
    global _active, _saved
    with _lock:
        if _active == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(max(CRAWL_YOUNG_THRESHOLD, _saved[0]), _saved[1], _saved[2])
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _saved is not None:
                gc.set_threshold(*_saved)
