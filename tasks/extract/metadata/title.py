"""The article's title without the site's name around it. Pure.

Cut from the end, as often as they repeat: a separator and the publisher's
name or any name the page gives its site (even one that itself holds a
separator: "… - Remember 80/90 - Memorabilia anni 80/90"), a part that names
the domain ("… - IGN" on ign.com), a date ("… | DW | 19.01.2020"). Cut from
the start: the site's name before a separator ("seelenradio » Nummer zwei:
Leo"). A slug ("adac-kindersitztest-herbst-2018") is no title.
"""

from __future__ import annotations

import re

from newsdesk.tasks.extract.clean.dates import is_date

_SEPARATORS = r"(?:[-|–—·•»:]|::)"
_SUFFIX = re.compile(rf"^(?P<title>.+?)\s{_SEPARATORS}\s(?P<site>(?:(?!\s{_SEPARATORS}\s).){{2,60}})$")
_PREFIX = re.compile(rf"^(?P<site>(?:(?!\s{_SEPARATORS}\s).){{2,60}})\s(?:[|»:]|::|[-–—])\s(?P<title>.+)$")
_ALNUM = re.compile(r"[\W_]+")
_SLUG = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+){2,}$")
_TRAILING_SEPARATOR = re.compile(rf"\s*{_SEPARATORS}\s*$")


def is_slug(title: str | None) -> bool:
    """ "adac-kindersitztest-herbst-2018": a URL's last segment, not a title."""
    return bool(title and _SLUG.match(title.strip()))


def strip_site_suffix(
    title: str | None, publisher: str | None, domain: str | None, site_names: tuple[str, ...] = ()
) -> tuple[str | None, str | None]:
    """The title without the site's name around it (see the module docstring),
    and the site name found there (None when nothing was cut)."""
    if not title:
        return title, None
    names = [n for n in (publisher, *site_names) if n and len(_key(n)) >= 2]
    keys = {_key(n) for n in names}
    if domain:
        keys |= {_key(domain.split(".")[0]), _key(domain)}
    keys.discard("")
    found = None
    for _ in range(4):
        cut, site = _cut_once(title, names, keys)
        if site is None or not cut:
            break
        title, found = cut, found or site
    return title, found


def _cut_once(title: str, names: list[str], keys: set[str]) -> tuple[str | None, str | None]:
    low = title.casefold()
    for name in sorted(names, key=len, reverse=True):  # a name that holds a separator itself
        head = title[: len(title) - len(name)]
        if low.endswith(name.casefold()) and _TRAILING_SEPARATOR.search(head) and head.strip():
            return _TRAILING_SEPARATOR.sub("", head).strip(), name
    match = _SUFFIX.match(title)
    if match:
        site = match.group("site").strip()
        if _names_site(site, keys) or is_date(site):
            return match.group("title").strip(), site
    match = _PREFIX.match(title)
    if match and _key(match.group("site")) in keys and len(match.group("title").split()) >= 2:
        return match.group("title").strip(), match.group("site").strip()
    return None, None


def _names_site(site: str, keys: set[str]) -> bool:
    key = _key(site)
    return bool(key) and (key in keys or any(len(n) >= 4 and (key.startswith(n) or n.startswith(key)) for n in keys))


def _key(text: str) -> str:
    return _ALNUM.sub("", text).casefold()
