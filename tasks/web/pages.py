"""A fetched page to a `Prepared` record (the raw page with what its listing
said), and the pool of processes that does it beside the fetching, one per run."""

from __future__ import annotations

import hashlib
import importlib
import multiprocessing
import multiprocessing.forkserver
import multiprocessing.util
import os
import threading
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager

from newsdesk.tasks.extract import budget
from newsdesk.tasks.extract.prepare import prepare
from newsdesk.tasks.records import Prepared, Problem, RawDocument, Unchanged
from newsdesk.tasks.web.fetch import Fetched
from newsdesk.tasks.web.listings import WebItem

# What a fetch step hands to a load: one outcome per listed page.
Item = Prepared | Problem | Unchanged


def prepare_page(
    item: WebItem, fetched: Fetched, *, stored_sha256: str | None = None, limits: budget.Limits | None = None
) -> Prepared | Problem | Unchanged:
    """`stored_sha256`: the hash of the page's current stored version, if any;
    the same bytes again need no cleaning. `limits`: the page's budget (see
    `prepare`), given by the process that hands it over: a worker's environment
    is that of the process that started the pool."""
    if fetched.not_modified:
        return Unchanged(item.url)
    sha256 = hashlib.sha256(fetched.body).hexdigest()
    if sha256 == stored_sha256:
        return Unchanged(item.url)
    document = RawDocument(
        item.url,
        fetched.body,
        "text/html",
        sha256,
        fetched.etag,
        fetched.last_modified,
        url=fetched.final_url,
        charset=fetched.charset,
        hints=item.hints,
    )
    return prepare(document, limits)


# A pool started ahead of its run (`start_extraction_pool`), for the run to take.
_ready: tuple[int, Executor] | None = None
_ready_lock = threading.Lock()
_starting: threading.Thread | None = None


@contextmanager
def extraction_pool(processes: int) -> Iterator[Executor]:
    """A pool of `processes` worker processes for `prepare_page`, for one run:
    ended (its workers joined) when the block ends, so that a process serving
    runs one after another (`newsdesk serve`, a worker) holds none between
    them. For 0, or in a daemon process (a Dask worker, which may not start
    processes of its own), a thread beside the fetching instead: extraction is
    CPU-bound Python, and threads share one core."""
    if processes <= 0 or multiprocessing.current_process().daemon:
        pool: Executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsdesk-extract")
    else:
        pool = _take_ready(processes) or _new_pool(processes)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def start_extraction_pool(processes: int) -> None:
    """Start a pool in the background for the next run of this process: its
    server warms the extractor on a core of its own while this process goes on
    (imports Prefect, starts a run); `extraction_pool` then takes it ready. A
    pool no run took ends with the process."""
    global _starting
    _starting = threading.Thread(target=_start_ready, args=(processes,), name="newsdesk-extract-start", daemon=True)
    _starting.start()


def _start_ready(processes: int) -> None:
    global _ready
    with _ready_lock:
        if _ready is None:
            _ready = (processes, _new_pool(processes))


def _take_ready(processes: int) -> Executor | None:
    global _ready
    if _starting is not None:
        _starting.join()
    with _ready_lock:
        ready, _ready = _ready, None
    if ready is None:
        return None
    size, pool = ready
    if size == processes:
        return pool
    pool.shutdown(wait=False, cancel_futures=True)
    return None


def _end_ready() -> None:
    """At the process's exit, before multiprocessing joins its children: a
    pool's idle workers would wait for work for ever, and the process with them
    (a flow run's process under `newsdesk serve` ends through that join)."""
    global _ready
    with _ready_lock:
        ready, _ready = _ready, None
    if ready is not None:
        ready[1].shutdown(wait=True, cancel_futures=True)


multiprocessing.util.Finalize(None, _end_ready, exitpriority=100)


def _new_pool(processes: int) -> ProcessPoolExecutor:
    context = forkserver_context()
    pool = ProcessPoolExecutor(max_workers=processes, mp_context=context, initializer=_warm)
    # The workers start (and import the extractor) now, while the listings
    # are read, not when the first page arrives.
    for _ in range(processes):
        pool.submit(os.getpid)
    return pool


_forkserver_lock = threading.Lock()


def forkserver_context() -> multiprocessing.context.ForkServerContext:
    """multiprocessing's forkserver context, its server started with
    FORKSERVER_PRELOAD imported. A forkserver, not fork: children do not
    inherit this process's threads (Prefect's, the frontier's)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(FORKSERVER_PRELOAD))
    _start_forkserver()
    return context


def _start_forkserver() -> None:
    """Start multiprocessing's forkserver (once per process) without the
    working folder on its `sys.path`: it runs `python -c`, which puts the
    working folder first, and a folder there named `newsdesk` (a clone's
    parent, a cron job's home) would be imported instead of the installed
    package, in the server and in every worker forked from it.
    PYTHONSAFEPATH (Python 3.11) leaves it out; it is set only while the
    server starts."""
    with _forkserver_lock:
        previous = os.environ.get("PYTHONSAFEPATH")
        os.environ["PYTHONSAFEPATH"] = "1"
        try:
            multiprocessing.forkserver.ensure_running()
        finally:
            if previous is None:
                del os.environ["PYTHONSAFEPATH"]
            else:
                os.environ["PYTHONSAFEPATH"] = previous


WARM_MODULE = "newsdesk.tasks.extract.warm"

# What the forkserver imports once, so that the processes forked from it
# (extraction workers, listing parsers) start ready: the extractor, warmed
# (`extract.warm`); the modules their targets and initialisers live in; and
# the `newsdesk` command's own imports, which a child runs again as its main
# script (docs/benchmarks.md, bench-web: what a forked worker cost as it started).
FORKSERVER_PRELOAD = (WARM_MODULE, __name__, "newsdesk.tasks.web.listing_parser", "newsdesk.cli")

# Extraction yields the CPU to the fetching: a request whose turn has come must
# not wait behind a page being cleaned, or it reaches its host late.
EXTRACTION_NICENESS = 10


def _warm() -> None:
    """Lower the worker's priority; warm the extractor in the worker if its
    server did not (a server started before the preload was set); bound the
    memory of each page it prepares (`budget`)."""
    os.nice(EXTRACTION_NICENESS)
    importlib.import_module(WARM_MODULE)
    budget.dedicate_process()
