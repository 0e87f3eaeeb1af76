"""The ingest flow: every source in a sources.toml, discovered, cleaned,
deduplicated and loaded into PostgreSQL, with a row in `newsdesk.ingest_runs`.

Operators see one flow run per ingest, named by its start time; task runs per
source (`discover-<source>`) and per batch (`clean-<source>-batch-<n>`,
`load-<source>-batch-<n>`); a table artifact of counts per source and outcome;
a markdown artifact listing rejections.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timezone
from pathlib import Path

from prefect import allow_failure, flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.runtime import flow_run

from newsdesk.config import Settings
from newsdesk.database import get_engine
from tasks import runs
from tasks.records import OUTCOMES, Batch
from tasks.sources import WEB_KINDS, Source, SourceError, load_sources
from tasks.steps import clean_batch, discover, discover_web, fetch_batch, load_batch, record_failures

# Batches being cleaned or loaded at once: enough to keep cleaning (CPU, here)
# and loading (PostgreSQL, another process) busy together; few enough that
# memory stays bounded by the batch size, not by the corpus.
IN_FLIGHT_BATCHES = 3
REJECTIONS_SHOWN = 50


def _run_name() -> str:
    return f"ingest-{datetime.now(timezone.utc):%Y-%m-%d-%H%M%S}"


@flow(name="ingest", flow_run_name=_run_name, log_prints=False)
def ingest(sources_file: str = "seeds/sources.toml", batch_size: int | None = None) -> dict:
    """Ingest every source of `sources_file` once; returns the run record with
    counts per source."""
    logger = get_run_logger()
    settings = Settings.from_env()
    batch_size = batch_size or settings.batch_size
    engine = get_engine(settings)
    with runs.recorded_run(engine, flow_run_id=flow_run.id, sources_file=str(Path(sources_file).resolve())) as run:
        logger.info("run %d started on %s", run.id, sources_file)
        for source in load_sources(sources_file):
            _ingest_source(run.id, source, batch_size)
    record = run.record
    _publish(engine, record)
    return record


def _ingest_source(run_id: int, source: Source, batch_size: int) -> None:
    logger = get_run_logger()
    if source.kind in WEB_KINDS:
        found = discover_web(source)
        if found.problems:
            load_batch(run_id, source.name, 0, Batch(found.problems))
        items, step = found.items, fetch_batch
    else:
        try:
            items, step = discover(source), clean_batch
        except SourceError as exc:
            logger.error("%s", exc)
            record_failures(run_id, source.name, 0, [source.locator], "discover", str(exc))
            return

    in_flight: deque = deque()
    preparing = loaded = None
    for batch_no, start in enumerate(range(0, len(items), batch_size), start=1):
        batch = items[start : start + batch_size]
        # One clean (or fetch) at a time: cleaning is CPU-bound Python, and
        # threads running it side by side only fight over the GIL. Loads, which
        # mostly wait on PostgreSQL, overlap with the next batch.
        if preparing is not None:
            preparing.wait()
        preparing = step.submit(source.name, batch_no, batch)
        # Loads go in discovery order, so the first copy of a story seen is the
        # one that becomes canonical, run after run; a failed load does not stop
        # the next (its items are recorded as failed in `_settle`).
        loaded = load_batch.submit(run_id, source.name, batch_no, preparing, wait_for=[allow_failure(loaded)] if loaded else None)
        in_flight.append((batch_no, [getattr(i, "url", i) for i in batch], loaded))
        if len(in_flight) >= IN_FLIGHT_BATCHES:
            _settle(run_id, source.name, *in_flight.popleft())
    while in_flight:
        _settle(run_id, source.name, *in_flight.popleft())


def _settle(run_id: int, source_name: str, batch_no: int, batch: list[str], loaded) -> None:
    """Wait for a batch; if it could not be loaded, its items become `failed`."""
    outcome = loaded.result(raise_on_failure=False)
    if isinstance(outcome, BaseException):
        reason = f"batch {batch_no} not loaded: {type(outcome).__name__}: {outcome}"
        get_run_logger().error("source %s: %s", source_name, reason)
        record_failures(run_id, source_name, batch_no, batch, "load", reason)


def _publish(engine, record: dict) -> None:
    logger = get_run_logger()
    table = [
        {"source": row["source"], **{outcome: row[f"n_{outcome}"] for outcome in ("discovered", *OUTCOMES)}}
        for row in record["sources"]
    ]
    create_table_artifact(
        key="ingest-counts", table=table, description=f"Run {record['id']}: items per source and outcome"
    )
    total = record["n_rejected"] + record["n_failed"]
    if total:
        shown = runs.rejections(engine, record["id"], limit=REJECTIONS_SHOWN)
        lines = [f"# Run {record['id']}: {total} rejected or failed", "",
                 "| source | locator | outcome | stage | reason |", "|---|---|---|---|---|"]  # fmt: skip
        lines += [f"| {r['source']} | `{r['locator']}` | {r['outcome']} | {r['stage']} | {r['reason']} |" for r in shown]
        if total > len(shown):
            lines.append(f"\n…and {total - len(shown)} more: `SELECT * FROM newsdesk.rejections WHERE run_id = {record['id']}`")
        create_markdown_artifact(key="ingest-rejections", markdown="\n".join(lines))
    counted = sum(record[f"n_{outcome}"] for outcome in OUTCOMES)
    if counted != record["n_discovered"]:
        logger.error("counts do not add up: %d discovered, %d with an outcome", record["n_discovered"], counted)
    logger.info(
        "run %d completed: %s",
        record["id"],
        ", ".join(f"{record[f'n_{o}']} {o}" for o in ("discovered", *OUTCOMES)),
    )

