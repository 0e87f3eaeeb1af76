"""Reading files: encodings decoded right, bad input refused with a reason."""

import gzip
import os

import pytest

from newsdesk.tasks.extract.decode import declared_charset, decode
from newsdesk.tasks.files import prepare_file, read_document
from newsdesk.tasks.records import Prepared, Problem, Rejected

ACCENTED = "Le café du marché a rouvert: crème brûlée, façade rénovée, « naïveté » et œuvres d’art à l’étage."


def test_utf8_with_and_without_bom():
    assert decode(ACCENTED.encode("utf-8")) == (ACCENTED, "utf-8")
    assert decode(b"\xef\xbb\xbf" + ACCENTED.encode("utf-8")) == (ACCENTED, "utf-8-sig")


def test_utf16_with_bom():
    text, encoding = decode(ACCENTED.encode("utf-16"))
    assert text == ACCENTED and encoding == "utf-16"


def test_undeclared_cp1252_with_curly_quotes_and_accents():
    text = "“Señor Müller’s café”, said the résumé – naïve but true. " * 3
    assert decode(text.encode("cp1252"))[0] == text


def test_undeclared_latin1_accents():
    text = "Élections à Montréal: la mairesse sortante a été réélue avec une forte majorité à l'hôtel de ville."
    assert decode(text.encode("latin-1"))[0] == text


def test_declared_charset_in_html_is_used():
    html = '<html><head><meta charset="iso-8859-7"></head><body>Καλημέρα κόσμε</body></html>'
    raw = html.encode("iso-8859-7")
    declared = declared_charset(raw, "text/html")
    assert declared == "iso8859-7"
    assert "Καλημέρα" in decode(raw, declared=declared)[0]


def test_a_wrong_declaration_loses_to_valid_utf8():
    raw = '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"><p>naïve café</p>'.encode()
    assert "naïve café" in decode(raw, declared=declared_charset(raw, "text/html"))[0]


@pytest.mark.parametrize(
    "raw, reason",
    [
        (b"", "empty"),
        (b"   \n\t\n  ", "blank"),
        (b"Some text\x00with a NUL byte in the middle of an otherwise fine line", "NUL"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
        (gzip.compress(b"hello world" * 10), "gzip"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG"),
    ],
)
def test_bad_input_is_rejected_with_a_reason(tmp_path, raw, reason):
    path = tmp_path / "bad.txt"
    path.write_bytes(raw)
    item = prepare_file(str(path), max_bytes=1_000_000)
    assert isinstance(item, Problem) and item.outcome == "rejected"
    assert reason.lower() in item.reason.lower()


def test_random_bytes_are_rejected(tmp_path):
    path = tmp_path / "noise.txt"
    path.write_bytes(bytes(range(1, 32)) * 50 + os.urandom(2000).replace(b"\x00", b"\x01"))
    item = prepare_file(str(path), max_bytes=1_000_000)
    assert isinstance(item, Problem) and item.stage == "decode"


def test_a_file_over_the_size_limit_is_not_read(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("word " * 1000)
    with pytest.raises(Rejected, match="over the limit of 100"):
        read_document(path, max_bytes=100)


def test_unsupported_file_type(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0")
    item = prepare_file(str(path), max_bytes=1000)
    assert isinstance(item, Problem) and "unsupported file type" in item.reason


def test_a_good_file_is_prepared_with_its_hashes(tmp_path):
    path = tmp_path / "ok.md"
    path.write_bytes(("# Title\n\n" + ACCENTED).encode("cp1252", errors="ignore"))
    item = prepare_file(str(path), max_bytes=1000)
    assert isinstance(item, Prepared)
    assert item.article.title == "Title" and item.encoding == "cp1252"
    assert len(item.document.sha256) == 64 and len(item.body_hash) == 64


def test_stored_bytes_are_not_cleaned_again(tmp_path):
    from newsdesk.tasks.records import Unchanged

    path = tmp_path / "a.txt"
    path.write_text(ACCENTED)
    first = prepare_file(str(path), max_bytes=1000)
    assert isinstance(first, Prepared)
    again = prepare_file(str(path), max_bytes=1000, stored_sha256=first.document.sha256, mtime_ns=12345)
    # Read only because its time moved: the hash and new time go along, to be recorded.
    assert again == Unchanged(str(path), first.document.sha256, 12345)
    path.write_text(ACCENTED + " Encore.")
    assert isinstance(prepare_file(str(path), max_bytes=1000, stored_sha256=first.document.sha256), Prepared)
