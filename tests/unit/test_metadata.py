"""Metadata normalising (tasks.extract.metadata): pure, no database."""

from datetime import UTC, datetime

from newsdesk.tasks.extract.clean.dates import date_precision
from newsdesk.tasks.extract.metadata import (
    clean_authors,
    clean_publisher,
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
