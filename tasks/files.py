"""A files source on disk: listing its folder, and reading one file's bytes.

The one module of the files path that touches the file system; what the bytes
say is decided by the pure `extract` package.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath

from newsdesk.tasks.extract.prepare import prepare
from newsdesk.tasks.records import Prepared, Problem, RawDocument, Rejected, Unchanged
from newsdesk.tasks.sources import Source, SourceError

MEDIA_TYPES = {
    ".txt": "text/plain",
    ".text": "text/plain",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".html": "text/html",
    ".htm": "text/html",
    ".xhtml": "text/html",
}


def media_type_for(path: str | Path) -> str | None:
    return MEDIA_TYPES.get(Path(path).suffix.lower())


def read_document(path: str | Path, *, max_bytes: int) -> RawDocument:
    """The raw bytes of a file, refused when of an unsupported type or too large."""
    path = Path(path)
    media_type = media_type_for(path)
    if media_type is None:
        raise Rejected("acquire", f"unsupported file type {path.suffix or '(none)'!r}")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise Rejected("acquire", f"file is {size} bytes, over the limit of {max_bytes}")
        raw = path.read_bytes()
    except OSError as exc:
        raise Rejected("acquire", f"cannot read file: {exc.strerror or exc}") from None
    # The file may have grown between stat and read.
    if len(raw) > max_bytes:
        raise Rejected("acquire", f"file is {len(raw)} bytes, over the limit of {max_bytes}")
    return RawDocument(locator=str(path), raw=raw, media_type=media_type, sha256=hashlib.sha256(raw).hexdigest())


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
    if source.path is None:
        raise SourceError(f"source {source.name!r}: a files source needs a path")
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


def prepare_file(
    path: str, *, max_bytes: int, stored_sha256: str | None = None, mtime_ns: int | None = None
) -> Prepared | Problem | Unchanged:
    """Read a file and prepare it. `stored_sha256` is the hash of the locator's
    current stored version, if any: the same bytes again need no cleaning.
    `mtime_ns`: the file's modification time to record with its bytes (see
    tasks.store.file_state)."""
    try:
        document = read_document(path, max_bytes=max_bytes)
    except Rejected as rejected:
        return Problem(path, "rejected", rejected.stage, rejected.reason)
    except Exception as exc:  # a bug or a library failure: this item fails, the batch goes on
        return Problem(path, "failed", "acquire", f"{type(exc).__name__}: {exc}")
    if document.sha256 == stored_sha256:
        return Unchanged(path, document.sha256, mtime_ns)
    document.mtime_ns = mtime_ns
    return prepare(document)
