"""Front matter (Jekyll/Hugo style YAML between `---` lines, or TOML between `+++`)."""

from __future__ import annotations

import re
import tomllib

import yaml

# libyaml's loader where installed: the pure-Python one dominates cleaning time.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_YAML = re.compile(r"\A\s*---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_TOML = re.compile(r"\A\s*\+\+\+[ \t]*\n(.*?)\n\+\+\+[ \t]*(?:\n|\Z)", re.S)

# Front matter keys and the article field each feeds.
KEYS = {
    "title": "title",
    "headline": "title",
    "summary": "summary",
    "description": "summary",
    "excerpt": "summary",
    "subtitle": "summary",
    "date": "published",
    "published": "published",
    "published_at": "published",
    "pubdate": "published",
    "publishdate": "published",
    "author": "author",
    "authors": "author",
    "byline": "author",
    "source": "source_name",
    "publisher": "source_name",
    "site": "source_name",
    "site_name": "source_name",
    "url": "url",
    "canonical_url": "url",
    "link": "url",
    "lang": "language",
    "language": "language",
}


def split_front_matter(text: str) -> tuple[dict[str, object], str]:
    """The front matter's fields mapped to article fields, and the text after it.

    Text that merely starts with a rule (`---`) and has no key/value block after
    it is left alone.
    """
    for pattern, load in ((_YAML, _load_yaml), (_TOML, _load_toml)):
        match = pattern.match(text)
        if match:
            data = load(match.group(1))
            if isinstance(data, dict) and data:
                return _fields(data), text[match.end() :]
    return {}, text


def _load_yaml(block: str):
    try:
        return yaml.load(block, Loader=_YAML_LOADER)
    except yaml.YAMLError:
        return None


def _load_toml(block: str):
    try:
        return tomllib.loads(block)
    except tomllib.TOMLDecodeError:
        return None


def _fields(data: dict) -> dict[str, object]:
    fields: dict[str, object] = {}
    for key, value in data.items():
        target = KEYS.get(str(key).lower())
        if target is None or target in fields or value in (None, ""):
            continue
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        fields[target] = value if target == "published" else str(value).strip()
    return fields
