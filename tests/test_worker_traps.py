"""Runs started by workers: the `sources:` tag names the file a run reads, and a
run asked for Dask gets it or fails saying why (flows/runners.py)."""

from __future__ import annotations

import pytest
from prefect import flow, tags

from newsdesk.flows.runners import TaskRunnerMismatch, check_task_runner, record_of
from tests.helpers import fetch

pytestmark = pytest.mark.usefixtures("prefect_server")


def test_a_run_is_tagged_with_the_file_it_reads(db, corpus):
    from prefect.client.orchestration import get_client

    from newsdesk.flows.ingest import ingest

    corpus.write("a.txt", "A short article body that is long enough to keep.")
    other = corpus.sources.with_name("other-day.toml")
    other.write_text(corpus.configure().read_text())
    # As a deployment's run is tagged from prefect.yaml, whatever file it is given.
    with tags("newsdesk", "sources:sources.toml"):
        record = record_of(ingest(sources_file=str(other), return_state=True))
    [row] = fetch(db, "SELECT flow_run_id FROM newsdesk.ingest_runs WHERE id = :id", id=record["id"])
    with get_client(sync_client=True) as client:
        run_tags = client.read_flow_run(row["flow_run_id"]).tags
    assert "sources:other-day.toml" in run_tags and "sources:sources.toml" not in run_tags
    assert "newsdesk" in run_tags


def test_a_run_asked_for_dask_without_it_fails_saying_why(monkeypatch):
    from newsdesk.config import Settings

    monkeypatch.setenv("NEWSDESK_TASK_RUNNER", "dask")

    @flow
    def on_threads() -> None:
        check_task_runner(Settings.from_env())

    state = on_threads(return_state=True)
    assert state.is_failed()
    with pytest.raises(TaskRunnerMismatch, match="NEWSDESK_TASK_RUNNER=dask.*ThreadPoolTaskRunner"):
        state.result()


def test_the_deployed_entrypoint_takes_the_runner_from_its_environment(monkeypatch):
    """What a work-pool worker does: load flows/ingest.py:ingest in the run's process."""
    from pathlib import Path

    from prefect.flows import load_flow_from_entrypoint
    from prefect_dask import DaskTaskRunner

    root = Path(__file__).resolve().parents[1]
    monkeypatch.setenv("NEWSDESK_TASK_RUNNER", "dask")
    monkeypatch.setenv("NEWSDESK_DASK_ADDRESS", "tcp://127.0.0.1:8786")
    loaded = load_flow_from_entrypoint(f"{root / 'flows/ingest.py'}:ingest", use_placeholder_flow=False)
    assert isinstance(loaded.task_runner, DaskTaskRunner)
    monkeypatch.setenv("NEWSDESK_TASK_RUNNER", "threads")
    loaded = load_flow_from_entrypoint(f"{root / 'flows/ingest.py'}:ingest", use_placeholder_flow=False)
    assert not isinstance(loaded.task_runner, DaskTaskRunner)
