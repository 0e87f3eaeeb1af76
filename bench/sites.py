"""A simulated day of the web on this machine: sites on 127.0.0.2, 127.0.0.3, ...

Every address in 127.0.0.0/8 is this machine, so each site gets an address of
its own (a host of its own for politeness) and a real HTTP server. A site
serves robots.txt, an RSS feed listing its pages, and the pages: real article
pages from the extraction benchmark. Every response comes after `latency`
seconds, and every request's arrival is logged per site (as the kernel
stamped it, so a busy machine does not make it late), so a run's
politeness can be checked from the server's side: how many robots.txt
requests a site got, and how close together two requests to it came.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import socketserver
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PAGES = Path(__file__).resolve().parent / "data" / "article-extraction" / "html"


def real_pages(n: int | None = None) -> list[bytes]:
    """The benchmark's real article pages, in a stable order."""
    paths = sorted(PAGES.glob("*.html.gz"))[:n]
    return [gzip.decompress(path.read_bytes()) for path in paths]


@dataclass
class Site:
    """One simulated site: its server, its pages, and the requests it received."""

    address: str
    pages: list[bytes]
    latency: float
    robots: str = "User-agent: *\nAllow: /\n"
    robots_status: int = 200  # set to 503 to make robots.txt unreachable
    log: list[tuple[float, str]] = field(default_factory=list)
    connections: int = 0  # TCP connections accepted (kept alive, one serves many requests)
    server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> str:
        assert self.server is not None
        return f"http://{self.address}:{self.server.server_address[1]}"

    def feed(self) -> bytes:
        items = "".join(
            f"<item><title>Story {i} of {self.address}</title><link>{self.base}/page/{i}</link></item>"
            for i in range(len(self.pages))
        )
        return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{self.address}</title>{items}</channel></rss>'.encode()

    def answer(self, path: str) -> tuple[int, str, bytes]:
        if path == "/robots.txt":
            if self.robots_status != 200:
                return self.robots_status, "text/plain", b"unavailable"
            return 200, "text/plain", self.robots.encode()
        if path == "/feed.xml":
            return 200, "application/rss+xml", self.feed()
        if path.startswith("/page/") and path[6:].isdigit() and int(path[6:]) < len(self.pages):
            return 200, "text/html; charset=utf-8", self.pages[int(path[6:])]
        return 404, "text/plain", b"not found"

    def record(self, path: str, arrived: float) -> None:
        with self._lock:
            self.log.append((arrived, path))

    def requests_to(self, path: str) -> int:
        return sum(1 for _, p in self.log if p == path)

    def closest_gap(self) -> float | None:
        """The shortest time between two request arrivals at this site."""
        times = sorted(t for t, _ in self.log)
        return min((b - a for a, b in zip(times, times[1:])), default=None)

    def closest_pair(self) -> str:
        """The two requests closest together, with their arrival times: for a report."""
        log = sorted(self.log)
        (a, path_a), (b, path_b) = min(zip(log, log[1:]), key=lambda pair: pair[1][0] - pair[0][0])
        return f"{path_a} then {path_b} at {a:.3f} and {b:.3f} (epoch seconds)"

    def pages_requested(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _, path in self.log:
            if path.startswith("/page/"):
                counts[path] = counts.get(path, 0) + 1
        return counts


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # Connections stay open between requests (HTTP/1.1 keep-alive), as a
        # real site's do.
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            with site._lock:
                site.connections += 1

        def handle_one_request(self) -> None:
            self.arrived = _arrival(self.request)
            super().handle_one_request()

        def do_GET(self) -> None:  # noqa: N802 (the http.server interface)
            site.record(self.path, self.arrived)
            time.sleep(site.latency)
            status, content_type, body = site.answer(self.path)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

    return Handler


# Linux's SO_TIMESTAMPNS (asm-generic; Python's socket module does not name it):
# the kernel stamps each packet as it arrives, and recvmsg hands the stamp over.
SO_TIMESTAMPNS = 35


def _arrival(connection: socket.socket) -> float:
    """When the request's first bytes reached this machine (the kernel's stamp,
    wall-clock seconds), however late this busy process gets to read them; the
    time now where the kernel gives no stamp. Called before each request on a
    kept-alive connection is read: clients send the next request only after the
    last response, so the first bytes waiting are the next request's."""
    try:
        _, ancillary, _, _ = connection.recvmsg(1, socket.CMSG_SPACE(16), socket.MSG_PEEK)
    except OSError:
        return time.time()
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
            seconds, nanoseconds = struct.unpack("qq", data[:16])
            return seconds + nanoseconds / 1e9
    return time.time()


class _StampingServer(ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self) -> None:
        # HTTPServer's own server_bind looks its address up in the DNS
        # (getfqdn), 75 ms a site here: a day of 200 sites took 15 s to start.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]
        with contextlib.suppress(OSError):  # accepted connections inherit it
            self.socket.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)


class SimulatedWeb:
    """`n_sites` sites of `pages_per_site` pages each, on 127.0.0.2 and up; a context manager."""

    def __init__(self, n_sites: int, pages_per_site: int, *, latency: float = 0.15, first_host: int = 2):
        pages = real_pages()
        self.sites = []
        for s in range(n_sites):
            address = f"127.0.{(first_host + s) // 256}.{(first_host + s) % 256}"
            chosen = [pages[(s * pages_per_site + i) % len(pages)] for i in range(pages_per_site)]
            self.sites.append(Site(address, chosen, latency))

    def __enter__(self) -> SimulatedWeb:
        for site in self.sites:
            site.server = _StampingServer((site.address, 0), _handler(site))
            threading.Thread(target=site.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        for site in self.sites:
            if site.server is not None:
                site.server.shutdown()
                site.server.server_close()

    def sources_toml(self) -> str:
        return "".join(
            f'[[source]]\nname = "site-{i:03d}"\nkind = "feed"\nurl = "{site.base}/feed.xml"\n\n'
            for i, site in enumerate(self.sites)
        )
