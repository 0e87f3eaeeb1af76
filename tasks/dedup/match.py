"""Place each article of a batch in a story: the decision, without a database.

Copy tiers are tried strongest first: the same normalised body (`exact`), a
verified near copy (`near`, containment of shingles), a verified rewrite
(`story`, ordered sentence alignment within the time window); a copy links to
the original it was derived from (`duplicate_of`) and joins its story. An
article that is no copy may still report an event already stored: the index
finds candidate stories through their articles (one per story, by another
outlet, within the window), and the article joins the story whose articles it
is closest to on average (`event.Centroid`: its mean cosine with them reaches
`event.THRESHOLD`; `event_score`, no `duplicate_of`). Closeness to a single
member is not enough, so one story does not grow by a chain of articles each
close to the last. Only reports join or are joined (no opinion piece,
review or digest of several occasions), and not across occasions: a
candidate whose title and lead name other days than the article's
(`occasion`: a preview against the report of the day before) is passed over,
and two stories of other days are not merged. Candidates come from the
stored index (found by the caller) and from the articles placed before in
the same batch, and are only linked after scoring.

When one article reaches the threshold with two or more stories, it may
bridge them: a story is merged with the one the article is closest to only
when the two are one event by the same measure (the mean cosine between
their articles reaches the threshold); otherwise the article joins its
closest story and the other stays apart. Merged stories go into the oldest of
them (the smallest story id, so an id that analysts have seen stays valid
while its story lasts), and each merge is returned for the caller to apply
and record, with the stories' summed vectors to store.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import cast

import numpy as np

from newsdesk.config import Settings
from newsdesk.tasks.dedup import Signature, digest, event, near, occasion, shingles_of, story

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
    outlet: str | None = None  # publisher domain, else publisher name: an event joins other outlets' reports
    original: int | None = None  # a copy's original (its duplicate_of), once known
    vector: event.EventVector | None = None  # a stored article's event features, when filed
    section: str | None = None  # the page's section and URL: an opinion piece or a review is no report
    url: str | None = None
    timed: bool = False  # the publication time is stated (not a bare date, not the day of loading)
    _shingles: np.ndarray | None = field(default=None, repr=False)
    _story: story.StoryText | None = field(default=None, repr=False)
    _days: frozenset[date] | None = field(default=None, repr=False)
    _report: bool | None = field(default=None, repr=False)

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

    def event_vector(self) -> event.EventVector:
        """From the signature or the index; computed from the text for an article filed before vectors were."""
        if self.vector is None:
            self.vector = (
                self.signature.event if self.signature else event.features(self.title, self.body, self.language)[0]
            )
        return self.vector

    def days(self) -> frozenset[date]:
        """The days its title and lead say its event happened (`occasion.days`)."""
        if self._days is None:
            self._days = occasion.days(self.title, self.body, self.day, self.timed)
        return self._days

    def is_report(self) -> bool:
        """Whether it reports an event: not an opinion piece or a review
        (`event.is_opinion`), not a digest of several occasions (`digest.is_digest`)."""
        if self._report is None:
            self._report = not (
                event.is_opinion(self.title, self.section, self.url)
                or digest.is_digest(self.title, self.section, self.url)
            )
        return self._report

    def root(self) -> int:
        """The original a copy of this article derives from: its own original, else itself."""
        return self.original if self.original is not None else self.article_id


@dataclass(frozen=True)
class Link:
    """Where an article belongs: its story, and how it joined it. A copy has
    `kind` (its tier), `score` and `duplicate_of` (its original); a report of
    a stored event has `event_score` alone; the first article of a story has none."""

    story_id: int
    kind: str | None = None
    score: float | None = None
    duplicate_of: int | None = None
    event_score: float | None = None


@dataclass(frozen=True)
class Merge:
    """Story `merged` joined story `into` when `article_id` reported the event of both (`score`: its lower mean cosine with the two)."""

    merged: int
    into: int
    article_id: int
    score: float


@dataclass
class Placed:
    links: list[Link]
    merges: list[Merge]
    # The summed event vectors of the stories the batch changed (by final story id; merged stories are gone).
    centroids: dict[int, event.Centroid] = field(default_factory=dict)


@dataclass
class Stored:
    """Candidates the index found for each article of the batch (by position)."""

    exact: dict[str, tuple[int, int]] = field(default_factory=dict)  # body hash -> (story id, original id)
    near: dict[int, list[Text]] = field(default_factory=dict)
    story: dict[int, list[Text]] = field(default_factory=dict)
    centroids: dict[int, event.Centroid] = field(default_factory=dict)  # of the candidates' stories, when stored


def place(batch: Sequence[Text], stored: Stored, thresholds: Thresholds, keep: dict[int, Link] | None = None) -> Placed:
    """The link of every article, in order, and the stories merged on the way;
    each article's `story_id` is set as it is placed.

    `keep` maps positions to the link they keep (a new version of a stored
    article stays in its story, as it was linked)."""
    keep = keep or {}
    exact = dict(stored.exact)
    near_before = earlier_sharing([text.keys.near_keys for text in batch], 1)
    story_before = earlier_sharing([text.keys.story_keys for text in batch], 2)
    into: dict[int, int] = {}  # merged story -> the story it joined
    merges: list[Merge] = []
    centroids = _Centroids(stored.centroids)
    links = []
    for position, text in enumerate(batch):
        story_candidates = _merge(
            stored.story.get(position, ()),
            _within(text, _one_per_story(batch[i] for i in story_before.get(position, ())), thresholds),
        )
        if position in keep:
            link = keep[position]
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
                    story_candidates,
                    lambda a, b: story.similarity(a.story_text(), b.story_text()),
                    thresholds.story,
                    "story",
                )
                or _event(text, story_candidates, into, merges, centroids)
                or Link(text.article_id)
            )
        link = replace(link, story_id=_resolve(into, link.story_id))
        text.story_id, text.original = link.story_id, link.duplicate_of
        if position not in keep:  # an edited version stays where it was, as it was counted
            centroids.add(link.story_id, text.event_vector())
        links.append(link)
        exact.setdefault(text.body_hash, (link.story_id, text.root()))
    return Placed([_final(link, into, merges) for link in links], merges, centroids.changed(into))


class _Centroids:
    """The summed event vectors of the stories met while placing a batch: the
    stored ones (copied, not changed in place), and those of new stories."""

    def __init__(self, stored: dict[int, event.Centroid]):
        self._stored = stored
        self._own: dict[int, event.Centroid] = {}

    def get(self, story_id: int, candidate: Text) -> event.Centroid:
        """The story's sum; a story stored before sums were kept is its candidate article alone."""
        found = self._own.get(story_id) or self._stored.get(story_id)
        return found if found is not None else event.Centroid.of(candidate.event_vector())

    def _mine(self, story_id: int, candidate: Text | None = None) -> event.Centroid | None:
        if story_id not in self._own:
            stored = self._stored.get(story_id)
            if stored is not None:
                self._own[story_id] = event.Centroid(stored.n, list(stored.terms), list(stored.weights))
            elif candidate is not None:
                self._own[story_id] = event.Centroid.of(candidate.event_vector())
        return self._own.get(story_id)

    def add(self, story_id: int, vector: event.EventVector) -> None:
        centroid = self._mine(story_id)
        if centroid is None:
            self._own[story_id] = event.Centroid.of(vector)
        else:
            centroid.add(vector)

    def merge(self, merged: int, merged_candidate: Text, into: int, into_candidate: Text) -> None:
        target = self._mine(into, into_candidate)
        source = self._mine(merged, merged_candidate)
        assert target is not None and source is not None
        target.merge(source)
        del self._own[merged]

    def changed(self, into: dict[int, int]) -> dict[int, event.Centroid]:
        return {story_id: centroid for story_id, centroid in self._own.items() if story_id not in into}


def _event(
    text: Text, candidates: Iterable[Text], into: dict[int, int], merges: list[Merge], centroids: _Centroids
) -> Link | None:
    """Join the story whose articles this one is closest to on average, if
    close enough; merge into it the other stories reached that are one event
    with it (all go into the oldest). An opinion piece, a review or a digest
    is no report of an event: it neither joins a story nor is joined (its
    copies still are); nor does a report join a story of another occasion.
    What a candidate is, and its days, are read only for the stories close
    enough."""
    if not text.is_report():
        return None
    found: dict[int, Text] = {}  # story -> its most promising candidate by another outlet
    for candidate in candidates:
        if text.outlet is not None and candidate.outlet == text.outlet:
            continue
        found.setdefault(_resolve(into, cast(int, candidate.story_id)), candidate)
    vector = text.event_vector()
    scores = {
        story_id: score
        for story_id, candidate in found.items()
        if (score := centroids.get(story_id, candidate).mean_similarity(vector)) >= event.THRESHOLD
        and candidate.is_report()
        and not occasion.other_occasion(text.days(), candidate.days())
    }
    if not scores:
        return None
    best = max(scores, key=lambda story_id: (scores[story_id], -story_id))
    closest = centroids.get(best, found[best])
    joined = [best] + [
        story_id
        for story_id in scores
        if story_id != best
        and centroids.get(story_id, found[story_id]).between(closest) >= event.THRESHOLD
        and not occasion.other_occasion(found[story_id].days(), found[best].days())
    ]
    oldest = min(joined)
    for story_id in sorted(joined)[1:]:
        centroids.merge(story_id, found[story_id], oldest, found[oldest])
        into[story_id] = oldest
        merges.append(Merge(story_id, oldest, text.article_id, round(min(scores[story_id], scores[oldest]), 4)))
    return Link(oldest, event_score=round(scores[best], 4))


def _final(link: Link, into: dict[int, int], merges: list[Merge]) -> Link:
    """The link in the story it ended in; the first article of a story merged
    later in the batch became a report of the story it joined."""
    if link.story_id not in into:
        return link
    if link.kind is None and link.event_score is None:
        score = next(m.score for m in merges if m.merged == link.story_id)
        return replace(link, story_id=_resolve(into, link.story_id), event_score=score)
    return replace(link, story_id=_resolve(into, link.story_id))


def _resolve(into: dict[int, int], story_id: int) -> int:
    while story_id in into:
        story_id = into[story_id]
    return story_id


def _exact(text: Text, exact: dict[str, tuple[int, int]]) -> Link | None:
    found = exact.get(text.body_hash)
    return Link(found[0], "exact", 1.0, found[1]) if found is not None else None


def _best(text: Text, candidates: Iterable[Text], score, threshold: float, kind: str) -> Link | None:
    best: tuple[float, Text] | None = None
    for candidate in candidates:
        value = score(text, candidate)
        if value >= threshold and (best is None or value > best[0]):
            best = (value, candidate)
    if best is None:
        return None
    # Candidates are stored or already placed articles: their story is known.
    return Link(cast(int, best[1].story_id), kind, round(best[0], 4), best[1].root())


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
