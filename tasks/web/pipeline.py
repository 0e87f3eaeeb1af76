"""One run's web sources, from their listings to batches ready to load.

On the frontier's loop every web source is listed at once, and as soon as a
source's listing is in, its pages are fetched (each host at its own polite
pace, through the frontier) and prepared in the extraction pool, each the
moment it arrives. The flow takes the outcomes in batches (`next_batch`): of
each source, its outcomes in the order its listing named them, up to the first
page still in flight. So loads keep each source's order (the first copy of a
story stays canonical, run after run), and a slow host holds up only its own
source's later items, never the other sources.

Memory is bounded by pages in flight (fetched or being fetched, not yet
loaded): `pages_in_flight` in all and half of them (at least a batch, see
`source_window`) per source, so one slow source cannot hold every permit.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime
from queue import Queue

from newsdesk.tasks.records import Problem, Unchanged
from newsdesk.tasks.sources import Source
from newsdesk.tasks.web.crawl import Discovery
from newsdesk.tasks.web.listings import WebItem
from newsdesk.tasks.web.pages import Item


def source_window(pages_in_flight: int, batch_size: int) -> int:
    """Pages of one source in flight at most (fetched or being fetched, not
    yet loaded): half of all, so a slow source leaves room to the others, but
    a batch's worth, so a fast one fills its batches."""
    return min(pages_in_flight, max(pages_in_flight // 2, batch_size))


# A batch is cut when `batch_size` outcomes are ready, when nothing more can
# come, or when some are ready and the last batch was cut this long ago: at
# least MIN_INTERVAL, growing with the run (a tenth of its age), so a long
# crawl makes a few dozen batches, not one a second. When pages wait for room
# in flight that only a load frees, as soon as STARVED_INTERVAL has passed.
MIN_INTERVAL = 1.0
INTERVAL_SHARE = 0.1
STARVED_INTERVAL = 0.1


@dataclass(frozen=True)
class Stored:
    """What the database holds for a listed URL, read once its listing is in:
    its stored version's content hash and fetch time, and its HTTP validators."""

    sha256: str | None = None
    fetched_at: datetime | None = None
    etag: str | None = None
    last_modified: str | None = None


# The stored state of a listing's URLs (missing ones are new), read off the loop.
Lookup = Callable[[list[str]], dict[str, Stored]]


class WebBatch:
    """Outcomes taken together for one load: per source, a run of its items in
    its listing's order. A plain class, so Prefect does not walk every article
    in it looking for futures (see `records.Batch`)."""

    __slots__ = ("number", "parts", "permits")

    def __init__(self, number: int, parts: list[tuple[str, list[Item]]], permits: dict[str, int]):
        self.number = number
        self.parts = parts
        self.permits = permits  # pages in flight each source's part held

    def __len__(self) -> int:
        return sum(len(items) for _, items in self.parts)

    def locators(self) -> list[tuple[str, list[str]]]:
        return [(source, [_locator(item) for item in items]) for source, items in self.parts]


def _locator(item: Item) -> str:
    return item.locator if isinstance(item, (Problem, Unchanged)) else item.document.locator


@dataclass
class _SourceState:
    source: Source
    window: asyncio.Semaphore
    outcomes: list[Item | None] = field(default_factory=list)
    held: list[bool] = field(default_factory=list)  # whether outcome i holds a page in flight
    urls: list[str] = field(default_factory=list)  # each outcome's URL
    listed: bool = False
    ready: int = 0  # outcomes[:ready] are all known
    taken: int = 0  # outcomes[:taken] are handed to loads
    settled: int = 0  # items whose load is over
    fetched: int = 0  # pages answered


class WebPipeline:
    """One run's web sources on a frontier (see the module docstring). Built
    and started from any thread; `listings`, `next_batch` and `settled` are
    called from the flow's threads."""

    def __init__(
        self,
        frontier,  # tasks.web.frontier.Frontier (not imported: the frontier imports this module)
        sources: Sequence[Source],
        lookup: Lookup,
        pool: Executor,
        pages_in_flight: int,
        window: int,
    ):
        self.frontier = frontier
        self.lookup = lookup
        self.pool = pool
        self._changed = threading.Condition()
        self._listings: Queue[tuple[Source, Discovery]] = Queue()
        self._states: dict[str, _SourceState] = {}
        self._sources = list(sources)
        self._window = window
        self._pages_in_flight = pages_in_flight
        self._budget: asyncio.Semaphore | None = None
        self._waiting = 0  # pages waiting for a permit
        self._tasks: set[asyncio.Task] = set()
        self._batches = 0
        self._released: set[int] = set()
        self._started = time.monotonic()
        self._last_cut = self._started

    # On the frontier's loop.

    async def start(self) -> None:
        self._budget = asyncio.Semaphore(self._pages_in_flight)
        for source in self._sources:
            state = _SourceState(source, asyncio.Semaphore(self._window))
            self._states[source.name] = state
            self._spawn(self._run_source(state))

    def _spawn(self, coroutine) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_source(self, state: _SourceState) -> None:
        try:
            await self._list_and_fetch(state)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug: this source's items not yet under way fail, the run goes on
            self._fail(state, f"{type(exc).__name__}: {exc}")

    def _fail(self, state: _SourceState, reason: str) -> None:
        """End a source that broke: listed (with the failure) if it was not,
        and each of its pages never started is `failed` with the reason."""
        source = state.source
        failure = Problem(source.locator, "failed", "discover", reason)
        with self._changed:
            listed = state.listed
            if not listed:
                state.outcomes = [failure]
                state.held = [False]
                state.listed = True
            for index, outcome in enumerate(state.outcomes):
                if outcome is None and not state.held[index]:
                    state.outcomes[index] = Problem(state.urls[index], "failed", "fetch", reason)
            self._advance(state)
        if not listed:
            self._listings.put((source, Discovery(problems=[failure])))

    async def _list_and_fetch(self, state: _SourceState) -> None:
        source = state.source
        try:
            found = await self.frontier.discover(source)
        except Exception as exc:  # a bug or a library failure: this source fails, the others go on
            found = Discovery(problems=[Problem(source.locator, "failed", "discover", f"{type(exc).__name__}: {exc}")])
        items = found.items
        try:
            stored = await asyncio.to_thread(self.lookup, [item.url for item in items])
        except Exception as exc:  # the database was lost: this source's items fail, to be tried next run
            reason = f"stored versions not read: {type(exc).__name__}: {exc}"
            found = Discovery(problems=[*found.problems, *(Problem(i.url, "failed", "fetch", reason) for i in items)])
            items, stored = [], {}
        offset = len(found.problems)
        with self._changed:
            state.outcomes = [*found.problems, *([None] * len(items))]
            state.held = [False] * len(state.outcomes)
            state.urls = [problem.locator for problem in found.problems] + [item.url for item in items]
            for index, item in enumerate(items):
                if _fresh(item, stored.get(item.url)):
                    state.outcomes[offset + index] = Unchanged(item.url)
            state.listed = True
            self._advance(state)
        self._listings.put((source, found))
        for index, item in enumerate(items, start=offset):
            if state.outcomes[index] is not None:
                continue
            await self._permit(state)
            state.held[index] = True
            known = stored.get(item.url, Stored())
            self._spawn(self._page(state, index, item, (known.etag, known.last_modified), known.sha256))

    async def _permit(self, state: _SourceState) -> None:
        assert self._budget is not None
        waits = state.window.locked() or self._budget.locked()
        if waits:  # next_batch cuts a batch sooner: only a load makes room
            with self._changed:
                self._waiting += 1
                self._changed.notify_all()
        try:
            await state.window.acquire()
            await self._budget.acquire()
        finally:
            if waits:
                with self._changed:
                    self._waiting -= 1

    async def _page(
        self, state: _SourceState, index: int, item: WebItem, validators: tuple[str | None, str | None], sha: str | None
    ) -> None:
        try:
            outcome = await self.frontier.page(item, validators, sha, self.pool)
        except Exception as exc:  # frontier.page returns its failures; this is a bug: the page fails, the run goes on
            outcome = Problem(item.url, "failed", "fetch", f"{type(exc).__name__}: {exc}")
        with self._changed:
            state.outcomes[index] = outcome
            state.fetched += 1
            self._advance(state)

    def _advance(self, state: _SourceState) -> None:
        """Move the source's ready mark past the outcomes now known (under the lock)."""
        while state.ready < len(state.outcomes) and state.outcomes[state.ready] is not None:
            state.ready += 1
        self._changed.notify_all()

    def _release(self, permits: dict[str, int]) -> None:
        assert self._budget is not None
        for name, n in permits.items():
            for _ in range(n):
                self._states[name].window.release()
                self._budget.release()

    async def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # From the flow's threads.

    def listings(self) -> Iterator[tuple[Source, Discovery]]:
        """Each source's listing as it comes in, until every source's has."""
        for _ in self._sources:
            yield self._listings.get()

    def exhausted(self) -> bool:
        """Every source listed and every outcome handed to a load."""
        with self._changed:
            return self._complete() and all(s.taken == len(s.outcomes) for s in self._states.values())

    def next_batch(self, batch_size: int) -> WebBatch:
        """Wait for, then take, the next outcomes to load: up to `batch_size`,
        each source's in its order (see MIN_INTERVAL for when a batch is cut).
        Empty only when the last sources to be listed listed nothing."""
        with self._changed:
            while True:
                ready = self._ready()
                now = time.monotonic()
                interval = max(MIN_INTERVAL, INTERVAL_SHARE * (now - self._started))
                due = self._last_cut + (STARVED_INTERVAL if self._waiting else interval)
                if ready >= batch_size or self._complete() or (ready and now >= due):
                    break
                self._changed.wait(timeout=max(due - now, 0.05) if ready else None)
            parts: list[tuple[str, list[Item]]] = []
            permits: dict[str, int] = {}
            room = batch_size
            for name, state in self._states.items():
                if room <= 0:
                    break
                end = min(state.ready, state.taken + room)
                if end > state.taken:
                    outcomes = state.outcomes[state.taken : end]
                    parts.append((name, [item for item in outcomes if item is not None]))
                    permits[name] = sum(state.held[state.taken : end])
                    for index in range(state.taken, end):  # handed over: the load holds them now
                        state.outcomes[index] = _TAKEN
                    room -= end - state.taken
                    state.taken = end
            self._batches += 1
            self._last_cut = time.monotonic()
            return WebBatch(self._batches, parts, permits)

    def release(self, batch: WebBatch) -> None:
        """A batch's load is over, whatever its outcome: its pages leave the
        flight, and more can be fetched. From any thread; once per batch counts."""
        with self._changed:
            if batch.number in self._released:
                return
            self._released.add(batch.number)
        self.frontier.call_soon(self._release, batch.permits)

    def settled(self, batch: WebBatch) -> None:
        """A batch's load is over and its outcome recorded (loaded, or its items failed)."""
        self.release(batch)
        with self._changed:
            for name, items in batch.parts:
                self._states[name].settled += len(items)

    def source_finished(self, name: str) -> bool:
        """Whether every item of source `name` has been listed and its load is over."""
        with self._changed:
            state = self._states.get(name)
            return state is not None and state.listed and state.settled == len(state.outcomes)

    def listed(self, name: str) -> int | None:
        """Items of source `name` (its listing's URLs and problems) once it is listed; None before."""
        with self._changed:
            state = self._states.get(name)
            return len(state.outcomes) if state is not None and state.listed else None

    def fetched(self, name: str) -> int:
        """Pages of source `name` answered so far."""
        with self._changed:
            state = self._states.get(name)
            return state.fetched if state is not None else 0

    def _ready(self) -> int:
        return sum(state.ready - state.taken for state in self._states.values())

    def _complete(self) -> bool:
        return len(self._states) == len(self._sources) and all(
            state.listed and state.ready == len(state.outcomes) for state in self._states.values()
        )


# What stands in an outcome's place once a load holds it (memory goes with the load).
_TAKEN = Unchanged("")


def _fresh(item: WebItem, stored: Stored | None) -> bool:
    """A listing that dates its entries lets us skip pages stored since they last changed."""
    return (
        stored is not None
        and item.changed_at is not None
        and stored.fetched_at is not None
        and stored.fetched_at >= item.changed_at
    )
