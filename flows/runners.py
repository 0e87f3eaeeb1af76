"""Where a flow's tasks run: Prefect's default thread pool, or Dask workers
(prefect-dask's DaskTaskRunner) on a local cluster or an existing one.

Prefect 3 takes a flow's task runner from the flow object when a run starts,
so the choice is applied with `flow.with_options(task_runner=...)` (`run`
below does it for `newsdesk ingest`; a served flow keeps it, as `serve` hands
the flow object itself to each run's process; flows/ingest.py's `ingest` is
made with `as_configured`, so a deployment run from its entrypoint by a
work-pool worker gets the runner the worker's environment asks for). A run
asked for Dask that has another runner fails at its start (`check_task_runner`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from prefect import tags
from prefect.client.schemas.objects import State
from prefect.context import FlowRunContext
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.task_runners import TaskRunner
from prefect_dask import DaskTaskRunner

from newsdesk.config import Settings
from newsdesk.tasks.store.runs import IngestFailed
from newsdesk.tasks.web.pages import extraction_pool


class NewsdeskDaskTaskRunner(DaskTaskRunner):
    """DaskTaskRunner that says how many CPU steps it runs at once (`parallel_slots`)."""

    def parallel_slots(self) -> int:
        return max(1, sum(self.client.nthreads().values()))


def task_runner(settings: Settings) -> TaskRunner[Any] | None:
    """The task runner `settings` ask for; None for Prefect's default (threads)."""
    if settings.task_runner == "threads":
        return None
    if settings.dask_address:
        # Its workers read DATABASE_URL and NEWSDESK_* from their own environment.
        return NewsdeskDaskTaskRunner(address=settings.dask_address)
    from newsdesk.database import resolve_url

    # Worker processes inherit this process's environment; the embedded
    # server's URL is added so they use it rather than look for one themselves.
    return NewsdeskDaskTaskRunner(
        cluster_kwargs={
            "n_workers": settings.dask_workers,
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": ":0",
            "env": {"DATABASE_URL": resolve_url(settings)},
        }
    )


def parallel_slots() -> int:
    """How many CPU-bound steps the current flow run's task runner runs at once:
    one in Prefect's thread pool (Python threads share one interpreter lock),
    one per Dask worker thread."""
    context = FlowRunContext.get()
    runner = context.task_runner if context else None
    return runner.parallel_slots() if isinstance(runner, NewsdeskDaskTaskRunner) else 1


@contextmanager
def extraction_executor(processes: int) -> Iterator[Executor]:
    """Where the current run extracts its fetched pages (the CPU of a web day),
    for the run: with a Dask task runner, on the cluster's workers, through the
    Dask client's own concurrent.futures executor; else this machine's pool of
    `processes`, ended with the block (`extraction_pool`)."""
    context = FlowRunContext.get()
    runner = context.task_runner if context else None
    if isinstance(runner, DaskTaskRunner):
        yield runner.client.get_executor(pure=False)
        return
    with extraction_pool(processes) as pool:
        yield pool


def run(flow, runner_name: str | None = None, **parameters):
    """Run `flow` with the configured task runner (`runner_name` overrides
    NEWSDESK_TASK_RUNNER), tagged as every newsdesk run is (see `run_tags`),
    and return its run record, also when the run ended Failed for failed
    items (an error that stopped the run is raised)."""
    settings = Settings.from_env()
    if runner_name:
        settings = replace(settings, task_runner=runner_name)
    runner = task_runner(settings)
    with tags(*run_tags(parameters.get("sources_file"))):
        if runner is None:
            return record_of(flow(**parameters, return_state=True))
        with _api_for_workers():
            return record_of(flow.with_options(task_runner=runner)(**parameters, return_state=True))


def run_tags(sources_file: str | None) -> list[str]:
    """The tags of every newsdesk flow run, however it was started (cron, serve,
    a worker): operators filter by them, and the overdue alert matches on them."""
    return ["newsdesk", *([f"sources:{Path(sources_file).name}"] if sources_file else [])]


def tag_with_sources(sources_file: str) -> None:
    """Give the current flow run the `sources:` tag of the file it reads, in place
    of any other (a deployment's tags are fixed in prefect.yaml, whatever
    `sources_file` a run is given)."""
    from prefect.client.orchestration import get_client

    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return
    wanted = run_tags(sources_file)
    tags_now = list(context.flow_run.tags or [])
    kept = [t for t in tags_now if not t.startswith("sources:")]
    new = kept + [t for t in wanted if t not in kept]
    if sorted(new) != sorted(tags_now):
        with get_client(sync_client=True) as client:
            client.update_flow_run(context.flow_run.id, tags=new)
        context.flow_run.tags = new


class TaskRunnerMismatch(RuntimeError):
    """The run was asked for Dask (NEWSDESK_TASK_RUNNER=dask) and does not have it."""


def check_task_runner(settings: Settings) -> None:
    """Fail a run whose settings ask for Dask but whose flow object brought
    Prefect's thread pool, rather than run it silently on one process."""
    context = FlowRunContext.get()
    if settings.task_runner != "dask" or context is None:
        return
    if not isinstance(context.task_runner, DaskTaskRunner):
        raise TaskRunnerMismatch(
            "NEWSDESK_TASK_RUNNER=dask, but this flow run's task runner is"
            f" {type(context.task_runner).__name__}: Prefect 3 takes it from the flow object, so run the flow"
            " through `newsdesk ingest`, `newsdesk serve` or a deployment of flows/ingest.py:ingest (which"
            " choose it from NEWSDESK_TASK_RUNNER when loaded), or unset NEWSDESK_TASK_RUNNER"
        )


def as_configured(flow):
    """`flow` with the task runner the environment asks for (NEWSDESK_TASK_RUNNER
    and NEWSDESK_DASK_*), as a deployment's entrypoint is loaded in the run's process."""
    runner = task_runner(Settings.from_env())
    return flow.with_options(task_runner=runner) if runner else flow


def record_of(state: State) -> Any:
    """A finished run's record; the error when the run stopped on one."""
    result = state.result(raise_on_failure=False)
    if isinstance(result, IngestFailed):
        return result.record
    if isinstance(result, BaseException):
        raise result
    return result


@contextmanager
def _api_for_workers():
    """Dask workers report their task runs to the Prefect API named in the
    settings the flow hands them. Without PREFECT_API_URL, Prefect starts a
    temporary server known only to this process, and each worker would start
    its own: start it here and name it in the settings instead."""
    if PREFECT_API_URL.value():
        yield
        return
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start()
    with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
        yield


class _ExpectedFailure(logging.Filter):
    """Prefect's engine, as a worker runs a flow (`python -m prefect.engine`),
    logs the exception any flow run ends with as "Engine execution exited with
    unexpected exception", traceback and all, in the worker's output and the
    run's logs. A run Failed for failing sources or items (`IngestFailed`) is an
    expected outcome that its state message already says: that record is
    dropped, so worker runs end as served and command-line runs do."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (isinstance(error, IngestFailed) and record.getMessage().startswith("Engine execution exited"))


def quiet_expected_failures() -> None:
    """Install `_ExpectedFailure` on Prefect's flow run logger (once)."""
    logger = logging.getLogger("prefect.flow_runs")
    if not any(isinstance(f, _ExpectedFailure) for f in logger.filters):
        logger.addFilter(_ExpectedFailure())
