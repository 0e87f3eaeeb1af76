"""Digests: articles that gather several occasions, not the report of one.

A roundup ("HS Roundup: Viera defeats Rockledge ...", "News in brief"), a
briefing or newsletter ("Morning Briefing", "10 things in tech you need to
know today"), a live blog or running update ("Live: ...", "The Latest: ...",
"Liveticker"), a police blotter, a press review ("Presseschau") or a German
"... im Überblick" tells several events, each in a few lines. It shares one
item's names with that item's reports, and then another item's with the
next story's: it neither joins a story nor is joined by reports (as opinion
pieces and reviews, `event.is_opinion`); its copies still join it as copies.

Known by the rubric its title opens with (before ":", "|" or a dash), a
digest phrase anywhere in its title, its section, or a live-blog or
newsletter directory in its URL. English and German word lists: other
languages' digests are scored as reports.
"""

from __future__ import annotations

import re

# Rubrics a title opens with ("Roundup: ...", "The Latest: ...", "Liveblog | ...") or a section is.
_RUBRICS = (
    r"round-?up|news round-?up|[\w -]{0,20} round-?up|in brief|news in brief|briefing|[\w -]{0,20} briefing|digest"
    r"|the latest|live|live updates|live blog|liveblog|live-blog|newsletter|blotter|police blotter"
    r"|liveticker|live-ticker|ticker|newsblog|news-blog|kurzmeldungen|kurznachrichten|nachrichten im überblick"
    r"|presseschau|pressestimmen|wochenrückblick|tagesrückblick|morgenlage|abendlage|die lage am morgen"
)
_TITLE_RUBRIC = re.compile(rf"^\W*(?:{_RUBRICS})\s*[|:–—-]", re.IGNORECASE)
# Digest phrases anywhere in a title.
_TITLE_PHRASE = re.compile(
    r"(?=[rnlamedptwik])\b(?:round-?up|news in brief|live updates|live blog|liveblog|as it happened|morning briefing|evening briefing"
    r"|daily briefing|police blotters?|things (?:in [\w ]{1,20} )?(?:you need|to know)|week in review"
    r"|liveticker|live-ticker|im überblick|presseschau|kurzmeldungen|wochenrückblick|tagesrückblick"
    r"|was heute wichtig ist|nachrichten am (?:morgen|mittag|abend))\b",
    re.IGNORECASE,
)
_SECTION = re.compile(rf"^(?:{_RUBRICS})$", re.IGNORECASE)
_URL = re.compile(
    r"/(?:live|liveblog|live-blog|live-updates|newsletters?|briefing|roundup)/|-live-updates\b|-liveblog\b"
)


def is_digest(title: str | None, section: str | None = None, url: str | None = None) -> bool:
    """Whether the article gathers several occasions (a roundup, briefing, live blog, blotter, press review)."""
    if title is not None and (_TITLE_RUBRIC.match(title) or _TITLE_PHRASE.search(title)):
        return True
    if section is not None and _SECTION.match(section.strip()):
        return True
    return url is not None and _URL.search(url.lower()) is not None
