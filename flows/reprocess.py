"""The reprocess flow: every stored raw document cleaned again with the current
cleaner, without fetching or reading any source, as a run of its own
(`ingest_runs.kind = 'reprocess'`). Run it after improving a cleaning rule.
"""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from newsdesk.config import Settings
from newsdesk.database import get_engine
from newsdesk.tasks.steps import reprocess_batch
from newsdesk.tasks.store import reprocess, runs


def _run_name() -> str:
    return f"reprocess-{datetime.now(UTC):%Y-%m-%d-%H%M%S}"


@flow(name="reprocess", flow_run_name=_run_name)
def reprocess_stored(batch_size: int | None = None) -> runs.RunRecord:
    settings = Settings.from_env()
    batch_size = batch_size or settings.batch_size
    engine = get_engine(settings)
    with runs.recorded_run(engine, flow_run_id=flow_run.id, sources_file=None, kind="reprocess") as run:
        ids = reprocess.current_document_ids(engine)
        get_run_logger().info("run %d: reprocessing %d stored documents", run.id, len(ids))
        futures = [
            reprocess_batch.submit(run.id, batch_no, ids[start : start + batch_size])
            for batch_no, start in enumerate(range(0, len(ids), batch_size), start=1)
        ]
        for future in futures:
            future.result()
    assert run.record is not None  # set when the block ends without raising
    return run.record
