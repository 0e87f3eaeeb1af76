"""Raw bytes to text: refuse known binary formats, find the encoding, decode.

Pure: bytes in, text out; no files, no database, no Prefect. Rejections carry
the stage (`acquire` for bytes that are no text document, `decode` for the text
in them) and a reason an operator can act on.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

from newsdesk.tasks.records import Rejected

# Magic numbers of the binary formats people most often drop into a folder of articles.
_MAGIC = (
    (b"%PDF-", "PDF document"),
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"PK\x03\x04", "ZIP archive (or DOCX/XLSX)"),
    (b"\x1f\x8b", "gzip archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "Microsoft Office document"),
    (b"\x7fELF", "executable"),
    (b"BZh", "bzip2 archive"),
    (b"\xfd7zXZ\x00", "xz archive"),
    (b"SQLite format 3\x00", "SQLite database"),
)

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""", re.I)

# Bytes that are not UTF-8, as `surrogateescape` decodes them.
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")

# C0 control characters that never occur in real text (tab, LF, FF, CR do).
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")

# Detection ranks near-identical single-byte code pages by tiny differences in
# "chaos"; among those that fit about as well, Windows-1252 (a superset of
# Latin-1's printable range) is by far the likeliest for undeclared text.
_PREFERRED = ("cp1252", "latin_1", "iso8859_15")
_AS_GOOD = 0.01


def check_not_binary(raw: bytes) -> None:
    if not raw:
        raise Rejected("acquire", "empty file")
    for magic, what in _MAGIC:
        if raw.startswith(magic):
            raise Rejected("acquire", f"binary file: {what}")


def declared_charset(raw: bytes, media_type: str) -> str | None:
    """The charset a markup document declares for itself in its first bytes."""
    if media_type != "text/html":
        return None
    head = raw[:4096]
    match = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
    if not match:
        return None
    name = match.group(1).decode("ascii", "ignore")
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode(raw: bytes, *, declared: str | None = None) -> tuple[str, str]:
    """Text and the encoding it was read with.

    Order of trust: a byte-order mark, strict UTF-8 (by far the commonest and
    self-validating), the document's own declaration, then detection.
    """
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            try:
                return _checked(raw.decode(encoding), encoding)
            except UnicodeDecodeError:
                raise Rejected("decode", f"invalid {encoding} after a byte-order mark") from None
    if b"\x00" in raw:
        raise Rejected("decode", "contains NUL bytes (binary or corrupt file)")
    try:
        return _checked(raw.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    mostly = _mostly_utf8(raw)
    if mostly is not None:
        return _checked(mostly, "utf-8")
    if declared and declared not in ("utf-8", "utf_8"):
        try:
            return _checked(raw.decode(declared), declared)
        except (UnicodeDecodeError, LookupError):
            pass
    matches = from_bytes(raw)
    best = matches.best()
    if best is None:
        raise Rejected("decode", "undecodable: not UTF-8 and no encoding fits")
    for match in matches:
        if match.encoding in _PREFERRED and match.chaos <= best.chaos + _AS_GOOD:
            return _checked(str(match), match.encoding)
    return _checked(str(best), best.encoding)


def _mostly_utf8(raw: bytes) -> str | None:
    """UTF-8 text with a few bad bytes in it (a stray byte pasted in, a copy cut
    mid-character), with each bad sequence replaced by U+FFFD; None when the bytes
    are not mostly UTF-8. Detection would otherwise pick a single-byte code page
    for the whole text and turn every accent in it into mojibake ("cafÃ©")."""
    escaped = raw.decode("utf-8", errors="surrogateescape")
    bad = len(_ESCAPED_BYTE.findall(escaped))
    # Text in a single-byte code page has next to no valid multi-byte sequences.
    valid = len(escaped) - len(escaped.encode("ascii", errors="ignore")) - bad
    if valid <= bad:
        return None
    return raw.decode("utf-8", errors="replace")


def _checked(text: str, encoding: str) -> tuple[str, str]:
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise Rejected("decode", "blank file: only whitespace")
    # A NUL can also come out of a UTF-16 or UTF-32 text; PostgreSQL text cannot
    # hold one, and the load of the whole batch would fail on it.
    if "\x00" in text:
        raise Rejected("decode", "contains NUL characters (binary or corrupt file)")
    controls = len(_CONTROL.findall(text[:65536]))
    if controls > max(8, len(text[:65536]) // 100):
        raise Rejected("decode", f"binary content: {controls} control characters")
    return text, encoding
