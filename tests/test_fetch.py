"""The fetcher against real HTTP servers on 127.0.0.1, failing on purpose."""

import asyncio
import gzip
import time

import pytest
from werkzeug.wrappers import Response

from newsdesk.tasks.records import Rejected
from newsdesk.tasks.web import fetch
from tests.helpers import AtOnce

FAST = fetch.FetchSettings(backoff=0.01, host_delay=0.0, read_timeout=1.0, connect_timeout=1.0, max_bytes=50_000)
PAGE = "<html><head><title>T</title></head><body><article><p>Hello world.</p></article></body></html>"


def get(url, settings=FAST, **kwargs):
    async def run():
        async with fetch.client(settings) as client:
            return await fetch.fetch(fetch.Politeness(client, settings), url, **kwargs)

    return asyncio.run(run())


@pytest.fixture
def site(httpserver):
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nDisallow: /private/\n")
    return httpserver


def test_a_page_with_its_validators_and_our_user_agent(site):
    site.expect_request("/a", headers={"User-Agent": FAST.user_agent}).respond_with_data(
        PAGE,
        content_type="text/html; charset=utf-8",
        headers={"ETag": '"v1"', "Last-Modified": "Wed, 01 Jan 2025 00:00:00 GMT"},
    )
    result = get(site.url_for("/a"))
    assert result.body == PAGE.encode() and result.media_type == "text/html" and result.charset == "utf-8"
    assert (result.etag, result.last_modified) == ('"v1"', "Wed, 01 Jan 2025 00:00:00 GMT")
    assert "newsdesk/" in FAST.user_agent


def test_conditional_get_answers_not_modified(site):
    site.expect_request("/a", headers={"If-None-Match": '"v1"'}).respond_with_data("", status=304)
    assert get(site.url_for("/a"), etag='"v1"').not_modified


def test_robots_disallow_means_no_request(site):
    with pytest.raises(Rejected, match="robots"):
        get(site.url_for("/private/x"))
    assert all(req.path != "/private/x" for req, _ in site.log)


def test_503_then_200_is_retried(site):
    site.expect_oneshot_request("/flaky").respond_with_data("busy", status=503)
    site.expect_request("/flaky").respond_with_data(PAGE, content_type="text/html")
    assert get(site.url_for("/flaky")).body == PAGE.encode()


def test_429_honours_retry_after(site):
    site.expect_oneshot_request("/limited").respond_with_data("slow down", status=429, headers={"Retry-After": "1"})
    site.expect_request("/limited").respond_with_data(PAGE, content_type="text/html")
    start = time.monotonic()
    assert get(site.url_for("/limited")).body == PAGE.encode()
    assert time.monotonic() - start >= 0.9


def test_exhausted_retries_fail_with_the_reason(site):
    site.expect_request("/down").respond_with_data("no", status=503)
    with pytest.raises(fetch.FetchFailed, match="HTTP 503"):
        get(site.url_for("/down"), settings=fetch.FetchSettings(**{**FAST.__dict__, "retries": 2}))


def test_404_is_rejected_without_retry(site):
    site.expect_request("/gone").respond_with_data("no", status=404)
    with pytest.raises(Rejected, match="HTTP 404"):
        get(site.url_for("/gone"))
    assert sum(req.path == "/gone" for req, _ in site.log) == 1


def test_a_timeout_fails_after_retries(site):
    def slow(request):
        time.sleep(1.5)
        return Response(PAGE, content_type="text/html")

    site.expect_request("/slow").respond_with_handler(slow)
    with pytest.raises(fetch.FetchFailed, match="Timeout"):
        get(site.url_for("/slow"), settings=fetch.FetchSettings(**{**FAST.__dict__, "retries": 1}))


def test_redirect_loop_is_refused(site):
    site.expect_request("/loop").respond_with_data("", status=302, headers={"Location": "/loop"})
    with pytest.raises(Rejected, match="redirects"):
        get(site.url_for("/loop"))


def test_redirect_to_file_is_refused(site):
    site.expect_request("/evil").respond_with_data("", status=302, headers={"Location": "file:///etc/passwd"})
    with pytest.raises(Rejected, match="only http and https"):
        get(site.url_for("/evil"))


def test_redirects_are_followed(site):
    site.expect_request("/old").respond_with_data("", status=301, headers={"Location": "/new"})
    site.expect_request("/new").respond_with_data(PAGE, content_type="text/html")
    result = get(site.url_for("/old"))
    assert result.final_url.endswith("/new") and result.body == PAGE.encode()


def test_oversized_body_is_rejected(site):
    site.expect_request("/big").respond_with_data("x" * 60_000, content_type="text/html")
    with pytest.raises(Rejected, match="over the limit"):
        get(site.url_for("/big"))


def test_gzip_bomb_stops_at_the_limit(site):
    bomb = gzip.compress(b"<p>" + b"a" * 5_000_000)
    site.expect_request("/bomb").respond_with_data(bomb, content_type="text/html", headers={"Content-Encoding": "gzip"})
    with pytest.raises(Rejected, match="over the limit"):
        get(site.url_for("/bomb"))


def test_pdf_content_type_is_rejected(site):
    site.expect_request("/doc").respond_with_data(b"%PDF-1.4", content_type="application/pdf")
    with pytest.raises(Rejected, match="content type application/pdf"):
        get(site.url_for("/doc"))


def test_crawl_delay_spaces_requests(httpserver):
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nCrawl-delay: 0.5\n")
    httpserver.expect_request("/p").respond_with_data(PAGE, content_type="text/html")
    settings = FAST

    async def run():
        async with fetch.client(settings) as client:
            polite = fetch.Politeness(client, settings)
            await asyncio.gather(*(fetch.fetch(polite, httpserver.url_for("/p")) for _ in range(3)))

    start = time.monotonic()
    asyncio.run(run())
    assert time.monotonic() - start >= 1.0  # three starts, 0.5 s apart


def test_brotli_and_gzip_bodies_are_decoded(site):
    import brotli

    site.expect_request("/br").respond_with_data(
        brotli.compress(PAGE.encode()), content_type="text/html", headers={"Content-Encoding": "br"}
    )
    site.expect_request("/gz").respond_with_data(
        gzip.compress(PAGE.encode()), content_type="text/html", headers={"Content-Encoding": "gzip"}
    )
    assert get(site.url_for("/br")).body == PAGE.encode()
    assert get(site.url_for("/gz")).body == PAGE.encode()


def test_at_most_per_host_requests_at_once(site):
    handler = AtOnce(PAGE, 0.2)
    site.expect_request("/busy").respond_with_handler(handler)

    async def run():
        async with fetch.client(FAST) as client:
            polite = fetch.Politeness(client, FAST)
            await asyncio.gather(*(fetch.fetch(polite, site.url_for(f"/busy?n={i}")) for i in range(6)))

    asyncio.run(run())
    assert handler.peak == FAST.per_host == 2


def test_a_request_held_after_its_turn_does_not_leave_just_before_the_next():
    """A busy event loop can hold a request between being cleared to go and
    its bytes leaving. The next request to that host must then wait for a full
    delay after those bytes, not after the clearance (two requests arrived
    0.04 s apart at a simulated site before this was so)."""
    from bench.sites import SimulatedWeb

    delay = 0.2
    settings = fetch.FetchSettings(**{**FAST.__dict__, "host_delay": delay, "max_bytes": 5_000_000})

    async def run(base: str) -> None:
        async with fetch.client(settings) as client:
            polite = fetch.Politeness(client, settings)
            tracer = polite.tracer

            def stalling(origin: str):
                trace = tracer(origin)

                async def hold_the_first_page_after_its_turn(event: str, info: dict) -> None:
                    await trace(event, info)
                    if event == "http11.send_request_headers.started" and info["request"].url.target == b"/page/0":
                        await asyncio.sleep(1.5 * delay)  # held, while the others go on

                return hold_the_first_page_after_its_turn

            polite.tracer = stalling  # type: ignore[method-assign]
            await asyncio.gather(*(fetch.fetch(polite, f"{base}/page/{i}") for i in range(3)))

    with SimulatedWeb(1, 3, latency=0.0) as web:
        site = web.sites[0]
        asyncio.run(run(site.base))
        assert sorted(site.pages_requested().values()) == [1, 1, 1]
        assert site.closest_gap() >= delay, site.closest_pair()
