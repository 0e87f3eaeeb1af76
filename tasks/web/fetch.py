"""Polite HTTP fetching with httpx: robots.txt, per-host limits, retries, conditional GET.

A site operator should have no reason to block newsdesk: every request names
newsdesk and its version, robots.txt (`robots`, RFC 9309) is read once per
host and obeyed (Disallow and Crawl-delay), at most `per_host` requests run
at once per host with a delay between them, and failures back off. A host is
one origin however its URLs spell it (`origins`). Each host, and the run,
has a time budget: past it, a host's remaining URLs fail, to be tried next
run. Responses are bounded (size after decompression, redirects, content
type), and only http and https URLs are ever requested, including redirect
targets.
"""

from __future__ import annotations

import asyncio
import email.utils
import os
import random
import socket
import ssl
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import urljoin, urlsplit

import h11
import httpx

from newsdesk import __version__
from newsdesk.config import Settings
from newsdesk.tasks.records import Rejected
from newsdesk.tasks.web.addresses import AddressPolicy, AddressRefused, IPNetwork, VettingBackend
from newsdesk.tasks.web.decompress import BoundedDecoder, BrokenBody
from newsdesk.tasks.web.leases import OriginLeases, Schedule
from newsdesk.tasks.web.origins import origin as _origin
from newsdesk.tasks.web.permits import PAGE, ROBOTS, PriorityPermits
from newsdesk.tasks.web.robots import Rules, disallow_all, product_token
from newsdesk.tasks.web.transport import OriginPools

HTML_TYPES = ("text/html", "application/xhtml+xml")
FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/xml",
    "text/xml",
    "application/feed+json",
    "application/json",
    "text/plain",
)
SITEMAP_TYPES = (
    "application/xml",
    "text/xml",
    "application/gzip",
    "application/x-gzip",
    "application/octet-stream",
    "text/plain",
)
# What a listing is asked for as; its body, not its Content-Type, decides what it is.
LISTING_TYPES = tuple(dict.fromkeys(FEED_TYPES + SITEMAP_TYPES))
RETRY_STATUSES = {429, 500, 502, 503, 504}
# Google reads this much of a robots.txt and ignores the rest.
ROBOTS_MAX_BYTES = 500 * 1024


class FetchFailed(Exception):
    """Retries exhausted on a failure that might pass (timeouts, 5xx, 429)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class FetchSettings:
    user_agent: str = f"newsdesk/{__version__} (news ingestion; +https://pypi.org/project/newsdesk/)"
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    # The read timeout bounds each wait for the next bytes, so a server that sends
    # a byte now and then never trips it: a whole response (first byte to last,
    # redirects included) gets this long per attempt.
    response_deadline: float = 120.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    per_host: int = 2
    host_delay: float = 0.25  # seconds between request starts on one host
    # Added to every delay: a request that wakes a few milliseconds late, or a
    # server that notes it late, must still see the delay between two requests.
    spacing_margin: float = 0.02
    max_crawl_delay: float = 30.0  # a robots.txt Crawl-delay is honoured up to this
    global_limit: int = 64
    retries: int = 3
    backoff: float = 1.0  # first retry after about this many seconds, doubling
    max_retry_after: float = 60.0
    # Ranges a URL that the operator did not configure may reach besides public
    # addresses (NEWSDESK_ALLOW_NETWORKS; see tasks.web.addresses).
    allow_networks: tuple[IPNetwork, ...] = ()
    # Seconds a host may take from its first request in a run, and the run's
    # fetching from its first; past them, what is left fails and is tried
    # next run (docs/politeness.md says why these defaults).
    host_budget: float = 3600.0
    run_budget: float = 4 * 3600.0
    # CPU seconds one listing (feed, sitemap) may take to parse.
    listing_cpu_budget: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchSettings:
        """The fetcher's settings from newsdesk's environment settings."""
        defaults = cls()
        return cls(
            user_agent=settings.user_agent or defaults.user_agent,
            max_bytes=settings.max_file_bytes,
            per_host=settings.per_host,
            host_delay=settings.host_delay,
            global_limit=settings.fetch_concurrency,
            read_timeout=settings.fetch_timeout,
            connect_timeout=min(settings.fetch_timeout, defaults.connect_timeout),
            response_deadline=settings.fetch_deadline,
            retries=settings.fetch_retries,
            allow_networks=settings.allow_networks,
            host_budget=settings.host_budget,
            run_budget=settings.run_budget,
            listing_cpu_budget=settings.listing_cpu_budget,
        )


@dataclass(slots=True)
class Fetched:
    url: str
    final_url: str
    not_modified: bool
    body: bytes = b""
    media_type: str = ""
    charset: str | None = None
    etag: str | None = None
    last_modified: str | None = None


class RobotsUnreachable(Exception):
    """robots.txt could not be read (refused, timed out, 5xx): the site's pages
    fail with this reason and are tried again next run."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = f"robots.txt unreachable: {reason}"


@dataclass(frozen=True)
class CachedRobots:
    """A site's robots.txt as a run read it (`body` None: it had none).
    `current`: read by another process while this one's frontier was open
    (a concurrent run or worker), so used as it is, without a request."""

    etag: str | None
    last_modified: str | None
    body: bytes | None
    age_seconds: float
    current: bool = False


class RobotsCache(Protocol):
    """Where robots.txt outlives a run and is shared by processes (newsdesk
    keeps it in `http_cache`, and its reads in `robots_reads`)."""

    async def claim(self, origin: str, seconds: float) -> tuple[bool, CachedRobots | None]:
        """The copy of `origin`'s robots.txt kept, and whether this process now
        holds its read for up to `seconds`: not when the copy is current, nor
        while another process is reading it."""
        ...

    async def save(self, origin: str, etag: str | None, last_modified: str | None, body: bytes | None) -> None:
        """Keep a robots.txt as read (or revalidated), and end this process's read."""
        ...

    async def release(self, origin: str) -> None:
        """End this process's read (a no-op after `save`)."""
        ...


# RFC 9309, 2.4: a cached robots.txt is used for at most a day.
ROBOTS_MAX_AGE = 24 * 3600.0
# How often a process waiting for another's robots.txt read looks again.
SHARED_POLL = 0.05


@dataclass
class Politeness:
    """Per-host state shared by every request of a run in this process: robots.txt
    read once per host (and once for every process running meanwhile, through
    `robots_cache`), request starts spaced by the host's delay (in this
    process), at most `per_host` requests at once to a host and
    `global_limit` in all, within the host's and the run's time budgets.
    With `schedule`, a host is leased to one process at a time (`leases`), so
    the spacing and the per-host limit hold across processes too. Hosts are
    keyed by their origin in one form (`origins`)."""

    client: httpx.AsyncClient
    settings: FetchSettings
    schedule: Schedule | None = None
    robots_cache: RobotsCache | None = None
    robots: dict[str, Rules | RobotsUnreachable | None] = field(default_factory=dict)
    _robots_locks: dict[str, asyncio.Lock] = field(default_factory=lambda: defaultdict(asyncio.Lock))
    _host_slots: dict[str, asyncio.Semaphore] = field(default_factory=dict)
    _next_start: dict[str, float] = field(default_factory=dict)
    _last_sent: dict[str, float] = field(default_factory=dict)  # when headers were last written, per origin
    _sending: dict[str, asyncio.Event] = field(default_factory=dict)  # origins whose headers are being written
    _global: PriorityPermits | None = None
    _run_started: float | None = None  # the loop's clock at the run's first request
    _host_started: dict[str, float] = field(default_factory=dict)
    _queued: dict[str, int] = field(default_factory=dict)  # per origin: requests not yet started (leases' idle test)
    _leases: OriginLeases | None = None

    @property
    def token(self) -> str:
        """The product token robots.txt groups are matched against."""
        return product_token(self.settings.user_agent)

    async def allowed(self, url: str) -> bool:
        """Whether robots.txt lets us fetch `url`; raises `RobotsUnreachable`
        when it cannot be read, `AddressRefused` when its host may not be reached."""
        host = _origin(url)
        async with self._robots_locks[host]:
            if host not in self.robots:
                self.robots[host] = await self._shared_robots(host)
        rules = self.robots[host]
        if isinstance(rules, RobotsUnreachable):
            raise rules
        return rules is None or rules.allowed(url)

    async def _shared_robots(self, origin: str) -> Rules | RobotsUnreachable | None:
        """robots.txt as another process read it while this one ran, else read
        here, while other processes wait for this read (`robots_cache.claim`)."""
        cache = self.robots_cache
        if cache is None:
            return await self._read_robots(origin, None)
        while True:
            taken, cached = await cache.claim(origin, self._request_seconds())
            if cached is not None and cached.current:
                return self._rules(cached.body)
            if taken:
                break
            await asyncio.sleep(SHARED_POLL)
        try:
            return await self._read_robots(origin, cached)
        finally:
            await cache.release(origin)

    async def _read_robots(self, origin: str, cached: CachedRobots | None) -> Rules | RobotsUnreachable | None:
        """None means everything is allowed (no robots.txt)."""
        headers = {}
        if cached is not None and cached.etag:
            headers["If-None-Match"] = cached.etag
        if cached is not None and cached.last_modified:
            headers["If-Modified-Since"] = cached.last_modified
        try:
            async with (
                self.slot(origin, ROBOTS),
                asyncio.timeout(self.settings.response_deadline),
                self.client.stream(
                    "GET",
                    f"{origin}/robots.txt",
                    headers=headers,
                    follow_redirects=True,  # at most `max_redirects` (the client's), each hop checked
                    extensions={"trace": self.tracer(origin)},
                ) as response,
            ):
                status = response.status_code
                body = await read_body(response, ROBOTS_MAX_BYTES) if status == 200 else b""
                etag, last_modified = response.headers.get("etag"), response.headers.get("last-modified")
        except AddressRefused:
            raise
        except (httpx.TimeoutException, TimeoutError):
            return self._unreachable(cached, "timed out")
        except httpx.TransportError as exc:
            return self._unreachable(cached, _transport_reason(exc))
        except (httpx.HTTPError, BrokenBody, Rejected):
            # Redirected off http(s), more than `max_redirects` redirects (a
            # loop), or not decodable: the site is readable but its rules are
            # not, so nothing is allowed.
            return disallow_all(self.token)
        if status == 304 and cached is not None:
            await self._remember(origin, cached.etag, cached.last_modified, cached.body)
            return self._rules(cached.body)
        if status >= 500 or status == 429:
            return self._unreachable(cached, f"HTTP {status}")
        if status >= 400:  # RFC 9309: "unavailable" (4xx) means no restrictions
            await self._remember(origin, None, None, None)
            return None
        await self._remember(origin, etag, last_modified, body[:ROBOTS_MAX_BYTES])
        return self._rules(body[:ROBOTS_MAX_BYTES])

    def _rules(self, body: bytes | None) -> Rules | None:
        return Rules(body, self.token) if body else None

    def _unreachable(self, cached: CachedRobots | None, reason: str) -> Rules | RobotsUnreachable | None:
        if cached is not None and cached.age_seconds <= ROBOTS_MAX_AGE:
            return self._rules(cached.body)
        return RobotsUnreachable(reason)

    async def _remember(self, origin: str, etag: str | None, last_modified: str | None, body: bytes | None) -> None:
        if self.robots_cache is not None:
            await self.robots_cache.save(origin, etag, last_modified, body)

    def _delay(self, origin: str) -> float:
        rules = self.robots.get(origin)
        crawl_delay = rules.crawl_delay() if isinstance(rules, Rules) else None
        return min(max(self.settings.host_delay, crawl_delay or 0), self.settings.max_crawl_delay)

    def budget_end(self, origin: str) -> tuple[float, str]:
        """When (the loop's clock) requests to `origin` must stop, and the
        reason its remaining URLs then fail: the host's budget, counted from
        its first request in this run, or the run's, whichever ends first."""
        now = asyncio.get_running_loop().time()
        run_started = self._run_started = self._run_started if self._run_started is not None else now
        host_started = self._host_started.setdefault(origin, now)
        host_end = host_started + self.settings.host_budget
        run_end = run_started + self.settings.run_budget
        if host_end <= run_end:
            return host_end, (
                f"time budget spent: {origin} has had {self.settings.host_budget:g} s this run (tried next run)"
            )
        return run_end, f"time budget spent: the run's fetching has had {self.settings.run_budget:g} s (tried next run)"

    @asynccontextmanager
    async def slot(self, origin: str, priority: int = PAGE):
        """Hold a request slot on `origin`: its turn in the host's spacing and
        within the concurrency limits, inside this process's lease of the
        host when processes share a `schedule`. The turn is waited for before
        a permit of the global limit is taken, so hosts waiting for their
        turn never hold up hosts whose turn it is; permits go to pages before
        listings before robots.txt (`permits`)."""
        if self._global is None:
            self._global = PriorityPermits(self.settings.global_limit)
        host_slot = self._host_slots.setdefault(origin, asyncio.Semaphore(self.settings.per_host))
        self._queued[origin] = self._queued.get(origin, 0) + 1
        queued = True
        try:
            async with host_slot:
                delay = self._delay(origin)
                spacing = delay + self.settings.spacing_margin if delay > 0 else 0.0
                if spacing > 0:
                    wait = self._local_turn(origin, spacing)
                    if wait > 0:
                        await asyncio.sleep(wait)
                leases = self._origin_leases()
                if leases is not None:
                    await leases.enter(origin, spacing)
                self._queued[origin] -= 1
                queued = False
                try:
                    async with self._global.hold(priority):
                        yield
                finally:
                    if leases is not None:
                        leases.leave(origin)
        finally:
            if queued:
                self._queued[origin] -= 1

    def _request_seconds(self) -> float:
        """The longest a request may take (a robots.txt read's lease, and the
        time a dead holder's requests may still run, must cover it):
        connecting, then its deadline."""
        return self.settings.response_deadline + self.settings.connect_timeout

    def _origin_leases(self) -> OriginLeases | None:
        if self.schedule is not None and self._leases is None:
            self._leases = OriginLeases(
                self.schedule, self._request_seconds(), lambda o: self._queued.get(o, 0), self._last_sent.get
            )
        return self._leases

    async def release_leases(self) -> None:
        """Give back the hosts this process still holds (the run is ending)."""
        if self._leases is not None:
            await self._leases.release_all()

    def tracer(self, origin: str) -> Callable[[str, dict], Awaitable[None]]:
        """An httpcore trace hook for a request to `origin` that spaces the
        moments requests' bytes leave: its headers wait until the last
        request's headers to that origin from this process have been written
        and a full delay has passed since (other processes' requests are
        kept apart by the host's lease). Spacing counts from when the last headers were
        written, not from when they were cleared to go: a busy event loop can
        hold a request between the two, and that request must not then leave
        just before the next one. So neither a slow connection setup nor a
        stalled loop brings two requests closer."""

        async def trace(event: str, info: dict) -> None:
            if event == "http11.send_request_headers.started":
                await self._await_turn(origin)
            elif event in ("http11.send_request_headers.complete", "http11.send_request_headers.failed"):
                await self._sent(origin)

        return trace

    async def _await_turn(self, origin: str) -> None:
        """Wait until a request to `origin` may write its headers, then hold
        the origin's sending turn until `_sent`."""
        delay = self._delay(origin)
        if delay <= 0:
            return
        delay += self.settings.spacing_margin
        while True:
            if (sending := self._sending.get(origin)) is not None:
                await sending.wait()
                continue
            if (gap := self._last_sent.get(origin, -delay) + delay - time.monotonic()) > 0:
                await asyncio.sleep(gap)
                continue
            break
        self._sending[origin] = asyncio.Event()

    async def _sent(self, origin: str) -> None:
        """The headers of the request holding `origin`'s sending turn are
        written (or failed to be): the next delay counts from now."""
        self._last_sent[origin] = time.monotonic()
        if (sending := self._sending.pop(origin, None)) is not None:
            sending.set()

    def _local_turn(self, origin: str, delay: float) -> float:
        """This process's next turn on `origin`, `delay` after the last one
        handed out: the seconds until it (its requests queue here, each
        waiting for its turn before it takes a permit of the global limit)."""
        now = time.monotonic()
        start = max(now, self._next_start.get(origin, now))
        self._next_start[origin] = start + delay
        return start - now


def _transport_reason(exc: httpx.TransportError) -> str:
    """What an operator should read: "connection refused", "TLS handshake
    failed: …", "DNS: name not found", not an errno dump (nor anyio's "All
    connection attempts failed", whose cause says which)."""
    named = _named_failure(exc)
    if named is not None:
        return named
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.errno and cause.errno > 0:
            return os.strerror(cause.errno).lower()
        cause = cause.__cause__ or cause.__context__
    text = str(exc) or type(exc).__name__
    lowered = text.lower()
    for known in ("connection refused", "no route to host", "network is unreachable"):
        if known in lowered:
            return known
    return text


# getaddrinfo's answers (socket.EAI_*), as an operator should read them.
_DNS_REASONS = {
    socket.EAI_NONAME: "name not found",
    socket.EAI_AGAIN: "temporary failure (no answer from the name server)",
    socket.EAI_FAIL: "the name server failed",
}
if hasattr(socket, "EAI_NODATA"):
    _DNS_REASONS[socket.EAI_NODATA] = "name not found"


def _named_failure(exc: BaseException) -> str | None:
    """ "TLS handshake failed: …" or "DNS: …" when a TLS or DNS error is
    behind `exc` (an SSL error carries an SSL error number, and getaddrinfo a
    negative EAI code: neither is an errno that os.strerror can name)."""
    cause: BaseException | None = exc
    seen = 0
    while cause is not None and seen < 20:
        if isinstance(cause, ssl.SSLError):
            detail = getattr(cause, "verify_message", None) or cause.reason or str(cause)
            return f"TLS handshake failed: {str(detail).lower().replace('_', ' ')}"
        if isinstance(cause, socket.gaierror):
            known = _DNS_REASONS.get(cause.errno) if cause.errno is not None else None
            return f"DNS: {known or cause.strerror or 'lookup failed'}"
        cause = cause.__cause__ or cause.__context__
        seen += 1
    return None


def check_scheme(url: str) -> None:
    """Refuse anything but a well-formed http or https URL, with the reason."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. "http://[::1/": an unclosed IPv6 address
        raise Rejected("fetch", f"invalid URL ({exc}): {url[:200]}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise Rejected(
            "fetch", f"refused: only http and https are fetched, not {scheme or 'a relative URL'}: {url[:200]}"
        )
    try:
        _ = parts.port  # a port out of range raises here, not in httpx
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL) as exc:  # a port out of range, a malformed host...
        raise Rejected("fetch", f"invalid URL ({exc}): {url[:200]}") from None
    if not parts.hostname:
        raise Rejected("fetch", f"invalid URL (no host): {url[:200]}")


async def _refuse_bad_redirect(response: httpx.Response) -> None:
    """A redirect's target is checked here, before httpx reads the Location
    header itself (it raises on a data: or javascript: target, for one), so
    that a redirect anywhere but http(s) is refused with the reason."""
    if response.has_redirect_location:
        location = response.headers["location"]
        try:
            target = urljoin(str(response.request.url), location)
        except ValueError as exc:  # "http://[::1/x": no URL parser reads it
            raise Rejected("fetch", f"malformed response: bad Location header ({exc}): {location[:200]!r}") from None
        check_scheme(target)


def client(settings: FetchSettings, trusted_hosts: set[str] | None = None) -> httpx.AsyncClient:
    """An HTTP client for a run. With `trusted_hosts` (the hosts of the
    operator's own URLs, lower case; the set is read at each connection, so
    hosts added later count), every connection goes through the address policy:
    trusted hosts connect as written, any other only to the addresses the
    policy allows. None: no policy (a caller that fetches only URLs the
    operator wrote). Proxies from the environment are never used: they would
    connect in our place, unchecked."""
    # A connection to each host is kept open between its requests (its next one
    # comes a host delay later), in a pool of that host's own (`transport`).
    backend = None if trusted_hosts is None else VettingBackend(AddressPolicy(settings.allow_networks), trusted_hosts)
    transport = OriginPools(settings.per_host, backend=backend)
    return httpx.AsyncClient(
        headers={"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate, br"},
        max_redirects=settings.max_redirects,  # robots.txt's, followed by httpx (pages' are followed by hand)
        timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
        follow_redirects=False,  # followed by hand: each hop is checked
        event_hooks={"response": [_refuse_bad_redirect]},
        transport=transport,
        trust_env=False,
    )


async def fetch(
    politeness: Politeness,
    url: str,
    *,
    accept: tuple[str, ...] = HTML_TYPES,
    any_type: bool = False,
    etag: str | None = None,
    last_modified: str | None = None,
    priority: int = PAGE,
) -> Fetched:
    """One URL, politely; raises `Rejected` (will not succeed: 4xx, robots,
    wrong type, too large) or `FetchFailed` (gave up on a failure that might
    pass, or its host's or the run's time budget is spent).
    `accept` is sent as the Accept header and, unless `any_type`, is the only
    Content-Types taken. `priority`: what the request leads to (`permits`)."""
    settings = politeness.settings
    check_scheme(url)
    host = _origin(url)
    loop = asyncio.get_running_loop()
    budget_end, over_budget = politeness.budget_end(host)
    if loop.time() >= budget_end:
        raise FetchFailed(over_budget)
    if not await _allowed(politeness, url):
        raise Rejected("fetch", "robots")
    headers = {"Accept": ", ".join(accept) + ", */*;q=0.1"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    reason = ""
    for attempt in range(settings.retries + 1):
        if loop.time() >= budget_end:
            raise FetchFailed(over_budget)
        budget = asyncio.timeout_at(budget_end)
        try:
            async with budget, politeness.slot(host, priority), asyncio.timeout(settings.response_deadline):
                return await _get(politeness, url, headers, None if any_type else accept)
        except _Retryable as retryable:
            reason = retryable.reason
            wait = _backoff(settings, attempt, retryable.retry_after)
        except httpx.InvalidURL as exc:  # httpx could not make a redirect of the Location header
            raise Rejected("fetch", f"malformed response: bad Location header ({exc})") from None
        except httpx.RemoteProtocolError as exc:
            if _malformed(exc):  # the same bytes come back next time: not worth a retry
                raise Rejected("fetch", f"malformed response: {_protocol_reason(exc)}") from None
            reason = f"{type(exc).__name__}: {exc}"
            wait = _backoff(settings, attempt, None)
        except httpx.TimeoutException as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            wait = _backoff(settings, attempt, None)
        except httpx.TransportError as exc:
            reason = _named_failure(exc) or (f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
            wait = _backoff(settings, attempt, None)
        except TimeoutError:  # the budget, or the response deadline (httpx's timeouts are caught above)
            if budget.expired():
                raise FetchFailed(over_budget) from None
            reason = f"no complete response within {settings.response_deadline:g} s"
            wait = _backoff(settings, attempt, None)
        if attempt < settings.retries:
            await asyncio.sleep(max(0.0, min(wait, budget_end - loop.time())))
    raise FetchFailed(f"gave up after {settings.retries + 1} attempts: {reason}")


def _malformed(exc: BaseException) -> bool:
    """Whether the server's bytes broke HTTP (h11 refused them: headers over
    its limit, a header line without a colon), not the connection dropping."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, h11.RemoteProtocolError):
            return "closed connection" not in str(cause)
        cause = cause.__cause__ or cause.__context__
    return False


def _protocol_reason(exc: httpx.RemoteProtocolError) -> str:
    text = " ".join(str(exc).split())[:200]
    if "Receive buffer too long" in text:  # h11's words for headers past httpcore's limit
        return "headers over the limit of 100 KB"
    return text


async def _allowed(politeness: Politeness, url: str) -> bool:
    try:
        return await politeness.allowed(url)
    except RobotsUnreachable as unreachable:
        raise FetchFailed(unreachable.reason) from None


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None):
        self.reason = reason
        self.retry_after = retry_after


def _backoff(settings: FetchSettings, attempt: int, retry_after: float | None) -> float:
    if retry_after is not None:
        return min(retry_after, settings.max_retry_after)
    return settings.backoff * (2**attempt) * random.uniform(0.5, 1.5)


async def _get(politeness: Politeness, url: str, headers: dict, accept: tuple[str, ...] | None) -> Fetched:
    settings = politeness.settings
    current = url
    for _hop in range(settings.max_redirects + 1):
        trace = politeness.tracer(_origin(current))
        async with politeness.client.stream("GET", current, headers=headers, extensions={"trace": trace}) as response:
            status = response.status_code
            if status in (301, 302, 303, 307, 308) and "location" in response.headers:
                target = urljoin(current, response.headers["location"])  # its scheme checked by the client's hook
                if not await _allowed(politeness, target):
                    raise Rejected("fetch", "robots")
                current = target
                continue
            if status == 304:
                return Fetched(url, current, not_modified=True)
            if status in RETRY_STATUSES:
                raise _Retryable(f"HTTP {status}", _retry_after(response.headers.get("retry-after")))
            if status != 200:
                raise Rejected("fetch", f"HTTP {status}")
            media_type, charset = _content_type(response.headers.get("content-type", ""))
            if accept is not None and media_type and media_type not in accept:
                raise Rejected("fetch", f"content type {media_type} is not one of {', '.join(accept[:3])}…")
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > settings.max_bytes:
                raise Rejected("fetch", f"body of {declared} bytes is over the limit of {settings.max_bytes}")
            try:
                body = await read_body(response, settings.max_bytes)
            except BrokenBody as broken:
                raise Rejected("fetch", str(broken)) from None
            if len(body) > settings.max_bytes:
                raise Rejected("fetch", f"body over the limit of {settings.max_bytes} bytes")
            return Fetched(
                url,
                current,
                not_modified=False,
                body=body,
                media_type=media_type,
                charset=charset,
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
            )
    raise Rejected("fetch", f"more than {settings.max_redirects} redirects (a redirect loop?)")


async def read_body(response: httpx.Response, limit: int) -> bytes:
    """The body, decompressed by us rather than httpx so that it stops growing
    just past `limit` (counted after decompression: a gzip or brotli bomb stops
    there too); longer than `limit` means it was cut there."""
    decoder = BoundedDecoder(response.headers.get("content-encoding"), limit)
    body = bytearray()
    async for chunk in response.aiter_raw():
        body += decoder.decode(chunk)
        if decoder.over:
            break
    return bytes(body)


def _content_type(header: str) -> tuple[str, str | None]:
    media_type, _, params = header.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.lower() == "charset" and value:
            charset = value.strip("\"' ").lower()
    return media_type.strip().lower(), charset


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
