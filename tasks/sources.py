"""sources.toml: what to read, as a list of `Source` records (the operator's configuration).

[[source]]
name = "seeds"
kind = "files"          # files, page, feed or sitemap
path = "."              # files: a folder relative to this TOML file
include = "*.txt"       # files: optional glob; default every supported file
follow_links = false    # files: true to read symbolic links that lead out of the folder
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

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
    # Files: whether symbolic links may lead out of the folder (else each such link is rejected).
    follow_links: bool = False
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
        follow_links = entry.get("follow_links", False)
        if not isinstance(follow_links, bool):
            raise SourceError(f"{where}: follow_links must be true or false")
        return Source(
            name, kind, path=str((base / entry["path"]).resolve()), include=include, follow_links=follow_links
        )
    if kind == "page":
        urls = entry.get("urls")
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
            raise SourceError(f"{where}: a page source needs urls, a list of URLs")
        return Source(name, kind, urls=tuple(urls))
    url = entry.get("url")
    if not isinstance(url, str) or not url:
        raise SourceError(f"{where}: a {kind} source needs a url")
    return Source(name, kind, url=url)
