"""Author names that are people's names. Pure.

A byline is split into names ("A; B", "A and B", "A, B"), and from each the
"By", roles and datelines are taken out. What is left is kept only when it is
a person's name: never a placeholder account ("Admin", "Wordpressadmin"), a
form or menu label ("Name", "Follow", "Autor"), an agency or organisation
("Reuters", "… GmbH", "… Redaktion", "HNN Staff"), a copyright line, a
single word, or the name the page gives its own site. A value that splits into
more names than a byline holds (a reference list) gives none.
"""

from __future__ import annotations

import html as html_lib
import re

_MONTHS = "january february march april may june july august september october november december"
_DATE_WORDS = frozenset(
    _MONTHS.split()
    + [m[:3] for m in _MONTHS.split()]
    + [
        "sept",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "mon",
        "tue",
        "tues",
        "wed",
        "thu",
        "thur",
        "thurs",
        "fri",
        "sat",
        "sun",
    ]
    + [
        "updated",
        "published",
        "posted",
        "am",
        "pm",
        "a.m.",
        "p.m.",
        "gmt",
        "utc",
        "est",
        "edt",
        "pst",
        "pdt",
        "bst",
        "cet",
        "ago",
        "today",
        "yesterday",
    ]
)
# Accounts and labels that stand where a byline should be.
_PLACEHOLDERS = frozenset(
    [
        "admin",
        "administrator",
        "author",
        "editor",
        "editors",
        "editorial",
        "staff",
        "webmaster",
        "guest",
        "team",
        "newsroom",
        "desk",
        "user",
        "anonymous",
        "unknown",
        "none",
        "null",
        "contributor",
        "contributors",
        "redaktion",
        "redacción",
        "staff",
        "writer",
        "name",
        "follow",
        "autor",
        "autorin",
        "autor/in",
        "autoren",
        "auteur",
        "share",
        "teilen",
        "login",
        "menu",
        "jobs",
        "hire",
        "kontakt",
        "contact",
        "home",
    ]
)
# Words that make a name an organisation's, a desk's or an agency's.
_ORGANISATION_WORDS = frozenset(
    [
        "gmbh",
        "ag",
        "kg",
        "ev",
        "e.v",
        "inc",
        "ltd",
        "llc",
        "corp",
        "plc",
        "sa",
        "verlag",
        "media",
        "medien",
        "press",
        "presse",
        "news",
        "nachrichten",
        "zeitung",
        "magazin",
        "magazine",
        "weekly",
        "daily",
        "online",
        "redaktion",
        "redaktionsteam",
        "team",
        "staff",
        "desk",
        "services",
        "service",
        "report",
        "reports",
        "wire",
        "post",
        "times",
        "herald",
        "tribune",
        "gazette",
        "telegraph",
        "journal",
        "welle",
        "sport",
        "sports",
        "radio",
        "tv",
        "network",
        "international",
        "illustrierte",
        "diario",
        "noticias",
        "verein",
        "feuerwehr",
        "abteilung",
        "departement",
        "department",
        "sekretariat",
        "partei",
        "bund",
        "forschung",
        "letters",
        "user",
        "says",
        "redacción",
        "redaccion",
        "rechtsanwalt",
        "editorial",
        "newsroom",
        "agency",
        "agentur",
        "institut",
        "institute",
        "university",
        "universität",
        "copyright",
        "www",
        "com",
        "admin",
    ]
)
# Parts of words that make a name an institution's ("Bundesministerium", "Landesanstalt").
_ORGANISATION_STEMS = (
    "admin",
    "ministerium",
    "ministries",
    "ministry",
    "anstalt",
    "verband",
    "gesellschaft",
    "stiftung",
    "behörde",
    "webteam",
)
# News agencies, named where a byline should be.
_AGENCIES = frozenset(
    [
        "reuters",
        "ap",
        "associated press",
        "the associated press",
        "afp",
        "agence france-presse",
        "dpa",
        "epd",
        "kna",
        "efe",
        "ansa",
        "apa",
        "sid",
        "ddp",
        "bloomberg",
        "upi",
        "tass",
        "xinhua",
        "pa",
        "press association",
    ]
)
# More names than this in one value are a list (references, contributors), not a byline.
_MAX_NAMES = 8
_ROLE_WORDS = frozenset(
    [
        "reporter",
        "correspondent",
        "editor",
        "writer",
        "columnist",
        "contributor",
        "journalist",
        "producer",
        "photographer",
        "staff",
        "senior",
        "chief",
        "deputy",
        "managing",
        "associate",
        "contributing",
        "special",
        "political",
        "business",
        "science",
        "tech",
        "technology",
        "sports",
        "news",
        "bureau",
        "analyst",
    ]
)
_AUTHOR_SPLIT = re.compile(r"\s*(?:;|\||\s&\s|\s+and\s+|\s+und\s+|\n)\s*", re.I)
_BY = re.compile(
    r"^(?:(?:analysis|article|story|text|words|written|photos?|interview|beitrag|artikel|ein beitrag)\s+(?:by|von|with|mit)"
    r"|zum profil von|by|von|par|por|text|текст|автор|interview|autor(?:in)?|author|auteur)(?:/in)?[:\s]+",
    re.I,
)
# Name particles, written in lower case inside a name ("Ana de la Cruz").
_PARTICLES = frozenset(
    [
        "de",
        "da",
        "das",
        "do",
        "dos",
        "del",
        "della",
        "der",
        "den",
        "di",
        "du",
        "la",
        "le",
        "van",
        "von",
        "vom",
        "zu",
        "zur",
        "ten",
        "ter",
        "y",
        "e",
        "al",
        "el",
        "bin",
        "ibn",
        "ben",
        "st",
    ]
)
# Web address endings left as words when a host name stands where a byline should ("Mdr De").
_ENDINGS = frozenset(["de", "at", "ch", "com", "net", "org", "info", "es", "fr", "it", "uk", "eu", "io", "co"])
# Words that open a title, a label or a phrase, never a person's name.
_NOT_FIRST = frozenset(["the", "der", "die", "das", "in", "zum", "bei", "mit"])
_SENTENCE = re.compile(r"(?<=[a-z]{2})\.\s+(?=[A-Z])")
_COPYRIGHT = re.compile(r"copyright|©|\(c\)|all rights reserved", re.I)
_IS_A = re.compile(r"\s+(?:is|was)\s+(?:a|an|the)\s+.*$", re.I)
_PARENS = re.compile(r"\s*[(\[].*?[)\]]")
_NAME_TOKEN = re.compile(r"^[^\W\d_][\w'’.\-]*$")


def clean_authors(value: str | list[str] | None, *, not_names: tuple[str, ...] = ()) -> list[str]:
    """Person names from bylines (see the module docstring); `not_names` are
    names known to be no person's here (the publisher, the site's names)."""
    values = value if isinstance(value, list) else [value] if value else []
    if len(values) > _MAX_NAMES:
        return []
    excluded = {_key(n) for n in not_names if n}
    names: list[str] = []
    for raw in values:
        parts = _AUTHOR_SPLIT.split(html_lib.unescape(str(raw)))
        if len(parts) > _MAX_NAMES or str(raw).count(",") >= _MAX_NAMES:
            continue
        for part in parts:
            pieces = [p.strip() for p in part.split(",")]
            # "Ana Ruiz, Tom Lee" is two names; "Ana Ruiz, Reporter" one name and a role.
            if len(pieces) > 1 and all(len(p.split()) >= 2 and not _is_role(p) for p in pieces):
                candidates = pieces
            else:
                candidates = [pieces[0]]
            for candidate in candidates:
                name = _person_name(candidate)
                if name and _key(name) not in excluded and name.casefold() not in {n.casefold() for n in names}:
                    names.append(name)
    return names


def _key(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).casefold()


def _is_role(text: str) -> bool:
    return any(part in _ROLE_WORDS for word in text.split() for part in word.casefold().strip(".").split("-"))


def _person_name(text: str) -> str | None:
    if _COPYRIGHT.search(text):
        return None
    text = _PARENS.sub("", _BY.sub("", " ".join(text.split())))
    text = _IS_A.sub("", text)
    text = re.split(r"\s+[-–—|/]\s+", text)[0]  # "Ana Ruiz - Reporter"
    text = _SENTENCE.split(text)[0]  # "Finian Cunningham. Sputnik International"
    words = []
    for word in text.split():
        bare = word.strip(",.:;").casefold()
        if bare in _DATE_WORDS or any(ch.isdigit() for ch in word):
            break  # "Jeff Foust Monday": the rest is a dateline
        words.append(word.strip(",;:"))
    if len(words) > 2 and " ".join(words[-2:]).casefold() == "associated press":
        words = words[:-2]
    while words and _is_role(words[-1]) and len(words) > 2:
        words.pop()
    name = " ".join(words).strip(" .-")
    if not name or "@" in name or "://" in name or name.casefold() in _PLACEHOLDERS | _AGENCIES:
        return None
    tokens = name.split()
    if len(tokens) > 5 or not all(_NAME_TOKEN.match(t) for t in tokens):
        return None
    if len(tokens) == 1:
        return None  # "Rmb", "jdoe", "Follow", "Wordpressadmin": an account or a label, not a name
    if all(t.casefold().strip(".") in _ROLE_WORDS | _PLACEHOLDERS for t in tokens):
        return None
    parts = {p for p in re.split(r"[\s\-/.]+", name.casefold()) if p}
    if parts & _ORGANISATION_WORDS or any(stem in p for p in parts for stem in _ORGANISATION_STEMS):
        return None  # "Olympia-Verlag GmbH", "TVT-Redaktion", "HNN Staff"
    if all(t[0].islower() for t in tokens if t[0].isalpha()):
        return None  # "przepisy pl": a handle, not a name
    lower = [t for t in tokens[1:] if t[0].islower() and t.casefold() not in _PARTICLES]
    if lower or tokens[0].casefold() in _NOT_FIRST or tokens[-1].casefold() in _ENDINGS:
        return None  # "HUND aktiv", "The Water Coolest", "Mdr De": a phrase, a title, a host name
    if all(len(t.strip(".")) <= 1 for t in tokens):
        return None  # "K A"
    return name
