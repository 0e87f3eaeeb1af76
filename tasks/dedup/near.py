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

import re
import zlib
from hashlib import blake2b

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
_A, _B = MinHash(num_perm=NUM_PERM, seed=_SEED, scheme=_SCHEME).permutations
_SALTS = {family: [bytes((family, band)) for band in range(max(BODY_BANDS, LEAD_BANDS))] for family in (1, 2)}
_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93], dtype=np.uint64)


def word_ids(normalised: str) -> np.ndarray:
    """A stable 32-bit id per word (CRC-32: fast, in C, and the same in every process).
    Chinese and Japanese are written without spaces: each of their characters counts as a word."""
    if not normalised.isascii():
        normalised = _UNSPACED.sub(r" \g<0> ", normalised)
    return np.fromiter(map(zlib.crc32, normalised.encode("utf-8").split()), dtype=np.uint64)


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


def minhashes(shingle_hashes: np.ndarray, prefix: int) -> tuple[np.ndarray, np.ndarray]:
    """The MinHash signatures of all the shingles and of the first `prefix` ones,
    from one matrix of permuted hashes. The same values as datasketch's
    `MinHash(scheme="affine32").update_batch` (a test holds them equal: they
    are stored keys), without its per-value Python loop and for both sets at once."""
    hashed = _fmix32(shingle_hashes.astype(np.uint32))[:, None]
    permuted = hashed * _A + _B  # uint32: wraps modulo 2**32, as the scheme defines
    return permuted.min(axis=0), permuted[:prefix].min(axis=0)


def _fmix32(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, datasketch's pre-mix for "affine32"."""
    values = values ^ (values >> np.uint32(16))
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> np.uint32(13))
    values = values * np.uint32(0xC2B2AE35)
    return values ^ (values >> np.uint32(16))


def band_keys(values: np.ndarray, bands: int, rows: int, family: int) -> list[int]:
    """One signed 64-bit key per band; the family and band number are mixed in so
    that keys of different bands never meet."""
    data = values.tobytes()
    width = rows * values.itemsize
    return [
        int.from_bytes(
            blake2b(data[band * width : (band + 1) * width], digest_size=8, salt=_SALTS[family][band]).digest(),
            "big",
            signed=True,
        )
        for band in range(bands)
    ]


def lsh_keys(shingle_hashes: np.ndarray) -> list[int]:
    """The LSH keys an article is filed under and looked up by."""
    if len(shingle_hashes) < MIN_SHINGLES:
        return []
    body, lead = minhashes(shingle_hashes, LEAD_SHINGLES)
    return band_keys(body, BODY_BANDS, BODY_ROWS, family=1) + band_keys(lead, LEAD_BANDS, LEAD_ROWS, family=2)


def containment(a: np.ndarray, b: np.ndarray) -> float:
    """The share of the smaller set's shingles found in the larger one: 1.0 for a
    truncated copy, where Jaccard similarity would only be the kept fraction."""
    if len(a) < MIN_SHINGLES or len(b) < MIN_SHINGLES:
        return 0.0
    shared = len(np.intersect1d(a, b, assume_unique=True))
    return shared / min(len(a), len(b))
