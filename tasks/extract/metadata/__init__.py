"""Article metadata made fit for analysts. Pure functions, no network.

One module per subject, as trafilatura splits its own:

- `page`: what an HTML page declares in its meta tags, microdata and JSON-LD
  (`jsonld` reads the JSON-LD, `published` chooses the publication time);
- `dateline`: a publication date printed in the page, for pages whose markup states none;
- `authors`: bylines to person names;
- `publisher`: the publisher's name and the registered domain of the URL;
- `title`: the title without the site's name around it;
- the language code: `clean.language.normalise`, the one normaliser.

`finish` applies them to every cleaned article (after the listing fills its gaps).
"""

from __future__ import annotations

import re

from newsdesk.tasks.extract.clean.language import normalise as normalise_language
from newsdesk.tasks.extract.metadata.authors import clean_authors
from newsdesk.tasks.extract.metadata.dateline import visible_dateline
from newsdesk.tasks.extract.metadata.page import PageMetadata, page_metadata, split_keywords
from newsdesk.tasks.extract.metadata.publisher import choose_publisher, clean_publisher, publisher_domain
from newsdesk.tasks.extract.metadata.title import is_slug, strip_site_suffix
from newsdesk.tasks.records import Article

__all__ = [
    "MAX_FIELD_CHARS",
    "PageMetadata",
    "choose_publisher",
    "clean_authors",
    "clean_publisher",
    "cut",
    "finish",
    "is_slug",
    "normalise_language",
    "page_metadata",
    "publisher_domain",
    "split_keywords",
    "strip_site_suffix",
]


# A metadata field longer than this is cut, with an ellipsis, as trafilatura cuts
# what it finds in a page: a 1 MB title (front matter, a feed entry) is no title.
MAX_FIELD_CHARS = 10_000


def cut(value: str | None) -> str | None:
    """`value` cut to MAX_FIELD_CHARS characters, the last an ellipsis, when longer."""
    if value is None or len(value) <= MAX_FIELD_CHARS:
        return value
    return value[: MAX_FIELD_CHARS - 1] + "…"


def finish(article: Article, *, html: str | None = None) -> Article:
    """Apply the page's own metadata (when `html` is given) and normalise every metadata field, in place.

    The publication time the page's markup states wins over any other; then a
    dateline printed in the page (`dateline`); then the extractor's guess and
    what the text's own label lines said. The publisher is `publisher.choose_publisher`
    over og:site_name, JSON-LD publisher.name, the title's site part and what
    the document said.
    """
    article.title, article.summary = cut(article.title), cut(article.summary)
    article.author, article.source_name = cut(article.author), cut(article.source_name)
    page = page_metadata(html) if html else PageMetadata()
    if page.published is not None:
        article.published, article.published_precision = page.published, page.published_precision
    elif html and (printed := visible_dateline(html)):  # over the extractor's guess, which may be a header's date
        article.published, article.published_precision = printed
    if article.published is None:
        article.published_precision = None
    article.language = normalise_language(article.language)
    domain = article.publisher_domain = publisher_domain(article.url)
    if is_slug(article.title):
        fallback = page.html_title if page.html_title and not is_slug(page.html_title) else None
        article.title = fallback
    names = tuple(page.site_names)
    title, site = strip_site_suffix(article.title, page.publisher or article.source_name, domain, names)
    if page.html_title and (title is None or _names_site(title, (page.publisher, article.source_name, *names), domain)):
        # the extractor kept only the site's name ("seelenradio" of "seelenradio » Nummer zwei: Leo")
        alternative, other_site = strip_site_suffix(
            page.html_title, page.publisher or article.source_name, domain, names
        )
        if (
            alternative
            and len(alternative.split()) > len((title or "").split())
            and not _names_site(alternative, (page.publisher, article.source_name, *names), domain)
        ):
            title, site = alternative, site or other_site
    article.title = title
    article.source_name = choose_publisher([*page.site_names, site, article.source_name], domain)
    not_names = names  # the names the page gives its site are no person's
    article.authors = clean_authors(page.authors or article.author, not_names=not_names)
    if not article.authors and page.authors:
        article.authors = clean_authors(article.author, not_names=not_names)
    article.author = ", ".join(article.authors) or None
    article.keywords = page.keywords
    article.section = page.section
    return article


def _names_site(title: str, names: tuple[str | None, ...], domain: str | None) -> bool:
    """The title is nothing but the site's name or its domain."""
    keys = {re.sub(r"[\W_]+", "", n).casefold() for n in names if n}
    if domain:
        keys |= {re.sub(r"[\W_]+", "", domain.split(".")[0]).casefold(), re.sub(r"[\W_]+", "", domain).casefold()}
    keys.discard("")
    return re.sub(r"[\W_]+", "", title).casefold() in keys
