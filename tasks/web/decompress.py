"""HTTP bodies decompressed (gzip, deflate, brotli) with a bound on what comes out.

httpx decodes each chunk it receives in one call, however far it expands: 2 kB
of brotli become a gigabyte in memory before anyone has counted a byte. Here
each call may produce only the room left under the limit (plus one byte, to
tell "at the limit" from "over it"), so a decompression bomb costs no more
memory than an honest body of the limit's size.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import brotli


class BrokenBody(Exception):
    """The body is not valid data of its declared Content-Encoding."""


class _Inflate:
    """gzip, or deflate: zlib-wrapped as the RFC says, or raw as some servers send it."""

    def __init__(self, wbits: int):
        self._wbits = wbits
        self._inflater = zlib.decompressobj(wbits)
        self._started = False

    def __call__(self, data: bytes, room: int) -> bytes:
        try:
            out = self._inflater.decompress(data, room)
        except zlib.error:
            if self._started or self._wbits != zlib.MAX_WBITS:
                raise
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._inflater.decompress(data, room)
        self._started = True
        return out


class _Brotli:
    def __init__(self):
        self._decompressor = brotli.Decompressor()

    def __call__(self, data: bytes, room: int) -> bytes:
        return self._decompressor.process(data, output_buffer_limit=room)


_CODINGS: dict[str, Callable[[], Callable[[bytes, int], bytes]]] = {
    "gzip": lambda: _Inflate(16 + zlib.MAX_WBITS),
    "x-gzip": lambda: _Inflate(16 + zlib.MAX_WBITS),
    "deflate": lambda: _Inflate(zlib.MAX_WBITS),
    "br": _Brotli,
}


class BoundedDecoder:
    """Decodes a body chunk by chunk; `over` turns true once more than `limit`
    bytes have come out, and no chunk then yields more than the room left + 1."""

    def __init__(self, content_encoding: str | None, limit: int):
        codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
        codings = [c for c in codings if c in _CODINGS]  # others are ignored, as httpx does
        if len(codings) > 1:
            raise BrokenBody(f"more than one content encoding ({content_encoding}) is not supported")
        self.coding = codings[0] if codings else None
        self._decode = _CODINGS[self.coding]() if self.coding else None
        self.limit = limit
        self.size = 0

    @property
    def over(self) -> bool:
        return self.size > self.limit

    def decode(self, data: bytes) -> bytes:
        if self._decode is None:
            out = data
        else:
            # zlib reads a max_length of 0 as "no limit": the room is never 0 here.
            room = max(self.limit - self.size, 0) + 1
            try:
                out = self._decode(data, room)
            except (zlib.error, brotli.error) as exc:
                raise BrokenBody(f"broken {self.coding} body: {exc}") from None
        self.size += len(out)
        return out
