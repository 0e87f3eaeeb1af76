"""No way into the private network from a feed: listed URLs and redirect targets
reach only public addresses or the listing's own host, checked on the address
connected to. Loopback counts as private here, as the policy says: every
address in 127.0.0.0/8 is this machine, so 127.0.0.2 and 127.0.0.3 are two hosts."""

from __future__ import annotations

import asyncio
import ipaddress

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Response

from newsdesk.tasks.web.addresses import AddressPolicy, AddressRefused, VettingBackend
from newsdesk.tasks.web.transport import OriginPools
from tests.helpers import fetch, run_ingest
from tests.texts import distinct_story

pytestmark = pytest.mark.usefixtures("prefect_server")


def _page(n: int) -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in distinct_story(n).split("\n\n"))
    return f"<html><head><title>Story {n}</title></head><body><article>{paragraphs}</article></body></html>"


@pytest.fixture
def hosts():
    """Two sites: the feed's host 127.0.0.2, and 127.0.0.3 standing for an intranet host."""
    servers = [HTTPServer(host=address, port=0, threaded=True) for address in ("127.0.0.2", "127.0.0.3")]
    for server in servers:
        server.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
        server.start()
    yield servers
    for server in servers:
        server.clear()
        server.stop()


def _serve(feed_host: HTTPServer, intranet: HTTPServer) -> None:
    intranet.expect_request("/secret").respond_with_data(_page(1), content_type="text/html")
    feed_host.expect_request("/own").respond_with_data(_page(2), content_type="text/html")
    feed_host.expect_request("/hop").respond_with_handler(
        lambda request: Response(status=302, headers={"Location": intranet.url_for("/secret")})
    )
    links = [feed_host.url_for("/own"), intranet.url_for("/secret"), feed_host.url_for("/hop")]
    items = "".join(f"<item><title>t{i}</title><link>{link}</link></item>" for i, link in enumerate(links))
    feed_host.expect_request("/feed.xml").respond_with_data(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>',
        content_type="application/rss+xml",
    )


def _sources(tmp_path, feed_host: HTTPServer):
    path = tmp_path / "sources.toml"
    path.write_text(f'[[source]]\nname = "web"\nkind = "feed"\nurl = "{feed_host.url_for("/feed.xml")}"\n')
    return path


def test_listed_urls_and_redirects_into_the_private_network_are_refused(db, tmp_path, hosts, monkeypatch):
    monkeypatch.setenv("NEWSDESK_HOST_DELAY", "0")
    feed_host, intranet = hosts
    _serve(feed_host, intranet)
    record = run_ingest(_sources(tmp_path, feed_host))
    assert (record["n_discovered"], record["n_inserted"], record["n_rejected"]) == (3, 1, 2)
    reasons = {row["locator"]: row["reason"] for row in fetch(db, "SELECT locator, reason FROM newsdesk.rejections")}
    assert reasons == {
        intranet.url_for("/secret"): "address not allowed: loopback 127.0.0.3",
        feed_host.url_for("/hop"): "address not allowed: loopback 127.0.0.3",
    }
    # Refused before any byte was sent: the intranet host saw no request at all.
    assert [request.path for request, _ in intranet.log] == []
    [article] = fetch(db, "SELECT locator FROM newsdesk.articles")
    assert article["locator"] == feed_host.url_for("/own")


def test_allowed_networks_open_a_range_on_purpose(db, tmp_path, hosts, monkeypatch):
    monkeypatch.setenv("NEWSDESK_HOST_DELAY", "0")
    monkeypatch.setenv("NEWSDESK_ALLOW_NETWORKS", "127.0.0.0/8")
    feed_host, intranet = hosts
    _serve(feed_host, intranet)
    record = run_ingest(_sources(tmp_path, feed_host))
    assert (record["n_discovered"], record["n_rejected"], record["n_failed"]) == (3, 0, 0)
    assert record["n_inserted"] + record["n_duplicate"] == 3
    assert sorted(request.path for request, _ in intranet.log) == ["/robots.txt", "/secret", "/secret"]


def test_the_address_checked_is_the_address_connected_to(hosts):
    """DNS rebinding: the name is resolved once per connection, by us, and the
    connection goes to the address that was vetted. `rebind.test` exists in no
    DNS, so a client that looked the name up again itself could not connect at
    all; and when the name's next answer is private, that connection is refused."""
    allowed, private = hosts
    allowed.expect_request("/where").respond_with_data("allowed host")
    private.expect_request("/where").respond_with_data("private host")
    answers = iter([["127.0.0.2"], ["127.0.0.3"]])
    lookups = []

    async def rebinding_resolver(host: str, port: int) -> list[str]:
        lookups.append(host)
        return next(answers)

    # 127.0.0.2 stands for a public address: the policy allows it, and nothing else of 127/8.
    policy = AddressPolicy(allowed=(ipaddress.ip_network("127.0.0.2/32"),))

    async def get(port: int) -> str:
        backend = VettingBackend(policy, set(), rebinding_resolver)
        async with httpx.AsyncClient(transport=OriginPools(2, backend=backend)) as client:
            return (await client.get(f"http://rebind.test:{port}/where")).text

    assert asyncio.run(get(allowed.port)) == "allowed host"
    assert lookups == ["rebind.test"]
    with pytest.raises(AddressRefused, match="address not allowed: loopback 127.0.0.3"):
        asyncio.run(get(private.port))
    assert lookups == ["rebind.test", "rebind.test"]
    assert [request.path for request, _ in private.log] == []
