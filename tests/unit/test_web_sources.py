"""Feeds and sitemaps: every format's entries, and malformed input refused with a reason."""

import gzip
import json
from datetime import UTC

import pytest

from newsdesk.tasks.records import Rejected
from newsdesk.tasks.web.listings import parse_feed, parse_sitemap

RSS2 = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>First</title><link>https://example.org/a</link><pubDate>Tue, 19 Nov 2019 10:00:00 GMT</pubDate>
<author>ana@example.org (Ana Ruiz)</author></item>
<item><title>Relative</title><link>/b</link></item></channel></rss>"""
RSS1 = b"""<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
<channel rdf:about="https://example.org/"><title>T</title><link>https://example.org/</link></channel>
<item rdf:about="https://example.org/c"><title>Third</title><link>https://example.org/c</link></item></rdf:RDF>"""
ATOM = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>
<entry><title>Atom one</title><link href="https://example.org/d"/><id>urn:1</id><updated>2024-03-05T10:00:00Z</updated>
<author><name>Tom Lee</name></author></entry></feed>"""


def test_rss2_with_dates_authors_and_relative_links():
    items = parse_feed(RSS2, "https://example.org/feed.xml")
    assert [i.url for i in items] == ["https://example.org/a", "https://example.org/b"]
    assert items[0].title == "First" and items[0].published.isoformat() == "2019-11-19T10:00:00+00:00"
    assert "Ana Ruiz" in items[0].author


def test_rss1_and_atom():
    assert [i.url for i in parse_feed(RSS1, "https://example.org/")] == ["https://example.org/c"]
    [atom] = parse_feed(ATOM, "https://example.org/")
    assert (atom.url, atom.title, atom.author) == ("https://example.org/d", "Atom one", "Tom Lee")
    assert atom.published.year == 2024


def test_json_feed():
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "items": [
            {
                "id": "1",
                "url": "https://example.org/e",
                "title": "Json",
                "date_published": "2024-01-02T03:04:05Z",
                "authors": [{"name": "Ana Ruiz"}],
            }
        ],
    }
    [item] = parse_feed(json.dumps(feed).encode(), "https://example.org/")
    assert (item.url, item.title, item.author, item.published.hour) == ("https://example.org/e", "Json", "Ana Ruiz", 3)


@pytest.mark.parametrize(
    "data", [b"<html><body>not a feed</body></html>", b"{not json", b'{"items": 3}', b"\x00\x01garbage"]
)
def test_malformed_feeds_are_refused(data):
    with pytest.raises(Rejected, match="(?i)feed"):
        parse_feed(data, "https://example.org/")


URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://example.org/a</loc><lastmod>2024-03-05</lastmod></url>
<url><loc>https://example.org/b</loc><news:news><news:publication><news:name>Ex</news:name><news:language>en</news:language></news:publication>
<news:publication_date>2024-03-06T08:00:00+01:00</news:publication_date><news:title>News title</news:title></news:news></url>
</urlset>"""
INDEX = b"""<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>https://example.org/s1.xml</loc></sitemap><sitemap><loc>https://example.org/s2.xml.gz</loc></sitemap></sitemapindex>"""


def test_urlset_and_google_news_sitemap():
    items, children = parse_sitemap(URLSET, max_bytes=10_000)
    assert children == [] and [i.url for i in items] == ["https://example.org/a", "https://example.org/b"]
    assert items[0].published.date().isoformat() == "2024-03-05"
    assert items[1].title == "News title" and items[1].published.astimezone(UTC).hour == 7


def test_sitemap_index_and_gzip():
    assert parse_sitemap(INDEX, max_bytes=10_000) == (
        [],
        ["https://example.org/s1.xml", "https://example.org/s2.xml.gz"],
    )
    items, _ = parse_sitemap(gzip.compress(URLSET), max_bytes=10_000)
    assert len(items) == 2


def test_gzip_bomb_sitemap_is_refused():
    with pytest.raises(Rejected, match="decompressed"):
        parse_sitemap(gzip.compress(b" " * 5_000_000), max_bytes=100_000)


def test_external_entities_are_not_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    xxe = f"""<?xml version="1.0"?><!DOCTYPE u [<!ENTITY x SYSTEM "file://{secret}">]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://example.org/&x;</loc></url></urlset>""".encode()
    items, _ = parse_sitemap(xxe, max_bytes=10_000)
    assert all("TOPSECRET" not in i.url for i in items)


def test_not_a_sitemap():
    with pytest.raises(Rejected, match="not a sitemap"):
        parse_sitemap(b"<html><body/></html>", max_bytes=10_000)
