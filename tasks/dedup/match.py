"""Place each article of a batch in a story: the decision, without a database.

Tiers are tried strongest first: the same normalised body (`exact`), a
verified near copy (`near`, containment of shingles), a verified rewrite
(`story`, ordered sentence alignment within the time window). Candidates come
from the stored index (found by the caller) and from the articles placed
before in the same batch. A candidate is only ever linked after verification,
and an article joins the story of its best verified match; stories are never
merged here (`newsdesk dedup --rebuild` recomputes them from scratch).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import cast

import numpy as np

from newsdesk.config import Settings
from newsdesk.tasks.dedup import Signature, near, shingles_of, story

# Candidates verified per article and tier, most promising first: bounds the
# cost per article however many copies of one story are stored.
MAX_CANDIDATES = 6


@dataclass(frozen=True)
class Thresholds:
    near: float = 0.5  # shingle containment
    story: float = 0.55  # ordered sentence coverage
    window_days: int = 7  # a rewrite is published within this many days of its original

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        return cls(near=settings.near_threshold, story=settings.story_threshold, window_days=settings.story_window_days)


@dataclass(slots=True, eq=False)
class Text:
    """A stored article, or one of the batch being placed."""

    article_id: int
    story_id: int | None
    title: str | None
    body: str
    language: str | None
    day: date
    body_hash: str = ""
    signature: Signature | None = None
    _shingles: np.ndarray | None = field(default=None, repr=False)
    _story: story.StoryText | None = field(default=None, repr=False)

    @property
    def keys(self) -> Signature:
        """The dedup keys of an article being placed (stored candidates are looked up by them, and carry none)."""
        assert self.signature is not None, "an article being placed has its signature"
        return self.signature

    def shingles(self) -> np.ndarray:
        if self._shingles is None:
            self._shingles = self.signature.shingles if self.signature else shingles_of(self.body)
        return self._shingles

    def story_text(self) -> story.StoryText:
        if self._story is None:
            self._story = story.story_text(self.title, self.body, self.language)
        return self._story


@dataclass(frozen=True)
class Link:
    """Where an article belongs: its story, and how it was matched (None: it starts the story)."""

    story_id: int
    kind: str | None = None
    score: float | None = None

    @property
    def duplicate_of(self) -> int | None:
        return self.story_id if self.kind else None


@dataclass
class Stored:
    """Candidates the index found for each article of the batch (by position)."""

    exact: dict[str, int] = field(default_factory=dict)  # body hash -> story id
    near: dict[int, list[Text]] = field(default_factory=dict)
    story: dict[int, list[Text]] = field(default_factory=dict)


def place(
    batch: Sequence[Text], stored: Stored, thresholds: Thresholds, keep: dict[int, int] | None = None
) -> list[Link]:
    """The link of every article, in order; each article's `story_id` is set as it is placed.

    `keep` maps positions to a story they stay the canonical article of (a new
    version of a canonical article)."""
    keep = keep or {}
    exact = dict(stored.exact)
    near_before = earlier_sharing([text.keys.near_keys for text in batch], 1)
    story_before = earlier_sharing([text.keys.story_keys for text in batch], 2)
    links = []
    for position, text in enumerate(batch):
        if position in keep:
            link = Link(keep[position])
        else:
            link = (
                _exact(text, exact)
                or _best(
                    text,
                    _merge(stored.near.get(position, ()), (batch[i] for i in near_before.get(position, ()))),
                    lambda a, b: near.containment(a.shingles(), b.shingles()),
                    thresholds.near,
                    "near",
                )
                or _best(
                    text,
                    _merge(
                        stored.story.get(position, ()),
                        _within(text, _one_per_story(batch[i] for i in story_before.get(position, ())), thresholds),
                    ),
                    lambda a, b: story.similarity(a.story_text(), b.story_text()),
                    thresholds.story,
                    "story",
                )
                or Link(text.article_id)
            )
        text.story_id = link.story_id
        links.append(link)
        exact.setdefault(text.body_hash, link.story_id)
    return links


def _exact(text: Text, exact: dict[str, int]) -> Link | None:
    story_id = exact.get(text.body_hash)
    return Link(story_id, "exact", 1.0) if story_id is not None else None


def _best(text: Text, candidates: Iterable[Text], score, threshold: float, kind: str) -> Link | None:
    best: tuple[float, int] | None = None
    for candidate in candidates:
        value = score(text, candidate)
        if value >= threshold and (best is None or value > best[0]):
            # Candidates are stored or already placed articles: their story is known.
            best = (value, cast(int, candidate.story_id))
    return Link(best[1], kind, round(best[0], 4)) if best else None


def earlier_sharing(keys: Sequence[Sequence[int]], minimum: int) -> dict[int, list[int]]:
    """For each position, the earlier positions whose keys share at least
    `minimum` of its own, most shared first (then earliest first).

    Nearly every key is unique within a batch: each is filed once with its
    first owner (an int, no list per key), and only keys met again form groups."""
    first: dict[int, int] = {}
    groups: dict[int, list[int]] = {}
    for position, own in enumerate(keys):
        for key in own:
            owner = first.setdefault(key, position)
            if owner != position:
                groups.setdefault(key, [owner]).append(position)
    shared: dict[int, dict[int, int]] = {}
    for group in groups.values():
        group = sorted(set(group))
        for i, later in enumerate(group[1:], start=1):
            hits = shared.setdefault(later, {})
            for earlier in group[:i]:
                hits[earlier] = hits.get(earlier, 0) + 1
    ranked: dict[int, list[int]] = {}
    for later, hits in shared.items():
        if found := [e for e, n in sorted(hits.items(), key=lambda e: (-e[1], e[0])) if n >= minimum]:
            ranked[later] = found
    return ranked


def _within(text: Text, candidates: list[Text], thresholds: Thresholds) -> list[Text]:
    return [c for c in candidates if abs((c.day - text.day).days) <= thresholds.window_days]


def _merge(stored: Iterable[Text], batch: Iterable[Text]) -> list[Text]:
    return _one_per_story([*stored, *batch])


def _one_per_story(candidates: Iterable[Text]) -> list[Text]:
    """The first (most promising) candidate of each story, at most MAX_CANDIDATES:
    one verified member is enough to join a story."""
    seen: set[int | None] = set()
    chosen = []
    for candidate in candidates:
        if candidate.story_id in seen:
            continue
        seen.add(candidate.story_id)
        chosen.append(candidate)
        if len(chosen) == MAX_CANDIDATES:
            break
    return chosen
