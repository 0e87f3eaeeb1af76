"""Listings parsed in processes of their own, each within a CPU budget.

A feed or sitemap can take minutes of CPU to parse (an 8 MB feed of deeply
nested markup took 94 s): parsed on the crawl's event loop, it would stall
every other source's requests for that long. So `parse_listing` runs in a
small pool of worker processes; the loop only waits for the answer (in a
thread). Before each listing, a worker lowers its CPU limit (RLIMIT_CPU) to
what it has used plus the budget: past it the kernel ends the worker, the
listing is rejected with the reason, and a new worker takes its place. A
worker that neither answers nor dies (a stopped machine) is ended after a
generous wall-clock allowance too.

In a daemon process (a Dask worker, which may not start processes) the
listing is parsed in a thread instead, without a budget.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
import signal
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from newsdesk.tasks.records import Rejected
from newsdesk.tasks.web.listings import Listing, parse_listing
from newsdesk.tasks.web.pages import forkserver_context

# Workers at most: a listing that uses its whole budget holds one, and the
# other sources' listings go on in the others.
MAX_WORKERS = 4
# Wall-clock seconds a worker may take beyond its CPU budget before it is
# ended anyway (a loaded machine gives it less than a core).
WALL_FACTOR = 4.0
WALL_EXTRA = 10.0


def _serve(connection: Connection) -> None:
    """A worker: parse each listing sent, under a CPU limit of what it has
    used so far plus the listing's budget; send back its outcome."""
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    while True:
        try:
            data, base_url, max_bytes, budget = connection.recv()
        except EOFError:
            return
        usage = resource.getrusage(resource.RUSAGE_SELF)
        soft = int(usage.ru_utime + usage.ru_stime + budget) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
        try:
            outcome: tuple[str, object] = ("listing", parse_listing(data, base_url, max_bytes=max_bytes))
        except Rejected as rejected:
            outcome = ("rejected", rejected.reason)
        except Exception as exc:  # a bug or a library failure: this listing fails
            outcome = ("failed", f"{type(exc).__name__}: {exc}")
        connection.send(outcome)


class ListingFailed(Exception):
    """A listing's parse broke (a bug or a library failure): the listing fails with the reason."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class _Worker:
    process: BaseProcess
    connection: Connection

    def end(self) -> None:
        self.connection.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)


class ListingParsers:
    """Up to MAX_WORKERS worker processes, started as listings need them and
    kept for the life of this process."""

    def __init__(self, max_workers: int = MAX_WORKERS):
        self.max_workers = max_workers
        self._idle: list[_Worker] = []
        self._count = 0
        self._lock = threading.Lock()
        self._free = threading.Condition(self._lock)

    async def parse(self, data: bytes, base_url: str, *, max_bytes: int, cpu_budget: float) -> Listing:
        """`parse_listing` of the body in a worker: its Listing; raises Rejected
        (not a listing, or over `cpu_budget` CPU seconds) or ListingFailed."""
        if multiprocessing.current_process().daemon:
            return await asyncio.to_thread(parse_listing, data, base_url, max_bytes=max_bytes)
        return await asyncio.to_thread(self._parse, data, base_url, max_bytes, cpu_budget)

    def _parse(self, data: bytes, base_url: str, max_bytes: int, cpu_budget: float) -> Listing:
        worker = self._take()
        try:
            worker.connection.send((data, base_url, max_bytes, cpu_budget))
            answered = worker.connection.poll(cpu_budget * WALL_FACTOR + WALL_EXTRA)
            outcome = worker.connection.recv() if answered else None
        except (EOFError, OSError):  # the worker ended without an answer
            outcome = None
        if outcome is None:
            worker.end()  # killed if still running (past the wall-clock allowance)
            self._forget()
            raise _no_answer(worker, cpu_budget)
        kind, value = outcome
        self._give_back(worker)
        if kind == "rejected":
            raise Rejected("discover", str(value))
        if kind == "failed":
            raise ListingFailed(str(value))
        assert isinstance(value, Listing)
        return value

    def _take(self) -> _Worker:
        with self._free:
            while not self._idle and self._count >= self.max_workers:
                self._free.wait()
            while self._idle:
                worker = self._idle.pop()
                if worker.process.is_alive():
                    return worker
                worker.end()  # ended while idle (killed from outside): a new one takes its place
                self._count -= 1
            self._count += 1
        try:
            return _start()
        except BaseException:
            self._forget()
            raise

    def _give_back(self, worker: _Worker) -> None:
        with self._free:
            self._idle.append(worker)
            self._free.notify()

    def _forget(self) -> None:
        with self._free:
            self._count -= 1
            self._free.notify()

    def close(self) -> None:
        with self._free:
            idle, self._idle = self._idle, []
            self._count -= len(idle)
        for worker in idle:
            worker.end()


def _no_answer(worker: _Worker, cpu_budget: float) -> Exception:
    """Why an ended worker gave no answer: its CPU limit (SIGXCPU, SIGKILL past
    the hard limit or the wall-clock allowance), else whatever ended it."""
    exitcode = worker.process.exitcode
    if exitcode in (None, -signal.SIGXCPU, -signal.SIGKILL):
        return Rejected("discover", f"listing not parsed within its budget of {cpu_budget:g} s of CPU")
    return ListingFailed(f"the listing's parser process ended (exit code {exitcode})")


def _start() -> _Worker:
    context = forkserver_context()
    ours, theirs = context.Pipe()
    process = context.Process(target=_serve, args=(theirs,), name="newsdesk-listing", daemon=True)
    process.start()
    theirs.close()
    return _Worker(process, ours)


_parsers: ListingParsers | None = None
_parsers_lock = threading.Lock()


def listing_parsers() -> ListingParsers:
    """This process's listing workers (started as listings need them)."""
    global _parsers
    with _parsers_lock:
        if _parsers is None:
            _parsers = ListingParsers()
        return _parsers
