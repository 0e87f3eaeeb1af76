"""A files source on disk: listing its folder, and reading one file's bytes.

The one module of the files path that touches the file system; what the bytes
say is decided by the pure `extract` package.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
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


def read_document(path: str | Path, *, max_bytes: int, within: str | None = None) -> RawDocument:
    """The raw bytes of a file, refused when of an unsupported type, too large,
    not a regular file, or (with `within`, a real folder path) not inside
    `within` once its links are resolved.

    The file is opened without blocking (a FIFO or a device put in its place
    after it was listed would otherwise hold the run in `open`), and what was
    opened is checked on its descriptor, so nothing swapped in between a
    check and the open is read."""
    path = Path(path)
    media_type = media_type_for(path)
    if media_type is None:
        raise Rejected("acquire", f"unsupported file type {path.suffix or '(none)'!r}")
    try:
        descriptor = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise Rejected("acquire", _cannot_open(exc)) from None
    try:
        opened = os.fstat(descriptor)
        if not stat.S_ISREG(opened.st_mode):
            raise Rejected("acquire", f"not a regular file ({_file_kind(opened.st_mode)})")
        if within is not None and not _inside(_opened_path(descriptor, path), within):
            raise Rejected("acquire", LEAVES_FOLDER)
        if opened.st_size > max_bytes:
            raise Rejected("acquire", f"file is {opened.st_size} bytes, over the limit of {max_bytes}")
        raw = _read_at_most(descriptor, max_bytes + 1)
    except OSError as exc:
        raise Rejected("acquire", f"cannot read file: {exc.strerror or exc}") from None
    finally:
        os.close(descriptor)
    # The file may have grown between fstat and read.
    if len(raw) > max_bytes:
        raise Rejected("acquire", f"file is over the limit of {max_bytes} bytes")
    return RawDocument(locator=str(path), raw=raw, media_type=media_type, sha256=hashlib.sha256(raw).hexdigest())


# Never blocks (a FIFO opens at once), never becomes our terminal, never leaks into a child.
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
LEAVES_FOLDER = "link leaves the source folder"
LINK_LOOP = "symbolic link loop"


def _cannot_open(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return LINK_LOOP
    return f"cannot read file: {exc.strerror or exc}"


def _read_at_most(descriptor: int, limit: int) -> bytes:
    chunks = []
    left = limit
    while left > 0:
        chunk = os.read(descriptor, min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _opened_path(descriptor: int, path: Path) -> str:
    """The real path of what the descriptor holds: from /proc where there is
    one (the file actually opened), else the path's links resolved now."""
    try:
        return os.readlink(f"/proc/self/fd/{descriptor}")
    except OSError:
        return os.path.realpath(path)


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _file_kind(mode: int) -> str:
    for test, kind in (
        (stat.S_ISFIFO, "FIFO"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISDIR, "folder"),
    ):
        if test(mode):
            return kind
    return "unknown kind"


@dataclass(frozen=True, slots=True)
class FileEntry:
    """A file found under a source folder, with what `stat` said when it was
    listed; or, with `refused`, why it is rejected unread. `within`: the real
    folder the file must still be in when it is read (None: links may lead
    anywhere, the source's `follow_links`)."""

    path: str
    size: int
    mtime_ns: int
    refused: str | None = None
    within: str | None = None


def discover_files(source: Source) -> Iterator[str]:
    """Paths under the source folder, in a stable order (see `list_files`)."""
    return (entry.path for entry in list_files(source) if entry.refused is None)


def list_files(source: Source) -> Iterator[FileEntry]:
    """Files under the source folder, streamed in a stable order (so "first
    seen" is stable): the order of `sorted(Path.glob(...))`, but one folder in
    memory at a time, not the whole tree, so a million files cost no more
    memory than a thousand.

    Without `include`, every file of a supported type; with it, every file the
    glob matches (unsupported ones are then rejected with a reason, not skipped).
    Hidden files and folders are never read. Every entry the pattern names is
    listed, those that cannot be read as refused entries (rejected with the
    reason, the others go on): a name that is not UTF-8, a FIFO, socket or
    device, a symbolic link whose target is outside the folder (unless the
    source has `follow_links`), a link loop or a link to nothing. A folder
    link that leads out of the folder, or back to a folder above it, is one
    refused entry, not walked.
    """
    if source.path is None:
        raise SourceError(f"source {source.name!r}: a files source needs a path")
    root = Path(source.path)
    if not root.is_dir():
        raise SourceError(f"source {source.name!r}: folder not found: {root}")
    pattern = tuple(PurePosixPath(source.include).parts) if source.include else None
    real_root = os.path.realpath(root)
    top = root.stat()
    walk = _Walk(pattern, None if source.follow_links else real_root)
    with os.scandir(root) as listing:
        entries = sorted(listing, key=lambda e: e.name)
    yield from walk.entries(entries, (), frozenset({(top.st_dev, top.st_ino)}))


class _Walk:
    """Depth first, entries sorted by name: the same order as sorting the full
    paths, since paths compare part by part."""

    def __init__(self, pattern: tuple[str, ...] | None, within: str | None):
        self.pattern = pattern
        self.within = within

    def wanted(self, parts: tuple[str, ...]) -> bool:
        if self.pattern is None:
            return Path(parts[-1]).suffix.lower() in MEDIA_TYPES
        return _glob_matches(parts, self.pattern)

    def entries(
        self, entries: list[os.DirEntry], parts: tuple[str, ...], above: frozenset[tuple[int, int]]
    ) -> Iterator[FileEntry]:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            names = (*parts, entry.name)
            refused = None
            found: os.stat_result | None = None
            try:
                if entry.is_symlink() and self.within is not None:
                    if not _inside(os.path.realpath(entry.path, strict=True), self.within):
                        refused = LEAVES_FOLDER
                found = entry.stat()  # through links
            except OSError as exc:
                refused = {errno.ELOOP: LINK_LOOP, errno.ENOENT: "link to nothing: its target does not exist"}.get(
                    exc.errno or 0, f"cannot read: {exc.strerror or exc}"
                )
            if found is not None and stat.S_ISDIR(found.st_mode):
                yield from self.folder(entry, names, found, refused, above)
                continue
            if not self.wanted(names):
                continue
            if refused is None and not _is_utf8(entry.path):
                refused = "file name is not valid UTF-8"
            if refused is None and found is not None and not stat.S_ISREG(found.st_mode):
                refused = f"not a regular file ({_file_kind(found.st_mode)})"
            if refused is not None or found is None:
                yield _refused(entry.path, refused or "cannot read")
            else:
                yield FileEntry(entry.path, found.st_size, found.st_mtime_ns, within=self.within)

    def folder(
        self,
        entry: os.DirEntry,
        names: tuple[str, ...],
        found: os.stat_result,
        refused: str | None,
        above: frozenset[tuple[int, int]],
    ) -> Iterator[FileEntry]:
        key = (found.st_dev, found.st_ino)
        if refused is None and key in above:
            refused = f"{LINK_LOOP}: it leads back to a folder above it"
        if refused is not None:
            yield _refused(entry.path, refused)
            return
        try:
            with os.scandir(entry.path) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            yield _refused(entry.path, f"cannot list folder: {exc.strerror or exc}")
            return
        yield from self.entries(entries, names, above | {key})


def _is_utf8(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes, kept by the file system encoding as lone surrogates
        return False
    return True


def shown_path(path: str) -> str:
    """`path` as text: any bytes of its name that are not UTF-8 escaped (`\\xff`)."""
    return path if _is_utf8(path) else os.fsencode(path).decode("utf-8", "backslashreplace")


def _refused(path: str, reason: str) -> FileEntry:
    """A refused entry, its path shown as text (`shown_path`)."""
    return FileEntry(shown_path(path), 0, 0, refused=reason)


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
    path: str,
    *,
    max_bytes: int,
    stored_sha256: str | None = None,
    mtime_ns: int | None = None,
    within: str | None = None,
) -> Prepared | Problem | Unchanged:
    """Read a file and prepare it. `stored_sha256` is the hash of the locator's
    current stored version, if any: the same bytes again need no cleaning.
    `mtime_ns`: the file's modification time to record with its bytes (see
    tasks.store.file_state). `within`: the folder it must be in (`read_document`)."""
    try:
        document = read_document(path, max_bytes=max_bytes, within=within)
    except Rejected as rejected:
        return Problem(path, "rejected", rejected.stage, rejected.reason)
    except Exception as exc:  # a bug or a library failure: this item fails, the batch goes on
        return Problem(path, "failed", "acquire", f"{type(exc).__name__}: {exc}")
    if document.sha256 == stored_sha256:
        return Unchanged(path, document.sha256, mtime_ns)
    document.mtime_ns = mtime_ns
    return prepare(document)


def prepare_listed(
    entry: FileEntry, *, max_bytes: int, stored_sha256: str | None = None, mtime_ns: int | None = None
) -> Prepared | Problem | Unchanged:
    """`prepare_file` for a listed file; a refused one is rejected unread."""
    if entry.refused is not None:
        return Problem(entry.path, "rejected", "acquire", entry.refused)
    return prepare_file(
        entry.path, max_bytes=max_bytes, stored_sha256=stored_sha256, mtime_ns=mtime_ns, within=entry.within
    )
