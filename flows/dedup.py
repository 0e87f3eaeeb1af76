"""The dedup-rebuild flow: every story recomputed from the stored articles with
the current thresholds, as a run of its own (`ingest_runs.kind = 'dedup'`).
Run it after changing NEWSDESK_NEAR_THRESHOLD, NEWSDESK_STORY_THRESHOLD or
NEWSDESK_STORY_WINDOW_DAYS.
"""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow
from prefect.runtime import flow_run

from newsdesk.config import Settings
from newsdesk.database import get_engine
from newsdesk.tasks.steps import rebuild_stories
from newsdesk.tasks.store import runs


def _run_name() -> str:
    return f"dedup-rebuild-{datetime.now(UTC):%Y-%m-%d-%H%M%S}"


@flow(name="dedup-rebuild", flow_run_name=_run_name)
def rebuild_dedup() -> runs.RunRecord:
    engine = get_engine(Settings.from_env())
    with runs.recorded_run(engine, flow_run_id=flow_run.id, sources_file=None, kind="dedup") as run:
        rebuild_stories(run.id)
    assert run.record is not None  # set when the block ends without raising
    return run.record
