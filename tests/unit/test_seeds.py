"""The reference inputs: the five seed articles come out clean with their metadata."""

import re

import pytest

from newsdesk.tasks.files import prepare_file
from newsdesk.tasks.records import Prepared
from tests.helpers import SEEDS

RESIDUE = re.compile(r"\]\(|\[[^\]]*\]\(|<br|</?\w+[^>]*>|&\w+;|\u00bb|^#+|^---|^(Date|Source):|^\*{3}", re.M)


def seed(prefix: str):
    [path] = SEEDS.glob(f"{prefix}_*.txt")
    item = prepare_file(str(path), max_bytes=10_000_000)
    assert isinstance(item, Prepared), item
    return item.article


@pytest.mark.parametrize("prefix", ["000", "001", "002", "003", "004"])
def test_no_residue_in_any_seed(prefix):
    article = seed(prefix)
    assert not RESIDUE.search(article.body), RESIDUE.search(article.body)
    assert "\n\n" in article.body  # paragraphs stay paragraphs
    assert "  " not in article.body


def test_000_front_matter_and_footer_labels():
    article = seed("000")
    assert article.title == "US, Taiwan deepening cooperation in digital economy development"
    assert article.published.date().isoformat() == "2019-12-12"
    assert article.source_name == "DIGITIMES"
    assert article.summary.startswith("US and Taiwanese firms have been doing well")
    assert article.body.startswith("US and Taiwanese firms have been doing well in cooperative development")
    assert article.body.endswith("Cross-Border Privacy Rules System (CBPR).")
    assert len(article.body.split("\n\n")) == 4


def test_001_trailing_headlines_are_gone():
    article = seed("001")
    assert "Farm Aid" not in article.body and "Peace Talks" not in article.body
    assert article.body.endswith("can only be decided by its people.")
    assert len(article.body.split("\n\n")) == 6


def test_002_title_line_and_section_headings():
    article = seed("002")
    assert article.title == "Taiwan and US Deepen Strategic Tech Partnership in High-Level Dialogue"
    paras = article.body.split("\n\n")
    assert paras[0].startswith("Senior officials from Taiwan")
    assert "Key Agreements and Collaborative Initiatives" in paras
    assert "Regional Implications and Responses" in paras


def test_003_breadcrumbs_links_date_and_end_mark():
    article = seed("003")
    assert (
        article.title
        == "United States and Taiwan to Hold Negotiating Round for the U.S.-Taiwan Initiative on 21st-Century Trade"
    )
    assert article.published.date().isoformat() == "2023-01-04"
    assert article.body.startswith("WASHINGTON – The United States and Taiwan")
    assert "to launch the U.S.-Taiwan Initiative" in article.body
    assert "can be found here and includes" in article.body
    assert article.body.endswith("and the Six Assurances.")
    assert "About Us" not in article.body


def test_004_plain_text_is_unchanged_but_for_paragraph_breaks():
    article = seed("004")
    raw = next(SEEDS.glob("004_*.txt")).read_text(encoding="utf-8")
    assert article.body == "\n\n".join(line.strip() for line in raw.splitlines() if line.strip())
    assert article.title is None


@pytest.mark.parametrize("prefix", ["000", "001", "002", "003", "004"])
def test_every_seed_has_its_language(prefix):
    assert seed(prefix).language == "en"
