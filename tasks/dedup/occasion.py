"""The days an article says its event happened (or will happen): the day
references of its title and lead, resolved against its publication day.

Two reports of one event name its day, each in its own way ("on Tuesday",
"yesterday", "Nov. 19", "am Dienstag", "19. November"), and resolved against
their own publication days these are one date. A preview and the report of
the event before it, or two hearings of one inquiry on consecutive days,
share the names of the topic but not the day: "Sondland's appearance at
Wednesday morning's hearing" (published on Wednesday) is not the report of
the hearings "Tuesday" (published on Wednesday too). `days` gives the set of
dates an article's title and lead refer to, within WINDOW_DAYS of its
publication day (older or later dates are background: "Trump's July 25
call"); two articles whose sets are both known and share no date are taken
for two occasions (`other_occasion`).

Weekday names and relative days ("today", "yesterday", "tomorrow") are read
in English and German (`_WEEKDAYS`, `_RELATIVE`); month names in English and
German too; numeric dates (19.11.2019, 2019-11-19) in any language. A
weekday is the latest such day on or before the publication day, unless the
text says it is ahead ("next Tuesday", "will testify on Wednesday": a future
marker earlier in its sentence): news speaks of the week past, and a preview
published on the day of its event names that day. Weekdays and relative days
are read only against a stated publication time (see `days`). An article
with no day reference in its title and lead is not vetoed.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

# Dates further than this from the publication day are background, not the occasion.
WINDOW_DAYS = 7
# Words of the body read as the lead: the occasion is said early.
LEAD_WORDS = 120

_WEEKDAYS = {
    # English
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
    # German (also in compounds: "Dienstagabend", "am Sonntagmorgen")
    "montag": 0,
    "dienstag": 1,
    "mittwoch": 2,
    "donnerstag": 3,
    "freitag": 4,
    "samstag": 5,
    "sonnabend": 5,
    "sonntag": 6,
}
_RELATIVE = {
    "today": 0,
    "tonight": 0,
    "yesterday": -1,
    "tomorrow": 1,
    "heute": 0,
    "gestern": -1,
    "vorgestern": -2,
    "übermorgen": 2,
}
_MONTHS = {
    "jan": 1,
    "january": 1,
    "januar": 1,
    "jänner": 1,
    "feb": 2,
    "february": 2,
    "februar": 2,
    "mar": 3,
    "march": 3,
    "märz": 3,
    "apr": 4,
    "april": 4,
    "may": 5,
    "mai": 5,
    "jun": 6,
    "june": 6,
    "juni": 6,
    "jul": 7,
    "july": 7,
    "juli": 7,
    "aug": 8,
    "august": 8,
    "sep": 9,
    "sept": 9,
    "september": 9,
    "oct": 10,
    "october": 10,
    "okt": 10,
    "oktober": 10,
    "nov": 11,
    "november": 11,
    "dec": 12,
    "december": 12,
    "dez": 12,
    "dezember": 12,
}


def _capitalised(words) -> str:
    return "|".join(sorted((word.capitalize() for word in words), key=len, reverse=True))


# Weekdays and months are written with a capital in English and German, and
# matched so (case-sensitive alternations are also several times faster).
_MONTH = _capitalised(_MONTHS)
_WEEKDAY = _capitalised(_WEEKDAYS)
_RELATIVE_WORDS = "|".join(f"[{w[0].upper()}{w[0]}]{w[1:]}" for w in sorted(_RELATIVE, key=len, reverse=True))
_DAY_PARTS = "abend|morgen|vormittag|nachmittag|mittag|nacht|früh"
_PATTERN = re.compile(
    # The lookahead turns most positions away at their first character (half the time of the search).
    rf"(?=[A-Z0-9Üüthgyv])\b(?:(?P<weekday>{_WEEKDAY})(?:{_DAY_PARTS})?(?:'s|s)?(?!\w)"
    rf"|(?<!USA )(?P<relative>{_RELATIVE_WORDS})(?!\w)"
    rf"|(?P<md_month>{_MONTH})\.?\s+(?P<md_day>\d{{1,2}})(?:st|nd|rd|th)?(?!\w)"
    rf"|(?P<dm_day>\d{{1,2}})(?:st|nd|rd|th|\.)?\s+(?:of\s+)?(?P<dm_month>{_MONTH})(?!\w)"
    rf"|(?P<iso_y>\d{{4}})-(?P<iso_m>\d{{2}})-(?P<iso_d>\d{{2}})(?!\w)"
    rf"|(?P<num_d>\d{{1,2}})\.(?P<num_m>\d{{1,2}})\.(?P<num_y>\d{{4}}(?!\w)|\d{{2}}(?!\w))?"
    rf")"
)
# "next Tuesday", "am kommenden Montag": the coming one (read before a weekday).
_NEXT = re.compile(r"\b(?:next|this coming|kommenden?|nächsten?)\s+$", re.IGNORECASE)
# Words that put a sentence's weekday ahead of the publication day rather than
# behind it: "she will be allowed to play at the AMAs on Sunday", "soll am
# Donnerstag aussagen".
_FUTURE = re.compile(
    r"\b(?:will|won't|shall|is set to|are set to|is due to|are due to|is expected to|are expected to|is scheduled"
    r"|are scheduled|to be held|ahead of|upcoming|wird|werden|soll|sollen|bevorstehend\w*|kommend\w*)\b"
    r"|'ll\b",
    re.IGNORECASE,
)
# German "morgen" is "tomorrow" only in lower case ("am Morgen" is the morning);
# it is read as a day only so written, not after an article.
# (The literal first lets the search skip ahead to it.)
_TOMORROW_DE = re.compile(r"morgen\b(?<!\wmorgen)(?<![Aa]m morgen)(?<![Dd]en morgen)(?<![Dd]er morgen)")


def days(title: str | None, body: str, published: date, timed: bool = True) -> frozenset[date]:
    """The dates within WINDOW_DAYS of `published` that the title and the lead
    name. `timed`: the publication time is stated; a bare date (or none: the
    day of loading) is often the day a page was filed, updated or
    syndicated, not written, so weekdays and "yesterday" are not resolved
    against it, and only full dates count."""
    text = f"{title or ''}\n{' '.join(body.split(maxsplit=LEAD_WORDS)[:LEAD_WORDS])}"
    found: set[date] = set()
    for m in _PATTERN.finditer(text):
        if not timed and (m["weekday"] or m["relative"]):
            continue
        day = _resolve(m, published, text, m.start())
        if day is not None and abs((day - published).days) <= WINDOW_DAYS:
            found.add(day)
    if timed:
        for _ in _TOMORROW_DE.finditer(text):
            found.add(published + timedelta(days=1))
    return frozenset(found)


def _ahead(text: str, position: int) -> bool:
    """Whether the sentence before `position` speaks of what is to come ("will", "wird")."""
    start = max(text.rfind(". ", 0, position), text.rfind("\n", 0, position)) + 1
    return _FUTURE.search(text, start, position) is not None


def other_occasion(a: frozenset[date], b: frozenset[date]) -> bool:
    """Whether two articles' day sets tell two occasions: both known, no date in common."""
    return bool(a) and bool(b) and a.isdisjoint(b)


def _resolve(m: re.Match, published: date, text: str, position: int) -> date | None:
    if m["weekday"]:
        weekday = _WEEKDAYS[m["weekday"].lower()]
        back = (published.weekday() - weekday) % 7
        if _NEXT.search(text, max(0, position - 20), position):  # "next Tuesday"
            return published + timedelta(days=(7 - back) % 7 or 7)
        if _ahead(text, position):  # "will testify on Tuesday": the coming one, today included
            return published + timedelta(days=(7 - back) % 7)
        return published - timedelta(days=back)
    if m["relative"]:
        return published + timedelta(days=_RELATIVE[m["relative"].lower()])
    if m["md_month"]:
        return _near(published, _MONTHS[m["md_month"].lower()], int(m["md_day"]))
    if m["dm_month"]:
        return _near(published, _MONTHS[m["dm_month"].lower()], int(m["dm_day"]))
    if m["iso_y"]:
        return _date(int(m["iso_y"]), int(m["iso_m"]), int(m["iso_d"]))
    if m["num_d"]:
        year = m["num_y"]
        if year is None:
            return _near(published, int(m["num_m"]), int(m["num_d"]))
        return _date(int(year) + (2000 if len(year) == 2 else 0), int(m["num_m"]), int(m["num_d"]))
    return None


def _near(published: date, month: int, day: int) -> date | None:
    """A day and month without a year: in the year that puts it nearest the publication day."""
    options = [d for year in (published.year - 1, published.year, published.year + 1) if (d := _date(year, month, day))]
    return min(options, key=lambda d: abs((d - published).days)) if options else None


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
