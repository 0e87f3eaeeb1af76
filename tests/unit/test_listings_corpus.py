"""parse_listing on real files: feeds from feedparser's test suite (BSD-2-Clause,
tests/data/feedparser/) and listings written for these tests (tests/data/listings/;
ultimate-sitemap-parser's are GPL-3.0, so none is copied)."""

import gzip
from pathlib import Path

import pytest

from newsdesk.tasks.records import Rejected
from newsdesk.tasks.web.listings import Listing, parse_listing

DATA = Path(__file__).parents[1] / "data"
FINAL = "https://news.example.com/feeds/final.xml"  # where a listing was finally read from


def read(name: str, base_url: str = FINAL) -> Listing:
    return parse_listing((DATA / name).read_bytes(), base_url, max_bytes=1_000_000)


def urls(found: Listing) -> list[str]:
    return [item.url for item in found.items]


# --- 1. Relative links resolve against the final URL and xml:base -------------


@pytest.mark.parametrize(
    "name",
    [
        "feedparser/wellformed/base/http_item_link_base_docuri.xml",
        "feedparser/wellformed/base/http_entry_link_base_docuri.xml",
    ],
)
def test_relative_links_resolve_against_the_url_the_feed_was_read_from(name):
    # feedparser's own expectation for a feed read from http://127.0.0.1:8097/…
    assert (DATA / name).read_text().count("http://127.0.0.1:8097/relative/") == 1
    expected = "http://127.0.0.1:8097/relative/"
    assert urls(read(name, "http://127.0.0.1:8097/tests/feed.xml"))[0].startswith(expected)
    # Reached through a redirect: the final URL counts, not the one configured.
    assert urls(read(name, "https://mirror.example.net/moved/feed.xml"))[0].startswith(
        "https://mirror.example.net/relative/"
    )


def test_a_content_location_in_the_test_header_is_not_what_counts():
    # The corpus served this with Content-Location: http://example.com/; we are told the final URL.
    [item] = read("feedparser/wellformed/base/http_item_link_base_content_location.xml").items
    assert item.url == "https://news.example.com/relative/uri"


def test_xml_base_on_the_feed_and_on_an_entry():
    found = read("listings/xml-base-atom.xml")
    assert urls(found) == [
        "https://news.example.com/feeds/archive/2024/budget.html",  # feed xml:base="archive/" against the final URL
        "https://cdn.example.net/stories/floods.html",  # the entry's own absolute xml:base
    ]
    assert found.problems == []


# --- 2. Entry ids that are not links are no URLs --------------------------------


def test_atom_ids_that_are_not_urls_are_problems():
    found = read("feedparser/wellformed/node_precedence/atom10_id.xml")
    assert found.items == []
    reason = "feed entry has no link (id 'Correct Value' is not a URL)"
    assert found.problems == [(f"{FINAL}#entry-1", reason), (f"{FINAL}#entry-2", reason)]


def test_a_guid_that_is_not_a_permalink_is_a_problem_even_under_xml_base():
    found = read(
        "feedparser/wellformed/rss/item_guid_not_permalink_not_url.xml"
    )  # guid "abc", xml:base http://dom.test/
    assert found.items == [] and found.problems == [
        (f"{FINAL}#entry-1", "feed entry has no link (guid 'abc' has isPermaLink=\"false\")")
    ]
    url_guid = read("feedparser/wellformed/rss/item_guid_not_permalink.xml")
    assert url_guid.items == [] and 'has isPermaLink="false"' in url_guid.problems[0][1]


def test_a_permalink_guid_is_the_url_only_when_it_is_an_absolute_http_url():
    assert urls(read("feedparser/wellformed/rss/item_guid_map_link.xml")) == ["http://guid.example.com/"]
    broken = read("feedparser/wellformed/rss/item_guid_isPermaLink_ValueError.xml")  # http://example.c[o.test/
    assert broken.items == [] and broken.problems == [
        (f"{FINAL}#entry-1", "feed entry has no link (guid 'http://example.c[o.test/' is not a URL)")
    ]
    # A guid permalink by default that is no URL: feedparser would resolve it to https://news.example.com/feeds/abc.
    relative = parse_listing(
        b'<rss version="2.0"><channel><item><guid>abc</guid></item></channel></rss>', FINAL, max_bytes=1000
    )
    assert relative == Listing(problems=[(f"{FINAL}#entry-1", "feed entry has no link (guid 'abc' is not a URL)")])


def test_a_tag_id_is_no_url_but_the_link_beside_it_is():
    tag_only = parse_listing(
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>tag:news.example.com,2024:1</id></entry></feed>',
        FINAL,
        max_bytes=1000,
    )
    assert tag_only.problems == [
        (f"{FINAL}#entry-1", "feed entry has no link (id 'tag:news.example.com,2024:1' is not a URL)")
    ]
    [item] = read("feedparser/wellformed/namespace/atomthreadingwithentry.xml").items  # id tag:blogger.com,…
    assert item.url.startswith("http://salmon-test.blogspot.com/2009/10/test-post.html")


def test_ids_that_are_absolute_http_urls_are_the_url():
    assert urls(read("feedparser/wellformed/atom10/entry_id.xml")) == ["http://example.com/"]
    assert urls(read("feedparser/wellformed/rdf/rdf_item_rdf_about.xml")) == ["http://example.org/1"]


def test_a_link_wins_over_any_guid_and_only_an_alternate_link_counts():
    assert urls(read("feedparser/wellformed/rss/item_guid_conflict_link.xml")) == ["http://link.example.com/"]
    # <guid isPermaLink="false">http://delicious.com/…</guid> beside the <link>
    assert urls(read("feedparser/wellformed/namespace/rss2.0withAtomNS.xml")) == [
        "http://www.kylev.com/2005/03/29/rsync-and-vfat/"
    ]
    # Entry 1 lists an enclosure after the alternate link, entry 2 before it: both are the alternate.
    assert urls(read("feedparser/wellformed/atom10/entry_link_no_href_link_priority.xml")) == [
        "http://www.example.com/alternate"
    ]


def test_json_feed_ids_that_are_not_urls_are_problems():
    found = read("listings/json-feed-ids.json")
    assert urls(found) == [
        "https://news.example.com/2024/03/05/budget.html",  # relative url, against the final URL
        "https://elsewhere.example.org/story",  # external_url, fragment dropped
        "https://news.example.com/2024/03/06/floods.html",  # an id that is a URL
    ]
    assert (found.items[0].author, found.items[2].author) == ("Ana Ruiz, Tom Lee", "Old Style")
    assert found.problems == [
        (f"{FINAL}#entry-3", "feed entry has no link (id '3' is not a URL)"),
        (f"{FINAL}#entry-5", "feed entry has no link or id"),
        (f"{FINAL}#entry-6", "JSON Feed item is not an object"),
    ]
    example = read("feedparser/json/example.json")
    assert urls(example) == ["https://example.org/second-item", "https://example.org/initial-post"]
    assert example.items[1].author == "you"


# --- 3. The body decides, not the Content-Type -----------------------------------


@pytest.mark.parametrize(
    ("name", "served_as"),
    [
        ("feedparser/encoding/http_text_rss_xml_default.xml", "text/rss+xml"),
        ("feedparser/encoding/http_application_xml_dtd_default.xml", "application/xml-dtd"),
        ("feedparser/encoding/bozo_http_text_plain.xml", "text/plain"),
    ],
)
def test_feeds_served_with_odd_content_types_are_read_as_valid_empty_feeds(name, served_as):
    assert f"Content-type: {served_as}" in (DATA / name).read_text()
    assert read(name) == Listing()


@pytest.mark.parametrize("name", ["feedparser/encoding/utf-16be.xml", "feedparser/encoding/utf-32be-bom.xml"])
def test_feeds_in_utf16_and_utf32_are_recognised(name):
    assert (DATA / name).read_bytes()[:4] in (b"\x00<\x00?", b"\x00\x00\xfe\xff")
    assert read(name) == Listing()


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-16-le"])
def test_a_utf16_feed_lists_its_entries(encoding):
    text = (DATA / "listings/xml-base-atom.xml").read_text().replace('encoding="utf-8"', 'encoding="utf-16"')
    found = parse_listing(text.encode(encoding), FINAL, max_bytes=10_000)
    assert urls(found) == urls(read("listings/xml-base-atom.xml"))


def test_an_undeclared_namespace_prefix_does_not_stop_the_feed():
    assert read("feedparser/illformed/undeclared_namespace.xml") == Listing()  # <itunes:subtitle>, no xmlns:itunes


def test_a_feed_the_two_parsers_count_differently_is_still_read_by_its_links():
    # CDF <ITEM HREF=…>: feedparser reads an entry, lxml sees no RSS or Atom entry element.
    assert urls(read("feedparser/wellformed/cdf/item_href_map_link.xml")) == ["http://www.example.org/"]


def test_an_html_comment_alone_is_no_feed():
    with pytest.raises(Rejected, match="not a readable feed or sitemap"):
        read("feedparser/illformed/rss_empty_document.xml")


# --- 4. Plain-text sitemaps and robots.txt -------------------------------------------


def test_plain_text_sitemap():
    found = read("listings/sitemap.txt")
    assert urls(found) == [
        "https://news.example.com/2024/03/05/budget.html",
        "https://news.example.com/2024/03/06/floods.html",
        "https://news.example.com/2024/03/07/tram.html?page=2",
    ]
    assert found.problems == [
        (f"{FINAL}#line-7", "text sitemap line is not an absolute http(s) URL: 'Some other stuff which is not a URL'"),
        (f"{FINAL}#line-8", "text sitemap line is not an absolute http(s) URL: '/2024/03/07/relative.html'"),
    ]
    compressed = gzip.compress((DATA / "listings/sitemap.txt").read_bytes())
    assert parse_listing(compressed, FINAL, max_bytes=10_000) == found


def test_robots_txt_sitemap_lines_become_children():
    found = read("listings/robots.txt", "https://news.example.com/robots.txt")
    assert found == Listing(
        children=[
            "https://news.example.com/sitemap-index.xml",
            "https://news.example.com/sitemaps/news.xml.gz",
            "https://news.example.com/sitemaps/pages.txt",
        ]
    )
    no_sitemaps = parse_listing(b"User-agent: *\nDisallow: /private\n", FINAL, max_bytes=1000)
    assert no_sitemaps == Listing()


# --- 5. Fragments are dropped before URLs are de-duplicated -----------------------


def test_fragments_are_dropped_and_the_first_listed_wins():
    found = read("listings/news-sitemap.xml")
    assert urls(found) == [
        "https://news.example.com/2024/03/05/budget.html",
        "https://news.example.com/2024/03/06/floods.html",
    ]
    first, second = found.items
    assert first.title == "Council approves the budget"  # not "Listed again, with a fragment", nor the image's title
    assert (
        first.published.isoformat() == "2024-03-05T08:00:00+01:00" and first.updated.date().isoformat() == "2024-03-05"
    )
    assert (second.title, second.published, second.updated.isoformat()) == (
        None,
        second.updated,
        "2024-03-06T10:30:00+00:00",
    )
    assert found.problems == [(f"{FINAL}#url-3", "sitemap entry has no <loc>")]
    [threaded] = read("feedparser/wellformed/namespace/atomthreadingwithentry.xml").items  # …?showComment=…#c4788…
    assert threaded.url == "http://salmon-test.blogspot.com/2009/10/test-post.html?showComment=1260320342544"


# --- 6. Empty feeds, entries without links, an index that lists itself -------------


def test_a_sitemap_index_that_lists_itself_returns_itself_as_a_child():
    index_url = "https://news.example.com/sitemap-index.xml"
    found = read("listings/sitemap-index.xml", index_url)
    assert found == Listing(
        children=[
            index_url,
            "https://news.example.com/sitemaps/news.xml.gz",  # listed twice, the second time with a fragment
            "https://news.example.com/sitemaps/pages.xml",  # relative, with a fragment
        ],
        problems=[(f"{index_url}#sitemap-3", "sitemap index entry has no <loc>")],
    )
