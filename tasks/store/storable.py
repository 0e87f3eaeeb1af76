"""Text made storable: the one place where what PostgreSQL cannot hold is replaced.

PostgreSQL text (and jsonb) holds Unicode scalar values, without NUL. Python
strings may hold more: a lone surrogate (`\\ud800` escaped in a JSON Feed, a
file name that is not UTF-8 decoded with surrogateescape) cannot even be
encoded to UTF-8, and a NUL is refused. One such character in one field used
to fail the load of its whole batch. Every item goes through `storable_parts`
as a load begins (and every failed locator through `storable`): each of those
characters becomes U+FFFD, and they are counted so the load can say how many.
Cleaning rules (control characters dropped from feed text, a NUL byte
rejecting a file) stay where they are; this is the storage boundary only.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Sequence

from newsdesk.tasks.records import Article, ListingHints, Prepared, Problem, RawDocument, Unchanged

REPLACEMENT = "\ufffd"
# NUL, and the surrogates: alone they are no character (paired, Python holds the
# code point itself, never the pair).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

Item = Prepared | Problem | Unchanged
Part = tuple[str, Sequence[Item]]


class Counter:
    """Characters replaced, and in how many items."""

    __slots__ = ("characters", "items")

    def __init__(self) -> None:
        self.characters = 0
        self.items = 0

    def text(self, value: str) -> str:
        cleaned, n = _UNSTORABLE.subn(REPLACEMENT, value)
        self.characters += n
        return cleaned

    def value(self, value):
        """A str, a list of them, or anything else (returned as it is)."""
        if isinstance(value, str):
            return self.text(value) if unstorable(value) else value
        if isinstance(value, list) and any(isinstance(v, str) and unstorable(v) for v in value):
            return [self.value(v) for v in value]
        return value

    def record(self, record):
        """A dataclass record with its str fields (and lists of str) made storable;
        the same object when nothing had to change."""
        changes = {}
        for name in _text_fields(type(record)):
            before = getattr(record, name)
            after = self.value(before)
            if after is not before:
                changes[name] = after
        return dataclasses.replace(record, **changes) if changes else record


@functools.cache
def _text_fields(record_type: type) -> tuple[str, ...]:
    """The fields of a record type that may hold text (str, or a list of str)."""
    return tuple(
        field.name
        for field in dataclasses.fields(record_type)
        if "str" in str(field.type) and "bytes" not in str(field.type) and "Hints" not in str(field.type)
    )


def unstorable(text: str) -> bool:
    """Whether `text` holds a NUL or a lone surrogate. Checked the fast way
    (a UTF-8 encode, which PostgreSQL's driver pays anyway, runs at several
    hundred MB/s; the regular expression scans at about 30)."""
    if "\x00" in text:
        return True
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def storable(text: str) -> str:
    """`text` with NUL and lone surrogates replaced by U+FFFD."""
    return _UNSTORABLE.sub(REPLACEMENT, text)


def storable_item(item: Item, counter: Counter) -> Item:
    """The item with every text PostgreSQL cannot hold replaced (the same
    object when it holds none); `counter` counts what was replaced."""
    before = counter.characters
    if isinstance(item, Prepared):
        document: RawDocument = counter.record(item.document)
        if document.hints is not None:
            hints: ListingHints = counter.record(document.hints)
            if hints is not document.hints:
                document = dataclasses.replace(document, hints=hints)
        article: Article = counter.record(item.article)
        if article.extra and any(unstorable(k + v) for k, v in article.extra.items()):
            article = dataclasses.replace(
                article, extra={counter.text(k): counter.text(v) for k, v in article.extra.items()}
            )
        if document is not item.document or article is not item.article:
            item = dataclasses.replace(item, document=document, article=article)
    else:
        item = counter.record(item)
    if counter.characters != before:
        counter.items += 1
    return item


def storable_parts(parts: Sequence[Part], counter: Counter) -> list[tuple[str, list[Item]]]:
    """Every item of a load's parts made storable (`storable_item`)."""
    return [(counter.text(source), [storable_item(item, counter) for item in items]) for source, items in parts]
