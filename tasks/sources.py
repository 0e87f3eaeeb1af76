"""sources.toml: what to read, and the items each source yields.

    [[source]]
    name = "seeds"
    kind = "files"          # files, page, feed or sitemap
    path = "."              # files: a folder relative to this TOML file
    include = "*.txt"       # files: optional glob; default every supported file
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath

from tasks.acquire import MEDIA_TYPES

KINDS = ("files", "page", "feed", "sitemap")
WEB_KINDS = ("page", "feed", "sitemap")


class SourceError(Exception):
    """A sources file or a source that cannot be used as written."""


@dataclass(frozen=True)
class Source:
    name: str
    kind: str
    path: str | None = None  # absolute folder, for files
    include: str | None = None
    url: str | None = None
    urls: tuple[str, ...] = ()

    @property
    def locator(self) -> str:
        """Where the source itself lives, for messages about the source as a whole."""
        return self.path or self.url or ", ".join(self.urls) or self.name


def load_sources(path: str | Path) -> list[Source]:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourceError(f"sources file not found: {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: not valid TOML: {exc}") from None
    entries = data.get("source")
    if not isinstance(entries, list) or not entries:
        raise SourceError(f"{path}: no [[source]] tables")
    sources = [_source(entry, path.parent.resolve(), index) for index, entry in enumerate(entries, 1)]
    names = [s.name for s in sources]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SourceError(f"{path}: source names must be unique, repeated: {', '.join(duplicates)}")
    return sources


def _source(entry: dict, base: Path, index: int) -> Source:
    where = f"source #{index}"
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise SourceError(f"{where}: needs a name")
    where = f"source {name!r}"
    kind = entry.get("kind")
    if kind not in KINDS:
        raise SourceError(f"{where}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if kind == "files":
        if not isinstance(entry.get("path"), str):
            raise SourceError(f"{where}: a files source needs a path")
        include = entry.get("include")
        if include is not None and not isinstance(include, str):
            raise SourceError(f"{where}: include must be a glob string")
        return Source(name, kind, path=str((base / entry["path"]).resolve()), include=include)
    if kind == "page":
        urls = entry.get("urls")
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
            raise SourceError(f"{where}: a page source needs urls, a list of URLs")
        return Source(name, kind, urls=tuple(urls))
    url = entry.get("url")
    if not isinstance(url, str) or not url:
        raise SourceError(f"{where}: a {kind} source needs a url")
    return Source(name, kind, url=url)


@dataclass(frozen=True, slots=True)
class FileEntry:
    """A file found under a source folder, with what `stat` said when it was listed."""

    path: str
    size: int
    mtime_ns: int


def discover_files(source: Source) -> Iterator[str]:
    """Paths under the source folder, in a stable order (see `list_files`)."""
    return (entry.path for entry in list_files(source))


def list_files(source: Source) -> Iterator[FileEntry]:
    """Files under the source folder, streamed in a stable order (so "first
    seen" is stable): the order of `sorted(Path.glob(...))`, but one folder in
    memory at a time, not the whole tree, so a million files cost no more
    memory than a thousand.

    Without `include`, every file of a supported type; with it, every file the
    glob matches (unsupported ones are then rejected with a reason, not skipped).
    Hidden files and folders are never read.
    """
    root = Path(source.path)
    if not root.is_dir():
        raise SourceError(f"source {source.name!r}: folder not found: {root}")
    pattern = tuple(PurePosixPath(source.include).parts) if source.include else None
    for entry, parts in _walk(str(root), ()):
        if pattern is None:
            if Path(entry.name).suffix.lower() not in MEDIA_TYPES:
                continue
        elif not _glob_matches(parts, pattern):
            continue
        stat = entry.stat()
        yield FileEntry(entry.path, stat.st_size, stat.st_mtime_ns)


def _walk(folder: str, parts: tuple[str, ...]) -> Iterator[tuple[os.DirEntry, tuple[str, ...]]]:
    """Depth first, entries sorted by name: the same order as sorting the full
    paths, since paths compare part by part."""
    with os.scandir(folder) as listing:
        entries = sorted(listing, key=lambda e: e.name)
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            yield from _walk(entry.path, (*parts, entry.name))
        elif entry.is_file():
            yield entry, (*parts, entry.name)


def _glob_matches(parts: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    """Whether a file's path (relative parts) matches a pathlib glob: `**`
    stands for any number of folders, other parts match one name each."""
    if not pattern:
        return not parts
    if pattern[0] == "**":
        # Only folders: a file name is never swallowed by "**" (as in pathlib).
        return any(_glob_matches(parts[i:], pattern[1:]) for i in range(len(parts)))
    return bool(parts) and fnmatchcase(parts[0], pattern[0]) and _glob_matches(parts[1:], pattern[1:])
