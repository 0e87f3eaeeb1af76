"""The crawl frontier: every web request of a run, in this process, goes through one.

An event loop in its own thread holds one HTTP client and one `Politeness`:
per origin, robots.txt read once per run (revalidated against the copy kept
in `http_cache`, which stands in for at most a day when the site cannot be
reached), request starts spaced in this process, at most `per_host` requests at once
to an origin and `global_limit` in all; an origin is leased to one process
at a time through `host_schedule` in PostgreSQL, so concurrent runs and
workers keep the spacing and the per-host limit too. A run's `WebPipeline` (`pipeline`) lists
every web source on it at once and fetches their pages side by side, each
host at its own pace, so a slow host delays only its own items. Pages are
handed to the extraction pool as they arrive, so extraction runs beside the
fetching.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable, Coroutine, Iterable, Sequence
from concurrent.futures import Executor
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urlsplit

import anyio
import h11  # noqa: F401 (imported before the first request, see Frontier._open)
import httpx
from sqlalchemy.engine import Engine

from newsdesk.tasks import packing
from newsdesk.tasks.extract import budget
from newsdesk.tasks.records import Problem, Rejected, Unchanged
from newsdesk.tasks.sources import Source
from newsdesk.tasks.store import host_schedule, http_cache, shared_robots, versions
from newsdesk.tasks.web import crawl, fetch
from newsdesk.tasks.web.listings import WebItem
from newsdesk.tasks.web.origins import host_key
from newsdesk.tasks.web.pages import Item, prepare_page
from newsdesk.tasks.web.pipeline import Stored, WebPipeline, source_window

T = TypeVar("T")


class Frontier:
    """One run's web fetching in this process (see the module docstring)."""

    def __init__(self, settings: fetch.FetchSettings, engine: Engine):
        self.settings = settings
        self.engine = engine
        self.trusted_hosts: set[str] = set()
        self.limits = budget.Limits.from_env()  # each page's extraction budget, sent with it
        self.schedule = host_schedule.HostSchedule(engine)
        self.robots = _RobotsInPostgres(engine)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="newsdesk-frontier", daemon=True)
        self._thread.start()
        self.politeness: fetch.Politeness = self.call(self._open())

    async def _open(self) -> fetch.Politeness:
        # The first connection would start anyio's resolver thread and import
        # the HTTP/1.1 code, tens of milliseconds between a request's turn and
        # its arrival that the next request, on time, would not have: done now.
        await anyio.getaddrinfo("127.0.0.1", 80)
        await asyncio.get_running_loop().getaddrinfo("127.0.0.1", 80)
        client = fetch.client(self.settings, self.trusted_hosts)
        return fetch.Politeness(client, self.settings, schedule=self.schedule, robots_cache=self.robots)

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` on the frontier's loop; block this thread until it ends."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def call_soon(self, function: Callable[..., Any], *args: Any) -> None:
        """Schedule `function(*args)` on the frontier's loop, from any thread."""
        self._loop.call_soon_threadsafe(function, *args)

    def trust(self, hosts: Iterable[str]) -> None:
        """Hosts of the operator's own URLs: connected to as written."""
        self.trusted_hosts.update(host_key(host) for host in hosts)

    async def discover(self, source: Source) -> crawl.Discovery:
        """The article URLs a page, feed or sitemap source lists (on the loop)."""
        return await crawl.discover(self.politeness, source, self.engine, self.settings)

    async def page(
        self,
        item: WebItem,
        validators: tuple[str | None, str | None],
        stored_sha256: str | None,
        pool: Executor,
    ) -> Item:
        """Fetch one page (a conditional GET with its stored `validators`) and
        prepare it in `pool` (on the loop): its outcome, never an exception."""
        etag, last_modified = validators
        try:
            fetched = await fetch.fetch(self.politeness, item.url, etag=etag, last_modified=last_modified)
        except Rejected as rejected:
            return Problem(item.url, "rejected", "fetch", rejected.reason)
        except fetch.FetchFailed as failed:
            return Problem(item.url, "failed", "fetch", failed.reason)
        except Exception as exc:  # a bug or a library failure: this page fails, the run goes on
            return Problem(item.url, "failed", "fetch", f"{type(exc).__name__}: {exc}")
        if fetched.not_modified:
            return Unchanged(item.url)
        try:
            return await asyncio.get_running_loop().run_in_executor(
                pool, _prepare_page, item, fetched, stored_sha256, self.limits
            )
        except Exception as exc:  # the extraction process died: this page fails
            return Problem(item.url, "failed", "clean", f"{type(exc).__name__}: {exc}")

    def close(self) -> None:
        async def shut() -> None:
            await self.politeness.client.aclose()
            await self.politeness.release_leases()
            await self.schedule.close()
            await self.robots.close()

        try:
            self.call(shut())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()


def _prepare_page(item: WebItem, fetched: fetch.Fetched, stored_sha256: str | None, limits: budget.Limits) -> Item:
    """In an extraction worker: the page prepared within `limits`, and its raw
    bytes packed for storage (only the packed form goes back: the loop's
    process has the page)."""
    return packing.packed(prepare_page(item, fetched, stored_sha256=stored_sha256, limits=limits), keep_raw=False)


class _RobotsInPostgres:
    """robots.txt kept across runs in `http_cache`, and its reads shared with
    the processes running meanwhile (`shared_robots`): a copy read after this
    process's frontier opened is current, and used without a request."""

    def __init__(self, engine: Engine):
        self.shared = shared_robots.SharedRobots(engine, uuid.uuid4().hex)

    async def claim(self, origin: str, seconds: float) -> tuple[bool, fetch.CachedRobots | None]:
        taken, kept = await self.shared.claim(origin, seconds)
        return taken, fetch.CachedRobots(*kept) if kept is not None else None

    async def save(self, origin: str, etag: str | None, last_modified: str | None, body: bytes | None) -> None:
        await self.shared.save(origin, etag, last_modified, body)

    async def release(self, origin: str) -> None:
        await self.shared.release(origin)

    async def close(self) -> None:
        await self.shared.close()


_frontiers: dict[int, Frontier] = {}
_frontiers_lock = threading.Lock()


def frontier_for(run_id: int, settings: fetch.FetchSettings, engine: Engine) -> Frontier:
    """The frontier of run `run_id` in this process, opened on first use."""
    with _frontiers_lock:
        frontier = _frontiers.get(run_id)
        if frontier is None:
            frontier = _frontiers[run_id] = Frontier(settings, engine)
        return frontier


_pipelines: dict[int, WebPipeline] = {}


def open_pipeline(
    run_id: int,
    sources: Sequence[Source],
    engine: Engine,
    settings: fetch.FetchSettings,
    pool: Executor,
    pages_in_flight: int,
    batch_size: int,
) -> WebPipeline:
    """Start listing, fetching and preparing the run's web `sources` on its
    frontier in this process (see `pipeline`); the pipeline is returned and
    kept as the run's (`pipeline_of`). Their hosts are trusted as written."""
    front = frontier_for(run_id, settings, engine)
    front.trust(host for source in sources for host in hosts_of(source))
    window = source_window(pages_in_flight, batch_size)
    web = WebPipeline(front, sources, partial(_stored, engine), pool, pages_in_flight, window)
    front.call(web.start())
    _pipelines[run_id] = web
    return web


def pipeline_of(run_id: int) -> WebPipeline:
    """The web pipeline of run `run_id` in this process (`open_pipeline`)."""
    return _pipelines[run_id]


def _stored(engine: Engine, urls: list[str]) -> dict[str, Stored]:
    if not urls:
        return {}
    stored = versions.stored_versions(engine, urls)
    validators = http_cache.validators(engine, urls)
    return {
        url: Stored(
            stored[url].content_sha256 if url in stored else None,
            stored[url].fetched_at if url in stored else None,
            *validators.get(url, (None, None)),
        )
        for url in stored.keys() | validators.keys()
    }


def close_frontier(run_id: int) -> None:
    """Close the run's frontier in this process, if it has one (and stop its pipeline's work)."""
    with _frontiers_lock:
        frontier = _frontiers.pop(run_id, None)
        web = _pipelines.pop(run_id, None)
    if frontier is not None:
        if web is not None:
            frontier.call(web.cancel())
        frontier.close()


def hosts_of(source: Source) -> set[str]:
    """The hosts the operator named for a source: trusted as written."""
    urls = [source.url] if source.url else list(source.urls)
    hosts = set()
    for url in urls:
        try:
            hosts.add(httpx.URL(url).raw_host.decode("ascii"))  # as connected to: IDNA-encoded
        except (httpx.InvalidURL, ValueError, UnicodeDecodeError):
            if host := urlsplit(url).hostname:
                hosts.add(host)
    return {host_key(host) for host in hosts if host}
