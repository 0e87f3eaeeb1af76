"""Same story, other words: rewrites that share the facts but few word sequences.

A rewrite keeps the original's names, numbers and rare words, and tells them
in much the same order, sentence after sentence; independent reports of one
topic share some names but neither the bulk of the facts nor their order.
So a candidate (an article sharing index keys, see `event`, published within
the time window) is linked when, after a cheap whole-text TF-IDF check, enough of the
shorter article's sentences find a similar sentence in the other *in order*
(the longest increasing run of best matches).

Term weights are inverse word frequencies from wordfreq's general-language
tables, not from our own corpus: a rare name weighs the same on the first day
as on the thousandth, two workers weigh alike, and a rebuild is reproducible.
Nothing is downloaded at run time.
"""

from __future__ import annotations

import bisect
import math
import re

from wordfreq import available_languages, get_frequency_dict, word_frequency
from wordfreq.numbers import digit_freq

# Words at least this rare (-ln frequency; "the" is about 3, "taiwan" 11,
# "helberg" 18) carry meaning; commoner ones are ignored.
MIN_IDF = 8.0
# The whole-text cosine below which a candidate is not worth aligning.
PREFILTER_COSINE = 0.3
# Two sentences "say the same thing" at this cosine of their rare-word vectors.
SENTENCE_MATCH = 0.3
# Fewer sentences than this in the shorter article: too little to call it a rewrite.
MIN_SENTENCES = 4

_WORD = re.compile(r"[^\W_]+(?:['’.-][^\W_]+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?\"”»])\s+(?=[^\s\w]*[A-Z0-9À-ÖØ-Þ])|\n+")
# wordfreq needs extra tokenisers (MeCab, jieba) for these; their words are
# looked up in the English table instead, where they are simply rare.
_LANGUAGES = frozenset(available_languages()) - {"ja", "ko", "zh"}

Vector = dict[str, float]


_MINIMUM_FREQUENCY = 1e-8
# Known words' weights per language: looked up for every word of every lead,
# so a plain dict (cleared when it grows past _CACHED words) rather than lru_cache.
_IDF: dict[str, dict[str, float]] = {}
_CACHED = 100_000  # ~15 MB: memory must not grow with the corpus
_FREQUENCIES: dict[str, dict[str, float]] = {}  # wordfreq's table per language, loaded once


def idf(word: str, language: str = "en") -> float:
    """-ln of the word's frequency in the language (a lower-case word)."""
    table = _IDF.setdefault(language, {})
    value = table.get(word)
    if value is None:
        if len(table) >= _CACHED:
            table.clear()
        value = table[word] = -math.log(_frequency(word, language))
    return value


def _frequency(word: str, language: str) -> float:
    """`word_frequency(word, language, minimum=_MINIMUM_FREQUENCY)`. A plain word
    or number is looked up directly, for the same value (a test holds them
    equal), without wordfreq's tokeniser, which costs tens of microseconds a
    word: news meets new names and numbers in every article."""
    if not word.isascii():
        return word_frequency(word, language, minimum=_MINIMUM_FREQUENCY)
    frequencies = _FREQUENCIES.get(language) or _FREQUENCIES.setdefault(language, get_frequency_dict(language, "best"))
    if word.isalpha():
        frequency = frequencies.get(word, 0.0)
    elif word.isdigit():
        # wordfreq counts numbers of two digits or more by shape ("2024" as
        # "0000"), times its own estimate of that number.
        shape = "0" * len(word) if len(word) > 1 else word
        frequency = frequencies.get(shape, 0.0)
        if shape != word:
            frequency *= digit_freq(word)
    else:
        return word_frequency(word, language, minimum=_MINIMUM_FREQUENCY)
    frequency = max(frequency, _MINIMUM_FREQUENCY)
    return round(frequency, math.floor(-math.log(frequency, 10)) + 3)  # wordfreq's 3 significant digits


def _language(language: str | None) -> str:
    code = (language or "en").split("-")[0].lower()
    return code if code in _LANGUAGES else "en"


def terms(text: str, language: str = "en") -> list[str]:
    """The rare words of a text, lower-cased, in order."""
    table = _IDF.get(language) or {}
    found = []
    for word in _WORD.findall(text.lower().replace("’", "'")):
        weight = table.get(word)
        if weight is None:
            weight = idf(word, language)
        if weight >= MIN_IDF:
            found.append(word)
    return found


def vector(words: list[str], language: str = "en") -> Vector:
    counts: dict[str, int] = {}
    for word in words:
        counts[word] = counts.get(word, 0) + 1
    weights = {w: (1 + math.log(n)) * idf(w, language) for w, n in counts.items()}
    norm = math.sqrt(sum(x * x for x in weights.values())) or 1.0
    return {w: x / norm for w, x in weights.items()}


def cosine(a: Vector, b: Vector) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(x * b.get(w, 0.0) for w, x in a.items())


class StoryText:
    """What the same-story check needs of one article, each part computed when
    first asked for: most candidates fail on the whole-text vector, and never
    need the sentence vectors, which cost several times more."""

    __slots__ = ("_title", "_body", "_language", "_whole", "_sentences")

    def __init__(self, title: str | None, body: str, language: str | None = None):
        self._title, self._body, self._language = title, body, _language(language)
        self._whole: Vector | None = None
        self._sentences: list[Vector] | None = None

    @property
    def whole(self) -> Vector:
        if self._whole is None:
            self._whole = vector(terms(f"{self._title or ''}\n{self._body}", self._language), self._language)
        return self._whole

    @property
    def sentences(self) -> list[Vector]:
        if self._sentences is None:
            self._sentences = []
            for sentence in _SENTENCE_END.split(self._body):
                words = terms(sentence, self._language)
                if len(set(words)) >= 3:
                    self._sentences.append(vector(words, self._language))
        return self._sentences


def story_text(title: str | None, body: str, language: str | None = None) -> StoryText:
    return StoryText(title, body, language)


def ordered_coverage(a: list[Vector], b: list[Vector], match: float = SENTENCE_MATCH) -> float:
    """The share of the shorter article's sentences that have a matching sentence
    in the other, counting only the longest run whose matches keep their order."""
    if len(a) > len(b):
        a, b = b, a
    if len(a) < MIN_SENTENCES:
        return 0.0
    positions = []
    for sentence in a:
        scores = [cosine(sentence, other) for other in b]
        best = max(range(len(b)), key=scores.__getitem__)
        if scores[best] >= match:
            positions.append(best)
    return _longest_increasing(positions) / len(a)


def _longest_increasing(values: list[int]) -> int:
    tails: list[int] = []
    for value in values:
        i = bisect.bisect_left(tails, value)
        if i == len(tails):
            tails.append(value)
        else:
            tails[i] = value
    return len(tails)


def similarity(a: StoryText, b: StoryText) -> float:
    """How surely b retells a's story: 0 when the texts are too far apart to align."""
    if cosine(a.whole, b.whole) < PREFILTER_COSINE:
        return 0.0
    return ordered_coverage(a.sentences, b.sentences)
