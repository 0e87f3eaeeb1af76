"""Markdown and stray HTML inside plain text, reduced to the words a reader sees.

Link text stays, link targets go; images go; emphasis markers go; block
structure (headings, list items, rules, end markers) is told apart per line by
`paragraphs`, which uses the patterns here.
"""

from __future__ import annotations

import html
import re

# --- stray HTML in text files -------------------------------------------------

_COMMENT = re.compile(r"<!--.*?-->", re.S)
_SCRIPT = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.S | re.I)
_BREAK = re.compile(r"<br\s*/?>", re.I)
_BLOCK_TAG = re.compile(
    r"</?(?:p|div|h[1-6]|ul|ol|li|blockquote|section|article|header|footer|figure|figcaption"
    r"|table|thead|tbody|tr|td|th|pre|hr|center|aside|nav|main)\b[^>]*>",
    re.I,
)
# Only real tag names: "a < b > c" in prose must survive.
_INLINE_TAG = re.compile(
    r"</?(?:a|b|i|u|s|em|strong|small|big|sup|sub|font|img|span|abbr|cite|code|mark|time|q"
    r"|del|ins|strike|tt|kbd|var|wbr|iframe|source|picture|video|audio|label)\b[^>]*>",
    re.I,
)
# WordPress-style shortcodes left in exported text: [button link="..."], [/caption].
# A bare "[word]" is an editor's insertion in a quote ("give[s]", "[We]") and stays.
SHORTCODE = re.compile(r"\[(?:/[a-z][\w-]*|[a-z][\w-]*(?:\s+[a-z_-]+=(?:\"[^\"]*\"|'[^']*'|”[^”]*”|[^\s\]]+))+)\s*\]")
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def strip_html(text: str) -> str:
    """Tags out, `<br>` and block tags as line breaks, entities decoded."""
    if "<" in text:
        text = _COMMENT.sub("", text)
        text = _SCRIPT.sub("", text)
        text = _BREAK.sub("\n", text)
        text = _BLOCK_TAG.sub("\n", text)
        text = _INLINE_TAG.sub("", text)
    if "&" in text:
        # Only complete entities: "AT&T" and "R&D" are words, not markup.
        text = _ENTITY.sub(lambda m: html.unescape(m.group(0)), text)
    return text


# --- markdown, line level -----------------------------------------------------

HEADING = re.compile(r"^#{1,6}\s+(.+?)(?:\s+#+)?\s*$")
# Press-release end marks: "###", "# # #", "-30-", "-END-", "(ENDS)".
END_MARKER = re.compile(r"^(?:#{3,}|(?:#\s+){2,}#|[-–—]\s*(?:30|###|ENDS?)\s*[-–—]|\(?ENDS?\)?)$")
RULE = re.compile(r"^(?:([-*_=])\s*(?:\1\s*){2,})$")
REFERENCE_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s+\S+")
BLOCKQUOTE = re.compile(r"^(?:>\s?)+")
LIST_ITEM = re.compile(r"^(?:[-*+•·▪]|\d{1,3}[.)])\s+(?=\S)")

# --- markdown, inline ---------------------------------------------------------

_IMAGE = re.compile(r"!\[[^\]]*\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+\"[^\"]*\")?\)")
_LINK = re.compile(r"\[([^\]]*)\]\(\s*<?(?:[^()\s<>]|\([^()\s]*\))*>?(?:\s+[\"'(][^\"')]*[\"')])?\s*\)")
_REFERENCE_LINK = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPHASIS_STAR = re.compile(r"(?<![\w*])\*(?=[^\s*])([^*\n]+?)(?<=[^\s*])\*(?![\w*])")
_EMPHASIS_UNDERSCORE = re.compile(r"(?<![\w_])_(?=[^\s_])([^_\n]+?)(?<=[^\s_])_(?![\w_])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_CODE = re.compile(r"`([^`\n]+)`")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!>])")


def strip_inline_markdown(text: str) -> str:
    if "](" in text or "][" in text:
        text = _IMAGE.sub("", text)
        text = _LINK.sub(r"\1", text)
        text = _REFERENCE_LINK.sub(r"\1", text)
    if "<" in text:
        text = _AUTOLINK.sub(r"\1", text)
    if "*" in text or "_" in text:
        text = _STRONG.sub(r"\2", text)
        text = _EMPHASIS_STAR.sub(r"\1", text)
        text = _EMPHASIS_UNDERSCORE.sub(r"\1", text)
    if "~~" in text:
        text = _STRIKE.sub(r"\1", text)
    if "`" in text:
        text = _CODE.sub(r"\1", text)
    if "\\" in text:
        text = _ESCAPE.sub(r"\1", text)
    return text
