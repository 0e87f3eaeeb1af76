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


# --- text never glued; navigation, link lists and cookie walls rejected ---------------

EVAL_PAGES = BENCH_PAGES.parent / "extraction-eval" / "html"


def _page(key: str) -> str:
    """A benchmark page by the start of its key, from either set."""
    [path] = [*PAGES.glob(f"{key}*.html.gz"), *EVAL_PAGES.glob(f"{key}*.html.gz")]
    return gzip.decompress(path.read_bytes()).decode("utf-8")


def _rejection(html: str) -> str:
    from newsdesk.tasks.records import Rejected

    with pytest.raises(Rejected) as caught:
        clean_document(html, "text/html")
    return caught.value.reason


def test_a_page_of_glued_navigation_links_is_rejected_as_navigation():
    links = "".join(f'<a href="/section/{i}">Section {i}</a>' for i in range(40))
    assert _rejection(f"<html><body><nav>{links}</nav></body></html>").startswith("navigation only")
    assert _rejection(f"<html><body><div>{links}</div></body></html>").startswith("navigation only")


def test_a_real_menu_alone_is_rejected_as_navigation():
    # MacRumors' list of roundups, as the page writes it, with nothing else on the page.
    menu = re.search(
        r'<ul[^>]*>\s*<li[^>]*><a href="https://www.macrumors.com/roundup/.*?</ul>', _page("232a43fb15"), re.S
    )
    assert menu and menu.group(0).count("<li") > 10
    assert _rejection(f"<html><body><h2>Roundups</h2>{menu.group(0)}</body></html>").startswith("navigation only")
    assert _rejection(menu.group(0)).startswith("navigation only")  # as a fragment too


def test_a_real_cookie_wall_alone_is_rejected():
    # The consent box of a German page, as the page writes it.
    box = re.search(
        r'<div id="r344486-0-0" class="alert warning dialogCookieWarning".*?</div></div>', _page("3b580da7d5"), re.S
    )
    assert box and "Wir verwenden Cookies" in box.group(0)
    assert _rejection(f"<html><body>{box.group(0)}</body></html>").startswith("cookie wall")


def test_an_article_with_a_menu_and_a_cookie_box_is_kept_without_them():
    box = re.search(
        r'<div id="r344486-0-0" class="alert warning dialogCookieWarning".*?</div></div>', _page("3b580da7d5"), re.S
    )
    links = "".join(f'<a href="/section/{i}">Section {i}</a>' for i in range(40))
    story = "<p>" + "The council approved the transit budget on Tuesday after a long debate about buses. " * 3 + "</p>"
    article = clean_html(f"<div><nav>{links}</nav>{box.group(0)}{story}</div>")
    assert article.body == " ".join(
        ["The council approved the transit budget on Tuesday after a long debate about buses."] * 3
    )


def test_block_elements_separate_text_and_inline_elements_join_as_rendered():
    html = (
        "<h1>Blocks and inline elements</h1>"
        "<div><div>First block</div><div>Second block</div></div>"
        "<table><tr><td>Cell one</td><td>Cell two</td></tr></table>"
        "<p><span>Inline</span><span>Joined</span> as a browser shows it, <b>bold</b>and<i>italic</i>.</p>"
        "<dl><dt>Term</dt><dd>Definition</dd></dl>"
    )
    assert clean_html(html).body.split("\n\n") == [
        "First block",
        "Second block",
        "Cell one Cell two",
        "InlineJoined as a browser shows it, boldanditalic.",
        "Term",
        "Definition",
    ]


def test_a_real_share_bar_goes_in_a_fragment_and_in_a_page():
    # The New York Post's share bar, as the page writes it, under the story's own first paragraphs.
    share = re.search(r'<div class="sharedaddy sd-sharing-enabled">.*?</ul>', _page("432362af0b"), re.S)
    assert share and "Share this:" in share.group(0)
    bar = share.group(0) + "</div></div>"
    [key] = [k for k in _ALL if k.startswith("432362af0b")]
    story = _ALL[key]["articleBody"].split("\n\n")[:3]
    paragraphs = "".join(f"<p>{p}</p>" for p in story)
    assert clean_html(f"<div>{paragraphs}{bar}</div>").body.split("\n\n") == story
    page = clean_html(f"<html><body><article><h1>Plague</h1>{bar}{paragraphs}{bar}</article></body></html>")
    assert page.body.split("\n\n") == story


@pytest.mark.parametrize(
    ("key", "residue", "kept"),
    [
        # A click-to-tweet box: the button goes, its sentence stays.
        ("c582d3b772", "Click To Tweet", "Every online business exists in the 'space-time continuum.'"),
        ("ec7fc408c5", "Click To Tweet", "grow into your online leadership role with much less stress."),
        # A wire credit standing alone at the end.
        ("359fee2285", "© Reuters", "It will be really exciting."),
        # A newsletter sign-up box.
        ("55bb6340e3", "Sign up for the free daily newsletter", "Brace yourself, Swifties"),
    ],
)
def test_residue_found_on_the_benchmark_pages_goes(key, residue, kept):
    body = clean_html(_page(key)).body
    assert residue not in body
    assert kept in body


@pytest.mark.parametrize("key", ["34a7328535", "f5c90a6d52", "dfd43bc0d4", "c582d3b772"])
def test_paragraphs_are_not_broken_mid_sentence(key):
    body = clean_html(_page(key)).body
    assert not re.search(r"[a-z,]\n\n[a-z]", body), re.search(r".{40}[a-z,]\n\n[a-z].{40}", body)


@pytest.mark.parametrize(
    ("key", "language"),
    [
        ("06916869349960a9", "de"),  # declares <html lang="en">, written in German
        ("2c1f41b0c9f4dd38", "es"),  # declares "en" too, written in Spanish
        ("913a7205858c59a1", "de"),  # declares "en-US"
        ("255c494efd8329b3", "en"),
    ],
)
def test_page_language_is_what_the_text_is_written_in(key, language):
    assert clean_html(_page(key)).language == language
