"""Copies and stories: exact copies, near copies and rewrites of one text
(copies, `duplicate_of` set), and separately written reports of one event
(the same story, no copy).

Pure logic: `signature` fingerprints a cleaned article once, in the clean step;
`match.place` decides each article's story against stored candidates and the
articles before it in its batch. The database side (the key index, candidate
queries) is `tasks.store.dedup_index`, and `tasks.store.placement` joins the two.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from newsdesk.tasks.dedup import event, near
from newsdesk.tasks.extract.fingerprint import normalised_body


@dataclass(slots=True)
class Signature:
    """What dedup needs of an article, computed once in the clean step."""

    shingles: np.ndarray  # distinct shingle hashes: near-copy verification
    near_keys: list[int]  # LSH band keys: near-copy candidates
    story_keys: list[int]  # heaviest event terms: rewrite and same-event candidates
    event: event.EventVector  # the same-event features


def shingles_of(body: str) -> np.ndarray:
    return near.shingles(near.word_ids(normalised_body(body)))


def signature(title: str | None, body: str, language: str | None = None, *, normalised: str | None = None) -> Signature:
    """`normalised`: the body's `normalised_body`, when the caller has it already."""
    shingles = near.shingles(near.word_ids(normalised if normalised is not None else normalised_body(body)))
    vector, keys = event.features(title, body, language)
    return Signature(shingles, near.lsh_keys(shingles), keys, vector)
