"""HTML: fragments through BeautifulSoup, full pages through trafilatura, both
then through the same paragraph rules."""

import gzip
import json
import re
from datetime import UTC

import pytest

from newsdesk.tasks.extract.clean import clean_document
from newsdesk.tasks.extract.clean.html import clean_html, is_full_page
from tests.helpers import BENCH_PAGES

PAGES = BENCH_PAGES / "html"
# Two of the benchmark's pages, checked here in detail.
_CHECKED = (
    "20b2b64916b00b25203c9f1bf14248922f4d522f18328e9f876cce116df0083e",
    "f344ca5fb36e130f4344235fa22726f3367e09c211c120f21d9ae92effe902db",
)
_ALL = json.loads((BENCH_PAGES / "ground-truth.json").read_text(encoding="utf-8"))
TRUTH = {key: _ALL[key] for key in _CHECKED}


def test_fragment_keeps_paragraphs_and_link_text_and_drops_navigation():
    html = """
    <nav><a href="/">Home</a> <a href="/news">News</a></nav>
    <h1>Council Approves Transit Budget</h1>
    <p>The <a href="/council">city council</a> approved the budget on Tuesday after a long debate.</p>
    <p>Opponents wanted buses;<br>supporters wanted rail &amp; trams.</p>
    <ul><li>Buses: 40 new vehicles</li><li>Rail: two stations</li></ul>
    <script>var tracking = 1;</script>
    """
    article = clean_html(html)
    assert article.title == "Council Approves Transit Budget"
    assert article.body.split("\n\n") == [
        "The city council approved the budget on Tuesday after a long debate.",
        "Opponents wanted buses;",
        "supporters wanted rail & trams.",
        "- Buses: 40 new vehicles",
        "- Rail: two stations",
    ]


def test_fragment_headings_inside_the_body_stay():
    html = (
        "<p>"
        + "Long opening paragraph about the vote. " * 3
        + "</p><h2>Reactions</h2><p>People reacted to the vote.</p>"
    )
    assert clean_html(html).body.split("\n\n")[1] == "Reactions"


@pytest.mark.parametrize("page_id", sorted(TRUTH))
def test_full_page_main_content_and_metadata(page_id):
    html = gzip.decompress((PAGES / f"{page_id}.html.gz").read_bytes()).decode("utf-8")
    assert is_full_page(html)
    article = clean_document(html, "text/html")
    truth = TRUTH[page_id]["articleBody"]
    first_sentence = truth.split("\n")[0][:80]
    assert first_sentence in article.body
    assert article.title and article.published is not None
    assert not re.search(r"<[a-z]+[ >]", article.body)
    # The page's navigation and footer are not in the body.
    assert "All rights reserved" not in article.body
    truth_words = set(re.findall(r"\w+", truth.lower()))
    body_words = re.findall(r"\w+", article.body.lower())
    assert sum(w in truth_words for w in body_words) / len(body_words) > 0.95


def test_a_page_with_no_article_text_is_rejected():
    from newsdesk.tasks.records import Rejected

    html = "<html><body><nav><a href='/'>Home</a><a href='/a'>About</a></nav></body></html>"
    with pytest.raises(Rejected):
        clean_document(html, "text/html")


def test_a_feed_entry_fills_what_the_page_lacks():
    from datetime import datetime

    from newsdesk.tasks.records import Prepared, Unchanged
    from newsdesk.tasks.web.fetch import Fetched
    from newsdesk.tasks.web.listings import WebItem
    from newsdesk.tasks.web.pages import prepare_page

    html = "<p>" + "The council approved the budget after a long debate about buses and trains. " * 3 + "</p>"
    item = WebItem(
        "https://example.org/a",
        title="Council Approves Budget",
        author="Ana Ruiz",
        published=datetime(2024, 3, 5, tzinfo=UTC),
    )
    fetched = Fetched(item.url, item.url, not_modified=False, body=html.encode(), media_type="text/html", etag='"x"')
    prepared = prepare_page(item, fetched)
    assert isinstance(prepared, Prepared)
    article = prepared.article
    assert (article.title, article.author, article.published) == ("Council Approves Budget", "Ana Ruiz", item.published)
    assert prepared.document.etag == '"x"' and prepared.document.raw == html.encode()
    assert prepare_page(item, Fetched(item.url, item.url, not_modified=True)) == Unchanged(item.url)
    assert prepare_page(item, fetched, stored_sha256=prepared.document.sha256) == Unchanged(item.url)
