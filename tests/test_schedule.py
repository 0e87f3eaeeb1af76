"""The daily schedule: prefect.yaml's deployment, checked against the flow it
names and by Prefect's own loader and `prefect deploy`; `newsdesk serve`,
started as an operator starts it, registering the same deployment on a real
Prefect API."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import sys
import time
import zoneinfo
from pathlib import Path

import pytest
import yaml

from tests.helpers import ROOT

PREFECT_YAML = yaml.safe_load((ROOT / "prefect.yaml").read_text())
[DEPLOYMENT] = PREFECT_YAML["deployments"]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
BIN = Path(sys.executable).parent


def test_the_deployment_runs_the_ingest_flow():
    from prefect import Flow
    from prefect.flows import load_flow_from_entrypoint

    from newsdesk.flows.ingest import ingest

    assert DEPLOYMENT["name"] == "daily-ingest"
    path, function = DEPLOYMENT["entrypoint"].split(":")
    assert path == "flows/ingest.py" and function == "ingest"
    assert isinstance(ingest, Flow) and Path(ingest.fn.__code__.co_filename) == ROOT / path
    loaded = load_flow_from_entrypoint(f"{ROOT / path}:{function}")
    assert loaded.name == ingest.name == "ingest"


def test_the_schedule_is_a_valid_cron_in_a_real_zone_and_the_one_serve_uses():
    from prefect.client.schemas.schedules import CronSchedule

    from newsdesk.flows.serve import DEFAULT_SCHEDULE, DEFAULT_TIMEZONE

    [entry] = DEPLOYMENT["schedules"]
    schedule = CronSchedule(cron=entry["cron"], timezone=entry["timezone"])
    assert (schedule.cron, schedule.timezone) == ("0 6 * * *", "UTC") == (DEFAULT_SCHEDULE, DEFAULT_TIMEZONE)
    assert zoneinfo.ZoneInfo(schedule.timezone)
    assert entry.get("active", True) is True


def test_parameters_are_the_flows_and_name_a_real_sources_file():
    from prefect.utilities.callables import parameter_schema

    from newsdesk.cli import DEFAULT_SOURCES
    from newsdesk.flows.ingest import ingest

    flow_parameters = parameter_schema(ingest).properties
    assert DEPLOYMENT["parameters"] and set(DEPLOYMENT["parameters"]) <= set(flow_parameters)
    sources = DEPLOYMENT["parameters"]["sources_file"]
    assert sources == DEFAULT_SOURCES == flow_parameters["sources_file"]["default"]
    assert (ROOT / sources).is_file()


def test_the_work_pool_is_the_one_the_compose_worker_serves():
    pool = DEPLOYMENT["work_pool"]["name"]
    assert pool == "newsdesk"
    worker = COMPOSE["services"]["worker"]
    command = worker["entrypoint"] + worker["command"]
    assert command[:3] == ["prefect", "worker", "start"]
    assert command[command.index("--pool") + 1] == pool and command[command.index("--type") + 1] == "process"
    deploy = " ".join(COMPOSE["services"]["deploy"]["command"])
    assert f"prefect work-pool create {pool} --type process" in deploy and "deploy --all" in deploy


def test_the_pull_step_moves_a_flow_run_to_the_checkout(prefect_server, tmp_path, monkeypatch):
    """A worker's flow run starts in a temporary folder; NEWSDESK_DIR (the Docker
    image sets it) takes it to the code and the sources file."""
    from prefect.deployments.steps.core import run_steps

    assert PREFECT_YAML["pull"] == [
        {"prefect.deployments.steps.set_working_directory": {"directory": "{{ $NEWSDESK_DIR }}"}}
    ]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSDESK_DIR", str(ROOT))
    outputs = asyncio.run(run_steps(PREFECT_YAML["pull"]))
    assert Path.cwd() == ROOT and outputs["directory"] == str(ROOT)
    assert Path(DEPLOYMENT["entrypoint"].split(":")[0]).is_file()
    assert Path(DEPLOYMENT["parameters"]["sources_file"]).is_file()


def test_prefects_own_loader_accepts_the_file_without_complaint():
    from prefect.cli.deploy._config import _load_deploy_configs_and_actions
    from prefect.cli.deploy._schedules import _schedule_config_to_deployment_schedule
    from rich.console import Console

    said = io.StringIO()
    [config], actions = _load_deploy_configs_and_actions(ROOT / "prefect.yaml", console=Console(file=said))
    assert said.getvalue() == ""
    assert config["name"] == "daily-ingest" and config["work_pool"]["name"] == "newsdesk"
    assert actions["pull"] == PREFECT_YAML["pull"]
    schedule = _schedule_config_to_deployment_schedule(config["schedules"][0])["schedule"]
    assert (schedule.cron, schedule.timezone) == ("0 6 * * *", "UTC")


def test_serve_settings_from_the_environment():
    from newsdesk.flows.serve import ServeSettings

    defaults = ServeSettings.from_env("seeds/sources.toml", environ={})
    assert (defaults.cron, defaults.timezone) == ("0 6 * * *", "UTC")
    assert defaults.parameters() == {"sources_file": "seeds/sources.toml"}
    weekdays = {"NEWSDESK_SCHEDULE": "30 5 * * 1-5", "NEWSDESK_TIMEZONE": "Europe/Paris"}
    schedule = ServeSettings.from_env("s.toml", environ=weekdays).schedule()
    assert (schedule.cron, schedule.timezone) == ("30 5 * * 1-5", "Europe/Paris")
    with pytest.raises(ValueError, match="NEWSDESK_SCHEDULE"):
        ServeSettings.from_env("s.toml", environ={"NEWSDESK_SCHEDULE": "every day at six"})
    with pytest.raises(ValueError, match="NEWSDESK_TIMEZONE"):
        ServeSettings.from_env("s.toml", environ={"NEWSDESK_TIMEZONE": "Paris"})


def _prefect_env(tmp_path, **extra) -> dict[str, str]:
    """This process's environment for a child process, pointed at the session's
    Prefect API, with a Prefect home of its own."""
    from prefect.settings import PREFECT_API_URL

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "NEWSDESK_"))}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        PREFECT_API_URL=PREFECT_API_URL.value(),
        PREFECT_HOME=str(tmp_path / "prefect-home"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        **extra,
    )
    return env


def _read_deployment(name: str):
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            return client.read_deployment_by_name(name)
        except ObjectNotFound:
            return None


def test_serve_refuses_to_run_without_a_prefect_server(tmp_path):
    env = {k: v for k, v in _prefect_env(tmp_path).items() if k != "PREFECT_API_URL"}
    result = subprocess.run([BIN / "newsdesk", "serve"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "PREFECT_API_URL" in result.stderr


@pytest.mark.timeout(600)  # a hang guard: a loaded machine starts Prefect slowly
def test_prefect_deploy_creates_the_deployment_as_compose_runs_it(prefect_server, tmp_path):
    """The compose `deploy` service's command, run here: work pool, then
    `prefect deploy --all` on prefect.yaml."""
    [command] = COMPOSE["services"]["deploy"]["command"]
    result = subprocess.run(
        ["sh", "-c", command], cwd=ROOT, env=_prefect_env(tmp_path), capture_output=True, text=True, timeout=500
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]

    deployment = _read_deployment("ingest/daily-ingest")
    assert deployment.work_pool_name == "newsdesk" and deployment.entrypoint == "flows/ingest.py:ingest"
    assert deployment.parameters == {"sources_file": "seeds/sources.toml"}
    # NEWSDESK_DIR unset when deploying: the worker's own value decides at run time.
    assert deployment.pull_steps == PREFECT_YAML["pull"]
    [schedule] = deployment.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone, schedule.active) == ("0 6 * * *", "UTC", True)


@pytest.mark.timeout(600)  # a hang guard: a loaded machine starts Prefect slowly
def test_newsdesk_serve_registers_the_daily_deployment_on_the_configured_schedule(prefect_server, tmp_path):
    from prefect.client.schemas.objects import DeploymentStatus

    env = _prefect_env(tmp_path, NEWSDESK_SCHEDULE="30 5 * * *", NEWSDESK_TIMEZONE="Europe/Paris")
    log = (tmp_path / "serve.log").open("w")
    serve = subprocess.Popen(
        [BIN / "newsdesk", "serve", "--sources", "seeds/sources.toml"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 400
        while True:
            deployment = _read_deployment("ingest/daily-ingest")
            schedules = [(s.schedule.cron, s.schedule.timezone) for s in deployment.schedules] if deployment else []
            # READY: the process has polled the API for due runs, as it will every few seconds.
            if schedules == [("30 5 * * *", "Europe/Paris")] and deployment.status == DeploymentStatus.READY:
                break
            assert serve.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            assert time.monotonic() < deadline, f"no served deployment yet: {deployment}"
            time.sleep(1)
        assert deployment.schedules[0].active
        assert deployment.parameters == {"sources_file": "seeds/sources.toml"}
        assert deployment.entrypoint == DEPLOYMENT["entrypoint"]
        assert deployment.work_pool_name is None  # served by the process, not by a worker

        assert not deployment.paused
        assert "sources:sources.toml" in deployment.tags and "newsdesk" in deployment.tags
        serve.send_signal(signal.SIGTERM)  # what `docker stop` sends
        time.sleep(0.3)
        serve.send_signal(signal.SIGTERM)  # and an impatient operator, again
        assert serve.wait(timeout=120) == 0, (tmp_path / "serve.log").read_text()[-3000:]
        output = (tmp_path / "serve.log").read_text()
        assert "Traceback" not in output and "Warning" not in output, output[-3000:]
        assert _read_deployment("ingest/daily-ingest").paused  # nobody serves it now
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait(timeout=10)
        log.close()
