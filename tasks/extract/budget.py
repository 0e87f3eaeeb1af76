"""A budget of CPU time and memory for preparing one document.

trafilatura's cost grows faster than a page's size on some shapes of page
(many linked paragraphs, huge tables): one hostile page could hold an
extraction worker for minutes and take gigabytes. `within_budget` bounds it:

- CPU time: a watchdog thread reads the CPU clock of each thread preparing a
  document (`time.pthread_getcpuclockid`) and, past its budget
  (NEWSDESK_EXTRACT_CPU_SECONDS, default 10 s), raises `OverBudget` in that
  thread (`PyThreadState_SetAsyncExc`). CPU time, not wall time: a busy
  machine slows a page down without making it over budget. It works the same
  in an extraction worker process, in a Prefect task thread (files) and on a
  Dask worker; the exception is raised at the next Python instruction, so the
  document stops within a fraction of a second (trafilatura's slow loops are
  Python), its memory is freed as the stack unwinds, and the worker goes on
  with the next document.
- Memory: in a process that does nothing but prepare documents (an
  extraction worker, see `dedicate_process`), the address space may grow by
  NEWSDESK_EXTRACT_MEMORY_MB (default 1024) during a document
  (`RLIMIT_AS`, its soft limit moved for each document and put back after);
  past it, allocations fail with MemoryError. Elsewhere (threads of the flow's
  process) a process-wide limit would hit the other threads, so there is none:
  the input bound of `tasks.extract.prepare` keeps memory in check there.

`OverBudget` derives from BaseException so that a library's `except
Exception` cannot swallow it.
"""

from __future__ import annotations

import ctypes
import os
import resource
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from newsdesk.config import Settings

# How often the watchdog reads the clocks: a document stops at most this late.
POLL_SECONDS = 0.1


class OverBudget(BaseException):
    """Raised in a thread whose document went over its CPU time budget."""


@dataclass(frozen=True)
class Limits:
    """A document's budget: CPU seconds (0: none) and megabytes its process may grow by (0: none)."""

    cpu_seconds: float = 10.0
    memory_mb: int = 1024

    @classmethod
    def from_env(cls) -> Limits:
        settings = Settings.from_env()
        return cls(settings.extract_cpu_seconds, settings.extract_memory_mb)


@dataclass
class _Watch:
    clock: int
    deadline: float
    fired: bool = False


_lock = threading.Condition()
_watched: dict[int, _Watch] = {}
_watchdog: threading.Thread | None = None
_dedicated = False


def dedicate_process() -> None:
    """Mark this process as one that only prepares documents (an extraction
    worker): its address space is then bounded per document too."""
    global _dedicated
    _dedicated = True


@contextmanager
def within_budget(limits: Limits) -> Iterator[None]:
    """Run the block within `limits`: `OverBudget` when it takes more CPU
    time, MemoryError when (in a dedicated process) it takes more memory."""
    with _cpu_budget(limits.cpu_seconds), _memory_budget(limits.memory_mb):
        yield


@contextmanager
def _cpu_budget(seconds: float) -> Iterator[None]:
    ident = threading.get_ident()
    try:
        clock = time.pthread_getcpuclockid(ident)
    except (AttributeError, OSError):  # no per-thread CPU clocks here: no budget
        clock = None
    if seconds <= 0 or clock is None:
        yield
        return
    watch = _Watch(clock, time.clock_gettime(clock) + seconds)
    with _lock:
        _watched[ident] = watch
        _start_watchdog()
        _lock.notify_all()
    try:
        yield
    finally:
        with _lock:
            del _watched[ident]
            if watch.fired:  # raised already, or still pending: never past this block
                _set_async_exc(ident, None)


def _start_watchdog() -> None:
    global _watchdog
    if _watchdog is None or not _watchdog.is_alive():
        _watchdog = threading.Thread(target=_watch, name="newsdesk-extract-budget", daemon=True)
        _watchdog.start()


def _watch() -> None:
    while True:
        with _lock:
            while not _watched:
                _lock.wait()
            for ident, watch in _watched.items():
                if not watch.fired and time.clock_gettime(watch.clock) >= watch.deadline:
                    watch.fired = True
                    _set_async_exc(ident, OverBudget)
        time.sleep(POLL_SECONDS)


def _set_async_exc(ident: int, exception: type[BaseException] | None) -> None:
    """Raise `exception` in thread `ident` at its next Python instruction (None: cancel a pending one)."""
    argument = ctypes.py_object(exception) if exception is not None else ctypes.c_void_p(0)
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), argument)


@contextmanager
def _memory_budget(megabytes: int) -> Iterator[None]:
    size = _address_space() if _dedicated and megabytes > 0 else None
    if size is None:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = size + megabytes * 1024 * 1024
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _address_space() -> int | None:
    """This process's address space in bytes now (Linux), or None where it cannot be read."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")
