"""Raw documents are stored zstd-compressed (tasks.packing): the bytes as read
come back exactly, and a stored form is made once."""

import pytest

from newsdesk.tasks import packing
from newsdesk.tasks.records import Problem
from tests.helpers import prepared


def test_packed_bytes_come_back_exactly_and_smaller():
    raw = ("<p>Le café de la gare rouvre.</p>\n" * 500).encode("latin-1") + bytes(range(256))
    stored = packing.pack(raw)
    assert len(stored) < len(raw) / 10
    assert packing.unpack(stored, "zstd") == raw
    assert packing.unpack(memoryview(raw), "identity") == raw  # rows stored before migration 0012
    assert packing.unpack(packing.pack(b""), "zstd") == b""


def test_an_unknown_encoding_is_an_error_not_garbage():
    with pytest.raises(ValueError, match="unknown raw_encoding 'gzip'"):
        packing.unpack(b"\x1f\x8b", "gzip")


def test_a_prepared_document_is_packed_once_and_problems_pass_through():
    item = prepared("/a", "words of a body that is stored")
    assert item.document.packed is None
    assert packing.packed(item) is item
    stored = item.document.packed
    assert stored is not None and packing.unpack(stored, "zstd") == item.document.raw
    packing.packed(item)
    assert item.document.packed is stored
    problem = Problem("/b", "rejected", "decode", "binary")
    assert packing.packed(problem) is problem


def test_a_worker_can_send_back_the_packed_form_alone():
    raw = b"<p>words of a page</p>" * 300
    item = prepared("/a", "words of a page", raw=raw)
    packing.packed(item, keep_raw=False)
    assert item.document.raw == b"" and item.document.byte_size == len(raw)
    assert item.document.packed is not None and packing.unpack(item.document.packed, "zstd") == raw
