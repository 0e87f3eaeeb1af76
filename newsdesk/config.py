"""Settings from the environment, with the defaults a new user needs."""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_HOME = Path("~/.newsdesk")
DEFAULT_BATCH_SIZE = 1000
DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024
TASK_RUNNERS = ("threads", "dask")
FILE_CHECKS = ("stat", "content")


@dataclass(frozen=True)
class Settings:
    database_url: str | None  # None: use the embedded PostgreSQL under `home`
    home: Path
    batch_size: int = DEFAULT_BATCH_SIZE
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    user_agent: str | None = None  # None: newsdesk/<version> and a pointer to the project
    per_host: int = 2
    host_delay: float = 0.25
    fetch_concurrency: int = 64
    fetch_timeout: float = 30.0
    fetch_deadline: float = 120.0
    fetch_retries: int = 3
    # Seconds of fetching a host may have from its first request in a run, and
    # a run from its first (see docs/politeness.md); then what is left fails.
    host_budget: float = 3600.0
    run_budget: float = 4 * 3600.0
    # CPU seconds one feed or sitemap may take to parse (in a process of its own).
    listing_cpu_budget: float = 30.0
    # Private ranges that listed URLs may reach on purpose (NEWSDESK_ALLOW_NETWORKS).
    allow_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    # Pages fetched and not yet loaded, across all web sources of a run: bounds memory.
    pages_in_flight: int = 2000
    # Processes extracting fetched pages beside the fetching; 0: one thread of this process instead.
    extract_processes: int = field(default_factory=lambda: os.cpu_count() or 1)
    # The budget of preparing one document (see tasks/extract/budget.py): CPU seconds
    # (0: none), and megabytes its extraction worker may grow by (0: none).
    extract_cpu_seconds: float = 10.0
    extract_memory_mb: int = 1024
    # Dedup thresholds (see tasks/dedup/match.py); change them, then `newsdesk dedup --rebuild`.
    near_threshold: float = 0.5
    story_threshold: float = 0.55
    story_window_days: int = 7
    # Where the CPU steps run (see flows/runners.py): Prefect's thread pool, or Dask
    # workers, on a cluster at `dask_address` or a local one of `dask_workers` processes.
    task_runner: str = "threads"
    dask_address: str | None = None
    dask_workers: int = 2
    # How a rerun tells an unchanged file: "stat" (size and modification time, file unread)
    # or "content" (every file read and hashed; see tasks/store/file_state.py).
    file_check: str = "stat"
    # Seconds a load waits for the load lock (tasks/store/lock.py) before it fails, saying who holds it.
    load_lock_timeout: float = 300.0

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            database_url=env.get("DATABASE_URL") or None,
            home=Path(env.get("NEWSDESK_HOME") or DEFAULT_HOME).expanduser(),
            batch_size=_positive_int(env, "NEWSDESK_BATCH_SIZE", DEFAULT_BATCH_SIZE),
            max_file_bytes=_positive_int(env, "NEWSDESK_MAX_FILE_BYTES", DEFAULT_MAX_FILE_BYTES),
            user_agent=env.get("NEWSDESK_USER_AGENT") or None,
            per_host=_positive_int(env, "NEWSDESK_PER_HOST", 2),
            host_delay=_non_negative_float(env, "NEWSDESK_HOST_DELAY", 0.25),
            fetch_concurrency=_positive_int(env, "NEWSDESK_FETCH_CONCURRENCY", 64),
            fetch_timeout=_non_negative_float(env, "NEWSDESK_FETCH_TIMEOUT", 30.0),
            fetch_deadline=_positive_float(env, "NEWSDESK_FETCH_DEADLINE", 120.0),
            fetch_retries=int(_non_negative_float(env, "NEWSDESK_FETCH_RETRIES", 3)),
            host_budget=_positive_float(env, "NEWSDESK_HOST_BUDGET", 3600.0),
            run_budget=_positive_float(env, "NEWSDESK_RUN_BUDGET", 4 * 3600.0),
            listing_cpu_budget=_positive_float(env, "NEWSDESK_LISTING_CPU_BUDGET", 30.0),
            allow_networks=_networks(env, "NEWSDESK_ALLOW_NETWORKS"),
            pages_in_flight=_positive_int(env, "NEWSDESK_PAGES_IN_FLIGHT", 2000),
            extract_processes=int(_non_negative_float(env, "NEWSDESK_EXTRACT_PROCESSES", os.cpu_count() or 1)),
            extract_cpu_seconds=_non_negative_float(env, "NEWSDESK_EXTRACT_CPU_SECONDS", 10.0),
            extract_memory_mb=int(_non_negative_float(env, "NEWSDESK_EXTRACT_MEMORY_MB", 1024)),
            near_threshold=_fraction(env, "NEWSDESK_NEAR_THRESHOLD", 0.5),
            story_threshold=_fraction(env, "NEWSDESK_STORY_THRESHOLD", 0.55),
            story_window_days=int(_non_negative_float(env, "NEWSDESK_STORY_WINDOW_DAYS", 7)),
            task_runner=_choice(env, "NEWSDESK_TASK_RUNNER", TASK_RUNNERS),
            dask_address=_dask_address(env),
            dask_workers=_positive_int(env, "NEWSDESK_DASK_WORKERS", 2),
            file_check=_choice(env, "NEWSDESK_FILE_CHECK", FILE_CHECKS),
            load_lock_timeout=_positive_float(env, "NEWSDESK_LOAD_LOCK_TIMEOUT", 300.0),
        )


def _positive_int(env, name: str, default: int) -> int:
    return _number(env, name, default, int, "a whole number", lambda v: v > 0, "positive")


def _non_negative_float(env, name: str, default: float) -> float:
    return _number(env, name, default, float, "a number", lambda v: v >= 0, "zero or more")


def _positive_float(env, name: str, default: float) -> float:
    return _number(env, name, default, float, "a number", lambda v: v > 0, "positive")


def _fraction(env, name: str, default: float) -> float:
    return _number(env, name, default, float, "a number", lambda v: 0 < v <= 1, "above 0 and at most 1")


def _choice(env, name: str, choices: tuple[str, ...]) -> str:
    value = (env.get(name) or choices[0]).strip().lower()
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {env.get(name)!r}")
    return value


def _networks(env, name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Comma-separated CIDRs; a bare address is one host."""
    parts = [part.strip() for part in (env.get(name) or "").split(",") if part.strip()]
    try:
        return tuple(ipaddress.ip_network(part, strict=False) for part in parts)
    except ValueError as exc:
        raise ValueError(
            f"{name} must be comma-separated CIDRs such as 10.20.0.0/16, got {env.get(name)!r}: {exc}"
        ) from None


def _dask_address(env) -> str | None:
    raw = (env.get("NEWSDESK_DASK_ADDRESS") or "").strip()
    if raw and not re.fullmatch(r"(?:[a-z][a-z0-9+.-]*://)?[^\s/]+:\d+", raw):
        raise ValueError(
            f"NEWSDESK_DASK_ADDRESS must be a Dask scheduler address such as tcp://scheduler:8786, got {raw!r}"
        )
    return raw or None


def _number(env, name, default, parse, kind: str, valid, bound: str):
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = parse(raw)
    except ValueError:
        raise ValueError(f"{name} must be {kind}, got {raw!r}") from None
    if not valid(value):
        raise ValueError(f"{name} must be {bound}, got {value}")
    return value
