"""One file or fetched page to a `Prepared` record (or the `Problem` that stopped it)."""

from __future__ import annotations

import hashlib

from tasks.acquire import check_not_binary, declared_charset, decode, read_document
from tasks.clean import clean_document
from tasks.dedup import signature
from tasks.fetch import Fetched
from tasks.fingerprint import hash_of_normalised, normalised_body
from tasks.records import Prepared, Problem, RawDocument, Rejected, Unchanged
from tasks.web_sources import WebItem


def prepare_file(
    path: str, *, max_bytes: int, stored_sha256: str | None = None, mtime_ns: int | None = None
) -> Prepared | Problem | Unchanged:
    """`stored_sha256` is the hash of the locator's current stored version, if
    any: the same bytes again need no cleaning. `mtime_ns`: the file's
    modification time to record with its bytes (see tasks.file_state)."""
    try:
        document = read_document(path, max_bytes=max_bytes)
    except Rejected as rejected:
        return Problem(path, "rejected", rejected.stage, rejected.reason)
    except Exception as exc:  # a bug or a library failure: this item fails, the batch goes on
        return Problem(path, "failed", "acquire", f"{type(exc).__name__}: {exc}")
    if document.sha256 == stored_sha256:
        return Unchanged(path, document.sha256, mtime_ns)
    document.mtime_ns = mtime_ns
    return _prepare(document, declared_charset(document.raw, document.media_type))


def prepare_page(item: WebItem, fetched: Fetched, *, stored_sha256: str | None = None) -> Prepared | Problem | Unchanged:
    """A fetched page to a `Prepared` record; the feed or sitemap entry fills
    the metadata the page itself lacks."""
    if fetched.not_modified:
        return Unchanged(item.url)
    sha256 = hashlib.sha256(fetched.body).hexdigest()
    if sha256 == stored_sha256:
        return Unchanged(item.url)
    document = RawDocument(item.url, fetched.body, "text/html", sha256, fetched.etag, fetched.last_modified)
    try:
        check_not_binary(fetched.body)
    except Rejected as rejected:
        return Problem(item.url, "rejected", rejected.stage, rejected.reason)
    result = _prepare(document, fetched.charset or declared_charset(fetched.body, "text/html"), url=fetched.final_url)
    if isinstance(result, Prepared):
        article = result.article
        article.title = article.title or item.title
        article.published = article.published or item.published
        article.author = article.author or item.author
        article.summary = article.summary or item.summary
    return result


def _prepare(document: RawDocument, declared: str | None, *, url: str | None = None) -> Prepared | Problem:
    """Decode, clean and fingerprint (hash and dedup signature); bad input becomes a rejection, anything
    else that goes wrong a failure of this item alone."""
    stage = "decode"
    try:
        text, encoding = decode(document.raw, declared=declared)
        stage = "clean"
        article = clean_document(text, document.media_type, url=url)
        stage = "fingerprint"
        # One normalisation serves both the exact hash and the dedup signature.
        normalised = normalised_body(article.body)
        fingerprint = signature(article.title, article.body, article.language, normalised=normalised)
        return Prepared(document, encoding, article, hash_of_normalised(normalised), fingerprint)
    except Rejected as rejected:
        return Problem(document.locator, "rejected", rejected.stage, rejected.reason)
    except RecursionError:
        return Problem(document.locator, "rejected", stage, "document nested too deeply to parse")
    except Exception as exc:  # a bug or a library failure: this item fails, the batch goes on
        return Problem(document.locator, "failed", stage, f"{type(exc).__name__}: {exc}")
