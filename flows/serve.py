"""The daily ingest served from one process (`newsdesk serve`): the ingest
flow as the deployment `ingest/daily-ingest`, on a cron schedule, its runs
started by this process when the Prefect server says they are due. For several
machines, the same deployment is in prefect.yaml, for workers of the work pool
`newsdesk`.

The schedule's defaults live here; prefect.yaml carries the same values (a test
holds them equal), so both ways run at the same time of day.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

DEPLOYMENT_NAME = "daily-ingest"
DEFAULT_SCHEDULE = "0 6 * * *"
DEFAULT_TIMEZONE = "UTC"


@dataclass(frozen=True)
class ServeSettings:
    cron: str
    timezone: str
    sources_file: str

    @classmethod
    def from_env(cls, sources_file: str, environ: dict[str, str] | None = None) -> ServeSettings:
        """NEWSDESK_SCHEDULE (cron) and NEWSDESK_TIMEZONE (IANA name), checked
        here so a typo stops `newsdesk serve` with the variable's name."""
        from prefect.client.schemas.schedules import CronSchedule
        from pydantic import ValidationError

        env = os.environ if environ is None else environ
        settings = cls(
            cron=env.get("NEWSDESK_SCHEDULE") or DEFAULT_SCHEDULE,
            timezone=env.get("NEWSDESK_TIMEZONE") or DEFAULT_TIMEZONE,
            sources_file=sources_file,
        )
        try:
            CronSchedule(cron=settings.cron)
        except ValidationError:
            raise ValueError(
                f"NEWSDESK_SCHEDULE must be a cron expression such as {DEFAULT_SCHEDULE!r}, got {settings.cron!r}"
            ) from None
        try:
            CronSchedule(cron=DEFAULT_SCHEDULE, timezone=settings.timezone)
        except ValidationError:
            raise ValueError(
                f"NEWSDESK_TIMEZONE must be a time zone such as 'Europe/Paris', got {settings.timezone!r}"
            ) from None
        return settings

    def schedule(self):
        from prefect.schedules import Cron

        return Cron(self.cron, timezone=self.timezone)

    def parameters(self) -> dict[str, str]:
        return {"sources_file": self.sources_file}


def serve(settings: ServeSettings) -> None:
    """Create or update the deployment and run its flow runs until stopped.
    SIGTERM (`docker stop`) or Ctrl-C, once or again, stops it cleanly: the
    deployment is paused on the way out, so the UI shows that nobody runs it
    (the next start resumes it)."""
    from prefect.runner import Runner

    from newsdesk.config import Settings
    from newsdesk.flows.ingest import ingest
    from newsdesk.flows.runners import run_tags, task_runner

    class QuietRunner(Runner):
        """Prefect's runner, stopped by our signal handling rather than its own
        (which calls an async stop from a signal handler, never awaited)."""

        def handle_sigterm(self, *args: object, **kwargs: object) -> None:
            stop.set()

    # The runner is the flow object's (Prefect 3.8): NEWSDESK_TASK_RUNNER=dask
    # applies to the served runs through with_options.
    runner_of_tasks = task_runner(Settings.from_env())
    flow = ingest.with_options(task_runner=runner_of_tasks) if runner_of_tasks else ingest
    runner = QuietRunner(name=DEPLOYMENT_NAME, pause_on_shutdown=True)
    runner.add_flow(
        flow,
        name=DEPLOYMENT_NAME,
        schedules=[settings.schedule()],
        parameters=settings.parameters(),
        tags=run_tags(settings.sources_file),
    )
    stop = threading.Event()

    async def until_stopped() -> None:
        serving = asyncio.create_task(runner.start())
        while not stop.is_set() and not serving.done():
            await asyncio.sleep(0.2)
        # The runner would wait for a run in progress to finish: end it first.
        await end_runs_in_progress(_runs_in_progress(runner))
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving

    # Every SIGINT or SIGTERM, the first or a later one, only asks to stop:
    # one that comes while stopping changes nothing, we are on the way out.
    def ask_to_stop(*_: object) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, ask_to_stop)
    # Ready now what stopping needs (the database engine, migrations checked),
    # so that a stop does not wait for it.
    _prepare_to_stop()
    print(
        f"newsdesk serve: deployment ingest/{DEPLOYMENT_NAME}, {settings.cron} {settings.timezone}; SIGTERM or Ctrl-C stops it"
    )
    asyncio.run(until_stopped())
    # Stopped: from here to the process's end (interpreter shutdown included,
    # which would restore the default, fatal, handlers) further signals are ignored.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    print("newsdesk serve: stopped; the deployment is paused")


# How long a run in progress has, once serve is stopped, to end on its own
# (SIGTERM) before its processes are killed.
STOP_GRACE_SECONDS = 2.0
STOPPED_MESSAGE = "newsdesk serve was stopped while this run was in progress"


def _runs_in_progress(runner) -> dict[UUID, int]:
    """The flow runs this runner's processes are running: flow run id to pid."""
    manager = getattr(runner, "_process_manager", None)
    if manager is None:
        return {}
    running = {}
    for flow_run_id in manager.flow_run_ids():
        handle = manager.get(flow_run_id)
        if handle is not None and handle.pid:
            running[flow_run_id] = handle.pid
    return running


async def end_runs_in_progress(running: dict[UUID, int]) -> None:
    """End the runs in progress when serve stops, and mark them: each run's
    process (and the processes it started: its extraction pool) gets SIGTERM
    and a few seconds, then SIGKILL; its Prefect flow run becomes Crashed with
    the reason, and its `ingest_runs` row `crashed` (its liveness lock died with it)."""
    if not running:
        return
    print(f"newsdesk serve: ending {len(running)} run(s) in progress")
    await asyncio.to_thread(end_process_trees, list(running.values()), STOP_GRACE_SECONDS)
    await asyncio.gather(_mark_crashed_flow_runs(set(running)), asyncio.to_thread(_mark_crashed_rows, set(running)))


async def _mark_crashed_flow_runs(flow_run_ids: set[UUID]) -> None:
    """Crashed, with why, unless the run reached its own end first."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import StateType
    from prefect.states import Crashed

    async with get_client() as client:
        for flow_run_id in flow_run_ids:
            try:
                flow_run = await client.read_flow_run(flow_run_id)
                if flow_run.state is None or flow_run.state.type not in (
                    StateType.COMPLETED,
                    StateType.FAILED,
                    StateType.CANCELLED,
                ):
                    await client.set_flow_run_state(flow_run_id, Crashed(message=STOPPED_MESSAGE), force=True)
            except Exception as exc:  # the server may be gone too: the run stays as it was
                print(f"newsdesk serve: flow run {flow_run_id} not marked: {type(exc).__name__}: {exc}")


def end_process_trees(pids: list[int], grace: float) -> None:
    """SIGTERM each process, then SIGKILL what is left of it and of every
    process under it (found before the first signal: once a process is gone
    its children are no longer under it)."""
    import psutil  # type: ignore[import-untyped]

    roots, tree = [], []
    for pid in pids:
        try:
            root = psutil.Process(pid)
            tree += root.children(recursive=True)
            root.terminate()
            roots.append(root)
        except psutil.NoSuchProcess:
            continue
    psutil.wait_procs(roots, timeout=grace)
    left = [p for p in roots + tree if p.is_running()]
    for process in left:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(left, timeout=10)


def _prepare_to_stop() -> None:
    import psutil  # noqa: F401

    from newsdesk.database import get_engine

    try:
        get_engine()
    except Exception as exc:  # the runs will say it; stopping then marks rows later
        print(f"newsdesk serve: database not reachable yet: {type(exc).__name__}: {exc}")


def _mark_crashed_rows(flow_run_ids: set[UUID], attempts: int = 20) -> None:
    """Mark the runs' `ingest_runs` rows `crashed` (`runs.mark_crashed_runs`);
    PostgreSQL frees a killed process's lock a moment after it dies."""
    import time

    import sqlalchemy as sa

    from newsdesk.database import get_engine
    from newsdesk.tasks.store import runs

    try:
        engine = get_engine()
        for _ in range(attempts):
            runs.mark_crashed_runs(engine)
            with engine.connect() as conn:
                still = conn.scalar(
                    sa.text(
                        "SELECT count(*) FROM newsdesk.ingest_runs WHERE status = 'running'"
                        " AND flow_run_id = ANY(CAST(:ids AS uuid[]))"
                    ),
                    {"ids": [str(i) for i in flow_run_ids]},
                )
            if not still:
                return
            time.sleep(0.25)
    except Exception as exc:  # the next run marks them (`runs.open_run`)
        print(f"newsdesk serve: runs not marked crashed yet: {type(exc).__name__}: {exc}")


def main(sources_file: str) -> int:
    """`newsdesk serve`: 2 for a configuration problem, else serve until stopped."""
    from prefect.settings import get_current_settings

    problem = None
    if not Path(sources_file).is_file():
        problem = f"sources file not found: {sources_file}"
    elif not get_current_settings().api.url:
        # Without it Prefect starts a temporary server, whose scheduler does not run.
        problem = "serve needs a Prefect server: set PREFECT_API_URL (e.g. http://127.0.0.1:4200/api)"
    else:
        try:
            settings = ServeSettings.from_env(sources_file)
        except ValueError as exc:
            problem = str(exc)
    if problem:
        print(f"newsdesk: {problem}", file=sys.stderr)
        return 2
    serve(settings)
    return 0
