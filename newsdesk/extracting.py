"""`newsdesk extract`: files cleaned with no database, and the extraction pool
an ingest starts early. Apart from the CLI's parser so that commands which do
not extract (runs, status, psql, db) start without importing the extractor."""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from newsdesk.config import Settings
from newsdesk.tasks.extract.prepare import prepare
from newsdesk.tasks.files import MEDIA_TYPES, list_files, prepare_file, shown_path
from newsdesk.tasks.records import Prepared, Problem, RawDocument
from newsdesk.tasks.sources import WEB_KINDS, Source
from newsdesk.tasks.web.pages import start_extraction_pool
from newsdesk.tasks.words import printable

# What `extract --json` prints for each file, in this order (docs/configuration.md lists them).
JSON_KEYS = (
    "path",
    "title",
    "published",
    "published_precision",
    "author",
    "authors",
    "source_name",
    "publisher",
    "publisher_domain",
    "keywords",
    "section",
    "summary",
    "url",
    "language",
    "encoding",
    "media_type",
    "text",
)
PROBLEM_KEYS = ("path", "error", "stage")
PLAIN_KEYS = ("title", "published", "author", "publisher", "summary", "url", "language", "encoding")


def start_pool_if_web(sources: list[Source], settings: Settings, runner_name: str | None = None) -> None:
    """A run with web sources prepares its pages in a pool of processes
    (`tasks.web.pages`): start it now, so that it warms up on the idle core
    while Prefect is imported and its server starts, not when pages arrive.
    With Dask, pages are extracted on the cluster's workers (`flows/runners.py`): no pool."""
    if (runner_name or settings.task_runner) != "threads":
        return
    if settings.extract_processes > 0 and any(source.kind in WEB_KINDS for source in sources):
        start_extraction_pool(settings.extract_processes)


def inputs(paths: list[str]) -> Iterator[str]:
    """Each path; a folder gives its supported files (gzipped too), in order, hidden ones left out."""
    for path in paths:
        if Path(path).is_dir():
            folder = Source(name="extract", kind="files", path=str(Path(path)), include=None)
            found = [entry.path for entry in list_files(folder)]
            found += sorted(
                str(p)
                for p in Path(path).rglob("*.gz")
                if _inner_type(p) and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            yield from sorted(found)
        else:
            yield path


def extract_one(path: str, max_bytes: int) -> Prepared | Problem:
    if path.lower().endswith(".gz") and _inner_type(Path(path)):
        return _prepare_gzipped(path, max_bytes)
    result = prepare_file(path, max_bytes=max_bytes)
    assert isinstance(result, Prepared | Problem)  # no stored hash given, so never Unchanged
    return result


def run(paths: list[str], as_json: bool) -> int:
    """Print each file's article (or why it was rejected); 1 if any was rejected."""
    max_bytes = Settings.from_env().max_file_bytes
    status = 0
    for given in inputs(paths):
        result = extract_one(given, max_bytes)
        path = shown_path(given)  # a name that is not UTF-8 cannot be printed as it is
        if isinstance(result, Problem):
            status = 1
            if as_json:
                print(json.dumps(dict(zip(PROBLEM_KEYS, (path, result.reason, result.stage))), ensure_ascii=False))
            else:
                print(
                    f"{printable(path)}: {result.outcome} at {result.stage}: {printable(result.reason)}",
                    file=sys.stderr,
                )
            continue
        fields = _fields(path, result)
        if as_json:
            print(json.dumps(fields, ensure_ascii=False))
        else:
            print(f"== {printable(path)}")
            for key in PLAIN_KEYS:
                if fields[key]:
                    print(f"{key}: {printable(fields[key])}")
            print()
            print(fields["text"])
            print()
    return status


def _fields(path: str, result: Prepared) -> dict:
    document, encoding, article = result.document, result.encoding, result.article
    values = {
        "path": path,
        "title": article.title,
        "published": article.published.isoformat() if article.published else None,
        "published_precision": article.published_precision,
        "author": article.author,
        "authors": article.authors,
        "source_name": article.source_name,
        "publisher": article.source_name,
        "publisher_domain": article.publisher_domain,
        "keywords": article.keywords,
        "section": article.section,
        "summary": article.summary,
        "url": article.url,
        "language": article.language,
        "encoding": encoding,
        "media_type": document.media_type,
        "text": article.body,
    }
    return {key: values[key] for key in JSON_KEYS}


def _inner_type(path: Path) -> str | None:
    """The media type of a gzipped file by the suffix under `.gz` (page.html.gz: text/html)."""
    return MEDIA_TYPES.get(Path(path.stem).suffix.lower()) if path.suffix.lower() == ".gz" else None


def _prepare_gzipped(path: str, max_bytes: int) -> Prepared | Problem:
    try:
        with gzip.open(path, "rb") as stream:
            raw = stream.read(max_bytes + 1)
    except (OSError, EOFError) as exc:
        return Problem(path, "rejected", "acquire", f"cannot read gzip file: {exc}")
    if len(raw) > max_bytes:
        return Problem(path, "rejected", "acquire", f"file is over the limit of {max_bytes} bytes uncompressed")
    media_type = _inner_type(Path(path))
    assert media_type is not None
    return prepare(RawDocument(path, raw, media_type, hashlib.sha256(raw).hexdigest()))
