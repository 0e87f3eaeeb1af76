"""Plain records passed between the steps of an ingest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from newsdesk.tasks.dedup import Signature

T = TypeVar("T")

# Every discovered item ends a run in exactly one of these.
OUTCOMES = ("inserted", "duplicate", "updated", "unchanged", "rejected", "failed")


class Rejected(Exception):
    """Bad input: the item is recorded in `rejections` and the run goes on."""

    def __init__(self, stage: str, reason: str):
        super().__init__(f"{stage}: {reason}")
        self.stage = stage
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ListingHints:
    """What a feed or sitemap entry says about the page it lists: metadata the
    page itself may lack. Stored with the raw page, so a reprocess applies it too."""

    title: str | None = None
    published: datetime | None = None
    author: str | None = None
    summary: str | None = None

    def to_json(self) -> dict[str, str]:
        values = {"title": self.title, "author": self.author, "summary": self.summary}
        if self.published is not None:
            values["published"] = self.published.isoformat()
        return {key: value for key, value in values.items() if value}

    @classmethod
    def from_json(cls, values: dict[str, str] | None) -> ListingHints | None:
        if not values:
            return None
        published = values.get("published")
        return cls(
            title=values.get("title"),
            published=datetime.fromisoformat(published) if published else None,
            author=values.get("author"),
            summary=values.get("summary"),
        )


@dataclass(slots=True)
class RawDocument:
    """Input exactly as read, before any cleaning."""

    locator: str
    raw: bytes
    media_type: str  # text/plain, text/markdown or text/html
    sha256: str
    # HTTP validators of a fetched page, sent back on the next fetch.
    etag: str | None = None
    last_modified: str | None = None
    # A file's modification time as listed before it was read (see tasks.store.file_state).
    mtime_ns: int | None = None
    # A fetched page: the URL it was finally read from (after redirects), the
    # charset its Content-Type declared, and what its listing said about it.
    url: str | None = None
    charset: str | None = None
    hints: ListingHints | None = None
    # `raw` as stored (tasks.packing), when the process that prepared it made
    # it; that process may then let `raw` go (b"") rather than send it back,
    # and `packed_size` keeps its length.
    packed: bytes | None = None
    packed_size: int | None = None

    @property
    def byte_size(self) -> int:
        """The length of the bytes as read."""
        return self.packed_size if self.packed_size is not None else len(self.raw)


@dataclass(slots=True)
class Article:
    """What cleaning makes of one document."""

    body: str
    title: str | None = None
    summary: str | None = None
    published: datetime | None = None
    author: str | None = None
    source_name: str | None = None  # the publisher named by the document itself
    url: str | None = None
    language: str | None = None  # ISO 639-1 once finished (tasks.extract.metadata)
    extra: dict[str, str] = field(default_factory=dict)
    # 'datetime' when `published` holds the time of day the document gives with its zone,
    # 'datetime_no_zone' when it gives a time without a zone (read as UTC),
    # 'date' when it gives only the day (then `published` is that day's midnight UTC).
    published_precision: str | None = None
    authors: list[str] = field(default_factory=list)  # person names; `author` is them joined
    publisher_domain: str | None = None  # registered domain of `url`
    keywords: list[str] = field(default_factory=list)  # as the page declares them
    section: str | None = None


@dataclass(slots=True)
class Prepared:
    """A document read, decoded, cleaned and fingerprinted: ready to load."""

    document: RawDocument
    encoding: str
    article: Article
    body_hash: str
    signature: Signature | None = None  # dedup keys; computed at load time when missing


@dataclass(slots=True)
class Unchanged:
    """An item whose raw content is what is already stored: nothing to clean or load.
    A file read again only because its modification time moved carries its
    content hash and new time, to be noted so the next run skips it unread."""

    locator: str
    sha256: str | None = None
    mtime_ns: int | None = None


@dataclass(slots=True)
class Problem:
    """An item that could not be prepared: rejected (bad input) or failed (our fault)."""

    locator: str
    outcome: str  # "rejected" or "failed"
    stage: str
    reason: str


class Batch(Generic[T]):
    """The items of one batch, handed to the clean or fetch task (files or URLs
    listed) and from it to the load task (prepared items).

    A plain class on purpose: Prefect walks lists and dataclasses in task
    parameters looking for futures, which for a batch means every field of
    every article; it passes an object like this one through untouched.
    """

    __slots__ = ("items",)

    def __init__(self, items: Sequence[T]):
        self.items = list(items)
