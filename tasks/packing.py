"""How a raw document's bytes are stored: compressed with zstd by the process
that prepared them, so the database stores them as they come.

zstd in the extraction worker is cheaper and smaller than the embedded server's
own pglz compression (figures: docs/decisions.md, "Why raw documents are
compressed with zstd"). `documents.raw_encoding` says which form a row holds:
rows stored before migration 0012 stay `identity` (the bytes as read)."""

from __future__ import annotations

import threading

import zstandard

from newsdesk.tasks.records import Prepared, Problem, Unchanged

ENCODING = "zstd"
IDENTITY = "identity"
LEVEL = 1

_local = threading.local()  # a compressor is not safe to share between threads


def pack(raw: bytes) -> bytes:
    """`raw` as stored (a zstd frame that records its size)."""
    compressor = getattr(_local, "compressor", None)
    if compressor is None:
        compressor = _local.compressor = zstandard.ZstdCompressor(level=LEVEL)
    return compressor.compress(raw)


def unpack(stored: bytes, encoding: str) -> bytes:
    """The bytes as read, from a `documents` row's `raw` and `raw_encoding`."""
    if encoding == IDENTITY:
        return bytes(stored)
    if encoding == ENCODING:
        return zstandard.ZstdDecompressor().decompress(bytes(stored))
    raise ValueError(f"unknown raw_encoding {encoding!r}")


def packed(outcome: Prepared | Problem | Unchanged, *, keep_raw: bool = True) -> Prepared | Problem | Unchanged:
    """A prepared document with its stored form made here (an extraction
    worker, beside the other pages' extraction) rather than by the load.
    Without `keep_raw`, the bytes as read are let go (the stored form holds
    them): a worker then sends back a fifth of the bytes."""
    if isinstance(outcome, Prepared) and outcome.document.packed is None:
        document = outcome.document
        document.packed = pack(document.raw)
        if not keep_raw:
            document.packed_size, document.raw = len(document.raw), b""
    return outcome
