"""Metadata normalising (tasks.extract.metadata): pure, no database."""

from datetime import UTC, datetime

from newsdesk.tasks.extract.clean.dates import date_precision
from newsdesk.tasks.extract.metadata import (
    choose_publisher,
    clean_authors,
    clean_publisher,
    is_slug,
    normalise_language,
    page_metadata,
    publisher_domain,
    strip_site_suffix,
)


def test_language_codes_become_iso_639_1():
    assert [normalise_language(c) for c in ("en-US", "EN_gb", "ru-RU", "de", "eng", "ger", "iw")] == [
        "en",
        "en",
        "ru",
        "de",
        "en",
        "de",
        "he",
    ]
    assert [normalise_language(c) for c in (None, "", "xx", "english", "e", "zz-ZZ")] == [None] * 6


def test_authors_are_person_names():
    assert clean_authors("Jeff Foust Monday; November") == ["Jeff Foust"]
    assert clean_authors("LISA MASCARO; ERIC TUCKER Associated Press") == ["LISA MASCARO", "ERIC TUCKER"]
    assert clean_authors("By Ana Ruiz and Tom Lee") == ["Ana Ruiz", "Tom Lee"]
    assert clean_authors("Ana Ruiz, Tom Lee") == ["Ana Ruiz", "Tom Lee"]
    assert clean_authors("Ana Ruiz, Staff Writer") == ["Ana Ruiz"]
    assert clean_authors("Phil Helsel is a reporter for NBC News") == ["Phil Helsel"]
    assert clean_authors(["Admin", "Rmb", "jdoe", "Editorial", "someone@example.org"]) == []
    assert clean_authors("Ana Ruiz; ana ruiz") == ["Ana Ruiz"]


def test_publishers_are_names():
    assert clean_publisher("Copyright 2014") is None
    assert clean_publisher("https://www.hawaiinewsnow.com") is None
    assert clean_publisher("Hosted") is None
    assert clean_publisher("© 2019 The Daily Ledger. All rights reserved.") == "The Daily Ledger"
    assert clean_publisher("Phys.org") == "Phys.org"


def test_publisher_domain_from_the_bundled_suffix_list():
    assert publisher_domain("https://www.bbc.co.uk/news/x") == "bbc.co.uk"
    assert publisher_domain("https://news.example.com.au/a") == "example.com.au"
    assert publisher_domain("/tmp/a.html") is None
    assert publisher_domain("http://127.0.0.1:8000/a") is None


def test_site_name_suffix_is_cut_when_it_names_the_publisher_or_domain():
    assert strip_site_suffix("Review: a game - IGN", None, "ign.com") == ("Review: a game", "IGN")
    assert strip_site_suffix("New bikes | MoreBikes", "MoreBikes", None) == ("New bikes", "MoreBikes")
    assert (
        strip_site_suffix("Jam | The Anti-June Cleaver | The Anti-June Cleaver", "The Anti-June Cleaver", None)[0]
        == "Jam"
    )
    # a dash inside a headline that names someone else stays
    assert strip_site_suffix("Trump - Biden debate", "The Daily Ledger", "ledger.com") == ("Trump - Biden debate", None)


def test_page_metadata_prefers_a_stated_timestamp_with_zone():
    html = (
        '<meta name="sailthru.date" content="2019-11-18 20:58:46">'
        '<meta property="article:published_time" content="2019-11-18T20:58:46-08:00">'
        '<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "November 18, 2019",'
        ' "keywords": ["Space", "NASA", "space"], "articleSection": ["Science"],'
        ' "author": [{"@type": "Person", "name": "Ana Ruiz"}, {"@type": "Organization", "name": "Wire"}],'
        ' "publisher": {"@type": "Organization", "name": "The Ledger"}}</script>'
    )
    found = page_metadata(html)
    assert found.published == datetime(2019, 11, 19, 4, 58, 46, tzinfo=UTC)
    assert found.published_precision == "datetime"
    assert (found.keywords, found.section, found.authors, found.publisher) == (
        ["Space", "NASA"],
        "Science",
        ["Ana Ruiz"],
        "The Ledger",
    )
    day_only = page_metadata('<meta name="date" content="2019-11-18">')
    assert (day_only.published, day_only.published_precision) == (datetime(2019, 11, 18, tzinfo=UTC), "date")
    assert page_metadata("<p>nothing</p>").published is None


def test_date_precision():
    assert [date_precision(v) for v in ("2019-11-18", "Nov 18, 2019 10:30 ET", "2019-11-18T10:30Z", None)] == [
        "date",
        "datetime",
        "datetime",
        None,
    ]


def test_date_precision_reads_days_with_dots_and_flags_times_without_zone():
    assert date_precision("11.11.2021") == "date"
    assert date_precision("06.11.2023 13:30") == "datetime_no_zone"
    assert date_precision("2019-11-19 02:24:00") == "datetime_no_zone"
    assert date_precision("Published 7:07 PM EST Nov 19, 2019") == "datetime"
    assert date_precision("2019-11-19T02:24:00+0100") == "datetime"


def test_item_prop_date_published_on_any_element_and_wordpress_time():
    span = page_metadata('<span itemprop="datePublished" content="2020-07-08T10:15:00+02:00">8. Juli</span>')
    assert (span.published, span.published_precision) == (datetime(2020, 7, 8, 8, 15, tzinfo=UTC), "datetime")
    text = page_metadata('<div class="x" itemprop="datePublished">2020-07-08</div>')
    assert (text.published, text.published_precision) == (datetime(2020, 7, 8, tzinfo=UTC), "date")
    wordpress = page_metadata(
        '<time class="entry-date published" datetime="2019-03-01T09:00:00+00:00">1 March</time>'
        '<time class="updated" datetime="2019-04-01T09:00:00+00:00">1 April</time>'
    )
    assert wordpress.published == datetime(2019, 3, 1, 9, tzinfo=UTC)


def test_json_ld_in_a_graph_nested_or_with_raw_line_breaks_outranks_generic_dc_date():
    graph = (
        '<meta name="DC.Date" content="2020-01-01T00:00:00+00:00">'
        '<script type="application/ld+json">{"@graph": [{"@type": "WebSite", "name": "WDR"},'
        ' {"@type": ["NewsArticle"], "headline": "a\nb", "datePublished": "2020-01-19T10:00:00+01:00",'
        ' "dateModified": "2020-01-20T10:00:00+01:00"}]}</script>'
    )
    found = page_metadata(graph)
    assert found.published == datetime(2020, 1, 19, 9, tzinfo=UTC)
    nested = page_metadata(
        '<script type="application/ld+json">[{"@type": "WebPage", "mainEntity": {"@type": "Article",'
        ' "datePublished": "2021-02-03T04:05:06Z",}}]</script>'
    )
    assert nested.published == datetime(2021, 2, 3, 4, 5, 6, tzinfo=UTC)
    # a time without a zone is kept as stated, and flagged
    naive = page_metadata('<meta property="article:published_time" content="2021-02-03 04:05">')
    assert naive.published_precision == "datetime_no_zone"
    # a comment's or another article's date is not the page's
    other = page_metadata(
        '<script type="application/ld+json">{"@type": "ItemList", "itemListElement": [{"@type": "Comment",'
        ' "datePublished": "2001-01-01"}]}</script><script>var x = {"dateModified": "2024-01-01"}</script>'
    )
    assert other.published is None


def test_authors_that_are_no_persons_are_dropped():
    assert clean_authors(["Follow", "Name", "Reuters", "Associated Press", "Wordpressadmin", "Jdadmin"]) == []
    assert clean_authors("Copyright Haufe-Lexware GmbH") == []
    assert clean_authors(["Olympia-Verlag GmbH", "TVT-Redaktion", "HNN Staff", "Autor/in"]) == []
    assert clean_authors("Autor Jd") == []
    assert clean_authors("Autor: Anna Kubišta") == ["Anna Kubišta"]
    references = ", ".join(f"A. Name{i}" for i in range(40))
    assert clean_authors(references) == []
    assert clean_authors("SPIEGEL ONLINE", not_names=("Spiegel Online",)) == []
    assert clean_authors("Bundesministerium für Wirtschaft und Klimaschutz") == []


def test_publisher_names_without_taglines_or_hosts():
    assert clean_publisher("100% Noticias | Nicaragua - Con Primicias A Toda Hora") == "100% Noticias"
    assert clean_publisher("der Schreibstil - chadim.net", "chadim.net") == "chadim.net"
    assert choose_publisher(["bgr.com", "BGR"], "bgr.com") == "BGR"
    assert choose_publisher([None, "web.archive.org"], None) == "web.archive.org"


def test_titles_lose_site_names_with_separators_dates_and_prefixes():
    site = "Remember 80/90 - Memorabilia anni 80/90"
    assert strip_site_suffix(f"Black Friday per nostalgici - {site}", site, None)[0] == "Black Friday per nostalgici"
    assert strip_site_suffix("Corona in Europe | DW | 19.01.2020", None, "dw.com")[0] == "Corona in Europe"
    assert strip_site_suffix("seelenradio » Nummer zwei: Leo", "seelenradio", None)[0] == "Nummer zwei: Leo"
    assert is_slug("adac-kindersitztest-herbst-2018") and not is_slug("Kindersitztest Herbst 2018")


def test_section_entities_and_keyword_quotes():
    found = page_metadata(
        '<meta property="article:section" content="Filme &amp;amp; Serien">'
        '<meta name="keywords" content="«Klimawandel», „Politik“">'
    )
    assert found.section == "Filme & Serien"
    assert found.keywords == ["Klimawandel", "Politik"]


def test_visible_datelines_for_pages_whose_markup_states_no_date():
    from newsdesk.tasks.extract.metadata.dateline import visible_dateline

    header = "<header>Mittwoch, 8. Juli 2020</header>"
    assert visible_dateline(f"{header}<p>publiziert am 25. September 2018</p>") == (
        datetime(2018, 9, 25, tzinfo=UTC),
        "date",
    )
    assert visible_dateline("<p>Datum:  <b>03.11.2021</b></p>") == (datetime(2021, 11, 3, tzinfo=UTC), "date")
    assert visible_dateline("<h1>Title</h1><p>06.11.2023 13:30</p>") == (
        datetime(2023, 11, 6, 13, 30, tzinfo=UTC),
        "datetime_no_zone",
    )
    when, precision = visible_dateline("<p>Published 7:07 PM EST Nov 19, 2019</p>")
    assert (when.astimezone(UTC), precision) == (datetime(2019, 11, 20, 0, 7, tzinfo=UTC), "datetime")
    # a site header's date, a bare day in the text, a list of other articles: none of them
    assert visible_dateline(f"{header}<p>Die Studie vom 3.3.2019 zeigt</p><aside>Datum: 01.01.2020</aside>") is None


def test_bylines_with_labels_phrases_media_and_host_names():
    assert clean_authors("Analysis by Chris Cillizza, CNN Editor-at-large") == ["Chris Cillizza"]
    assert clean_authors("Текст Венера Ерофеева") == ["Венера Ерофеева"]
    assert clean_authors("Finian Cunningham. Sputnik International") == ["Finian Cunningham"]
    for value in ("The Water Coolest", "JERUSALEM POST", "Mdr De", "HUND aktiv", "Super User", "K A", "Deutsche Welle"):
        assert clean_authors(value) == [], value
    assert clean_authors("Ana de la Cruz; Marcus De Guzman") == ["Ana de la Cruz", "Marcus De Guzman"]
