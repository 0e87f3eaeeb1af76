"""Web sources end to end: a feed of the benchmark's real pages served on
127.0.0.1, with failures on purpose, ingested twice by real Prefect runs."""

import gzip
import json
import re
import threading
from email.utils import formatdate

import pytest
from werkzeug.wrappers import Response

from tests.helpers import BENCH_PAGES, fetch, run_ingest

pytestmark = pytest.mark.usefixtures("prefect_server")

PAGES_DIR = BENCH_PAGES


def load_pages():
    truth = json.loads((PAGES_DIR / "ground-truth.json").read_text(encoding="utf-8"))
    return {
        key: (gzip.decompress((PAGES_DIR / "html" / f"{key}.html.gz").read_bytes()), truth[key])
        for key in sorted(truth)
    }


class Site:
    """Serves pages with ETags, answers conditional GETs with 304, and fails on purpose."""

    def __init__(self, server, pages):
        self.server = server
        self.pages = pages
        self.hits: dict[str, int] = {}
        self.conditional: dict[str, int] = {}
        self.fail_once = {}
        self.lock = threading.Lock()
        server.expect_request("/robots.txt").respond_with_data("User-agent: *\nDisallow: /private/\n")
        server.expect_request("/dead").respond_with_data("gone", status=404)
        server.expect_request("/private/secret").respond_with_data("never", content_type="text/html")
        server.expect_request("/feed.xml").respond_with_handler(self.feed)
        for key in pages:
            server.expect_request(f"/page/{key}").respond_with_handler(self.page)

    def url(self, path):
        return self.server.url_for(path)

    def feed(self, request):
        items = "".join(
            f"<item><title>Page {k[:8]}</title><link>{self.url('/page/' + k)}</link></item>" for k in self.pages
        )
        items += f"<item><link>{self.url('/dead')}</link></item><item><link>{self.url('/private/secret')}</link></item>"
        return Response(
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>',
            content_type="application/rss+xml",
            headers={"ETag": '"feed-1"'},
        )

    def page(self, request):
        key = request.path.rsplit("/", 1)[1]
        with self.lock:
            self.hits[key] = self.hits.get(key, 0) + 1
            failure = self.fail_once.pop(key, None)
            if request.headers.get("If-None-Match") == f'"{key[:16]}"':
                self.conditional[key] = self.conditional.get(key, 0) + 1
                return Response(status=304)
        if failure == 503:
            return Response("busy", status=503)
        if failure == 429:
            return Response("slow down", status=429, headers={"Retry-After": "1"})
        return Response(
            self.pages[key][0],
            content_type="text/html; charset=utf-8",
            headers={"ETag": f'"{key[:16]}"', "Last-Modified": formatdate(usegmt=True)},
        )


@pytest.fixture
def site(httpserver, monkeypatch):
    monkeypatch.setenv("NEWSDESK_HOST_DELAY", "0")
    return Site(httpserver, load_pages())


def run(tmp_path, site, kind="feed"):
    from newsdesk.flows.ingest import ingest

    sources = tmp_path / "sources.toml"
    sources.write_text(f'[[source]]\nname = "web"\nkind = "{kind}"\nurl = "{site.url("/feed.xml")}"\n')
    return ingest(sources_file=str(sources), batch_size=50)


def test_a_feed_of_real_pages_loads_then_answers_304(db, tmp_path, site):
    keys = sorted(site.pages)
    site.fail_once = {keys[0]: 503, keys[1]: 429}
    first = run(tmp_path, site)
    n = len(keys)
    assert first["status"] == "completed"
    assert first["n_discovered"] == n + 2
    assert first["n_inserted"] + first["n_duplicate"] == n
    assert (first["n_rejected"], first["n_failed"]) == (2, 0)
    reasons = {r["locator"].rsplit("/", 1)[1]: r["reason"] for r in fetch(db, "SELECT * FROM newsdesk.rejections")}
    assert reasons == {"dead": "HTTP 404", "secret": "robots"}
    assert all(not path.startswith("/private") for path in (req.path for req, _ in site.server.log))
    assert site.hits[keys[0]] == 2 and site.hits[keys[1]] == 2  # retried once each

    rows = fetch(db, "SELECT locator, title, body, url FROM newsdesk.articles")
    assert len(rows) == n
    short = 0
    for row in rows:
        key = row["locator"].rsplit("/", 1)[1]
        truth = site.pages[key][1]["articleBody"]
        assert row["title"] and row["url"]
        assert not re.search(r"</?(?:p|div|a|span|script)\b", row["body"])
        short += len(row["body"]) < 0.5 * len(truth)
    # Extraction is imperfect on a few pages (a paywall notice instead of the story).
    assert short <= 0.03 * n, short

    second = run(tmp_path, site)
    assert (second["n_discovered"], second["n_unchanged"], second["n_rejected"]) == (n + 2, n, 2)
    assert site.conditional == dict.fromkeys(keys, 1)
    assert fetch(db, "SELECT count(*) AS n FROM newsdesk.articles")[0]["n"] == n


def test_every_failure_ends_as_an_outcome_with_its_reason(db, tmp_path, httpserver, monkeypatch):
    import time

    monkeypatch.setenv("NEWSDESK_HOST_DELAY", "0")
    monkeypatch.setenv("NEWSDESK_FETCH_TIMEOUT", "1")
    monkeypatch.setenv("NEWSDESK_FETCH_RETRIES", "1")
    monkeypatch.setenv("NEWSDESK_MAX_FILE_BYTES", "300000")
    [(html, _)] = [v for k, v in load_pages().items() if k.startswith("f344ca5f")]
    latin = (
        "<html><body><article><h1>Élections à Montréal</h1><p>"
        + "La mairesse sortante a été réélue à l'hôtel de ville. " * 8
        + "</p></article></body></html>"
    ).encode("cp1252")

    def slow(request):
        time.sleep(2)
        return Response(html, content_type="text/html")

    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nDisallow: /private/\n")
    httpserver.expect_request("/ok").respond_with_data(html, content_type="text/html")
    httpserver.expect_oneshot_request("/flaky").respond_with_data("busy", status=503)
    httpserver.expect_request("/flaky").respond_with_data(
        html.replace(b"water vapor", b"steam"), content_type="text/html"
    )
    httpserver.expect_oneshot_request("/limited").respond_with_data("wait", status=429, headers={"Retry-After": "1"})
    httpserver.expect_request("/limited").respond_with_data(
        html.replace(b"water vapor", b"ice"), content_type="text/html"
    )
    httpserver.expect_request("/gone").respond_with_data("no", status=404)
    httpserver.expect_request("/slow").respond_with_handler(slow)
    httpserver.expect_request("/loop").respond_with_data("", status=302, headers={"Location": "/loop"})
    httpserver.expect_request("/evil").respond_with_data("", status=302, headers={"Location": "file:///etc/passwd"})
    httpserver.expect_request("/big").respond_with_data(b"<p>" + b"x" * 400_000, content_type="text/html")
    httpserver.expect_request("/latin").respond_with_data(latin, content_type="text/html; charset=utf-8")
    httpserver.expect_request("/report.pdf").respond_with_data(b"%PDF-1.4", content_type="application/pdf")
    paths = [
        "/ok",
        "/flaky",
        "/limited",
        "/gone",
        "/slow",
        "/loop",
        "/evil",
        "/big",
        "/latin",
        "/report.pdf",
        "/private/x",
    ]
    sources = tmp_path / "sources.toml"
    sources.write_text(
        '[[source]]\nname = "pages"\nkind = "page"\nurls = [{}]\n'.format(
            ", ".join(f'"{httpserver.url_for(p)}"' for p in paths)
        )
    )

    record = run_ingest(sources)
    assert record["status"] == "failed"  # the slow page failed
    # /flaky and /limited serve /ok with one word changed: near copies of it.
    assert (
        record["n_discovered"],
        record["n_inserted"],
        record["n_duplicate"],
        record["n_rejected"],
        record["n_failed"],
    ) == (11, 2, 2, 6, 1)
    outcomes = {
        r["locator"].rsplit("/", 1)[1]: (r["outcome"], r["reason"])
        for r in fetch(db, "SELECT * FROM newsdesk.rejections")
    }
    assert outcomes["gone"] == ("rejected", "HTTP 404")
    assert outcomes["slow"][0] == "failed" and "Timeout" in outcomes["slow"][1]
    assert "redirects" in outcomes["loop"][1]
    assert "only http and https" in outcomes["evil"][1]
    assert "over the limit" in outcomes["big"][1]
    assert "application/pdf" in outcomes["report.pdf"][1]
    assert outcomes["x"] == ("rejected", "robots")
    articles = {r["locator"].rsplit("/", 1)[1]: r for r in fetch(db, "SELECT * FROM newsdesk.articles")}
    assert set(articles) == {"ok", "flaky", "limited", "latin"}
    assert "réélue à l'hôtel de ville" in articles["latin"]["body"]
    assert articles["latin"]["title"] == "Élections à Montréal"


def test_a_sitemap_index_with_a_gzipped_child(db, tmp_path, httpserver, monkeypatch):
    from newsdesk.flows.ingest import ingest

    monkeypatch.setenv("NEWSDESK_HOST_DELAY", "0")
    pages = dict(list(load_pages().items())[:3])
    httpserver.expect_request("/robots.txt").respond_with_data("not here", status=404)
    for key, (html, _) in pages.items():
        httpserver.expect_request(f"/a/{key}").respond_with_data(html, content_type="text/html")
    urls = "".join(f"<url><loc>{httpserver.url_for('/a/' + k)}</loc></url>" for k in pages)
    urlset = f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
    httpserver.expect_request("/sitemap-1.xml.gz").respond_with_data(
        gzip.compress(urlset.encode()), content_type="application/gzip"
    )
    index = (
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{httpserver.url_for('/sitemap-1.xml.gz')}</loc></sitemap>"
        f"<sitemap><loc>{httpserver.url_for('/missing.xml')}</loc></sitemap></sitemapindex>"
    )
    httpserver.expect_request("/sitemap.xml").respond_with_data(index, content_type="application/xml")
    httpserver.expect_request("/missing.xml").respond_with_data("no", status=404)
    sources = tmp_path / "sources.toml"
    sources.write_text(f'[[source]]\nname = "map"\nkind = "sitemap"\nurl = "{httpserver.url_for("/sitemap.xml")}"\n')

    record = ingest(sources_file=str(sources))
    assert (record["n_discovered"], record["n_inserted"], record["n_rejected"]) == (4, 3, 1)
    [problem] = fetch(db, "SELECT locator, stage, reason FROM newsdesk.rejections")
    assert problem["locator"].endswith("/missing.xml") and problem["reason"] == "HTTP 404"


def test_dated_feed_entries_stored_since_are_not_requested_again(db, tmp_path, httpserver, monkeypatch):
    from newsdesk.flows.ingest import ingest

    monkeypatch.setenv("NEWSDESK_HOST_DELAY", "0")
    pages = dict(list(load_pages().items())[:3])
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    hits = []

    def page(request):
        hits.append(request.path)
        return Response(pages[request.path.rsplit("/", 1)[1]][0], content_type="text/html")

    for key in pages:
        httpserver.expect_request(f"/a/{key}").respond_with_handler(page)
    items = "".join(
        f"<item><link>{httpserver.url_for('/a/' + k)}</link><pubDate>Tue, 19 Nov 2019 10:00:00 GMT</pubDate></item>"
        for k in pages
    )
    httpserver.expect_request("/feed.xml").respond_with_data(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>',
        content_type="application/rss+xml",
    )
    sources = tmp_path / "sources.toml"
    sources.write_text(f'[[source]]\nname = "dated"\nkind = "feed"\nurl = "{httpserver.url_for("/feed.xml")}"\n')

    first = ingest(sources_file=str(sources))
    assert first["n_inserted"] == 3 and len(hits) == 3
    second = ingest(sources_file=str(sources))
    assert (second["n_discovered"], second["n_unchanged"]) == (3, 3)
    assert len(hits) == 3  # no page was requested again
