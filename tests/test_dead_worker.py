"""A run whose process dies (SIGKILL, as when its machine goes) becomes Crashed
in Prefect, through docs/scale.md's heartbeat automation, and in ingest_runs."""

from __future__ import annotations

import re
import signal
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from newsdesk.tasks.store import runs
from tests.helpers import fetch
from tests.test_faults import Gate, admin, child_env, run_lock_held, start_ingest, wait_for, write_stories

__all__ = ["admin"]  # the fixture, used by name

pytestmark = pytest.mark.usefixtures("prefect_server")

DOCS = Path(__file__).resolve().parents[1] / "docs" / "scale.md"


def zombie_automation(within: int):
    """The automation as docs/scale.md gives it, with a shorter window for the test."""
    from prefect.events.schemas.automations import AutomationCore

    [block] = re.findall(r"```yaml\n(# crash-zombies\.yaml.*?)```", DOCS.read_text(), re.S)
    [automation] = yaml.safe_load(block)["automations"]
    parsed = AutomationCore.model_validate(automation)
    assert parsed.trigger.within == timedelta(seconds=300)  # as documented
    parsed.trigger.within = timedelta(seconds=within)
    parsed.name = f"{parsed.name}-{uuid.uuid4().hex[:6]}"
    return parsed


def test_a_killed_runs_flow_run_and_run_row_become_crashed(db, corpus, admin, database_url, tmp_path):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        automation_id = client.create_automation(zombie_automation(within=45))
    write_stories(corpus, 30)
    corpus.configure()
    env = {**child_env(database_url, tmp_path), "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30"}
    try:
        with Gate(admin, "/012.txt") as gate:
            child = start_ingest(corpus.sources, env, tmp_path / "child.log", 5)
            try:
                gate.stopped(alive=lambda: child.poll() is None)
                [row] = fetch(db, "SELECT * FROM newsdesk.ingest_runs")
                assert row["status"] == "running" and row["flow_run_id"] is not None
                child.send_signal(signal.SIGKILL)
                assert child.wait(timeout=10) == -signal.SIGKILL
            finally:
                if child.poll() is None:
                    child.kill()
                    child.wait()
            gate.release()
            wait_for(lambda: not run_lock_held(admin, row["id"]), 20, "the killed run's session to end")

        with get_client(sync_client=True) as client:
            assert client.read_flow_run(row["flow_run_id"]).state.type.value == "RUNNING"  # nobody told Prefect
            state = wait_for(
                lambda: (s := client.read_flow_run(row["flow_run_id"]).state) and s.is_crashed() and s,
                240,
                "Prefect to mark the killed flow run Crashed",
                poll=2,
            )
        assert "No heartbeat" in state.message

        # ingest_runs: `newsdesk runs` (runs.history) shows it crashed, without a new run.
        [listed] = [r for r in runs.history(db) if r["id"] == row["id"]]
        assert listed["status"] == "crashed" and "stopped before finishing" in listed["error"]
    finally:
        with get_client(sync_client=True) as client:
            client.delete_automation(automation_id)
