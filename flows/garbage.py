"""The garbage collector's pace while a web crawl runs in this process.

A crawl's main process allocates steadily (HTTP responses, the prepared pages
coming back from the extraction workers) over a heap that Prefect and the
imports made large, so CPython's default pace (a young collection every 700
new objects) led to 9 full collections on a 200 x 5 benchmark day, 1.2 s of
CPU on the cores the extraction needs; with young collections every 10,000
during the crawl, 7 (0.75 s), those of the start-up. Reference counting
still frees everything that is not in a cycle at once; cycles wait longer.
The files path keeps the default: it cleans in this process, where the
documents' parse trees are cycles, and with the crawl's pace a 20,000-file
run peaked 180 MB higher.
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
