"""Importing this module readies a process to prepare pages: the extractor's
imports, and what it otherwise reads on first use (the language model, the
public suffix list, English word frequencies, trafilatura's and htmldate's
first-call set-up), by preparing one small article of its own.

The extraction pool's forkserver imports it once (`set_forkserver_preload`),
so that every worker forked from it starts warm instead of paying for that set-up
on its first page, at the busiest moment of a run (figures: docs/decisions.md,
"Why extraction workers start warm"). Pure: it reads nothing but the article below."""

from __future__ import annotations

import hashlib

from newsdesk.tasks.extract.prepare import prepare
from newsdesk.tasks.records import Prepared, Problem, RawDocument

_PARAGRAPH = (
    "The city council voted on Tuesday to extend the harbour ferry service through the winter,"
    " after residents of the northern islands collected more than four thousand signatures."
    " The extension will cost the city about two million euros a year, the finance office said."
)
_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Ferry service extended | Example News</title>'
    '<meta property="article:published_time" content="2024-03-05T09:30:00+01:00">'
    '<meta name="author" content="A. Writer"></head><body><nav><a href="/">Home</a></nav>'
    f"<article><h1>Ferry service extended</h1>{''.join(f'<p>{_PARAGRAPH}</p>' for _ in range(6))}</article>"
    "<footer>Copyright Example News</footer></body></html>"
).encode()


def warm() -> Prepared | Problem:
    """Prepare one page, so that everything read on first use is read."""
    return prepare(
        RawDocument(
            "https://news.example.com/2024/03/ferry",
            _PAGE,
            "text/html",
            hashlib.sha256(_PAGE).hexdigest(),
            None,
            None,
            url="https://news.example.com/2024/03/ferry",
        )
    )


warm()
