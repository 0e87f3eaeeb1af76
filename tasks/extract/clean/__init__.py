"""Cleaning: decoded text of one document in, an `Article` out. Pure functions.

`clean_document` picks the cleaner by media type; the cleaners share the
paragraph rules in `residue`, so a rule added there applies to every format.
"""

from __future__ import annotations

from newsdesk.tasks.extract.clean.html import clean_html
from newsdesk.tasks.extract.clean.paragraphs import MIN_BODY_CHARS
from newsdesk.tasks.extract.clean.text import clean_text
from newsdesk.tasks.records import Article, Rejected


def clean_document(text: str, media_type: str, *, url: str | None = None) -> Article:
    if media_type == "text/html":
        article = clean_html(text, url=url)
    else:
        article = clean_text(text, markdown=True)
        if url and not article.url:
            article.url = url
    if len(article.body) < MIN_BODY_CHARS:
        raise Rejected("clean", f"no article text after cleaning ({len(article.body)} characters left)")
    return article


__all__ = ["clean_document", "clean_html", "clean_text", "MIN_BODY_CHARS"]
