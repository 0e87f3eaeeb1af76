"""Near copies: MinHash over word shingles, LSH band keys, and the containment
that verifies a candidate.

A syndicated copy keeps most of the original's word sequences even when it is
truncated, lightly edited or reordered. Shingles are runs of SHINGLE_WORDS
words of the normalised body; a MinHash signature (datasketch) of the whole
body and one of its lead are cut into bands, and each band becomes one key in
PostgreSQL: two articles sharing any key are candidates. The lead signature
finds truncated copies, whose whole-body Jaccard similarity halves when half
the text is cut. Candidates are then verified on the exact shingle sets.
"""

from __future__ import annotations

import hashlib
import re
import zlib

import numpy as np
from datasketch import MinHash

SHINGLE_WORDS = 4
NUM_PERM = 128
# Whole body: 42 bands of 3 rows (126 of the 128 hash values). A pair with
# Jaccard similarity 0.5 shares a band with probability 0.995, 0.4: 0.93,
# unrelated texts (< 0.01): under one in a million.
BODY_BANDS, BODY_ROWS = 42, 3
# Lead: the first LEAD_SHINGLES shingles, 10 bands of 3 rows.
LEAD_SHINGLES, LEAD_BANDS, LEAD_ROWS = 40, 10, 3
# Fewer shingles than this and a text is too short to call anything a copy of it.
MIN_SHINGLES = 8

# Han, kana and their compatibility forms.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]")
_SEED = 20_241_121  # fixed: the keys are stored, so they must not change between runs
_SCHEME = "affine32"  # named, not defaulted: a future default must not change stored keys
_PERMUTATIONS = MinHash(num_perm=NUM_PERM, seed=_SEED, scheme=_SCHEME).permutations
_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93], dtype=np.uint64)


def _identity(value):
    return value


def word_ids(normalised: str) -> np.ndarray:
    """A stable 32-bit id per word (CRC-32: fast, in C, and the same in every process).
    Chinese and Japanese are written without spaces: each of their characters counts as a word."""
    if not normalised.isascii():
        normalised = _UNSPACED.sub(r" \g<0> ", normalised)
    return np.fromiter((zlib.crc32(word) for word in normalised.encode("utf-8").split()), dtype=np.uint64)


def shingles(words: np.ndarray, size: int = SHINGLE_WORDS) -> np.ndarray:
    """The distinct shingle hashes of a word sequence, in order of first appearance
    (texts shorter than a shingle make one shingle of all their words)."""
    n = len(words) - size + 1
    if n <= 0:
        n, size = (1, len(words)) if len(words) else (0, 0)
    mixed = np.zeros(max(n, 0), dtype=np.uint64)
    for k in range(size):
        mixed = mixed * _MIX[k % 4] + words[k : k + n]  # wraps modulo 2**64: a polynomial hash
    hashed = (mixed >> np.uint64(32)) ^ (mixed & np.uint64(0xFFFFFFFF))
    _, first = np.unique(hashed, return_index=True)
    return hashed[np.sort(first)]


def signature(shingle_hashes: np.ndarray) -> np.ndarray:
    minhash = MinHash(num_perm=NUM_PERM, seed=_SEED, hashfunc=_identity, permutations=_PERMUTATIONS, scheme=_SCHEME)
    minhash.update_batch(shingle_hashes)
    return minhash.hashvalues


def band_keys(values: np.ndarray, bands: int, rows: int, family: int) -> list[int]:
    """One signed 64-bit key per band; the family and band number are mixed in so
    that keys of different bands never meet."""
    keys = []
    for band in range(bands):
        digest = hashlib.blake2b(values[band * rows : (band + 1) * rows].tobytes(), digest_size=8, salt=bytes((family, band)))
        keys.append(int.from_bytes(digest.digest(), "big", signed=True))
    return keys


def lsh_keys(shingle_hashes: np.ndarray) -> list[int]:
    """The LSH keys an article is filed under and looked up by."""
    if len(shingle_hashes) < MIN_SHINGLES:
        return []
    keys = band_keys(signature(shingle_hashes), BODY_BANDS, BODY_ROWS, family=1)
    lead = shingle_hashes[:LEAD_SHINGLES]
    return keys + band_keys(signature(lead), LEAD_BANDS, LEAD_ROWS, family=2)


def containment(a: np.ndarray, b: np.ndarray) -> float:
    """The share of the smaller set's shingles found in the larger one: 1.0 for a
    truncated copy, where Jaccard similarity would only be the kept fraction."""
    if len(a) < MIN_SHINGLES or len(b) < MIN_SHINGLES:
        return 0.0
    shared = len(np.intersect1d(a, b, assume_unique=True))
    return shared / min(len(a), len(b))
