"""Texts for tests: articles that share no wording, so dedup keeps them apart."""

from __future__ import annotations

import random

_WORDS = [
    "harbour",
    "council",
    "budget",
    "river",
    "school",
    "bridge",
    "market",
    "station",
    "winter",
    "farmers",
    "museum",
    "library",
    "orchestra",
    "festival",
    "hospital",
    "airport",
    "railway",
    "election",
    "mayor",
    "police",
    "court",
    "weather",
    "storm",
    "harvest",
    "factory",
    "workers",
    "union",
    "contract",
    "tourism",
    "hotel",
    "restaurant",
    "bakery",
    "garden",
    "park",
    "forest",
    "mountain",
    "valley",
    "island",
    "coast",
    "village",
    "town",
    "district",
    "county",
    "province",
    "region",
    "nation",
    "border",
    "treaty",
    "minister",
    "parliament",
    "senate",
    "committee",
    "report",
    "survey",
    "study",
    "research",
    "university",
    "students",
    "teachers",
    "parents",
    "children",
    "families",
    "doctors",
    "nurses",
    "patients",
    "vaccine",
    "clinic",
    "energy",
    "solar",
    "wind",
    "battery",
    "grid",
    "pipeline",
    "water",
    "drought",
    "flood",
    "fire",
    "rescue",
    "volunteers",
    "charity",
    "donation",
    "museum",
    "gallery",
    "painting",
    "sculpture",
    "concert",
    "theatre",
    "film",
    "novel",
    "author",
    "poet",
    "journalist",
    "editor",
    "camera",
    "phone",
    "software",
    "startup",
    "investor",
    "bank",
    "loan",
    "mortgage",
    "tax",
    "tariff",
    "export",
    "import",
    "shipping",
    "container",
    "port",
    "truck",
    "highway",
    "tunnel",
    "cyclists",
    "pedestrians",
    "housing",
    "rent",
    "landlord",
    "tenant",
    "zoning",
    "permit",
    "inspector",
    "audit",
    "deficit",
    "surplus",
    "pension",
    "salary",
    "strike",
    "protest",
    "march",
]


# Everyday words, to fill the common vocabulary below up.
_COMMON = (
    "city state year people week government plan public money work home family health business service"
    " company group night team game music food car road house office law power price cost sales rate data"
    " news media world life time day month number part place case point program problem question system"
    " area water history party result change reason research girl guy moment air teacher force education"
)


def _common(words: list[str]) -> list[str]:
    """The words no article is told apart by: commoner than the same-event step's
    rarity floor, so two random bodies never look like reports of one event."""
    from newsdesk.tasks.dedup import event, story

    return sorted({w for w in words if story.idf(w, "en") < event.MIN_IDF})


_VOCABULARY = _common(_WORDS + _COMMON.split())


def distinct_story(seed: int, sentences: int = 6) -> str:
    """A body of random sentences over a common vocabulary: no two seeds share
    a run of four words, and none of its words is rare enough to be a key term."""
    rng = random.Random(seed)
    out = []
    for _ in range(sentences):
        words = rng.choices(_VOCABULARY, k=rng.randint(9, 14))
        out.append(" ".join(words).capitalize() + ".")
    return " ".join(out)
