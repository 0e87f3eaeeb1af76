"""Cleaning for plain-text and markdown articles."""

from __future__ import annotations

import re

from newsdesk.tasks.extract.clean import language, markup, paragraphs, residue
from newsdesk.tasks.extract.clean.dates import date_precision, parse_date
from newsdesk.tasks.extract.clean.frontmatter import split_front_matter
from newsdesk.tasks.extract.clean.paragraphs import Para
from newsdesk.tasks.records import Article, Rejected

_TITLE_MAX_WORDS = 25


def clean_text(text: str, *, markdown: bool = True, known: dict | None = None) -> Article:
    """An article from text; `known` holds metadata found outside the text
    (front matter of an HTML page, a feed entry) that wins over what the text says."""
    text = paragraphs.normalise_text(text)
    front, text = split_front_matter(text)
    text = markup.strip_html(text)
    paras = paragraphs.split(text, markdown=markdown)
    return article_from_paragraphs(paras, {**front, **(known or {})})


def article_from_paragraphs(paras: list[Para], known: dict) -> Article:
    """An article from paragraphs and the metadata found outside them;
    `Rejected` when the text is a cookie wall and nothing else."""
    if residue.is_consent_wall(paras):
        raise Rejected("clean", "cookie wall: the text is a consent notice and nothing else")
    found = residue.Found()
    for key, value in known.items():
        found.add(key, value)
    paras = residue.take_label_lines(paras, found)
    paras = residue.drop_breadcrumbs(paras)
    paras = residue.cut_at_end_mark(paras)
    paras = residue.take_label_lines(paras, found)
    paras = residue.strip_prompts(paras)
    paras = residue.drop_furniture(paras)
    paras = residue.drop_trailing_copyright(paras)
    paras = residue.drop_trailing_headlines(paras)
    paras = residue.take_header_lines(paras, found)
    paras = _take_title(paras, found)
    paras = residue.join_broken_sentences(paras)
    values = found.values
    body = paragraphs.join(paras)
    published = parse_date(values.get("published"), strict=False)
    return Article(
        body=body,
        title=_one_line(values.get("title")),
        summary=_one_line(values.get("summary")),
        published=published,
        published_precision=date_precision(values.get("published")) if published else None,
        author=_one_line(values.get("author")),
        source_name=_one_line(values.get("source_name")),
        url=_one_line(values.get("url")),
        language=language.identify(body, values.get("language")),
    )


def _take_title(paras: list[Para], found: residue.Found) -> list[Para]:
    """The title is the metadata title, else a leading heading, else a short
    unpunctuated first line with prose after it; a body never repeats it."""
    if not paras:
        return paras
    title = found.values.get("title")
    first = paras[0]
    if title:
        if _same(first.text, str(title)):
            return paras[1:]
        return paras
    if first.kind == "heading" or (first.kind == "p" and _title_like(first.text) and len(paras) > 1):
        found.add("title", first.text)
        rest = paras[1:]
        # Some pages repeat the title as the first line of the body.
        if rest and _same(rest[0].text, first.text):
            rest = rest[1:]
        return rest
    return paras


def _title_like(text: str) -> bool:
    return (
        len(text.split()) <= _TITLE_MAX_WORDS
        and len(text) <= 200
        and not text.rstrip("\"'”’) ").endswith((".", ",", ";", ":"))
        and not residue.is_breadcrumb(text)
        and not residue.date_line(text)
    )


_NON_WORD = re.compile(r"\W+")


def _same(a: str, b: str) -> bool:
    return _NON_WORD.sub(" ", a).strip().casefold() == _NON_WORD.sub(" ", b).strip().casefold()


def _one_line(value) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None
