"""A fetched page to a `Prepared` record (the raw page with what its listing
said), and the pool of processes that does it beside the fetching."""

from __future__ import annotations

import hashlib
import importlib
import multiprocessing
import os
import threading
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor

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


_pool: Executor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


_threads: Executor | None = None


def extraction_pool(processes: int) -> Executor:
    """A pool of `processes` worker processes for `prepare_page`, kept for the
    life of this process. For 0, or in a daemon process (a Dask worker, which
    may not start processes of its own), a thread beside the fetching instead:
    extraction is CPU-bound Python, and threads share one core."""
    global _pool, _pool_size, _threads
    if processes <= 0 or multiprocessing.current_process().daemon:
        with _pool_lock:
            if _threads is None:
                _threads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsdesk-extract")
            return _threads
    with _pool_lock:
        if _pool is None or _pool_size != processes:
            # forkserver: the workers do not inherit this process's threads (Prefect's, the frontier's).
            context = multiprocessing.get_context("forkserver")
            # Workers are forked from a server that imported and warmed the
            # extractor once (`extract.warm`): each starts ready.
            context.set_forkserver_preload([WARM_MODULE])
            _pool = ProcessPoolExecutor(max_workers=processes, mp_context=context, initializer=_warm)
            _pool_size = processes
            # The workers start (and import the extractor) now, while the listings
            # are read, not when the first page arrives.
            for _ in range(processes):
                _pool.submit(os.getpid)
        return _pool


def start_extraction_pool(processes: int) -> None:
    """Start the pool in the background: its server warms the extractor on a
    core of its own while this process goes on (imports Prefect, starts a run);
    `extraction_pool` then finds it ready."""
    threading.Thread(target=extraction_pool, args=(processes,), name="newsdesk-extract-start", daemon=True).start()


WARM_MODULE = "newsdesk.tasks.extract.warm"

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
