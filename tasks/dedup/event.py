"""Same event, written separately: the features and the score that join an
article to a story of other outlets' reports.

Separately written reports of one event share its rare words (names, places,
numbers, the specific nouns) far more than reports of other events do, and
they put them in their titles and leads. So each article becomes one TF-IDF
vector of its rare terms, stemmed with the Snowball stemmer of its language
(PyStemmer): title terms count three times, lead terms twice, the rest of
the body (up to BODY_WORDS words) once; term frequencies are dampened
(1 + ln tf) and the vector is cut to its TERMS heaviest terms and normalised.
An article reports the event of a story when its mean cosine with the
story's articles reaches THRESHOLD (group-average linkage, kept as a sum of
the story's vectors: `Centroid`), and they fall within the story window (see
`match`); the heaviest KEYS terms are the index keys that find candidates.
Closeness to one member is not enough: a review, a roundup or a preview close
to one report of an event would otherwise chain its own occasion into the
story, and the next article on from there.

Term weights are wordfreq's general-language inverse frequencies, as for
rewrites (`story`): the same weight on the first day as on the thousandth, on
every worker, and in a rebuild. Nothing is downloaded at run time.

Names and numbers are not translated, so two languages' reports share a few
of them, but their stems differ: linking across languages is left to a later
step.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import Stemmer

from newsdesk.tasks.dedup import story

# Rarer than this (-ln frequency: under one word in 8,000) a word can carry the
# event: names, places, numbers, specific nouns ("assange" is about 15). Commoner
# words are the topic's vocabulary ("tariff", "keyboard", "hearing"), which
# reports of other events on the same topic share just as much.
MIN_IDF = 9.0
LEAD_WORDS = 60
BODY_WORDS = 600
TITLE_WEIGHT, LEAD_WEIGHT, BODY_WEIGHT = 3.0, 2.0, 1.0
# Terms kept per article: the heaviest carry nearly all of the cosine.
TERMS = 48
# Index keys per article: its heaviest terms (title and lead terms weigh most).
# Two articles sharing at least two are candidates of each other.
KEYS = 16
# The cosine at which two articles report one event. Reports of one event
# share about a third of their weighted rare-term mass or more; reports of
# other events on the same topic (another hearing, another launch) a fifth
# or less: the threshold sits between, on the side of precision.
THRESHOLD = 0.30
# Terms kept in a story's summed vector: twice an article's, so that the
# terms its reports share stay in it as the story grows (the sum of a story
# of one event is dominated by the terms its reports share).
CENTROID_TERMS = 2 * TERMS

# Opinion pieces and reviews comment on news: they are no reports of an event,
# whatever names they share with the reports (the issue's "a product review
# and its launch news, a reaction or opinion piece and the news it reacts
# to"). Known by the rubric their title opens with ("Opinion | Is Football
# Violence a Crime?", "Kommentar: ...", "Op-Ed: ..."), a title that calls
# itself a review ("16-inch MacBook Pro review: ..."), the page's section, or
# a rubric or a review slug in its URL (/opinion/, /commentisfree/, .../
# fallen-order-pc-review/).
_RUBRICS = (
    "opinion|opinions|op-ed|oped|editorial|editorials|commentary|column|columns|columnists|kommentar|kommentare"
    "|meinung|gastbeitrag|leitartikel|opinión|opiniones|tribuna|tribune|tribunes|éditorial|opinião|opinione"
    "|editoriale|komentarz|komentarze|felieton|görüş|yorum|رأي|مقالات|review|reviews|rezension|reseña"
)
_OPINION_TITLE = re.compile(rf"^\W*(?:{_RUBRICS}|مقال رأي)\s*[|:–—-]", re.IGNORECASE)
_REVIEW_TITLE = re.compile(r"\breview\s*(?:[|:–—-]|$)", re.IGNORECASE)
_RUBRIC = re.compile(rf"^(?:{_RUBRICS})$", re.IGNORECASE)
_URL_RUBRIC = re.compile(rf"/(?:{_RUBRICS}|commentisfree)/|-reviews?/?(?:$|[?#])", re.IGNORECASE)


# ISO 639-1 codes of the Snowball stemmers PyStemmer ships.
_STEMMERS = {
    "ar": "arabic",
    "hy": "armenian",
    "eu": "basque",
    "ca": "catalan",
    "cs": "czech",
    "da": "danish",
    "nl": "dutch",
    "en": "english",
    "eo": "esperanto",
    "et": "estonian",
    "fi": "finnish",
    "fr": "french",
    "de": "german",
    "el": "greek",
    "hi": "hindi",
    "hu": "hungarian",
    "id": "indonesian",
    "ga": "irish",
    "it": "italian",
    "lt": "lithuanian",
    "ne": "nepali",
    "no": "norwegian",
    "nb": "norwegian",
    "nn": "norwegian",
    "fa": "persian",
    "pl": "polish",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "es": "spanish",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}


@dataclass(slots=True)
class EventVector:
    """An article's event features: term keys and their weights (unit length), heaviest first."""

    terms: list[int]
    weights: list[float]

    def as_dict(self) -> dict[int, float]:
        return dict(zip(self.terms, self.weights))


@lru_cache(maxsize=64)
def _stemmer(language: str | None) -> Stemmer.Stemmer | None:
    name = _STEMMERS.get((language or "").split("-")[0].lower())
    return Stemmer.Stemmer(name) if name else None


def features(title: str | None, body: str, language: str | None = None) -> tuple[EventVector, list[int]]:
    """The article's event vector and its index keys."""
    weigh_in = story._language(language)  # wordfreq's table for the language, else English
    stemmer = _stemmer(language)
    words = body.split(maxsplit=BODY_WORDS)[:BODY_WORDS]
    zones = (
        (title or "", TITLE_WEIGHT),
        (" ".join(words[:LEAD_WORDS]), LEAD_WEIGHT),
        (" ".join(words[LEAD_WORDS:]), BODY_WEIGHT),
    )
    mass: dict[str, float] = {}
    for text, weight in zones:
        counts = Counter(story._WORD.findall(text.lower().replace("’", "'")))
        for word, count in counts.items():
            idf = story.idf(word, weigh_in)
            if idf < MIN_IDF:
                continue
            term = stemmer.stemWord(word) if stemmer is not None and not word[0].isdigit() else word
            mass[term] = mass.get(term, 0.0) + weight * count * idf
    weights = {term: 1 + math.log(value) if value > 1 else value for term, value in mass.items()}
    top = sorted(weights, key=lambda t: (-weights[t], t))[:TERMS]
    norm = math.sqrt(sum(weights[t] ** 2 for t in top)) or 1.0
    terms = [term_key(t) for t in top]
    return EventVector(terms, [round(weights[t] / norm, 5) for t in top]), terms[:KEYS]


def is_opinion(title: str | None, section: str | None = None, url: str | None = None) -> bool:
    """Whether the article is an opinion piece or a review (see `_RUBRICS`), not a report of an event."""
    if title is not None and (_OPINION_TITLE.match(title) or _REVIEW_TITLE.search(title)):
        return True
    if section is not None and _RUBRIC.match(section.strip()):
        return True
    return url is not None and _URL_RUBRIC.search(url) is not None


def term_key(term: str) -> int:
    """A term as a stored signed 64-bit key."""
    return int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=8).digest(), "big", signed=True)


def similarity(a: EventVector, b: EventVector) -> float:
    """The cosine of two event vectors."""
    if len(a.terms) > len(b.terms):
        a, b = b, a
    other = b.as_dict()
    return sum(w * other.get(t, 0.0) for t, w in zip(a.terms, a.weights))


@dataclass(slots=True)
class Centroid:
    """A story's event features: the sum of its articles' vectors (`n` of
    them), cut to its CENTROID_TERMS heaviest terms. The dot product of an
    article's vector with the sum, over `n`, is its mean cosine with the
    story's articles; the cost is the same for a story of two articles as for
    one of two thousand."""

    n: int
    terms: list[int]
    weights: list[float]

    @classmethod
    def of(cls, vector: EventVector) -> Centroid:
        return cls(1, list(vector.terms), list(vector.weights))

    def mean_similarity(self, vector: EventVector) -> float:
        """The mean cosine of `vector` with the story's articles."""
        summed = dict(zip(self.terms, self.weights))
        return sum(w * summed.get(t, 0.0) for t, w in zip(vector.terms, vector.weights)) / self.n

    def between(self, other: Centroid) -> float:
        """The mean cosine between the articles of two stories."""
        summed = dict(zip(self.terms, self.weights))
        return sum(w * summed.get(t, 0.0) for t, w in zip(other.terms, other.weights)) / (self.n * other.n)

    def add(self, vector: EventVector) -> None:
        self._absorb(1, vector.terms, vector.weights)

    def merge(self, other: Centroid) -> None:
        self._absorb(other.n, other.terms, other.weights)

    def _absorb(self, n: int, terms: list[int], weights: list[float]) -> None:
        summed = dict(zip(self.terms, self.weights))
        for term, weight in zip(terms, weights):
            summed[term] = summed.get(term, 0.0) + weight
        top = sorted(summed, key=lambda t: (-summed[t], t))[:CENTROID_TERMS]
        self.n += n
        self.terms = top
        self.weights = [round(summed[t], 5) for t in top]
