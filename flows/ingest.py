"""The ingest flow: every source in a sources.toml, discovered, cleaned,
deduplicated and loaded into PostgreSQL, with a row in `newsdesk.ingest_runs`.

Operators see one flow run per ingest, named by its start time; task runs per
source and listing chunk (`discover-<source>-<n>`, 5,000 files each; web
sources `discover-<source>`) and per batch (`clean-<source>-batch-<n>`,
`load-<source>-batch-<n>`); a table artifact of counts per source and outcome;
a markdown artifact listing rejections; a progress artifact; and at the end an
event `newsdesk.ingest.completed` (or `.failed`) carrying the run's counts.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import cast
from uuid import UUID

from prefect import flow, get_run_logger
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.events import emit_event
from prefect.runtime import flow_run
from sqlalchemy.engine import Engine

from newsdesk.config import Settings
from newsdesk.database import get_engine
from newsdesk.flows.runners import parallel_slots
from newsdesk.tasks.files import FileEntry, list_files
from newsdesk.tasks.records import OUTCOMES, Batch
from newsdesk.tasks.sources import WEB_KINDS, Source, SourceError, load_sources
from newsdesk.tasks.steps import clean_batch, discover_web, fetch_batch, load_batch, record_failures, skip_unchanged
from newsdesk.tasks.store import runs

# Files listed and checked against the stored ones per query (one `discover` task run each).
LISTING_CHUNK = 5000
REJECTIONS_SHOWN = 50


def _run_name() -> str:
    return f"ingest-{datetime.now(UTC):%Y-%m-%d-%H%M%S}"


@flow(name="ingest", flow_run_name=_run_name, log_prints=False)
def ingest(sources_file: str = "seeds/sources.toml", batch_size: int | None = None) -> runs.RunRecord:
    """Ingest every source of `sources_file` once; returns the run record with
    counts per source."""
    logger = get_run_logger()
    settings = Settings.from_env()
    batch_size = batch_size or settings.batch_size
    engine = get_engine(settings)
    run = None
    try:
        with runs.recorded_run(engine, flow_run_id=flow_run.id, sources_file=str(Path(sources_file).resolve())) as run:
            logger.info("run %d started on %s", run.id, sources_file)
            sources = load_sources(sources_file)
            progress = _Progress(len(sources))
            for source in sources:
                _ingest_source(run.id, source, batch_size, progress)
                progress.source_done()
        assert run.record is not None  # set when the block ends without raising
        _publish(engine, run.record)
        return run.record
    finally:
        if run is not None and run.record is not None:
            _announce(run.record)


class _Progress:
    """The run's progress artifact in the Prefect UI: the share of sources done.
    Within a source the number of batches is not known ahead (the listing
    streams), so each loaded batch moves the bar half of the way left to the
    source's end: it moves at every batch and never overshoots."""

    def __init__(self, n_sources: int):
        self.n_sources = max(n_sources, 1)
        self.done = 0
        self.within = 0.0
        # Called from the flow's own (sync) code, so the artifact's id, not a coroutine.
        self.id = cast(
            UUID, create_progress_artifact(0.0, key="ingest-progress", description="Share of the run's sources done")
        )

    def batch_settled(self) -> None:
        self.within += (1 - self.within) / 2
        update_progress_artifact(self.id, round(100 * (self.done + self.within) / self.n_sources, 1))

    def source_done(self) -> None:
        self.done += 1
        self.within = 0.0
        update_progress_artifact(self.id, round(100 * self.done / self.n_sources, 1))


def _announce(record: runs.RunRecord) -> None:
    """An event per finished run (`newsdesk.ingest.completed` or `.failed`) with its
    counts, for Prefect automations and anything else listening."""
    emit_event(
        event=f"newsdesk.ingest.{record.status}",
        resource={
            "prefect.resource.id": f"newsdesk.ingest-run.{record.id}",
            "prefect.resource.name": f"ingest run {record.id}",
        },
        related=[{"prefect.resource.id": f"prefect.flow-run.{flow_run.id}", "prefect.resource.role": "flow-run"}],
        payload={
            "run_id": record.id,
            "status": record.status,
            "error": record.error,
            **{f"n_{o}": record[f"n_{o}"] for o in ("discovered", *OUTCOMES)},
        },
    )


def _ingest_source(run_id: int, source: Source, batch_size: int, progress: _Progress) -> None:
    if source.kind in WEB_KINDS:
        found = discover_web(source)
        if found.problems:
            load_batch(run_id, source.name, 0, Batch(found.problems))
        # Fetches go one at a time whatever the runner: the politeness limits per
        # host hold within one fetch step, not across several.
        _process(run_id, source, _chunks(found.items, batch_size), fetch_batch, 1, progress)
    else:
        _process(run_id, source, _files_to_read(run_id, source, batch_size), clean_batch, parallel_slots(), progress)


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
        get_run_logger().error("source %s: %s", source.name, exc)
        record_failures(run_id, source.name, 0, [source.locator], "discover", str(exc))
    if pending:
        yield pending


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _process(run_id: int, source: Source, batches: Iterable[list], step, slots: int, progress: _Progress) -> None:
    """Run `step` (clean or fetch) then `load_batch` over each batch: the next
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
        prepared = step.submit(source.name, batch_no, Batch(batch))
        preparing.append(prepared)
        if loading:
            _settle(run_id, source.name, *loading)
            progress.batch_settled()
        locators = [item.path if isinstance(item, FileEntry) else item.url for item in batch]
        loading = (batch_no, locators, load_batch.submit(run_id, source.name, batch_no, prepared))
    if loading:
        _settle(run_id, source.name, *loading)
        progress.batch_settled()


def _settle(run_id: int, source_name: str, batch_no: int, batch: list[str], loaded) -> None:
    """Wait for a batch; if it could not be loaded, its items become `failed`."""
    try:
        outcome = loaded.result(raise_on_failure=False)
    except Exception as exc:  # the load never ran: its clean failed, or its Dask worker died
        outcome = exc
    if isinstance(outcome, BaseException):
        reason = f"batch {batch_no} not loaded: {type(outcome).__name__}: {outcome}"
        get_run_logger().error("source %s: %s", source_name, reason)
        record_failures(run_id, source_name, batch_no, batch, "load", reason)


def _publish(engine: Engine, record: runs.RunRecord) -> None:
    logger = get_run_logger()
    table = [
        {"source": row.source, **{outcome: row[f"n_{outcome}"] for outcome in ("discovered", *OUTCOMES)}}
        for row in record.sources
    ]
    create_table_artifact(
        key="ingest-counts", table=table, description=f"Run {record.id}: items per source and outcome"
    )
    total = record.n_rejected + record.n_failed
    if total:
        shown = runs.rejections(engine, record.id, limit=REJECTIONS_SHOWN)
        lines = [
            f"# Run {record.id}: {total} rejected or failed",
            "",
            "| source | locator | outcome | stage | reason |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['source']} | `{r['locator']}` | {r['outcome']} | {r['stage']} | {r['reason']} |" for r in shown
        ]
        if total > len(shown):
            lines.append(
                f"\n…and {total - len(shown)} more: `SELECT * FROM newsdesk.rejections WHERE run_id = {record.id}`"
            )
        create_markdown_artifact(key="ingest-rejections", markdown="\n".join(lines))
    counted = sum(record[f"n_{outcome}"] for outcome in OUTCOMES)
    if counted != record.n_discovered:
        logger.error("counts do not add up: %d discovered, %d with an outcome", record.n_discovered, counted)
    logger.info(
        "run %d completed: %s",
        record.id,
        ", ".join(f"{record[f'n_{o}']} {o}" for o in ("discovered", *OUTCOMES)),
    )
