"""Feeds and sitemaps through parse_listing: every format's entries, today's
protections (entities, size caps, gzip bombs, control characters), and
malformed input refused with a reason. tests/unit/test_listings_corpus.py reads
real files."""

import gzip
import json
from datetime import UTC
from unittest.mock import ANY

import pytest

from newsdesk.tasks.records import Rejected
from newsdesk.tasks.web.listings import Listing, WebItem, parse_feed, parse_listing, parse_sitemap

BASE = "https://example.org/feed.xml"
LIMIT = 100_000

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


def listing(data: bytes, base_url: str = BASE) -> Listing:
    return parse_listing(data, base_url, max_bytes=LIMIT)


def test_rss2_with_dates_authors_and_relative_links():
    items = listing(RSS2).items
    assert [i.url for i in items] == ["https://example.org/a", "https://example.org/b"]
    assert items[0].title == "First" and items[0].published.isoformat() == "2019-11-19T10:00:00+00:00"
    assert "Ana Ruiz" in items[0].author


def test_rss1_and_atom():
    assert [i.url for i in listing(RSS1).items] == ["https://example.org/c"]
    [atom] = listing(ATOM).items
    assert (atom.url, atom.title, atom.author) == ("https://example.org/d", "Atom one", "Tom Lee")
    assert atom.published.year == 2024 and atom.updated == atom.published


def test_json_feed_with_authors():
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "items": [
            {
                "id": "1",
                "url": "https://example.org/e",
                "title": "Json",
                "date_published": "2024-01-02T03:04:05Z",
                "authors": [{"name": "Ana Ruiz"}, {"name": 7}, {"name": "Tom Lee"}],
            },
            {"id": "2", "url": "https://example.org/f", "author": {"name": "Old Style"}},
        ],
    }
    first, second = listing(json.dumps(feed).encode()).items
    assert (first.url, first.title, first.author, first.published.hour) == (
        "https://example.org/e",
        "Json",
        "Ana Ruiz, Tom Lee",
        3,
    )
    assert (second.url, second.author) == ("https://example.org/f", "Old Style")


def test_control_characters_are_dropped_from_text_and_percent_encoded_in_urls():
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "items": [
            {
                "url": "https://example.org/a\x00b\x07",
                "title": "Nul\x00 in the\x07 title",
                "summary": "A\x00 summary",
                "authors": [{"name": "Ann\x00 Author"}],
            },
            {"url": "https://example.org/n", "title": 12345, "summary": {"not": "text"}},
        ],
    }
    first, second = listing(json.dumps(feed).encode()).items
    assert first.url == "https://example.org/a%00b%07"
    assert (first.title, first.summary, first.author) == ("Nul in the title", "A summary", "Ann Author")
    assert (second.title, second.summary) == (None, None)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"<html><body>not a feed</body></html>", "not a feed or sitemap: root element <html>"),
        (b"<!DOCTYPE html><html><body><p>unclosed<br></body></html>", "not a feed or sitemap: root element <html>"),
        (b"{not json", "not a readable JSON feed"),
        (b'{"items": 3}', "not a JSON Feed: no items list"),
        (b"\x00\x01garbage", "not a feed, sitemap or robots.txt: text of which 0 of 1 lines are URLs"),
        (b"", "not a feed or sitemap: the body is empty"),
        (b" \n\t ", "not a feed or sitemap: the body is empty"),
        (b"Hello.\nhttps://example.org/x\nThis is prose.\nMore prose.\n", "1 of 4 lines are URLs"),
    ],
)
def test_what_is_no_listing_is_refused_with_a_reason(data, reason):
    with pytest.raises(Rejected, match="(?i)feed") as refused:
        listing(data)
    assert refused.value.stage == "discover" and reason in refused.value.reason


URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://example.org/a</loc><lastmod>2024-03-05</lastmod></url>
<url><loc>https://example.org/b</loc><news:news><news:publication><news:name>Ex</news:name><news:language>en</news:language></news:publication>
<news:publication_date>2024-03-06T08:00:00+01:00</news:publication_date><news:title>News title</news:title></news:news></url>
</urlset>"""
INDEX = b"""<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>https://example.org/s1.xml</loc></sitemap><sitemap><loc>https://example.org/s2.xml.gz</loc></sitemap></sitemapindex>"""


def test_urlset_and_google_news_sitemap():
    found = listing(URLSET)
    assert found.children == [] and [i.url for i in found.items] == ["https://example.org/a", "https://example.org/b"]
    assert found.items[0].published.date().isoformat() == "2024-03-05" and found.items[0].updated is not None
    assert found.items[1].title == "News title" and found.items[1].published.astimezone(UTC).hour == 7


def test_sitemap_without_namespace_or_with_an_old_one_and_relative_locs():
    old = b'<urlset xmlns="http://www.google.com/schemas/sitemap/0.84"><url><loc>/a</loc></url></urlset>'
    bare = b"<urlset><url><loc> https://example.org/b </loc></url></urlset>"
    assert [i.url for i in listing(old, "https://example.org/maps/s.xml").items] == ["https://example.org/a"]
    assert [i.url for i in listing(bare).items] == ["https://example.org/b"]


def test_sitemap_index_and_gzip():
    assert listing(INDEX) == Listing(children=["https://example.org/s1.xml", "https://example.org/s2.xml.gz"])
    assert len(listing(gzip.compress(URLSET)).items) == 2
    assert [i.url for i in listing(gzip.compress(RSS2)).items][0] == "https://example.org/a"


def test_the_wrappers_read_any_listing():
    assert [i.url for i in parse_feed(RSS2, BASE, max_bytes=LIMIT)] == [
        "https://example.org/a",
        "https://example.org/b",
    ]
    assert parse_sitemap(INDEX, max_bytes=LIMIT) == (
        [],
        ["https://example.org/s1.xml", "https://example.org/s2.xml.gz"],
    )
    assert parse_sitemap(URLSET, max_bytes=LIMIT) == (listing(URLSET).items, [])
    assert listing(URLSET).items[0] == WebItem("https://example.org/a", published=ANY, updated=ANY)


def test_gzip_bomb_is_refused():
    with pytest.raises(Rejected, match="over 100000 bytes once decompressed"):
        listing(gzip.compress(b" " * 5_000_000))


@pytest.mark.parametrize("data", [b"\x1f\x8b\x08\x00garbage", gzip.compress(URLSET)[:-30], b"\x1f\x8bnot gzip"])
def test_broken_gzip_is_refused(data):
    with pytest.raises(Rejected, match="broken gzip"):
        listing(data)


def test_a_body_over_the_limit_is_refused():
    with pytest.raises(Rejected, match=f"body of {len(URLSET)} bytes is over the limit of 100"):
        parse_listing(URLSET, BASE, max_bytes=100)


def test_external_entities_are_not_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    doctype = f'<!DOCTYPE x [<!ENTITY x SYSTEM "file://{secret}">]>'
    sitemap = f"""<?xml version="1.0"?>{doctype}
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://example.org/&x;</loc></url></urlset>"""
    feed = f"""<?xml version="1.0"?>{doctype}<rss version="2.0"><channel><title>t</title>
<item><title>XXE &x;</title><link>https://example.org/&x;</link><description>&x;</description></item></channel></rss>"""
    items = listing(sitemap.encode()).items + listing(feed.encode()).items
    assert len(items) == 2
    assert all("TOPSECRET" not in str(value) for item in items for value in (item.url, item.title, item.summary))


LAUGHS = '<!ENTITY lol "lol">' + "".join(
    f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
)


def test_billion_laughs_are_not_expanded():
    feed = (
        f'<?xml version="1.0"?><!DOCTYPE rss [{LAUGHS}]><rss version="2.0"><channel><title>t</title>'
        "<item><title>Laughs &lol9;</title><link>https://example.org/a</link>"
        "<description>&lol9;&lol9;</description></item></channel></rss>"
    )
    sitemap = (
        f'<?xml version="1.0"?><!DOCTYPE urlset [{LAUGHS}]>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        "<url><loc>https://example.org/b</loc><news:news><news:title>Laughs &lol9;</news:title></news:news></url></urlset>"
    )
    [from_feed] = listing(feed.encode()).items
    [from_sitemap] = listing(sitemap.encode()).items
    assert (from_feed.url, from_sitemap.url) == ("https://example.org/a", "https://example.org/b")
    for item in (from_feed, from_sitemap):
        assert item.title in ("Laughs", "Laughs &lol9;") and "lollollol" not in (item.summary or "")
