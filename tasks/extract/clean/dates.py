"""Recognising and parsing dates written the way articles write them."""

from __future__ import annotations

import re
import warnings
from datetime import UTC, date, datetime

from dateutil import parser as dateutil_parser

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_WEEKDAY = r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*\.?,?\s+)?"
_TIME = r"(?:(?:,|\s+at|\s*[-|·•])?\s+\d{1,2}[:.]\d{2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?(?:\s*\(?[A-Z]{2,5}\)?|\s*[+-]\d{2}:?\d{2})?)?"
_ISO = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s?(?:Z|[+-]\d{2}:?\d{2}|UTC|GMT)?)?"

# A string that is a date and nothing else (a time and a zone may follow).
DATE = (
    rf"(?:{_ISO}"
    rf"|{_WEEKDAY}{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}{_TIME}"
    rf"|{_WEEKDAY}\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH},?\s+\d{{4}}{_TIME}"
    rf"|\d{{1,2}}/\d{{1,2}}/\d{{4}}{_TIME}"
    rf"|\d{{1,2}}\.\s?\d{{1,2}}\.\s?\d{{4}}{_TIME}"
    rf"|\d{{4}}/\d{{1,2}}/\d{{1,2}}{_TIME})"
)
_DATE_ONLY = re.compile(rf"^{DATE}$", re.I)
# "17.01.2021": day first, as everywhere that writes dates with dots.
_DOTTED = re.compile(r"^\d{1,2}\.\s?\d{1,2}\.\s?\d{4}\b")


def is_date(text: str) -> bool:
    return bool(_DATE_ONLY.match(text.strip()))


# Zone abbreviations news pages print; dateutil knows none of them by itself.
# The US "ET"/"PT" forms are read as standard time: off by an hour in summer at worst.
_ZONES = {
    "UTC": 0,
    "GMT": 0,
    "Z": 0,
    "BST": 3600,
    "CET": 3600,
    "CEST": 7200,
    "EET": 7200,
    "EEST": 10800,
    "IST": 19800,
    "SGT": 28800,
    "HKT": 28800,
    "JST": 32400,
    "KST": 32400,
    "AEST": 36000,
    "AEDT": 39600,
    "EST": -18000,
    "EDT": -14400,
    "ET": -18000,
    "CST": -21600,
    "CDT": -18000,
    "CT": -21600,
    "MST": -25200,
    "MDT": -21600,
    "MT": -25200,
    "PST": -28800,
    "PDT": -25200,
    "PT": -28800,
}


def parse_date(value: object, *, strict: bool = True) -> datetime | None:
    """A timezone-aware datetime (UTC when the text names no zone), or None.

    Strict (for text found in the body) accepts only strings that are a date
    and nothing else; lenient (for metadata fields, which are meant to be
    dates) lets dateutil read any form it knows.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    text = str(value).strip()
    if not text or (strict and not _DATE_ONLY.match(text)):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", dateutil_parser.UnknownTimezoneWarning)
            parsed = dateutil_parser.parse(
                text.replace(" at ", " "), tzinfos=_ZONES, dayfirst=bool(_DOTTED.match(text))
            )
    except (ValueError, OverflowError, TypeError):
        return None
    if not 1900 <= parsed.year <= 2100:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_HAS_TIME = re.compile(r"\d{1,2}[:.]\d{2}|T\d{2}")
# The day of a date written with dots or slashes ("11.11.2021", "3/11/2021"): its "11.11" is no time.
_DAY_PART = re.compile(r"\b\d{1,4}[./-]\s?\d{1,2}[./-]\s?\d{2,4}\b")
# A zone after a time ("10:00:00+01:00", "10:00Z", "10:00 +0100"), or a zone name anywhere ("7:07 PM EST Nov 19").
_ZONE = re.compile(
    r"\d:\d{2}(?::\d{2})?(?:[.,]\d+)?\s?(?:Z|[+-]\d{2}(?::?\d{2})?)\b|\b(?:"
    + "|".join(z for z in _ZONES if z != "Z")
    + r")\b"
)


def date_precision(value: object) -> str | None:
    """How precisely a date value gives the time: 'datetime', a time of day and
    its zone; 'datetime_no_zone', a time of day without a zone (read as UTC);
    'date', only the day ('11.11.2021' has no time); None for no value."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return "datetime" if value.tzinfo is not None else "datetime_no_zone"
    if isinstance(value, date):
        return "date"
    if not _HAS_TIME.search(_DAY_PART.sub(" ", str(value))):
        return "date"
    return "datetime" if has_zone(value) else "datetime_no_zone"


def has_zone(value: object) -> bool:
    """Whether a date value says its time zone ("…+01:00", "…Z", "7:07 PM EST"); a datetime when it is aware."""
    if isinstance(value, datetime):
        return value.tzinfo is not None
    return bool(_ZONE.search(str(value).strip()))
