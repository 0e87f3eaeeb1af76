"""A fetched page to a `Prepared` record: the raw page with what its listing said."""

from __future__ import annotations

import hashlib

from newsdesk.tasks.extract.prepare import prepare
from newsdesk.tasks.records import Prepared, Problem, RawDocument, Unchanged
from newsdesk.tasks.web.fetch import Fetched
from newsdesk.tasks.web.listings import WebItem


def prepare_page(
    item: WebItem, fetched: Fetched, *, stored_sha256: str | None = None
) -> Prepared | Problem | Unchanged:
    """`stored_sha256`: the hash of the page's current stored version, if any;
    the same bytes again need no cleaning."""
    if fetched.not_modified:
        return Unchanged(item.url)
    sha256 = hashlib.sha256(fetched.body).hexdigest()
    if sha256 == stored_sha256:
        return Unchanged(item.url)
    document = RawDocument(
        item.url,
        fetched.body,
        "text/html",
        sha256,
        fetched.etag,
        fetched.last_modified,
        url=fetched.final_url,
        charset=fetched.charset,
        hints=item.hints,
    )
    return prepare(document)
