"""Fingerprints of a cleaned body, for telling copies apart from new articles."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_WORDS = re.compile(r"\w+")


def normalised_body(body: str) -> str:
    """The body as words only: case, punctuation, spacing and Unicode forms folded,
    so copies that differ only in typography hash the same."""
    return " ".join(_WORDS.findall(unicodedata.normalize("NFKC", body).casefold()))


def body_hash(body: str) -> str:
    return hashlib.sha256(normalised_body(body).encode("utf-8")).hexdigest()
