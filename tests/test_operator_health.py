"""What an operator sees of a bad run and of a good one, read back from a real
Prefect API (the session's test server): the run's state and message, its tags,
an event per failing source, and artifacts on every run."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import pytest

from tests.helpers import fetch
from tests.texts import distinct_story

pytestmark = pytest.mark.usefixtures("prefect_server")


async def _flow_run(flow_run_id):
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        return await client.read_flow_run(flow_run_id)


async def _artifacts(flow_run_id):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return {artifact.key: artifact for artifact in found}


async def _events(name: str, flow_run_id):
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter, EventRelatedFilter

    async with get_client() as client:
        page = await client.read_events(
            EventFilter(
                event=EventNameFilter(name=[name]), related=EventRelatedFilter(id=[f"prefect.flow-run.{flow_run_id}"])
            ),
            limit=50,
        )
    return page.events


def _eventually(read, ready, tries: int = 50):
    """Events and artifacts reach the API in the background: read until `ready`."""
    value = read()
    for _ in range(tries):
        if ready(value):
            break
        time.sleep(0.2)
        value = read()
    return value


def _table(artifact) -> list[dict]:
    data = artifact.data
    return json.loads(data) if isinstance(data, str) else data


def test_a_dead_source_and_an_always_503_page_make_a_run_that_is_not_clean(db, tmp_path, httpserver, monkeypatch):
    from newsdesk.flows.ingest import ingest
    from newsdesk.flows.runners import run

    monkeypatch.setenv("NEWSDESK_HOST_DELAY", "0")
    monkeypatch.setenv("NEWSDESK_FETCH_RETRIES", "1")
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
    httpserver.expect_request("/busy").respond_with_data("busy", status=503)
    with socket.socket() as closed:
        closed.bind(("127.0.0.9", 0))
        dead = f"http://127.0.0.9:{closed.getsockname()[1]}/feed.xml"
    sources = tmp_path / "sources.toml"
    sources.write_text(
        f'[[source]]\nname = "dead"\nkind = "feed"\nurl = "{dead}"\n\n'
        f'[[source]]\nname = "busy"\nkind = "page"\nurls = ["{httpserver.url_for("/busy")}"]\n'
    )
    record = run(ingest, sources_file=str(sources))  # as `newsdesk ingest` runs it: tagged, record kept

    assert record["status"] == "failed" and (record["n_discovered"], record["n_failed"]) == (2, 2)
    [stored] = fetch(db, "SELECT status, error FROM newsdesk.ingest_runs")
    assert stored["status"] == "failed"
    assert stored["error"] == (
        "2 sources failing (busy: gave up after 2 attempts: HTTP 503;"
        " dead: robots.txt unreachable: connection refused), 2 items failed"
    )
    flow_run = asyncio.run(_flow_run(record["flow_run_id"]))
    assert flow_run.state.is_failed()  # red in the runs list and on the dashboard
    assert flow_run.state.message == f"{stored['error']} | 2 items: 2 failed"
    assert {"newsdesk", "sources:sources.toml"} <= set(flow_run.tags)

    events = _eventually(
        lambda: asyncio.run(_events("newsdesk.source.failed", record["flow_run_id"])), lambda e: len(e) == 2
    )
    by_source = {event.payload["source"]: event.payload for event in events}
    assert by_source["dead"] == {
        "source": "dead",
        "url": dead,
        "reason": "robots.txt unreachable: connection refused",
        "run_id": record["id"],
    }
    assert by_source["busy"]["reason"] == "gave up after 2 attempts: HTTP 503"

    artifacts = _eventually(lambda: asyncio.run(_artifacts(record["flow_run_id"])), lambda a: "ingest-rejections" in a)
    rows = {row["source"]: row for row in _table(artifacts["ingest-counts"])}
    assert rows["dead"]["health"] == "failing" and rows["busy"]["health"] == "failing"
    assert rows["(total)"]["discovered"] == 2 and rows["(total)"]["failed"] == 2
    rejections = artifacts["ingest-rejections"]
    assert rejections.description and "connection refused" in rejections.data


def test_a_clean_run_publishes_its_own_none(db, corpus):
    from newsdesk.flows.ingest import ingest

    for i in range(3):
        corpus.write(f"{i}.txt", distinct_story(300 + i))
    corpus.configure()
    record = ingest(sources_file=str(corpus.sources))
    assert record["status"] == "completed"
    flow_run = asyncio.run(_flow_run(record["flow_run_id"]))
    assert flow_run.state.is_completed() and flow_run.state.message == "3 items: 3 inserted"
    artifacts = _eventually(lambda: asyncio.run(_artifacts(record["flow_run_id"])), lambda a: "ingest-rejections" in a)
    assert artifacts["ingest-rejections"].data.endswith("none")
    assert [row["health"] for row in _table(artifacts["ingest-counts"])] == ["ok", "ok"]
    assert float(artifacts["ingest-progress"].data) == 100.0
