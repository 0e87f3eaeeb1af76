"""Plain text (markdown allowed) to a list of paragraphs that know what they are."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from newsdesk.tasks.extract.clean import markup

# A body shorter than this is a stub, a navigation page or an error page, not an article.
MIN_BODY_CHARS = 40

# Characters that are formatting, not text.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_UNICODE_SPACE = re.compile(r"[\u00a0\u2000-\u200a\u202f\u205f\u3000]")


@dataclass(slots=True)
class Para:
    text: str
    kind: str = "p"  # p, heading, list or end (a press-release end mark)


def normalise_text(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return _INVISIBLE.sub("", text)


def split(text: str, *, markdown: bool = True, unwrap: bool = True) -> list[Para]:
    """Paragraphs from text whose paragraphs are separated by blank lines or by
    single line breaks; hard-wrapped lines are joined back into one paragraph
    unless `unwrap` is off (text extracted from HTML, one line per element)."""
    paras: list[Para] = []
    block: list[str] = []

    def flush() -> None:
        paras.extend(Para(line) for line in (_unwrap(block) if unwrap else block))
        block.clear()

    text = _collapse_spaces(text)
    for raw_line in text.split("\n"):
        line = raw_line.strip()
        if not line:
            flush()
            continue
        if markup.END_MARKER.match(line):
            flush()
            paras.append(Para("", "end"))
            continue
        if markdown:
            if markup.RULE.match(line) or markup.REFERENCE_DEFINITION.match(line):
                flush()
                continue
            heading = markup.HEADING.match(line)
            if heading:
                flush()
                paras.append(Para(heading.group(1), "heading"))
                continue
            line = markup.BLOCKQUOTE.sub("", line)
        if markup.LIST_ITEM.match(line):
            flush()
            paras.append(Para(line, "list"))
            continue
        block.append(line)
    flush()

    cleaned = []
    for para in paras:
        if markdown:
            para.text = markup.strip_inline_markdown(para.text)
        if "[" in para.text:
            para.text = markup.SHORTCODE.sub("", para.text)
        para.text = _collapse_spaces(para.text).strip()
        if para.text or para.kind == "end":
            cleaned.append(para)
    return cleaned


def _collapse_spaces(text: str) -> str:
    # Most text has nothing to collapse, and `in` is far cheaper than a regex.
    if "  " in text or "\t" in text or (not text.isascii() and _UNICODE_SPACE.search(text)):
        return _SPACES.sub(" ", text)
    return text


def _unwrap(lines: list[str]) -> list[str]:
    """Join lines of a block that were wrapped at a fixed width.

    Wrapped prose breaks mid-sentence, so many continuation lines start in
    lower case; separate short lines (headlines, a title over a paragraph) start
    with a capital. Lines over 120 characters are never wrapping.
    """
    if len(lines) < 2:
        return lines
    if max(map(len, lines)) > 120:
        return lines
    breaks = len(lines) - 1
    continued = sum(
        1
        for before, after in zip(lines, lines[1:])
        if after[:1].islower() or before.endswith((",", "-", "—", ";")) or after[:1] in "(\"'“‘"
    )
    if continued * 3 >= breaks:
        return [" ".join(lines)]
    return lines


def join(paras: list[Para]) -> str:
    return "\n\n".join(p.text for p in paras if p.kind != "end")
