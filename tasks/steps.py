"""The ingest steps as Prefect tasks: thin wrappers over `extract`, `web`, `store` and `files`.

Task runs scale with sources and batches, never with articles; tasks pass
paths and small records, and no task caches (inputs are batches, hashing them
would cost more than the work).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import TaskRunContext
from prefect.tasks import exponential_backoff

from newsdesk import progress as terminal
from newsdesk.config import Settings
from newsdesk.database import get_engine
from newsdesk.tasks import packing
from newsdesk.tasks.dedup.match import Thresholds
from newsdesk.tasks.files import FileEntry, prepare_listed
from newsdesk.tasks.records import Batch, Problem
from newsdesk.tasks.store import dedup_rebuild, file_state, identity, load, outcomes, reprocess, versions
from newsdesk.tasks.web import frontier
from newsdesk.tasks.web.pages import Item
from newsdesk.tasks.web.pipeline import WebBatch
from newsdesk.tasks.words import in_words, plural, printable


def _database_unreachable(task, task_run, state) -> bool:
    """Retry only what a retry can fix: a lost or refused connection, a
    serialisation conflict. A constraint violation or a bug fails at once."""
    return load.connection_lost(state.result(raise_on_failure=False))


@task(name="discover-web", task_run_name="discover-web", cache_policy=NO_CACHE)
def discover_web(run_id: int) -> dict[str, tuple[int, int]]:
    """Follow the listing of every web source of the run (feeds and sitemaps
    fetched with conditional GETs through the run's frontier, which started
    them all at once): a listing that could not be read, or that gave no URL,
    is logged as a WARNING as it comes in; the first SOURCES_LOGGED sources
    that listed URLs get a line each with their counts, and one line at the
    end sums up all of them (every source's counts are in
    `ingest_run_sources`). Ends when every source is listed; the pages are
    fetched meanwhile."""
    logger = get_run_logger()
    listed: dict[str, tuple[int, int]] = {}
    logged = withheld = 0
    for source, found in frontier.pipeline_of(run_id).listings():
        listing = {problem.locator: problem for problem in found.problems if problem.stage == "discover"}
        for problem in list(listing.values())[:PROBLEMS_LOGGED]:
            # A listing that cannot be read is the source failing, not one bad item.
            logger.warning(
                "source %s: listing %s %s: %s",
                printable(source.name),
                printable(problem.locator),
                problem.outcome,
                printable(problem.reason),
            )
        if not found.items:
            logger.warning(
                "source %s listed no article URL (%s)", printable(source.name), plural(len(found.problems), "problem")
            )
        elif logged < SOURCES_LOGGED:
            logged += 1
            logger.info(
                "source %s: %s, %s",
                printable(source.name),
                plural(len(found.items), "URL"),
                plural(len(found.problems), "problem"),
            )
        else:
            withheld += 1
        listed[source.name] = (len(found.items), len(found.problems))
    logger.info(
        "%s listed: %s, %s%s",
        plural(len(listed), "web source"),
        plural(sum(urls for urls, _ in listed.values()), "URL"),
        plural(sum(problems for _, problems in listed.values()), "problem"),
        f" ({withheld} of them not logged one by one)" if withheld else "",
    )
    return listed


@task(name="clean", task_run_name="clean-{source_name}-batch-{batch_no}", cache_policy=NO_CACHE)
def clean_batch(source_name: str, batch_no: int, listed: Batch[FileEntry]) -> Batch[Item]:
    """Read, decode, clean, fingerprint and pack (for storage) a batch of
    listed files; files whose bytes are already stored (touched, not changed)
    are only read and hashed. No retries: this is CPU work."""
    files = listed.items
    max_bytes = Settings.from_env().max_file_bytes
    stored = versions.stored_versions(get_engine(), [f.path for f in files])
    return _logged(
        Batch(
            [
                # Packed for storage here, where the batch is cleaned (a Dask worker, with that
                # runner); the batch then holds the packed form alone until its load.
                _counted(
                    "cleaned",
                    packing.packed(
                        prepare_listed(
                            f,
                            max_bytes=max_bytes,
                            mtime_ns=file_state.trusted_mtime(f),
                            stored_sha256=stored[f.path].content_sha256 if f.path in stored else None,
                        ),
                        keep_raw=False,
                    ),
                )
                for f in files
            ]
        )
    )


def _counted(step: str, item):
    """`item`, counted for the terminal's progress display (`newsdesk.progress`)."""
    terminal.add(step)
    return item


# Web sources whose listing is logged on a line of its own; the others are
# summed up in one line: a log line costs CPU between this process and the
# Prefect API, which a crawl's cores are better spent extracting with
# (figures: docs/decisions.md, "Why Prefect task runs per batch").
SOURCES_LOGGED = 20

# Problems logged one by one per batch; one line counts the rest (all of them are
# in `rejections`). A sitemap of 50,000 URLs that robots.txt disallows would
# otherwise send 50,000 lines to the Prefect API, and take a minute doing it.
PROBLEMS_LOGGED = 20


def _logged(batch: Batch[Item]) -> Batch[Item]:
    _log_problems(batch.items)
    return batch


def _log_problems(items: list[Item]) -> None:
    logger = get_run_logger()
    problems = [item for item in items if isinstance(item, Problem)]
    for item in problems[:PROBLEMS_LOGGED]:
        logger.warning("%s %s at %s: %s", item.outcome, printable(item.locator), item.stage, printable(item.reason))
    if len(problems) > PROBLEMS_LOGGED:
        logger.warning(
            "…and %d more rejected or failed in this batch (see newsdesk.rejections)", len(problems) - PROBLEMS_LOGGED
        )


# Database work: retried when the connection is the problem, with backoff and jitter.
_DATABASE_RETRIES: dict[str, Any] = {
    "cache_policy": NO_CACHE,
    "retries": 3,
    "retry_delay_seconds": exponential_backoff(backoff_factor=2),
    "retry_jitter_factor": 0.5,
    "retry_condition_fn": _database_unreachable,
}


def _flow_run_id() -> str | None:
    """The flow run of the task running in this thread, on whatever worker."""
    context = TaskRunContext.get()
    flow_run = context.task_run.flow_run_id if context else None
    return str(flow_run) if flow_run else None


@task(name="discover", task_run_name="discover-{source_name}-{chunk_no}", **_DATABASE_RETRIES)
def skip_unchanged(run_id: int, source_name: str, chunk_no: int, files: list[FileEntry]) -> list[FileEntry]:
    """Of a chunk of listed files, those to read: new or changed since stored.
    The others are counted `unchanged` without being opened (unless
    NEWSDESK_FILE_CHECK=content: then every file is read and hashed)."""
    terminal.add("listed", len(files))
    if Settings.from_env().file_check == "content":
        get_run_logger().info(
            "source %s: %s listed, all to be read (NEWSDESK_FILE_CHECK=content)",
            printable(source_name),
            plural(len(files), "file"),
        )
        return files
    to_read = file_state.skip_unchanged(get_engine(), run_id=run_id, source=source_name, entries=files)
    get_run_logger().info(
        "source %s: %s listed, %s new or changed",
        printable(source_name),
        plural(len(files), "file"),
        f"{len(to_read):,}",
    )
    return to_read


@task(name="load", task_run_name="load-{source_name}-batch-{batch_no}", **_DATABASE_RETRIES)
def load_batch(run_id: int, source_name: str, batch_no: int, batch: Batch[Item]) -> Counter:
    """Dedup and load one batch in one transaction (retried whole: it is atomic)."""
    thresholds = Thresholds.from_settings(Settings.from_env())
    identity.check_run(get_engine(), run_id, _flow_run_id())
    notes: list[str] = []
    counts = load.load_batch(
        get_engine(), run_id=run_id, source=source_name, items=batch.items, thresholds=thresholds, notes=notes
    )
    logger = get_run_logger()
    for note in notes:
        logger.warning("source %s batch %d: %s", printable(source_name), batch_no, note)
    logger.info("source %s batch %d: %s", printable(source_name), batch_no, in_words(counts))
    return counts


@task(name="load-web", task_run_name="load-web-batch-{batch_no}", **_DATABASE_RETRIES)
def load_web_batch(run_id: int, batch_no: int, batch: WebBatch) -> Counter:
    """Dedup and load one batch of web pages, of one or more sources, in one
    transaction (retried whole: it is atomic); each source's counts are its own.
    The batch's rejected and failed items are logged first (`PROBLEMS_LOGGED`)."""
    _log_problems([item for _, items in batch.parts for item in items])
    thresholds = Thresholds.from_settings(Settings.from_env())
    identity.check_run(get_engine(), run_id, _flow_run_id())
    notes: list[str] = []
    by_source = load.load_parts(get_engine(), run_id=run_id, parts=batch.parts, thresholds=thresholds, notes=notes)
    counts: Counter = sum(by_source.values(), Counter())
    for note in notes:
        get_run_logger().warning("batch %d: %s", batch_no, note)
    get_run_logger().info(
        "batch %d: %s of %s (%s): %s",
        batch_no,
        plural(len(batch), "item"),
        plural(len(by_source), "source"),
        _names(list(by_source)),
        in_words(counts),
    )
    return counts


# A web batch's log line names at most this many of its sources.
BATCH_SOURCES_NAMED = 5


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:BATCH_SOURCES_NAMED])
    more = len(names) - BATCH_SOURCES_NAMED
    return f"{shown} and {more} more" if more > 0 else shown


@task(name="record-failures", task_run_name="record-failures-{source_name}-batch-{batch_no}", **_DATABASE_RETRIES)
def record_failures(
    run_id: int, source_name: str, batch_no: int, locators: list[str], stage: str, reason: str
) -> Counter:
    """Items that never reached a load (a source that cannot be read, a batch
    that could not be loaded) become `failed` rows in `rejections`."""
    return outcomes.record_failed_batch(
        get_engine(), run_id=run_id, source=source_name, locators=locators, stage=stage, reason=reason
    )


@task(name="record-failures", task_run_name="record-failures-web-batch-{batch_no}", **_DATABASE_RETRIES)
def record_web_failures(
    run_id: int, batch_no: int, locators: list[tuple[str, list[str]]], stage: str, reason: str
) -> Counter:
    """`record_failures` for a web batch: each source's items become `failed`."""
    counts: Counter = Counter()
    for source, of_source in locators:
        counts += outcomes.record_failed_batch(
            get_engine(), run_id=run_id, source=source, locators=of_source, stage=stage, reason=reason
        )
    return counts


@task(name="reprocess", task_run_name="reprocess-batch-{batch_no}", **_DATABASE_RETRIES)
def reprocess_batch(run_id: int, batch_no: int, document_ids: list[int]) -> Counter:
    """Re-clean one batch of stored documents and write what changed, in one transaction."""
    thresholds = Thresholds.from_settings(Settings.from_env())
    counts = reprocess.reprocess_batch(get_engine(), run_id=run_id, document_ids=document_ids, thresholds=thresholds)
    get_run_logger().info("batch %d: %s", batch_no, in_words(counts))
    return counts


@task(name="rebuild-stories", task_run_name="rebuild-stories", **_DATABASE_RETRIES)
def rebuild_stories(run_id: int) -> Counter:
    """Recompute every story in one transaction (retried whole: it is atomic)."""
    thresholds = Thresholds.from_settings(Settings.from_env())
    counts = dedup_rebuild.rebuild(get_engine(), run_id=run_id, thresholds=thresholds)
    get_run_logger().info("rebuilt stories with %s: %s", thresholds, in_words(counts))
    return counts
