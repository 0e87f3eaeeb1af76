"""The publisher's name and the registered domain of the article's URL. Pure.

The name is the first of, in this order, that is a name: the page's
`og:site_name`, its JSON-LD `publisher.name`, the site part of its title
(`strip_site_suffix`), what the document itself says otherwise (front matter,
trafilatura's site name). A name is never a URL, a bare host name when the
page names its site otherwise, a copyright line, a generic label or a tagline:
"Viertausendhertz | Das Podcastlabel" is "Viertausendhertz".
"""

from __future__ import annotations

import html as html_lib
import re
from functools import lru_cache

_COPYRIGHT = re.compile(r"(?:copyright|\(c\)|©|all rights reserved\.?|\b(?:19|20)\d{2}\b)", re.I)
_URLISH = re.compile(r"^(?:https?://|www\.)", re.I)
_HOST = re.compile(r"^[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}$", re.I)
_SEPARATOR = re.compile(r"\s+(?:[|–—·»-]|::)\s+")
_JUNK_PUBLISHERS = frozenset(
    ["hosted", "home", "homepage", "index", "news", "blog", "website", "site", "default", "unknown", "none", "null"]
)


def clean_publisher(name: str | None, domain: str | None = None) -> str | None:
    """The publisher's name, or None for what is no name: a bare URL (the domain
    is `publisher_domain`), a copyright line without a name, a generic label.
    A tagline after a separator is cut, keeping the part that names the domain
    when one does ("Blog - chadim.net" keeps "chadim.net"), else the first part."""
    if not name:
        return None
    text = " ".join(html_lib.unescape(name).split())
    if _URLISH.match(text):
        return None
    text = " ".join(_COPYRIGHT.sub(" ", text).split()).strip(" .,-|:")
    parts = [p.strip(" \"'") for p in _SEPARATOR.split(text) if p.strip(" \"'")]
    if len(parts) > 1:
        label = _key(domain.split(".")[0]) if domain else ""
        naming = [p for p in parts if label and len(label) >= 3 and label in _key(p)]
        text = naming[0] if naming else parts[0]
    if _URLISH.match(text) or not text or text.casefold() in _JUNK_PUBLISHERS or not any(ch.isalpha() for ch in text):
        return None
    return text


def is_host_name(name: str) -> bool:
    """ "bgr.com", "web.archive.org": a host name standing where a name should."""
    return bool(_HOST.match(name)) and " " not in name


def choose_publisher(candidates: list[str | None], domain: str | None) -> str | None:
    """The first candidate that is a name; a bare host name only when no candidate is a name."""
    cleaned = [c for name in candidates if (c := clean_publisher(name, domain))]
    named = [c for c in cleaned if not is_host_name(c)]
    return (named or cleaned or [None])[0]  # type: ignore[list-item]


def _key(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).casefold()


@lru_cache(maxsize=1)
def _extractor():
    import tldextract

    # The public suffix list bundled with the package; never fetched, never cached on disk.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


def publisher_domain(url: str | None) -> str | None:
    """The registered domain of a URL ('https://www.bbc.co.uk/news/x' -> 'bbc.co.uk'), None for a path or an IP."""
    if not url or "://" not in url:
        return None
    parts = _extractor()(url)
    return parts.top_domain_under_public_suffix or None
