"""sources.toml: what to read, as a list of `Source` records (the operator's configuration).

[[source]]
name = "seeds"
kind = "files"          # files, page, feed or sitemap
path = "."              # files: a folder relative to this TOML file
include = "*.txt"       # files: optional glob; default every supported file
follow_links = false    # files: true to read symbolic links that lead out of the folder

The file is checked whole before anything starts: each problem is one line
naming the file, the line and the fix (`SourceError.problems`), with unknown
keys named and close matches suggested. The shape of each kind's table is a
pydantic model; this module turns pydantic's errors into those lines.
"""

from __future__ import annotations

import difflib
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

KINDS = ("files", "page", "feed", "sitemap")
WEB_KINDS = ("page", "feed", "sitemap")


class SourceError(Exception):
    """A sources file or a source that cannot be used as written; `problems`
    holds one line per problem (the message is those lines joined)."""

    def __init__(self, *problems: str) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class Source:
    name: str
    kind: str
    path: str | None = None  # absolute folder, for files
    include: str | None = None
    # Files: whether symbolic links may lead out of the folder (else each such link is rejected).
    follow_links: bool = False
    url: str | None = None
    urls: tuple[str, ...] = ()

    @property
    def locator(self) -> str:
        """Where the source itself lives, for messages about the source as a whole."""
        return self.path or self.url or ", ".join(self.urls) or self.name


def _printable_name(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    bad = [c for c in value if unicodedata.category(c)[0] == "C" or unicodedata.category(c) in ("Zl", "Zp")]
    if bad:
        raise ValueError(f"must be printable, got {value!r} (no control characters such as {bad[0]!r})")
    return value


def _web_url(value: str) -> str:
    """A URL that parses (a broken IPv6 host or a port that is not a number would
    crash the run later). What parses but cannot be fetched (another scheme, no
    host) is the fetch's to refuse: that URL is rejected with its reason, and its
    source goes on."""
    try:
        parts = urlsplit(value)
        parts.hostname  # noqa: B018 - raises on a broken IPv6 host
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid URL ({exc})") from None
    return value


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str
    kind: str

    _name = field_validator("name")(_printable_name)


class FilesEntry(_Entry):
    kind: Literal["files"]
    path: str
    include: str | None = None
    follow_links: bool = False


class PageEntry(_Entry):
    kind: Literal["page"]
    urls: list[str] = Field(min_length=1)

    @field_validator("urls")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        return [_web_url(url) for url in urls]


class ListingEntry(_Entry):
    kind: Literal["feed", "sitemap"]
    url: str

    _url = field_validator("url")(_web_url)


MODELS: dict[str, type[_Entry]] = {
    "files": FilesEntry,
    "page": PageEntry,
    "feed": ListingEntry,
    "sitemap": ListingEntry,
}

# What each missing key should look like, for the line that asks for it.
EXAMPLES = {
    "name": 'name = "mine"',
    "path": 'path = "articles" (a folder, relative to the sources file)',
    "urls": 'urls = ["https://example.org/story.html"]',
    "url": 'url = "https://example.org/feed.xml"',
}


def load_sources(path: str | Path) -> list[Source]:
    """Every source of the file, or a `SourceError` listing every problem in it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourceError(f"sources file not found: {path}") from None
    except IsADirectoryError:
        raise SourceError(f"{path}: is a folder, not a sources file") from None
    except UnicodeDecodeError as exc:
        raise SourceError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SourceError(_toml_problem(path, exc)) from None
    lines = _Lines(text)
    problems: list[str] = []
    for key in data:
        if key != "source":
            what = f"[[{key}]]" if isinstance(data[key], list) else f"key {key!r}"
            hint = " (did you mean [[source]]?)" if _suggest(key, ["source"]) else " (sources are [[source]] tables)"
            problems.append(f"{path}:{lines.top(key)}: unknown {what}{hint}")
    entries = data.get("source")
    if entries is None:
        if not problems:
            problems.append(
                f'{path}: no [[source]] tables: add one, e.g. [[source]] name = "mine" kind = "files" path = "."'
            )
        raise SourceError(*problems)
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries) or not entries:
        problems.append(f"{path}:{lines.top('source')}: `source` must be [[source]] tables, one per source")
        raise SourceError(*problems)
    sources: list[Source] = []
    first_line: dict[str, int] = {}
    for index, entry in enumerate(entries):
        where = f"{path}:{lines.table(index)}"
        source, found = _source(entry, path.parent.resolve(), index, lambda key, i=index: lines.key(i, key))
        problems += [f"{path}:{line}: {problem}" for line, problem in found]
        if source is None:
            continue
        if source.name in first_line:
            problems.append(
                f"{where}: source name {source.name!r} repeated (first at line {first_line[source.name]}):"
                " names must be unique"
            )
        else:
            first_line[source.name] = lines.table(index)
        sources.append(source)
    if problems:
        raise SourceError(*problems)
    return sources


def _source(entry: dict, base: Path, index: int, line_of) -> tuple[Source | None, list[tuple[int, str]]]:
    name = entry.get("name")
    where = f"source {name!r}" if _usable_name(name) else f"source #{index + 1}"
    kind = entry.get("kind")
    if kind not in KINDS:
        if kind is None:
            fix = f"needs a kind: one of {', '.join(KINDS)}"
        else:
            fix = f"kind must be one of {', '.join(KINDS)}, got {kind!r}{_suggest(str(kind), KINDS)}"
        known = {key for model in MODELS.values() for key in model.model_fields}
        unknown = [
            (line_of(key), f"{where}: unknown key {key!r}{_suggest(key, sorted(known))}")
            for key in entry
            if key not in known
        ]
        return None, [(line_of("kind"), f"{where}: {fix}"), *unknown]
    model = MODELS[kind]
    try:
        valid = model.model_validate(entry)
    except ValidationError as exc:
        return None, [(line_of(_key(e)), f"{where}: {_problem(e, kind, model)}") for e in exc.errors()]
    if isinstance(valid, FilesEntry):
        return (
            Source(
                valid.name,
                kind,
                path=str((base / valid.path).resolve()),
                include=valid.include,
                follow_links=valid.follow_links,
            ),
            [],
        )
    if isinstance(valid, PageEntry):
        return Source(valid.name, kind, urls=tuple(valid.urls)), []
    assert isinstance(valid, ListingEntry)
    return Source(valid.name, kind, url=valid.url), []


def _usable_name(name) -> bool:
    try:
        return isinstance(name, str) and bool(_printable_name(name))
    except ValueError:
        return False


def _key(error) -> str:
    return str(error["loc"][0]) if error["loc"] else ""


def _problem(error, kind: str, model: type[_Entry]) -> str:
    key = _key(error)
    allowed = list(model.model_fields)
    if error["type"] == "extra_forbidden":
        elsewhere = [k for other, m in MODELS.items() if other != kind and key in m.model_fields for k in [other]]
        if elsewhere:
            return f"{key!r} is not used by a {kind} source (it takes {', '.join(allowed)})"
        return f"unknown key {key!r}{_suggest(key, allowed) or f' (a {kind} source takes ' + ', '.join(allowed) + ')'}"
    if error["type"] == "missing":
        return f"a {kind} source needs {EXAMPLES.get(key, key)}"
    if error["type"] == "value_error":
        message = str(error["msg"]).removeprefix("Value error, ")
        return f"{key}: {message}" if key == "urls" else f"{key} {message}"
    if error["type"] == "too_short":
        return f"{key} must list at least one URL: {EXAMPLES[key]}"
    expected = {"string_type": "a string", "list_type": "a list"}.get(error["type"], error["msg"].lower())
    where = ".".join(str(part) for part in error["loc"])
    return f"{where} must be {expected}, got {error['input']!r}"


def _suggest(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _toml_problem(path: Path, exc: tomllib.TOMLDecodeError) -> str:
    message = str(exc)
    found = re.search(r"\(at line (\d+), column (\d+)\)$", message)
    if found:
        message = message[: found.start()].strip()
        return f"{path}:{found.group(1)}: not valid TOML: {message} (column {found.group(2)})"
    return f"{path}: not valid TOML: {message}"


class _Lines:
    """Line numbers of the [[source]] tables and their keys, for messages
    (tomllib gives values, not where they were written)."""

    _HEADER = re.compile(r"\s*\[\[\s*source\s*\]\]")
    _TABLE = re.compile(r"\s*\[")
    _KEY = re.compile(r"""\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*=""")

    def __init__(self, text: str) -> None:
        self.tables: list[tuple[int, dict[str, int]]] = []
        self.top_keys: dict[str, int] = {}
        current: dict[str, int] | None = None
        for number, line in enumerate(text.splitlines(), 1):
            if self._HEADER.match(line):
                current = {}
                self.tables.append((number, current))
            elif self._TABLE.match(line):
                current = None
                header = line.strip().strip("[]").strip()
                self.top_keys.setdefault(header.split(".")[0].strip('"'), number)
            elif key := self._KEY.match(line):
                name = key.group(1).strip("\"'")
                if current is None:
                    self.top_keys.setdefault(name, number)
                else:
                    current.setdefault(name, number)

    def table(self, index: int) -> int:
        return self.tables[index][0] if index < len(self.tables) else 1

    def key(self, index: int, key: str) -> int:
        if index >= len(self.tables):
            return 1
        header, keys = self.tables[index]
        return keys.get(key, header)

    def top(self, key: str) -> int:
        return self.top_keys.get(key, 1)
