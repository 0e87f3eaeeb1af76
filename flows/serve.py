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
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving

    # Every SIGINT or SIGTERM, the first or a later one, only asks to stop:
    # one that comes while stopping changes nothing, we are on the way out.
    def ask_to_stop(*_: object) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, ask_to_stop)
    print(
        f"newsdesk serve: deployment ingest/{DEPLOYMENT_NAME}, {settings.cron} {settings.timezone}; SIGTERM or Ctrl-C stops it"
    )
    asyncio.run(until_stopped())
    # Stopped: from here to the process's end (interpreter shutdown included,
    # which would restore the default, fatal, handlers) further signals are ignored.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    print("newsdesk serve: stopped; the deployment is paused")


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
