"""Politeness on every input (issue 29), against real servers on 127.0.0.x:
one host however its URLs spell it, robots.txt as RFC 9309 reads it,
failures named truly, a sitemap cut off, IPv6 forms that carry a private
IPv4 address, a listing that takes seconds to parse, a host that drips, and
two processes that share robots.txt and the per-host limit.

Asserted from the servers' side (what arrived, in what order, how many at
once); time is never asserted."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from bench.sites import SimulatedWeb, _handler, _StampingServer
from newsdesk.tasks.records import Rejected
from newsdesk.tasks.web import fetch
from newsdesk.tasks.web.addresses import AddressPolicy, VettingBackend
from newsdesk.tasks.web.listing_parser import ListingFailed, listing_parsers
from newsdesk.tasks.web.transport import OriginPools
from tests.helpers import fetch as query
from tests.helpers import ingests_at_once, run_ingest

DELAY = 0.2
QUICK = fetch.FetchSettings(backoff=0.01, host_delay=0.0, read_timeout=2.0, connect_timeout=2.0, retries=1)


class ScriptedSite(ThreadingHTTPServer):
    """A site on 127.0.0.1 whose paths answer as `routes` say; it notes each
    request's path and arrival, and the most requests it had at once."""

    daemon_threads = True
    request_queue_size = 64

    def __init__(self, routes: dict, address: str = "127.0.0.1", port: int = 0):
        super().__init__((address, port), _ScriptedHandler)
        self.routes = routes
        self.log: list[tuple[float, str]] = []
        self.in_flight = 0
        self.most_at_once = 0
        self.lock = threading.Lock()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def url(self, path: str, host: str | None = None) -> str:
        return f"http://{host or self.server_address[0]}:{self.server_address[1]}{path}"

    def requests_to(self, path: str) -> int:
        return sum(1 for _, p in self.log if p == path)

    def handle_error(self, request, client_address):
        pass  # a client that gave up on a dripping answer

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class _ScriptedHandler(BaseHTTPRequestHandler):
    server: ScriptedSite
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        site = self.server
        with site.lock:
            site.log.append((time.time(), self.path))
            site.in_flight += 1
            site.most_at_once = max(site.most_at_once, site.in_flight)
        try:
            route = site.routes.get(self.path) or site.routes.get("*")
            if route is None:
                self.send(404, b"not found", "text/plain")
            else:
                route(self)
        finally:
            with site.lock:
                site.in_flight -= 1

    def send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def _answer(body: bytes | str, content_type: str = "text/plain", status: int = 200, pause: float = 0.0, until=None):
    """A route answering `body` after `pause` seconds, or as soon as `until()` is true (if given)."""
    data = body.encode() if isinstance(body, str) else body

    def route(handler: _ScriptedHandler) -> None:
        deadline = time.monotonic() + pause
        while time.monotonic() < deadline and not (until and until()):
            time.sleep(0.1)
        handler.send(status, data, content_type)

    return route


PAGE = "<html><head><title>{t}</title></head><body><article><h1>{t}</h1><p>{t} is a report of the day, with enough words to be an article of its own.</p></article></body></html>"


def _page(title: str, pause: float = 0.0):
    return _answer(PAGE.format(t=title), "text/html; charset=utf-8", pause=pause)


def _feed(urls: list[str]) -> bytes:
    items = "".join(f"<item><title>Story {i}</title><link>{u}</link></item>" for i, u in enumerate(urls))
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()


def _sources(tmp_path: Path, *sources: tuple[str, str, str]) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(
        "".join(f'[[source]]\nname = "{name}"\nkind = "{kind}"\nurl = "{url}"\n\n' for name, kind, url in sources),
        encoding="utf-8",
    )
    return path


def _reasons(db, run_id: int) -> dict[str, tuple[str, str]]:
    rows = query(db, "SELECT locator, stage, reason FROM newsdesk.rejections WHERE run_id = :id", id=run_id)
    return {row["locator"]: (row["stage"], row["reason"]) for row in rows}


# --- 1. One host however it is spelled --------------------------------------


@pytest.mark.usefixtures("prefect_server")
def test_one_host_however_its_urls_spell_it_keeps_one_robots_txt_and_the_spacing(db, tmp_path, monkeypatch):
    """`localhost`, `LOCALHOST`, `LocalHost`... and (where port 80 can be
    bound) `127.0.29.1` and `127.0.29.1:80` are one host each: one robots.txt
    request, and requests a delay apart, measured at the servers."""
    monkeypatch.setenv("NEWSDESK_HOST_DELAY", str(DELAY))
    with SimulatedWeb(1, 5, latency=0.01, first_host=1) as web:  # 127.0.0.1, which `localhost` names
        site = web.sites[0]
        port = site.server.server_address[1]
        spellings = ["localhost", "LOCALHOST", "LocalHost", "lOcAlHoSt", "Localhost"]
        urls = [f"http://{spelling}:{port}/page/{i}" for i, spelling in enumerate(spellings)]
        listing = ScriptedSite({"/feed.xml": _answer(_feed(urls), "application/rss+xml")}, "127.0.0.1")
        default_port = _site_on_port_80()
        try:
            sources = [("spelled", "feed", listing.url("/feed.xml", "localhost"))]
            if default_port is not None:
                sources.append(("port-80", "feed", "http://127.0.29.1:80/feed.xml"))
            record = run_ingest(_sources(tmp_path, *sources))
        finally:
            listing.close()
            if default_port is not None:
                default_port.__exit__(None, None, None)
        assert record["n_failed"] == 0 and record["n_rejected"] == 0, _reasons(db, record["id"])
        assert site.requests_to("/robots.txt") == 1
        assert site.closest_gap() >= DELAY, site.closest_pair()
        assert sorted(site.pages_requested().values()) == [1] * 5
        if default_port is not None:
            other = default_port.sites[0]
            assert other.requests_to("/robots.txt") == 1
            assert other.closest_gap() >= DELAY, other.closest_pair()
            assert sorted(other.pages_requested().values()) == [1] * 3


class _Port80Web(SimulatedWeb):
    """One site on 127.0.29.1:80 whose feed names its pages with and without `:80`."""

    def __init__(self):
        super().__init__(1, 3, latency=0.01)
        self.sites[0].address = "127.0.29.1"

    def __enter__(self):
        site = self.sites[0]
        site.server = _StampingServer((site.address, 80), _handler(site))
        threading.Thread(target=site.server.serve_forever, daemon=True).start()
        return self


def _site_on_port_80() -> _Port80Web | None:
    """A site on a default port, serving, when this process may bind one."""
    web = _Port80Web()
    try:
        web.__enter__()
    except OSError:
        return None
    site = web.sites[0]
    urls = ["http://127.0.29.1/page/0", "http://127.0.29.1:80/page/1", "HTTP://127.0.29.1:80/page/2"]
    feed = _feed(urls)
    original = site.answer
    site.answer = lambda path: (200, "application/rss+xml", feed) if path == "/feed.xml" else original(path)
    return web


# --- 2. robots.txt as RFC 9309 reads it, and its redirects -------------------


def _get(url: str, settings: fetch.FetchSettings = QUICK, client: httpx.AsyncClient | None = None):
    return _get_all([url], settings, client)[0]


def _get_all(urls: list[str], settings: fetch.FetchSettings = QUICK, client: httpx.AsyncClient | None = None):
    """Each URL fetched in turn through one Politeness (as one run's frontier
    does), as its result or the exception it raised."""

    async def run():
        async with client or fetch.client(settings) as http:
            polite = fetch.Politeness(http, settings)
            results = []
            for url in urls:
                try:
                    results.append(await fetch.fetch(polite, url))
                except (Rejected, fetch.FetchFailed) as exc:
                    results.append(exc)
            return results

    results = asyncio.run(run())
    if len(urls) == 1 and isinstance(results[0], Exception):
        raise results[0]
    return results


@pytest.mark.parametrize(
    "robots",
    [
        b"\xef\xbb\xbfUser-agent: *\nDisallow: /private/\n",  # a byte order mark before the first group
        b"User-agent: newsdesk\nX-Other: 1\nUser-agent: *\nDisallow: /private/\n",  # a line of another record
        b"User-agent: news\nAllow: /\n\nUser-agent: *\nDisallow: /private/\n",  # `news` is not newsdesk's token
    ],
    ids=["bom", "unknown-line", "product-token"],
)
def test_a_robots_txt_is_read_as_rfc_9309_says(robots):
    site = ScriptedSite({"/robots.txt": _answer(robots), "*": _page("open")})
    try:
        private, open_ = _get_all([site.url("/private/x"), site.url("/open")])
        assert isinstance(private, Rejected) and private.reason == "robots"
        assert open_.body
        assert [path for _, path in site.log] == ["/robots.txt", "/open"]
    finally:
        site.close()


def test_a_robots_txt_redirect_loop_stops_after_five_redirects():
    def loop(handler: _ScriptedHandler) -> None:
        handler.send(301, b"", "text/plain", {"Location": "/robots.txt"})

    site = ScriptedSite({"/robots.txt": loop, "*": _page("p")})
    try:
        with pytest.raises(Rejected, match="robots"):  # rules that cannot be read allow nothing
            _get(site.url("/p"))
        assert site.requests_to("/robots.txt") == 1 + QUICK.max_redirects
        assert site.requests_to("/p") == 0
    finally:
        site.close()


# --- 3. Errors named truly ----------------------------------------------------


def test_a_tls_failure_is_named():
    site = ScriptedSite({"*": _page("p")})  # plain HTTP, asked for TLS
    try:
        url = f"https://127.0.0.1:{site.server_address[1]}/p"
        with pytest.raises(fetch.FetchFailed) as failed:
            _get(url)
        assert failed.value.reason.startswith("robots.txt unreachable: TLS handshake failed: "), failed.value.reason
        assert "exec format" not in failed.value.reason and "not permitted" not in failed.value.reason
    finally:
        site.close()


def test_a_name_not_found_is_named():
    """The system resolver's own answer for an unknown name (socket.gaierror,
    EAI_NONAME), raised by the resolver the address guard calls: a real lookup
    would leave this machine."""

    async def resolver(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    backend = VettingBackend(AddressPolicy(), set(), resolver)
    client = httpx.AsyncClient(transport=OriginPools(2, backend=backend), trust_env=False)
    with pytest.raises(fetch.FetchFailed) as failed:
        _get("http://no-such-host.test/p", client=client)
    assert failed.value.reason == "robots.txt unreachable: DNS: name not found"


# --- 4. A sitemap cut off, and Site-map lines ----------------------------------


@pytest.mark.usefixtures("prefect_server")
def test_a_sitemap_cut_off_inside_a_url_drops_that_url(db, tmp_path):
    site = ScriptedSite({"/robots.txt": _answer("User-agent: *\nAllow: /\n"), "*": _page("p")})
    try:
        whole = "".join(f"<url><loc>{site.url(f'/page_{i}')}</loc></url>" for i in range(3))
        cut = f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{whole}<url><loc>{site.url("/page_")}'
        site.routes["/cut.xml"] = _answer(cut, "application/xml")
        site.routes["/listed.txt"] = _answer(f"User-agent: *\nSite-map: {site.url('/cut.xml')}\n")
        record = run_ingest(_sources(tmp_path, ("cut", "sitemap", site.url("/listed.txt"))))
        paths = [path for _, path in site.log]
        assert "/cut.xml" in paths  # found through its Site-map: line
        assert sorted(p for p in paths if p.startswith("/page_")) == ["/page_0", "/page_1", "/page_2"]
        reasons = _reasons(db, record["id"])
        assert reasons == {
            f"{site.url('/cut.xml')}#url-4": ("discover", f"sitemap cut off inside this URL: {site.url('/page_')!r}")
        }
    finally:
        site.close()


# --- 5. IPv6 forms that carry a private IPv4 address ---------------------------


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("[::7f00:609]", "loopback 127.0.6.9 (IPv4-compatible ::7f00:609)"),
        ("[64:ff9b::7f00:609]", "loopback 127.0.6.9 (NAT64 64:ff9b::7f00:609)"),
        ("[2002:7f00:609::]", "loopback 127.0.6.9 (6to4 2002:7f00:609::)"),
        ("[::ffff:0:7f00:609]", "loopback 127.0.6.9 (IPv4-translated ::ffff:0:7f00:609)"),
        ("[2002:a00:1::1]", "private 10.0.0.1 (6to4 2002:a00:1::1)"),
        ("[fec0::1]", "site-local fec0::1"),
    ],
)
def test_ipv6_forms_of_private_addresses_are_refused_before_connecting(host, reason):
    """A listed URL (no trusted host) on each form: refused by the guard, with
    the IPv4 address it carries, before any connection is tried."""

    async def run():
        async with fetch.client(QUICK, trusted_hosts=set()) as http:
            return await fetch.fetch(fetch.Politeness(http, QUICK), f"http://{host}:8080/x")

    with pytest.raises(Rejected) as refused:
        asyncio.run(run())
    assert refused.value.reason == f"address not allowed: {reason}"


# --- 6. A listing that takes seconds to parse --------------------------------


def _slow_feed(urls: list[str], items: int, depth: int) -> bytes:
    """A feed whose entries' descriptions nest `depth` elements deep: feedparser
    sanitises each, about 1.4 s of CPU per MB here."""
    nested = "<div>" * depth + "x" + "</div>" * depth
    entries = [
        f"<item><title>t{i}</title><link>{urls[i % len(urls)]}</link><description><![CDATA[{nested}]]></description></item>"
        for i in range(items)
    ]
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>{"".join(entries)}</channel></rss>'.encode()
    )


def test_a_listing_over_its_cpu_budget_is_rejected_with_the_reason():
    body = _slow_feed(["http://h.test/p"], 40, 5000)  # ~3 s of CPU
    with pytest.raises(Rejected) as rejected:
        asyncio.run(listing_parsers().parse(body, "http://h.test/feed", max_bytes=len(body), cpu_budget=1))
    assert rejected.value.reason == "listing not parsed within its budget of 1 s of CPU"
    # The pool goes on: the next listing is parsed by a new worker.
    listing = asyncio.run(
        listing_parsers().parse(_feed(["http://h.test/a"]), "http://h.test/f", max_bytes=10**6, cpu_budget=5)
    )
    assert [item.url for item in listing.items] == ["http://h.test/a"]


def test_a_listing_whose_parser_is_killed_says_so_not_over_budget():
    """A parser process that ends without an answer for another cause than its
    CPU limit (here SIGTERM from outside) fails the listing with its exit code."""
    body = _slow_feed(["http://h.test/p"], 40, 5000)  # ~3 s of CPU: still parsing when killed
    parsers = listing_parsers()
    result: dict = {}

    def parse() -> None:
        try:
            asyncio.run(parsers.parse(body, "http://h.test/feed", max_bytes=len(body), cpu_budget=60))
        except Exception as exc:  # what the test looks at
            result["error"] = exc

    thread = threading.Thread(target=parse)
    thread.start()
    deadline = time.monotonic() + 60
    workers: list = []
    while not workers and time.monotonic() < deadline:
        workers = [child for child in multiprocessing.active_children() if child.name == "newsdesk-listing"]
        time.sleep(0.05)
    assert workers, "no listing worker started"
    time.sleep(0.3)  # the feed is sent and being parsed
    for worker in workers:
        os.kill(worker.pid, signal.SIGTERM)
    thread.join(timeout=120)
    assert isinstance(result.get("error"), ListingFailed), result
    assert result["error"].reason == f"the listing's parser process ended (exit code {-signal.SIGTERM})"


@pytest.mark.usefixtures("prefect_server")
def test_a_huge_listing_does_not_hold_up_another_sources_pages(db, tmp_path, monkeypatch):
    """The huge feed (seconds of CPU to parse) is in first; the normal source's
    feed comes a little later. Every page of the normal source arrives at its
    server before the huge feed's own page, which is requested only once the
    huge feed is parsed: its parse did not stop the normal source's fetching."""
    monkeypatch.setenv("NEWSDESK_HOST_DELAY", str(DELAY))
    huge = ScriptedSite({"/robots.txt": _answer("User-agent: *\nAllow: /\n"), "*": _page("huge page")}, "127.0.29.2")
    normal = ScriptedSite({"/robots.txt": _answer("User-agent: *\nAllow: /\n")}, "127.0.29.3")
    try:
        huge.routes["/feed.xml"] = _answer(_slow_feed([huge.url("/only")], 60, 5000), "application/rss+xml")
        pages = [normal.url(f"/n{i}") for i in range(6)]
        normal.routes.update({f"/n{i}": _page(f"normal {i}") for i in range(6)})
        normal.routes["/feed.xml"] = _answer(_feed(pages), "application/rss+xml", pause=0.3)
        record = run_ingest(
            _sources(tmp_path, ("huge", "feed", huge.url("/feed.xml")), ("normal", "feed", normal.url("/feed.xml")))
        )
        assert record["n_failed"] == 0, _reasons(db, record["id"])
        huge_page_at = min(t for t, path in huge.log if path == "/only")
        normal_pages_at = [t for t, path in normal.log if path.startswith("/n")]
        assert len(normal_pages_at) == 6
        assert max(normal_pages_at) < huge_page_at
    finally:
        huge.close()
        normal.close()


# --- 7. A host that drips, within its time budget ---------------------------


@pytest.mark.usefixtures("prefect_server")
def test_a_dripping_host_is_held_to_its_time_budget(db, tmp_path, monkeypatch):
    """Each page drips a byte every 0.2 s: with a fetch deadline of 60 s and 3
    retries, its URLs would hold the run for minutes each. With a host budget
    of 2 s, they fail with the reason, to be tried next run; another host's
    pages are not touched by it."""
    monkeypatch.setenv("NEWSDESK_HOST_BUDGET", "2")
    monkeypatch.setenv("NEWSDESK_FETCH_DEADLINE", "60")
    monkeypatch.setenv("NEWSDESK_HOST_DELAY", "0.05")

    def drip(handler: _ScriptedHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        for _ in range(100_000):
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(0.2)

    slow = ScriptedSite({"/robots.txt": _answer("User-agent: *\nAllow: /\n"), "*": drip}, "127.0.29.4")
    fine = ScriptedSite({"/robots.txt": _answer("User-agent: *\nAllow: /\n"), "*": _page("fine")}, "127.0.29.5")
    try:
        slow_urls = [slow.url(f"/s{i}") for i in range(8)]
        slow.routes["/feed.xml"] = _answer(_feed(slow_urls), "application/rss+xml")
        fine.routes["/feed.xml"] = _answer(_feed([fine.url(f"/f{i}") for i in range(3)]), "application/rss+xml")
        record = run_ingest(
            _sources(tmp_path, ("slow", "feed", slow.url("/feed.xml")), ("fine", "feed", fine.url("/feed.xml")))
        )
        reasons = _reasons(db, record["id"])
        origin = f"http://127.0.29.4:{slow.server_address[1]}"
        budget = f"time budget spent: {origin} has had 2 s this run (tried next run)"
        assert {url: reasons.get(url) for url in slow_urls} == dict.fromkeys(slow_urls, ("fetch", budget))
        assert record["n_failed"] == 8 and record["n_inserted"] + record["n_duplicate"] == 3
        # Two requests at once (NEWSDESK_PER_HOST), none retried after the budget.
        assert slow.requests_to("/s0") + sum(slow.requests_to(f"/s{i}") for i in range(1, 8)) <= 2
    finally:
        slow.close()
        fine.close()


# --- 9. Two processes share robots.txt and the per-host limit ----------------


@pytest.mark.usefixtures("prefect_server")
def test_two_workers_share_robots_txt_and_the_per_host_limit(db, tmp_path, database_url):
    """Two `newsdesk ingest` processes at once against one slow host, with a
    short delay: robots.txt is requested once for both, and the host never has
    more than NEWSDESK_PER_HOST (2) requests at once from the two together."""

    # robots.txt answers once both processes have asked for its read (the second
    # one then waits for the first one's): so both frontiers are open before the
    # read ends however far apart a loaded machine starts them. A process whose
    # frontier opens after a read has ended reads robots.txt again, by design:
    # every run checks it once (`tasks/store/shared_robots.py`).
    def both_asked() -> bool:
        with db.connect() as conn:
            return (
                conn.scalar(
                    sa.text(
                        "SELECT count(DISTINCT pid) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND query LIKE '%INSERT INTO newsdesk.robots_reads%' AND pid <> pg_backend_pid()"
                    )
                )
                >= 2
            )

    robots = _answer("User-agent: *\nAllow: /\n", pause=100, until=both_asked)  # within the read's lease (130 s)
    site = ScriptedSite({"/robots.txt": robots, "*": _page("p", pause=0.4)}, "127.0.29.6")
    try:
        site.routes["/feed.xml"] = _answer(_feed([site.url(f"/p{i}") for i in range(10)]), "application/rss+xml")
        sources = _sources(tmp_path, ("one-site", "feed", site.url("/feed.xml")))
        runs = ingests_at_once(sources, database_url, 300, NEWSDESK_HOST_DELAY="0.02", NEWSDESK_PER_HOST="2")
        assert [run.returncode for run in runs] == [0, 0], [run.stdout for run in runs]
        assert site.requests_to("/feed.xml") == 2  # both ran at once
        assert site.most_at_once <= 2, site.most_at_once
        assert site.requests_to("/robots.txt") == 1
        assert sum(1 for _, path in site.log if path.startswith("/p")) >= 10
    finally:
        site.close()
