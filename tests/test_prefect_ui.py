"""What an operator sees in the Prefect UI, read back from a real Prefect API
(the session's test server): one completed flow run named by date, task runs
per batch and not per article, the artifacts, and the end-of-run event."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime

import pytest

from newsdesk.tasks.records import OUTCOMES
from tests.helpers import fetch
from tests.texts import distinct_story

pytestmark = pytest.mark.usefixtures("prefect_server")


async def _ui_view(flow_run_id):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, FlowRunFilter, FlowRunFilterId

    async with get_client() as client:
        flow_run = await client.read_flow_run(flow_run_id)
        task_runs = await client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
        return flow_run, task_runs, artifacts


async def _events(name: str, flow_run_id):
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter, EventRelatedFilter

    async with get_client() as client:
        page = await client.read_events(
            EventFilter(
                event=EventNameFilter(name=[name]), related=EventRelatedFilter(id=[f"prefect.flow-run.{flow_run_id}"])
            ),
            limit=50,  # the client's default (100) is more than the API accepts
        )
        return page.events


def test_a_run_as_the_operator_sees_it(db, corpus):
    from newsdesk.flows.ingest import ingest

    for i in range(60):
        corpus.write(f"{i:03}.txt", distinct_story(100 + i))
    corpus.write("empty.txt", "")
    corpus.configure()
    record = ingest(sources_file=str(corpus.sources), batch_size=10)
    assert (record["n_discovered"], record["n_inserted"], record["n_rejected"]) == (61, 60, 1)

    # Task-run states reach the API in the background: give the last ones a moment.
    for _ in range(50):
        flow_run, task_runs, artifacts = asyncio.run(_ui_view(record["flow_run_id"]))
        if len(task_runs) == 15 and all(t.state.is_completed() for t in task_runs):
            break
        time.sleep(0.2)
    assert flow_run.state.is_completed() and flow_run.name.startswith("ingest-20")
    names = sorted(t.name for t in task_runs)
    # 61 items in batches of 10: 7 batches, one clean and one load each, one discovery.
    assert len(names) == 15 and len(names) < record["n_discovered"] / 4
    assert names[0] == "clean-local-batch-1" and "discover-local-1" in names and "load-local-batch-7" in names
    assert all(t.state.is_completed() for t in task_runs)

    by_key = {a.key: a for a in artifacts}
    assert by_key["ingest-counts"].type == "table"
    table = by_key["ingest-counts"].data
    rows = json.loads(table) if isinstance(table, str) else table
    assert rows[0]["source"] == "local" and rows[0]["inserted"] == 60 and rows[0]["rejected"] == 1
    assert by_key["ingest-rejections"].type == "markdown" and "empty.txt" in by_key["ingest-rejections"].data
    assert by_key["ingest-progress"].type == "progress" and float(by_key["ingest-progress"].data) == 100.0

    events = []
    for _ in range(50):  # events reach the API asynchronously
        events = asyncio.run(_events("newsdesk.ingest.completed", record["flow_run_id"]))
        if events:
            break
        time.sleep(0.2)
    assert len(events) == 1
    assert events[0].resource.id == f"newsdesk.ingest-run.{record['id']}"
    assert events[0].payload["n_inserted"] == 60 and events[0].payload["n_rejected"] == 1


def test_a_failed_run_is_announced_with_its_error(db, tmp_path):
    from newsdesk.flows.ingest import ingest

    bad = tmp_path / "sources.toml"
    bad.write_text("[[source]]\nname = 'x'\nkind = 'carrier-pigeon'\n")
    state = ingest(sources_file=str(bad), return_state=True)
    assert state.is_failed()
    [run] = fetch(db, "SELECT id, status, flow_run_id FROM newsdesk.ingest_runs")
    assert run["status"] == "failed"
    events = []
    for _ in range(50):
        events = asyncio.run(_events("newsdesk.ingest.failed", run["flow_run_id"]))
        if events:
            break
        time.sleep(0.2)
    assert len(events) == 1 and "carrier-pigeon" in events[0].payload["error"]
    # A run that stopped on an error publishes its artifacts too, saying why.
    _, _, artifacts = asyncio.run(_ui_view(run["flow_run_id"]))
    by_key = {a.key: a for a in artifacts}
    table = by_key["ingest-counts"].data
    rows = json.loads(table) if isinstance(table, str) else table
    assert rows == [{"source": "(total)", "health": "failing", "discovered": 0, **dict.fromkeys(OUTCOMES, 0)}]
    rejections = by_key["ingest-rejections"].data
    assert "The run failed: SourceError: " in rejections, rejections
    assert "sources.toml:3: source 'x': kind must be one of" in rejections, rejections


def test_two_runs_started_in_the_same_second_have_different_names(db, corpus):
    from unittest import mock

    from newsdesk.flows.ingest import ingest

    corpus.write("a.txt", distinct_story(1))
    corpus.configure()
    frozen = datetime(2026, 12, 1, 6, 0, 0, tzinfo=UTC)
    with mock.patch("newsdesk.flows.ingest.datetime", wraps=datetime) as clock:
        clock.now.return_value = frozen  # both runs start "at" 06:00:00
        states = [ingest(sources_file=str(corpus.sources), return_state=True) for _ in range(2)]
    names = [asyncio.run(_ui_view(state.state_details.flow_run_id))[0].name for state in states]
    assert names[0].startswith("ingest-2026-12-01-060000-") and names[1].startswith("ingest-2026-12-01-060000-")
    assert names[0] != names[1]
