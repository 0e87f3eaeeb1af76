"""What feeds and sitemaps mean, end to end through the crawl: redirects, the
body deciding the type, fragments, sources that list nothing, robots.txt
`Sitemap:` lines, and a slow feed that holds up only its own items."""

from __future__ import annotations

import threading

import pytest
from werkzeug.wrappers import Response

from tests.helpers import fetch, run_ingest
from tests.texts import distinct_story

pytestmark = pytest.mark.usefixtures("prefect_server")


@pytest.fixture(autouse=True)
def no_delay(monkeypatch):
    monkeypatch.setenv("NEWSDESK_HOST_DELAY", "0")


def _page(n: int) -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in distinct_story(n).split("\n\n"))
    return f"<html><head><title>Story {n}</title></head><body><article>{paragraphs}</article></body></html>"


def _rss(*links: str) -> str:
    items = "".join(f"<item><title>t{i}</title><link>{link}</link></item>" for i, link in enumerate(links))
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'


def _allow_all(httpserver) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")


def _sources(tmp_path, *entries: tuple[str, str, str]):
    path = tmp_path / "sources.toml"
    path.write_text("".join(f'[[source]]\nname = "{n}"\nkind = "{k}"\nurl = "{u}"\n\n' for n, k, u in entries))
    return path


def test_a_redirected_feed_resolves_its_links_against_where_it_was_read(db, tmp_path, httpserver):
    _allow_all(httpserver)
    httpserver.expect_request("/old").respond_with_handler(
        lambda r: Response(status=301, headers={"Location": "/moved"})
    )
    httpserver.expect_request("/moved").respond_with_handler(
        lambda r: Response(status=302, headers={"Location": "/sub/feed.xml"})
    )
    # Served as text/html: what the body is decides, not what the server calls it.
    httpserver.expect_request("/sub/feed.xml").respond_with_data(_rss("page1.html"), content_type="text/html")
    httpserver.expect_request("/sub/page1.html").respond_with_data(_page(1), content_type="text/html")
    record = run_ingest(_sources(tmp_path, ("moved", "feed", httpserver.url_for("/old"))))
    assert (record["n_discovered"], record["n_inserted"]) == (1, 1)
    [article] = fetch(db, "SELECT locator FROM newsdesk.articles")
    assert article["locator"] == httpserver.url_for("/sub/page1.html")


def test_fragments_name_one_page_and_sources_that_list_nothing_leave_a_trace(db, tmp_path, httpserver):
    _allow_all(httpserver)
    httpserver.expect_request("/page").respond_with_data(_page(2), content_type="text/html")
    page = httpserver.url_for("/page")
    httpserver.expect_request("/feed.xml").respond_with_data(_rss(f"{page}#comments", page, f"{page}#top"))
    httpserver.expect_request("/empty.xml").respond_with_data(_rss(), content_type="application/rss+xml")
    record = run_ingest(
        _sources(
            tmp_path,
            ("fragments", "feed", httpserver.url_for("/feed.xml")),
            ("nothing", "feed", httpserver.url_for("/empty.xml")),
        )
    )
    assert [request.path for request, _ in httpserver.log].count("/page") == 1
    counts = {row["source"]: (row["n_discovered"], row["n_inserted"]) for row in record["sources"]}
    assert counts == {"fragments": (1, 1), "nothing": (0, 0)}
    stored = fetch(
        db, "SELECT source, n_discovered FROM newsdesk.ingest_run_sources WHERE run_id = :id", id=record["id"]
    )
    assert {row["source"] for row in stored} == {"fragments", "nothing"}


def test_a_robots_txt_is_a_source_through_its_sitemap_lines(db, tmp_path, httpserver):
    httpserver.expect_request("/robots.txt").respond_with_data(
        f"User-agent: *\nAllow: /\nSitemap: {httpserver.url_for('/map.txt')}\n"
    )
    httpserver.expect_request("/map.txt").respond_with_data(
        f"{httpserver.url_for('/a')}\n{httpserver.url_for('/b')}\n", content_type="text/plain"
    )
    httpserver.expect_request("/a").respond_with_data(_page(3), content_type="text/html")
    httpserver.expect_request("/b").respond_with_data(_page(4), content_type="text/html")
    record = run_ingest(_sources(tmp_path, ("site", "sitemap", httpserver.url_for("/robots.txt"))))
    assert (record["n_discovered"], record["n_inserted"], record["n_rejected"]) == (2, 2, 0)


def test_a_slow_feed_holds_up_only_its_own_items(db, tmp_path, httpserver):
    """The slow feed answers only once the other source's pages have all been
    requested: sources that waited for each other would leave it unanswered
    (its listing then fails), so its items load only if the sources went side by side."""
    _allow_all(httpserver)
    others_done = threading.Event()
    fast_pages = [f"/fast/{i}" for i in range(3)]
    requested: set[str] = set()

    def fast_page(request):
        requested.add(request.path)
        if requested >= set(fast_pages):
            others_done.set()
        return Response(_page(10 + fast_pages.index(request.path)), content_type="text/html")

    for path in fast_pages:
        httpserver.expect_request(path).respond_with_handler(fast_page)
    httpserver.expect_request("/fast.xml").respond_with_data(_rss(*(httpserver.url_for(p) for p in fast_pages)))

    def slow_feed(request):
        answered = others_done.wait(timeout=20)
        return Response(_rss(httpserver.url_for("/slow/0")) if answered else "gave up", status=200 if answered else 503)

    httpserver.expect_request("/slow.xml").respond_with_handler(slow_feed)
    httpserver.expect_request("/slow/0").respond_with_data(_page(20), content_type="text/html")
    record = run_ingest(
        _sources(
            tmp_path,
            ("slow", "feed", httpserver.url_for("/slow.xml")),
            ("fast", "feed", httpserver.url_for("/fast.xml")),
        )
    )
    counts = {row["source"]: (row["n_discovered"], row["n_inserted"], row["n_failed"]) for row in record["sources"]}
    assert counts == {"slow": (1, 1, 0), "fast": (3, 3, 0)}
