"""Recognising and parsing dates written the way articles write them."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

from dateutil import parser as dateutil_parser

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_WEEKDAY = r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*\.?,?\s+)?"
_TIME = r"(?:(?:,|\s+at|\s*[-|·•])?\s+\d{1,2}[:.]\d{2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?(?:\s*\(?[A-Z]{2,5}\)?|\s*[+-]\d{2}:?\d{2})?)?"
_ISO = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"

# A string that is a date and nothing else (a time and a zone may follow).
DATE = (
    rf"(?:{_ISO}"
    rf"|{_WEEKDAY}{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}{_TIME}"
    rf"|{_WEEKDAY}\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH},?\s+\d{{4}}{_TIME}"
    rf"|\d{{1,2}}/\d{{1,2}}/\d{{4}}{_TIME}"
    rf"|\d{{4}}/\d{{1,2}}/\d{{1,2}}{_TIME})"
)
_DATE_ONLY = re.compile(rf"^{DATE}$", re.I)


def is_date(text: str) -> bool:
    return bool(_DATE_ONLY.match(text.strip()))


def parse_date(value: object) -> datetime | None:
    """A timezone-aware datetime (UTC when the text names no zone), or None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    text = str(value).strip()
    if not text or not _DATE_ONLY.match(text):
        return None
    try:
        parsed = dateutil_parser.parse(text.replace(" at ", " "))
    except (ValueError, OverflowError):
        return None
    if not 1900 <= parsed.year <= 2100:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
