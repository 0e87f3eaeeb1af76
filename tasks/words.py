"""How counts read in logs, state messages and artifacts: words, not dicts."""

from __future__ import annotations

from collections.abc import Mapping

from newsdesk.tasks.records import OUTCOMES


def plural(n: int, word: str, words: str | None = None) -> str:
    """`1 URL`, `2 URLs`; `words` for an irregular plural."""
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


def in_words(counts: Mapping[str, int]) -> str:
    """ "180 inserted, 2 rejected": the outcomes that occurred, in OUTCOMES order."""
    parts = [f"{counts[name]:,} {name}" for name in OUTCOMES if counts.get(name)]
    return ", ".join(parts) if parts else "nothing"
