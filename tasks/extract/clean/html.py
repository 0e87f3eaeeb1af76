"""HTML to article text: trafilatura for full pages, BeautifulSoup for fragments.

Either way the text then goes through the same paragraph rules as plain text,
so residue that the extractor leaves behind meets the same patterns. Text in
separate block elements stays separate; inline elements join as a browser
joins them. A page whose text is nothing but links (menus, link lists) is
rejected as navigation.
"""

from __future__ import annotations

import html as html_entities
import re

import trafilatura
from bs4 import BeautifulSoup
from trafilatura.settings import Document

from newsdesk.tasks.extract.clean import paragraphs
from newsdesk.tasks.extract.clean.paragraphs import Para
from newsdesk.tasks.extract.clean.text import article_from_paragraphs
from newsdesk.tasks.records import Article, Rejected

_FULL_PAGE = re.compile(r"<(?:!doctype\s+html|html|head|body)\b", re.I)
_LANG = re.compile(r"<html\b[^>]*\blang\s*=\s*[\"']?([A-Za-z]{2,3}(?:-[A-Za-z0-9]+)?)", re.I)

# Never article text in a fragment.
_DROP = ("script", "style", "noscript", "template", "svg", "iframe", "form", "button", "nav", "select")
_BLOCK = (
    "p",
    "div",
    "section",
    "article",
    "header",
    "footer",
    "aside",
    "main",
    "blockquote",
    "pre",
    "figure",
    "figcaption",
    "table",
    "tr",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "address",
    "hr",
    "caption",
    "details",
    "summary",
    "fieldset",
    "legend",
    "center",
    "menu",
    "dialog",
    "hgroup",
)
# Table cells sit side by side: apart, on one line.
_CELLS = ("td", "th")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_BREAK = "\u2029"  # Unicode PARAGRAPH SEPARATOR
# A cleaned page body shorter than this is suspect (see `_clean_page`).
_SHORT_BODY = 200
# No real page nests elements this deep (browsers stop nesting at 512 too); the tree
# edits in `fragment_paragraphs` cost time in proportion to depth, so a page nested
# tens of thousands of levels deep would take minutes there. It is refused instead.
MAX_DEPTH = 512


def is_full_page(html: str) -> bool:
    return bool(_FULL_PAGE.search(html[:4096]))


def clean_html(html: str, *, url: str | None = None) -> Article:
    """The article of a full page or a fragment; `Rejected` when its text is
    nothing but links, or a cookie wall (see `text.article_from_paragraphs`)."""
    if is_full_page(html):
        article = _clean_page(html, url)
    else:
        article = article_from_paragraphs(fragment_paragraphs(html), {"url": url} if url else {})
    _check_not_navigation(article.body, html)
    return article


def _clean_page(html: str, url: str | None) -> Article:
    article = _extract_page(html, url, favor_precision=True)
    if article is not None and len(article.body) >= _SHORT_BODY:
        return article
    # Precision mode sometimes keeps only a notice (a paywall, a reprint line)
    # and drops the story: try once more without it, keep the longer result.
    second = _extract_page(html, url, favor_precision=False)
    if article is None:
        # The page's visible text less its navigation, forms and scripts: the
        # caller decides on it (a short body is rejected downstream) when
        # trafilatura finds nothing, or finds only what recall mode falls back
        # to when a page has no article, the text of its menus.
        visible = article_from_paragraphs(fragment_paragraphs(html), {"url": url} if url else {})
        if second is None or len(visible.body) < paragraphs.MIN_BODY_CHARS:
            return visible
        return second
    return second if second is not None and len(second.body) > len(article.body) else article


def _extract_page(html: str, url: str | None, *, favor_precision: bool) -> Article | None:
    document = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        favor_precision=favor_precision,
        # htmldate's extensive search costs more than the rest of the metadata.
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    # A Document, since as_dict is left False; None when nothing was found.
    if not isinstance(document, Document) or not (text := document.text or "").strip():
        return None
    known = {
        "title": document.title,
        "summary": document.description,
        "published": document.date,
        "author": document.author,
        "source_name": document.sitename,
        "url": document.url or url,
        "language": document.language or _page_language(html),
    }
    paras = paragraphs.split(text, markdown=False, unwrap=False)
    return article_from_paragraphs(paras, {k: v for k, v in known.items() if v})


# --- navigation only -------------------------------------------------------------

# Past this many characters a paragraph that is no link is prose, not a label.
_NOT_A_LABEL = 120
_LINKED_SHARE = 0.8
_ANY_LINK = re.compile(r"<a[\s>]", re.I)
_LINK = re.compile(r"<a\b[^>]*>(.*?)</a\s*>", re.I | re.S)
_TAG = re.compile(r"<[^>]*>")
_NO_SPACE = re.compile(r"\s+")


def link_text(html: str) -> str:
    """The text of every link of the page, in order, without whitespace."""
    return "".join(
        _NO_SPACE.sub("", html_entities.unescape(_TAG.sub("", match.group(1)))) for match in _LINK.finditer(html)
    )


def _check_not_navigation(body: str, html: str) -> None:
    """A body made of link text is a menu or a list of links, not an article:
    most of its text (`_LINKED_SHARE`) is in paragraphs found among the page's
    link texts (glued together as in `Section 0Section 1Section 2...`), and the
    rest is short lines (a heading, a label), no prose."""
    paras = [p for p in body.split("\n\n") if p]
    if not paras or any(_is_prose(p) for p in paras) or not _ANY_LINK.search(html):
        return
    links = link_text(html)
    linked = linked_chars = other_chars = 0
    for para in paras:
        squeezed = _NO_SPACE.sub("", para.lstrip("-*• "))
        if squeezed and squeezed in links:
            linked += 1
            linked_chars += len(squeezed)
        elif len(para) > _NOT_A_LABEL:
            return
        else:
            other_chars += len(squeezed)
    if linked and linked_chars >= _LINKED_SHARE * (linked_chars + other_chars):
        raise Rejected("clean", f"navigation only: nothing but links ({linked} paragraphs of link text)")


_SENTENCE_END = re.compile(r"[.!?] \S|[。！？]")


def _is_prose(para: str) -> bool:
    """Sentences one after another: what neither a menu nor glued links hold."""
    return len(para) > _NOT_A_LABEL and len(_SENTENCE_END.findall(para)) >= 2


def _page_language(html: str) -> str | None:
    match = _LANG.search(html[:4096])
    return match.group(1).lower() if match else None


def fragment_paragraphs(html: str) -> list[Para]:
    """Visible text of an HTML fragment, one paragraph per block element."""
    soup = BeautifulSoup(html, "lxml")
    if html.count("<") > MAX_DEPTH:  # fewer tags cannot nest that deep
        _check_depth(soup)
    for tag in soup.find_all(_DROP):
        tag.decompose()
    # Line breaks in the HTML source are spaces; only elements break lines.
    # Mark element breaks with a character that source text never holds.
    for tag in soup.find_all("br"):
        tag.replace_with(_BREAK)
    for tag in soup.find_all(_BLOCK + _HEADINGS + ("li",)):
        tag.insert_before(_BREAK)
        tag.insert_after(_BREAK)
    for tag in soup.find_all(_CELLS):
        tag.insert_after(" ")
    headings = {" ".join(h.get_text(" ").split()) for h in soup.find_all(_HEADINGS)}
    for tag in soup.find_all("li"):
        tag.insert(0, "- ")
    text = soup.get_text().replace("\n", " ").replace(_BREAK, "\n")
    paras = paragraphs.split(text, markdown=False, unwrap=False)
    for para in paras:
        if para.text in headings:
            para.kind = "heading"
    return paras


def _check_depth(soup: BeautifulSoup) -> None:
    depth = {id(soup): 0}
    for tag in soup.find_all(True):  # in document order: a parent before its children
        level = depth[id(tag)] = depth[id(tag.parent)] + 1
        if level > MAX_DEPTH:
            raise Rejected("clean", f"HTML nested more than {MAX_DEPTH} levels deep")
