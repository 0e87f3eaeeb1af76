"""Fingerprints of a cleaned body, for telling copies apart from new articles."""

from __future__ import annotations

import hashlib
import re
import unicodedata

# Bytes that separate words: every ASCII character but letters and digits.
# Bytes of multi-byte UTF-8 characters pass through untouched.
_SEPARATORS = bytes(c if c >= 128 or chr(c).isalnum() else 32 for c in range(256))
# Non-ASCII punctuation and spaces: Latin-1 signs, General Punctuation (dashes,
# curly quotes, ellipsis), Supplemental and CJK punctuation.
_UNICODE_PUNCTUATION = re.compile(r"[\u00a0-\u00bf\u00d7\u00f7\u2000-\u206f\u2e00-\u2e7f\u3000-\u303f]")
# Invisible characters that sit inside words (soft hyphen, zero-width space and
# joiners, word joiner, BOM): removed, so "impor\u00adtant" is still one word.
_INVISIBLE = re.compile(r"[\u00ad\u200b-\u200d\u2060\ufeff]")


def _normalised(body: str) -> bytes:
    # Byte-level translation instead of a `\w+` regex: several times faster on
    # the hot path, and the same words for the texts we meet.
    if not unicodedata.is_normalized("NFKC", body):
        body = unicodedata.normalize("NFKC", body)
    text = body.lower()
    if not text.isascii():
        text = _UNICODE_PUNCTUATION.sub(" ", _INVISIBLE.sub("", text))
    return b" ".join(text.encode("utf-8").translate(_SEPARATORS).split())


def normalised_body(body: str) -> str:
    """The body as lower-case words separated by single spaces: case,
    punctuation, spacing and Unicode compatibility forms folded, so copies
    that differ only in typography hash the same."""
    return _normalised(body).decode("utf-8")


def body_hash(body: str) -> str:
    return hashlib.sha256(_normalised(body)).hexdigest()


def hash_of_normalised(normalised: str) -> str:
    """`body_hash` of a body already passed through `normalised_body`."""
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()
