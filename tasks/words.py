"""How counts read in logs, state messages and artifacts: words, not dicts."""

from __future__ import annotations

import re
from collections.abc import Mapping

from newsdesk.tasks.records import OUTCOMES


def plural(n: int, word: str, words: str | None = None) -> str:
    """`1 URL`, `2 URLs`; `words` for an irregular plural."""
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


def in_words(counts: Mapping[str, int]) -> str:
    """ "180 inserted, 2 rejected": the outcomes that occurred, in OUTCOMES order."""
    parts = [f"{counts[name]:,} {name}" for name in OUTCOMES if counts.get(name)]
    return ", ".join(parts) if parts else "nothing"


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def printable(text: object) -> str:
    """`text` safe to print on one line of a log, a table or a terminal: control
    characters (a newline in a file name, an escape sequence), line separators
    and lone surrogates written as escapes (`\\n`, `\\x1b`, `\\udcff`), so a
    name or a page can neither forge a line nor drive the terminal."""
    value = str(text)
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), value)
