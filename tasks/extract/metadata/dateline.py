"""A publication date printed in the page's visible text, for a page whose
markup states none: a labelled dateline ("publiziert am 25. September 2018",
"Datum: 03.11.2021", "Published 7:07 PM EST Nov 19, 2019"),
else a day with a time right under the headline ("06.11.2023 13:30"). Pure.

Scripts, styles, navigation, headers, footers and asides are left out first,
so a site header's "Mittwoch, 8. Juli 2020" or a list of other articles does
not count; a bare day without a label or a time is never taken.
"""

from __future__ import annotations

import html as html_lib
import re
from datetime import datetime

from newsdesk.tasks.extract.clean.dates import date_precision, parse_date

_HIDDEN = re.compile(r"<(script|style|noscript|template|nav|header|footer|aside|form|select)\b.*?</\1\s*>", re.I | re.S)
_TAG = re.compile(r"<[^>]+>")
_H1 = re.compile(r"<h1\b", re.I)
_GERMAN_MONTHS = {
    "januar": "January",
    "jänner": "January",
    "februar": "February",
    "märz": "March",
    "mai": "May",
    "juni": "June",
    "juli": "July",
    "oktober": "October",
    "dezember": "December",
}
_MONTH_WORD = r"(?:[A-Za-zäÄ]{3,9}\.?)"
_DAY = (
    r"(?:\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?"
    r"|\d{1,2}\.\s?\d{1,2}\.\s?\d{4}"
    rf"|\d{{1,2}}\.?\s+{_MONTH_WORD}\s+\d{{4}}"
    rf"|{_MONTH_WORD}\s+\d{{1,2}},?\s+\d{{4}})"
)
_CLOCK = r"\d{1,2}[:.]\d{2}(?:\s*[ap]\.?m\.?)?(?:\s*Uhr)?(?:\s+[A-Z]{2,4})?"
_LABEL = (
    r"(?:publiziert|veröffentlicht|erschienen|datum|published|posted|date|publié|publicado|pubblicato)"
    r"(?:\s+(?:am|on|le|el|il))?\s*:?"
)
_LABELLED = re.compile(rf"\b{_LABEL}\s*(?P<when>(?:{_CLOCK}\s+)?{_DAY}(?:,?\s+(?:um\s+|at\s+)?{_CLOCK})?)", re.I)
_TIMED_DAY = re.compile(rf"(?P<when>\d{{1,2}}\.\d{{1,2}}\.\d{{4}},?\s+{_CLOCK})")
# How far below the headline a bare day with a time may stand.
_UNDER_HEADLINE = 400


def visible_dateline(html: str) -> tuple[datetime, str] | None:
    """(time, precision) of the page's visible dateline (see the module docstring), or None."""
    h1 = _H1.search(html)
    visible = _text(_HIDDEN.sub(" ", html))
    for match in _LABELLED.finditer(visible):
        found = _parse(match.group("when"))
        if found:
            return found
    if h1:
        under = _text(_HIDDEN.sub(" ", html[h1.start() :]))[:_UNDER_HEADLINE]
        timed = _TIMED_DAY.search(under)
        if timed:
            return _parse(timed.group("when"))
    return None


def _text(markup: str) -> str:
    return " ".join(html_lib.unescape(_TAG.sub(" ", markup)).split())


def _parse(text: str) -> tuple[datetime, str] | None:
    text = re.sub(r"\s*Uhr\b", "", text, flags=re.I)
    text = re.sub(r"\b(um|at)\s+", "", text, flags=re.I)
    english = re.sub(r"[A-Za-zäÄ]+", lambda m: _GERMAN_MONTHS.get(m.group(0).lower(), m.group(0)), text)
    when = parse_date(english, strict=False)
    if when is None:
        return None
    precision = date_precision(english)
    return (when, precision) if precision else None
