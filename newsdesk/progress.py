"""Progress of a long command in the terminal: a live bar per step (listed,
cleaned, fetched, loaded) with counts and rate on a terminal, a plain line every
few seconds otherwise (a log file, CI).

The steps count as they go (`add`, from any thread of this process); what is
known elsewhere, such as the web pipeline's pages fetched, is polled (`follow`).
The display is the command's (`shown`); without one, counting costs a lock."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

STEPS = ("listed", "cleaned", "fetched", "loaded")

_lock = threading.Lock()
_counts: dict[str, int] = dict.fromkeys(STEPS, 0)
_followed: list[Callable[[], dict[str, int]]] = []


def add(step: str, n: int = 1) -> None:
    with _lock:
        _counts[step] = _counts.get(step, 0) + n


def follow(counts: Callable[[], dict[str, int]]) -> None:
    """Counts kept elsewhere (summed with those added), polled by the display."""
    with _lock:
        _followed.append(counts)


def unfollow(counts: Callable[[], dict[str, int]]) -> None:
    with _lock:
        if counts in _followed:
            _followed.remove(counts)


def snapshot() -> dict[str, int]:
    with _lock:
        totals = dict(_counts)
        followed = list(_followed)
    for counts in followed:
        try:
            for step, n in counts().items():
                totals[step] = totals.get(step, 0) + n
        except Exception:  # a display must never break a run
            continue
    return totals


def reset() -> None:
    with _lock:
        for step in list(_counts):
            _counts[step] = 0
        _followed.clear()


def line(counts: dict[str, int], rates: dict[str, float]) -> str:
    """`progress: 1,000 listed, 420 cleaned (84/s), 400 loaded (80/s)`."""
    parts = []
    for step in STEPS:
        if counts.get(step):
            rate = rates.get(step, 0.0)
            parts.append(f"{counts[step]:,} {step}" + (f" ({rate:,.0f}/s)" if rate >= 1 else ""))
    return "progress: " + (", ".join(parts) if parts else "starting")


@contextmanager
def shown(stream: TextIO | None = None, *, every: float | None = None) -> Iterator[None]:
    """Show the counts while the block runs: a rich progress display on a
    terminal (refreshed 4 times a second), else a plain line every `every`
    seconds (10 by default) when something moved."""
    stream = stream or sys.stderr
    reset()
    if stream.isatty():
        with _live(stream):
            yield
        return
    stop = threading.Event()
    reporter = threading.Thread(
        target=_plain, args=(stream, every or 10.0, stop), name="newsdesk-progress", daemon=True
    )
    reporter.start()
    try:
        yield
    finally:
        stop.set()
        reporter.join(timeout=5)


def _plain(stream: TextIO, every: float, stop: threading.Event) -> None:
    rates = _Rates()
    last: dict[str, int] = {}
    while not stop.wait(every):
        counts = snapshot()
        per_second = rates.of(counts)
        if counts != last and any(counts.values()):
            print(line(counts, per_second), file=stream, flush=True)
            last = counts


class _Rates:
    """Items a second of each step over the last `window` seconds."""

    def __init__(self, window: float = 10.0) -> None:
        self.window = window
        self.history: list[tuple[float, dict[str, int]]] = []

    def of(self, counts: dict[str, int]) -> dict[str, float]:
        now = time.monotonic()
        self.history.append((now, counts))
        while len(self.history) > 2 and now - self.history[1][0] >= self.window:
            self.history.pop(0)
        then, before = self.history[0]
        elapsed = now - then
        if elapsed <= 0:
            return {}
        return {step: (n - before.get(step, 0)) / elapsed for step, n in counts.items()}


def _handlers_onto(original: TextIO, proxy: TextIO) -> list[logging.StreamHandler]:
    """Log handlers that write to the terminal (Prefect's console handler, set
    up when Prefect is imported), moved onto the live display's stream so that
    their lines print above the bars instead of through them."""
    if proxy is original:
        return []
    loggers = [
        logging.getLogger(),
        *(v for v in logging.Logger.manager.loggerDict.values() if isinstance(v, logging.Logger)),
    ]
    moved = []
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is original:
                _move(handler, proxy)
                moved.append(handler)
    return moved


def _move(handler: logging.StreamHandler, stream: TextIO) -> None:
    handler.setStream(stream)
    console = getattr(handler, "console", None)  # a rich console keeps its own file
    if console is not None:
        console.file = stream


@contextmanager
def _live(stream: TextIO) -> Iterator[None]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("{task.description:>8}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=Console(file=stream),
        redirect_stderr=True,
        redirect_stdout=False,
        refresh_per_second=4,
    )
    tasks: dict[str, TaskID] = {}
    stop = threading.Event()
    rates = _Rates()
    original = sys.stderr
    moved: list[logging.StreamHandler] = []

    def refresh() -> None:
        while not stop.wait(0.25):
            moved.extend(_handlers_onto(original, sys.stderr))
            counts = snapshot()
            per_second = rates.of(counts)
            # The bar of each step runs against the items known so far: listed
            # (or fetched, for web pages counted only as they come).
            known = max(counts.get("listed", 0), counts.get("fetched", 0), counts.get("loaded", 0))
            for step in STEPS:
                n = counts.get(step, 0)
                if not n and step not in tasks:
                    continue
                if step not in tasks:
                    tasks[step] = progress.add_task(step, total=None, rate="")
                rate = f"{per_second[step]:,.0f}/s" if per_second.get(step, 0) >= 1 else ""
                progress.update(tasks[step], completed=n, total=known or None, rate=rate)

    with progress:
        updater = threading.Thread(target=refresh, name="newsdesk-progress", daemon=True)
        updater.start()
        try:
            yield
        finally:
            stop.set()
            updater.join(timeout=5)
            for handler in moved:
                _move(handler, original)
