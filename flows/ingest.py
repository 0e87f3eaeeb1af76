"""The ingest flow: every source in a sources.toml, discovered, cleaned,
deduplicated and loaded into PostgreSQL, with a row in `newsdesk.ingest_runs`.

Web sources go side by side, all through the run's web pipeline on one crawl
frontier (`tasks.web.frontier`, `tasks.web.pipeline`): a slow host holds up
only its own items. Files sources are read meanwhile, one after another.

Operators see one flow run per ingest, named by its start time; task runs per
files source and listing chunk (`discover-<source>-<n>`, 5,000 files each) and
per batch (`clean-<source>-batch-<n>`, `load-<source>-batch-<n>`); for the web
sources together, `discover-web` (every listing, as it comes in) and per batch
of pages of any sources (`load-web-batch-<n>`); a table
artifact of counts per source and outcome; a markdown artifact listing
rejections; a progress artifact; and at the end an event
`newsdesk.ingest.completed` (or `.failed`) carrying the run's counts.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any, cast
from uuid import UUID, uuid4

from prefect import flow, get_run_logger
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.events import emit_event
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run
from prefect.states import Completed, Failed, State
from sqlalchemy.engine import Engine

from newsdesk import progress as terminal
from newsdesk.config import Settings
from newsdesk.database import get_engine
from newsdesk.flows import garbage
from newsdesk.flows.runners import (
    as_configured,
    check_task_runner,
    extraction_executor,
    parallel_slots,
    quiet_expected_failures,
    tag_with_sources,
)
from newsdesk.tasks.files import FileEntry, list_files
from newsdesk.tasks.records import OUTCOMES, Batch
from newsdesk.tasks.sources import WEB_KINDS, Source, SourceError, load_sources
from newsdesk.tasks.steps import (
    clean_batch,
    discover_web,
    load_batch,
    load_web_batch,
    record_failures,
    record_web_failures,
    skip_unchanged,
)
from newsdesk.tasks.store import runs
from newsdesk.tasks.web import frontier
from newsdesk.tasks.web.fetch import FetchSettings
from newsdesk.tasks.web.pipeline import WebBatch, WebPipeline
from newsdesk.tasks.words import in_words, plural, printable

# A worker's run that ends Failed logs no traceback (see `runners.quiet_expected_failures`).
quiet_expected_failures()

# Files listed and checked against the stored ones per query (one `discover` task run each).
LISTING_CHUNK = 5000
REJECTIONS_SHOWN = 50


def _run_name() -> str:
    """The start time, and the flow run id's last 8 digits (its random part:
    Prefect's ids begin with the time): two runs started in the same second
    (two cron jobs, a worker and a retry) are told apart."""
    run_id = flow_run.id
    return f"ingest-{datetime.now(UTC):%Y-%m-%d-%H%M%S}-{run_id[-8:] if run_id else uuid4().hex[:8]}"


@flow(name="ingest", flow_run_name=_run_name, log_prints=False)
def ingest(sources_file: str = "seeds/sources.toml", batch_size: int | None = None) -> State:
    """Ingest every source of `sources_file` once. The run ends Completed, or
    Failed when any item failed or a source failed outright (what was loaded
    stays loaded); either way its state message carries the headline counts and
    its result is the run record with counts per source (called directly, a
    Failed run raises `runs.IngestFailed`, which holds the record)."""
    logger = get_run_logger()
    settings = Settings.from_env()
    check_task_runner(settings)
    tag_with_sources(sources_file)
    batch_size = batch_size or settings.batch_size
    engine = get_engine(settings)
    run = None
    health = None
    try:
        try:
            with runs.recorded_run(
                engine, flow_run_id=flow_run.id, sources_file=str(Path(sources_file).resolve())
            ) as run:
                logger.info("run %d started on %s", run.id, printable(sources_file))
                sources = load_sources(sources_file)
                runs.register_sources(engine, run.id, [source.name for source in sources])
                progress = _Progress(sources)
                try:
                    with progress.reporting():
                        _ingest_all(run.id, sources, batch_size, settings, progress)
                finally:
                    frontier.close_frontier(run.id)
                health = runs.health(engine, run.id)
                if health.failed:
                    run.verdict = ("failed", _failure_message(health))
        except Exception:
            # Stopped on an error: the run's record says why; its artifacts too.
            if run is not None and run.record is not None:
                _publish(engine, run.record, health)
            raise
        assert run.record is not None  # set when the block ends without raising
        _publish(engine, run.record, health)
        headline = _headline(run.record)
        if health is not None and health.failed:
            message = f"{_failure_message(health)} | {headline}"
            return Failed(message=message, data=runs.IngestFailed(message, run.record))
        return Completed(message=headline, data=run.record)
    finally:
        if run is not None and run.record is not None:
            _announce(run.record, health)


def _headline(record: runs.RunRecord) -> str:
    return f"{plural(record.n_discovered, 'item')}: {in_words({o: record[f'n_{o}'] for o in OUTCOMES})}"


def _failure_message(health: runs.RunHealth) -> str:
    parts = []
    if health.failing_sources:
        failing = "; ".join(f"{printable(f.source)}: {printable(f.reason)}" for f in health.failing_sources[:3])
        more = len(health.failing_sources) - 3
        parts.append(
            f"{plural(len(health.failing_sources), 'source')} failing ({failing}{f'; {more} more' if more > 0 else ''})"
        )
    if health.n_failed:
        parts.append(f"{plural(health.n_failed, 'item')} failed")
    return ", ".join(parts)


class _Progress:
    """The run's progress in the Prefect UI and the logs. Each source weighs
    the same; once its items are counted (a web source once listed), its
    share follows its items fetched and loaded; before that (and for a files
    source, whose listing streams), each loaded batch moves it half of the way
    left, so the bar moves and never overshoots. Sources report from their own
    threads; a reporter thread shows the figure every
    few seconds and logs it at least every 30 s."""

    SHOW_EVERY = 5.0
    LOG_EVERY = 30.0

    def __init__(self, sources: list[Source]):
        self.names = [source.name for source in sources]
        self.listed: Callable[[str], int | None] = lambda source: None
        self.loaded: dict[str, int] = dict.fromkeys(self.names, 0)
        self.batches: dict[str, float] = dict.fromkeys(self.names, 0.0)
        self.done: set[str] = set()
        self.fetched: Callable[[str], int] = lambda source: 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        # Called from the flow's own (sync) code, so the artifact's id, not a coroutine.
        self.id = cast(
            UUID,
            create_progress_artifact(
                0.0, key="ingest-progress", description="Share of the run's items fetched and loaded"
            ),
        )

    def follow(self, fetched: Callable[[str], int], listed: Callable[[str], int | None]) -> None:
        """Follow the web sources' items: pages fetched, and items counted once listed (None before)."""
        self.fetched, self.listed = fetched, listed
        terminal.follow(self._web_counts)

    def _web_counts(self) -> dict[str, int]:
        """The web sources' pages listed and fetched, for the terminal's display."""
        return {
            "listed": sum(self.listed(name) or 0 for name in self.names),
            "fetched": sum(self.fetched(name) for name in self.names),
        }

    def batch_settled(self, source: str, n_items: int) -> None:
        terminal.add("loaded", n_items)
        with self._lock:
            self.loaded[source] += n_items
            self.batches[source] += (1 - self.batches[source]) / 2

    def source_done(self, source: str) -> None:
        with self._lock:
            self.done.add(source)

    def share(self) -> float:
        with self._lock:
            shares = []
            for name in self.names:
                total = self.listed(name)
                if name in self.done:
                    shares.append(1.0)
                elif total:
                    fetched = min(self.fetched(name) or self.loaded[name], total)
                    shares.append((fetched + min(self.loaded[name], total)) / (2 * total))
                else:
                    shares.append(self.batches[name])
        return sum(shares) / max(len(shares), 1)

    def summary(self) -> str:
        with self._lock:
            counted = sum(self.listed(name) or 0 for name in self.names)
            loaded = sum(self.loaded.values())
            fetched = sum(self.fetched(name) for name in self.names)
        return (
            f"progress {100 * self.share():.0f}%: {len(self.done)} of {plural(len(self.names), 'source')} done,"
            f" {plural(counted, 'item')} counted, {fetched:,} fetched, {loaded:,} loaded"
        )

    @contextmanager
    def reporting(self) -> Iterator[None]:
        logger = get_run_logger()
        reporter = threading.Thread(
            target=contextvars.copy_context().run, args=(self._report, logger), name="newsdesk-progress", daemon=True
        )
        reporter.start()
        try:
            yield
        finally:
            self._stop.set()
            reporter.join(timeout=10)
            terminal.unfollow(self._web_counts)
            update_progress_artifact(self.id, 100.0)

    def _report(self, logger) -> None:
        last_log = time.monotonic()
        while not self._stop.wait(self.SHOW_EVERY):
            update_progress_artifact(self.id, round(100 * self.share(), 1))
            if time.monotonic() - last_log >= self.LOG_EVERY:
                logger.info(self.summary())
                last_log = time.monotonic()


def _announce(record: runs.RunRecord, health: runs.RunHealth | None) -> None:
    """An event per finished run (`newsdesk.ingest.completed` or `.failed`) with its
    counts, and one `newsdesk.source.failed` per source that failed outright,
    with its name, URL and reason, for Prefect automations."""
    related = [{"prefect.resource.id": f"prefect.flow-run.{flow_run.id}", "prefect.resource.role": "flow-run"}]
    emit_event(
        event=f"newsdesk.ingest.{record.status}",
        resource={
            "prefect.resource.id": f"newsdesk.ingest-run.{record.id}",
            "prefect.resource.name": f"ingest run {record.id}",
        },
        related=related,
        payload={
            "run_id": record.id,
            "status": record.status,
            "error": record.error,
            **{f"n_{o}": record[f"n_{o}"] for o in ("discovered", *OUTCOMES)},
        },
    )
    for failure in health.failing_sources if health else []:
        emit_event(
            event="newsdesk.source.failed",
            resource={
                "prefect.resource.id": f"newsdesk.source.{failure.source}",
                "prefect.resource.name": failure.source,
            },
            related=related,
            payload={"source": failure.source, "url": failure.locator, "reason": failure.reason, "run_id": record.id},
        )


def _ingest_all(run_id: int, sources: list[Source], batch_size: int, settings: Settings, progress: _Progress) -> None:
    """Web sources in a thread of the flow, all at once through the run's
    frontier; files sources meanwhile, in turn."""
    web = [source for source in sources if source.kind in WEB_KINDS]
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsdesk-web") as thread:
        # The thread runs in a copy of the flow's context, so its task runs belong to this flow run.
        crawling = thread.submit(
            contextvars.copy_context().run, _ingest_web, run_id, web, batch_size, settings, progress
        )
        for source in sources:
            if source.kind not in WEB_KINDS:
                _process(
                    run_id, source, _files_to_read(run_id, source, batch_size), _clean_step, parallel_slots(), progress
                )
                progress.source_done(source.name)
        crawling.result()


def _clean_step(source: Source, batch_no: int, batch: list) -> PrefectFuture:
    return clean_batch.submit(source.name, batch_no, Batch(batch))


def _ingest_web(run_id: int, web: list[Source], batch_size: int, settings: Settings, progress: _Progress) -> None:
    """Every web source through the run's web pipeline (`tasks.web.pipeline`):
    a `discover-web` task run follows the listings while the flow takes each
    batch of prepared pages, and `load-web-batch-<n>` loads it while the next
    one is taken. A bug here fails the sources not yet done,
    never the run."""
    if not web:
        return
    # The run's extraction pool (or the Dask cluster's executor) ends with its web sources, after their frontier.
    with extraction_executor(settings.extract_processes) as pool:
        try:
            _crawl(run_id, web, batch_size, settings, progress, pool)
        finally:
            frontier.close_frontier(run_id)


def _crawl(
    run_id: int, web: list[Source], batch_size: int, settings: Settings, progress: _Progress, pool: Executor
) -> None:
    """The web sources' pipeline, its pages prepared in `pool`, followed to its end."""
    pipeline = frontier.open_pipeline(
        run_id,
        web,
        get_engine(settings),
        FetchSettings.from_settings(settings),
        pool,
        settings.pages_in_flight,
        batch_size,
    )
    progress.follow(pipeline.fetched, pipeline.listed)
    try:
        with (
            garbage.crawl_pace(),
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsdesk-listings") as thread,
        ):
            listing = thread.submit(contextvars.copy_context().run, discover_web, run_id)
            loading = None
            batch_no = 0
            while not pipeline.exhausted():
                batch_no += 1
                # Waited for here, in the flow, not in a task run of its own: a
                # task run costs the Prefect server CPU, which a crawl's cores
                # are better spent extracting with (docs/decisions.md).
                batch = pipeline.next_batch(batch_size)
                if not batch.parts:
                    continue
                future = load_web_batch.submit(run_id, batch_no, batch)
                # Its pages leave the flight as soon as it is loaded, not when the
                # flow gets to it: the next batch may be waiting for their room.
                future.add_done_callback(partial(_release, pipeline, batch))
                if loading:
                    _settle_web(run_id, pipeline, *loading, progress)
                loading = (batch, future)
            if loading:
                _settle_web(run_id, pipeline, *loading, progress)
            listing.result()
    except Exception as exc:  # a bug or a lost connection: the sources not done fail, the run goes on
        reason = f"{type(exc).__name__}: {exc}"
        unfinished = [source for source in web if not pipeline.source_finished(source.name)]
        get_run_logger().error("web sources failed: %s", printable(reason))
        record_web_failures(run_id, 0, [(s.name, [s.locator]) for s in unfinished], "discover", reason)
    finally:
        for source in web:
            progress.source_done(source.name)


def _release(pipeline: WebPipeline, batch: WebBatch, _load: PrefectFuture) -> None:
    pipeline.release(batch)


def _settle_web(
    run_id: int, pipeline: WebPipeline, batch: WebBatch, loaded: PrefectFuture, progress: _Progress
) -> None:
    """Wait for a web batch's load; if it could not be loaded, its items become `failed`."""
    if reason := _load_failure(batch.number, loaded):
        get_run_logger().error("web %s", printable(reason))
        record_web_failures(run_id, batch.number, batch.locators(), "load", reason)
    pipeline.settled(batch)
    for name, items in batch.parts:
        progress.batch_settled(name, len(items))
        if pipeline.source_finished(name):
            progress.source_done(name)


def _files_to_read(run_id: int, source: Source, batch_size: int) -> Iterator[list[FileEntry]]:
    """Batches of the source's new and changed files, as the listing streams
    in (unchanged files are counted by `skip_unchanged` and never read): memory
    holds a chunk of the listing and the batches in flight, not the corpus."""
    pending: list[FileEntry] = []
    try:
        listing = list_files(source)
        for chunk_no, chunk in enumerate(_chunks(listing, LISTING_CHUNK), start=1):
            pending += skip_unchanged(run_id, source.name, chunk_no, chunk)
            while len(pending) >= batch_size:
                yield pending[:batch_size]
                pending = pending[batch_size:]
    except (SourceError, OSError) as exc:
        get_run_logger().error("source %s: %s", printable(source.name), printable(exc))
        record_failures(run_id, source.name, 0, [source.locator], "discover", str(exc))
    if pending:
        yield pending


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _process(
    run_id: int,
    source: Source,
    batches: Iterable[list],
    step: Callable[[Source, int, list], PrefectFuture],
    slots: int,
    progress: _Progress,
) -> None:
    """Submit `step` (clean or fetch) then `load_batch` for each batch: the next
    batch is prepared while the last one loads, so memory holds a few batches,
    never the source.

    Loads go one after another in discovery order, so the first copy of a story
    seen is the one that becomes canonical, run after run. Each waits for the
    one before it here, in the flow, rather than through Prefect's `wait_for`:
    a failed load must not stop the next (its items become `failed` in
    `_settle`), and threads and Dask workers then order them alike."""
    preparing: deque = deque()
    loading = None  # (batch number, its locators, the future of its load)
    for batch_no, batch in enumerate(batches, start=1):
        # As many cleans at once as the runner has CPU slots: one in threads
        # (cleaning is CPU-bound Python, and threads running it side by side
        # only fight over the GIL), one per worker process otherwise.
        while len(preparing) >= slots:
            preparing.popleft().wait()
        # A future: Prefect hands its result to the load when it is done.
        prepared: Any = step(source, batch_no, batch)
        preparing.append(prepared)
        if loading:
            _settle(run_id, source.name, *loading)
            progress.batch_settled(source.name, len(loading[1]))
        locators = [item.path for item in batch]
        loading = (batch_no, locators, load_batch.submit(run_id, source.name, batch_no, prepared))
    if loading:
        _settle(run_id, source.name, *loading)
        progress.batch_settled(source.name, len(loading[1]))


def _settle(run_id: int, source_name: str, batch_no: int, batch: list[str], loaded) -> None:
    """Wait for a batch; if it could not be loaded, its items become `failed`."""
    if reason := _load_failure(batch_no, loaded):
        get_run_logger().error("source %s: %s", printable(source_name), printable(reason))
        record_failures(run_id, source_name, batch_no, batch, "load", reason)


def _load_failure(batch_no: int, loaded: PrefectFuture) -> str | None:
    """Wait for a batch's load: why it was not loaded, or None when it was."""
    try:
        outcome = loaded.result(raise_on_failure=False)
    except Exception as exc:  # the load never ran: its clean failed, or its Dask worker died
        outcome = exc
    if isinstance(outcome, BaseException):
        return f"batch {batch_no} not loaded: {type(outcome).__name__}: {outcome}"
    return None


def _publish(engine: Engine, record: runs.RunRecord, health: runs.RunHealth | None) -> None:
    """The run's artifacts, every run: counts per source with a health column
    and a totals row, and the rejections (saying "none" when there were none)."""
    logger = get_run_logger()
    failing = {f.source for f in health.failing_sources} if health else set()
    table = [
        {
            "source": printable(row.source),
            "health": _source_health(row, failing),
            **{outcome: row[f"n_{outcome}"] for outcome in ("discovered", *OUTCOMES)},
        }
        for row in record.sources
    ]
    table.append(
        {
            "source": "(total)",
            "health": "failing" if record.status != "completed" else ("rejections" if record.n_rejected else "ok"),
            **{outcome: record[f"n_{outcome}"] for outcome in ("discovered", *OUTCOMES)},
        }
    )
    create_table_artifact(
        key="ingest-counts",
        table=table,
        description=f"Run {record.id}: items per source and outcome; health is ok, rejections or failing",
    )
    total = record.n_rejected + record.n_failed
    lines = [f"# Run {record.id}: {plural(total, 'item')} rejected or failed"]
    if record.error and record.status != "completed":
        lines += ["", f"The run {record.status}: {record.error}"]
    if total:
        shown = runs.rejections(engine, record.id, limit=REJECTIONS_SHOWN)
        lines += ["", "| source | locator | outcome | stage | reason |", "|---|---|---|---|---|"]
        lines += [
            f"| {_cell(r['source'])} | `{_cell(r['locator'])}` | {r['outcome']} | {r['stage']} | {_cell(r['reason'])} |"
            for r in shown
        ]
        if total > len(shown):
            lines.append(
                f"\n…and {total - len(shown)} more: `SELECT * FROM newsdesk.rejections WHERE run_id = {record.id}`"
            )
    else:
        lines += ["", "none"]
    create_markdown_artifact(
        key="ingest-rejections",
        markdown="\n".join(lines),
        description=f"Run {record.id}: every item rejected (bad input) or failed (retry next run), with the reason",
    )
    counted = sum(record[f"n_{outcome}"] for outcome in OUTCOMES)
    if counted != record.n_discovered:
        logger.error("counts do not add up: %d discovered, %d with an outcome", record.n_discovered, counted)
    for failure in health.failing_sources if health else []:
        logger.error(
            # The URL in brackets: a UI that links URLs in logs would take a colon after it for part of it.
            "source %s failed (%s): %s",
            printable(failure.source),
            printable(failure.locator),
            printable(failure.reason),
        )
    logger.info("run %d %s: %s", record.id, record.status, _headline(record))


def _cell(text: object) -> str:
    """A value for a cell of a markdown table: one line, its pipes and backticks escaped."""
    return printable(text).replace("|", "\\|").replace("`", "'")


def _source_health(row: runs.SourceCounts, failing: set[str]) -> str:
    if row.source in failing or row.n_failed:
        return "failing"
    return "rejections" if row.n_rejected else "ok"


# A work-pool worker loads this entrypoint in the run's own process: the run gets
# the task runner that environment asks for (NEWSDESK_TASK_RUNNER, flows/runners.py).
ingest = as_configured(ingest)
