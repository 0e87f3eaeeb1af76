"""A raw document to a `Prepared` record, or the `Problem` that stopped it.

The one path from bytes to a loadable article: decode, clean, fill what the
page lacks from its listing, normalise the metadata (`metadata.finish`), fingerprint. Ingest (files and web pages),
reprocess and `newsdesk extract` all go through `prepare`. Pure: it reads
nothing but the record it is given, and its budget (`budget`; from the
environment unless given): a document over its CPU time or memory is rejected.

The HTML that reaches the extractor is bounded too: at most
MAX_EXTRACT_CHARS characters of a page are parsed (twice the largest page of
the extraction benchmark). An lxml tree costs about 150 bytes of memory per
byte of table markup, and trafilatura's time grows faster than the page on
some shapes, so a 10 MB page could take 1.5 GB and minutes; the raw page is
stored whole either way, and a reprocess with a larger bound reads it again.
"""

from __future__ import annotations

from datetime import time, timedelta

from newsdesk.tasks.dedup import signature
from newsdesk.tasks.extract import budget
from newsdesk.tasks.extract.clean import clean_document
from newsdesk.tasks.extract.decode import check_not_binary, declared_charset, decode
from newsdesk.tasks.extract.fingerprint import hash_of_normalised, normalised_body
from newsdesk.tasks.extract.metadata import finish
from newsdesk.tasks.records import Article, ListingHints, Prepared, Problem, RawDocument, Rejected

# Characters of an HTML page that reach the extractor (see the module docstring).
MAX_EXTRACT_CHARS = 3_000_000


def prepare(document: RawDocument, limits: budget.Limits | None = None) -> Prepared | Problem:
    """Decode, clean and fingerprint (hash and dedup signature); bad input
    (a document over its budget `limits`, from the environment when None,
    included) becomes a rejection, anything else that goes wrong a failure of
    this item alone."""
    stage = "acquire"
    limits = limits or budget.Limits.from_env()
    try:
        with budget.within_budget(limits):
            check_not_binary(document.raw)
            stage = "decode"
            declared = document.charset or declared_charset(document.raw, document.media_type)
            text, encoding = decode(document.raw, declared=declared)
            stage = "clean"
            if document.media_type == "text/html":
                text = text[:MAX_EXTRACT_CHARS]
            article = clean_document(text, document.media_type, url=document.url)
            if document.hints is not None:
                _fill_from_listing(article, document.hints)
            finish(article, html=text if document.media_type == "text/html" else None)
            stage = "fingerprint"
            # One normalisation serves both the exact hash and the dedup signature.
            normalised = normalised_body(article.body)
            fingerprint = signature(article.title, article.body, article.language, normalised=normalised)
            return Prepared(document, encoding, article, hash_of_normalised(normalised), fingerprint)
    except budget.OverBudget:
        reason = f"extraction over its time budget ({limits.cpu_seconds:g} s of CPU)"
        return Problem(document.locator, "rejected", stage, reason)
    except MemoryError:
        reason = f"extraction over its memory budget ({limits.memory_mb} MB)"
        return Problem(document.locator, "rejected", stage, reason)
    except Rejected as rejected:
        return Problem(document.locator, "rejected", rejected.stage, rejected.reason)
    except RecursionError:
        return Problem(document.locator, "rejected", stage, "document nested too deeply to parse")
    except Exception as exc:  # a bug or a library failure: this item fails, the batch goes on
        return Problem(document.locator, "failed", stage, f"{type(exc).__name__}: {exc}")


def _fill_from_listing(article: Article, hints: ListingHints) -> None:
    """The feed or sitemap entry fills the metadata the page itself lacks."""
    article.title = article.title or hints.title
    if article.published is None and hints.published is not None:
        # Feed dates carry a time; a sitemap's bare day arrives as midnight UTC.
        article.published = hints.published
        midnight = (
            hints.published.utcoffset() == timedelta(0) and hints.published.timetz().replace(tzinfo=None) == time()
        )
        article.published_precision = "date" if midnight else "datetime"
    article.author = article.author or hints.author
    article.summary = article.summary or hints.summary
