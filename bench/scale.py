"""`make bench-scale`: one day over 1 and over 2 machines, simulated on this one.

A "machine" is a Dask worker process pinned to one core with `taskset`
(single-threaded, as `dask worker --nthreads 1`), joined to a Dask scheduler
started for the measurement; the day is one `newsdesk ingest --task-runner dask`
(NEWSDESK_DASK_ADDRESS set to that scheduler), into a fresh database, as an
operator runs it. Days: the web shapes of `make bench-web` (simulated sites on
127.0.0.x, `bench.sites`) and a files day of generated articles
(`bench.make_corpus`). For each day and worker count it prints the wall time,
the ratio of 2 workers to 1, and from `newsdesk.load_lock` (the load lock's
own record: time from taking it to the holder's last statement) the lock time
per article, its busy share of the day (lock time over wall time) and the
ceiling it implies for a whole cluster (articles per second if the lock were
busy all the time).

The flow's own process, PostgreSQL and the sites share the machine's cores
with the workers: on a 2-core machine the ratio understates what two real
machines give. Compare figures within one run only.

    python -m bench.scale [--files 20000] [--shapes 20x30,200x5] [--workers 1,2] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

import sqlalchemy as sa

from bench.make_corpus import generate
from bench.servers import database_server, fresh_database
from bench.sites import SimulatedWeb
from newsdesk.database import engine_for_url, migrate

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DELAY = 0.25
LATENCY = 0.15
GOALS = {"ratio": 0.6, "lock_ms_per_article": 0.3}


@contextmanager
def dask_cluster(workers: int, env: dict):
    """A scheduler and `workers` single-threaded workers, worker i pinned to core i; its address."""
    cores = os.cpu_count() or 1
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="newsdesk-bench-scale-")))
        scheduler_file = folder / "scheduler.json"
        processes = []
        log = stack.enter_context((folder / "dask.log").open("wb"))
        processes.append(
            subprocess.Popen(
                [
                    str(BIN / "dask"),
                    "scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--dashboard-address",
                    ":0",
                    "--scheduler-file",
                    str(scheduler_file),
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        for i in range(workers):
            processes.append(
                subprocess.Popen(
                    [
                        "taskset",
                        "-c",
                        str(i % cores),
                        str(BIN / "dask"),
                        "worker",
                        "--nthreads",
                        "1",
                        "--nworkers",
                        "1",
                        "--no-nanny",
                        "--dashboard-address",
                        ":0",
                        "--scheduler-file",
                        str(scheduler_file),
                    ],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=ROOT,
                )
            )
        try:
            from distributed import Client

            deadline = time.monotonic() + 120
            while not scheduler_file.exists():
                if time.monotonic() > deadline:
                    sys.exit(f"the Dask scheduler did not start: {(folder / 'dask.log').read_text()[-2000:]}")
                time.sleep(0.2)
            address = json.loads(scheduler_file.read_text())["address"]
            with Client(address, timeout=60) as client:
                client.wait_for_workers(workers, timeout=120)
            yield address
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()


def lock_totals(url: str) -> tuple[float, int]:
    migrate(engine_for_url(url))
    with engine_for_url(url).connect() as conn:
        held, items = conn.execute(sa.text("SELECT held_seconds, items FROM newsdesk.load_lock")).one()
    return held, items


def ingest_day(url: str, sources: Path, workers: int, extra_env: dict) -> dict:
    """One day on a fresh cluster of `workers` pinned workers: wall time, counts, lock use."""
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DATABASE_URL": url, **extra_env}
    env.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")  # a busy machine starts it slowly
    env.pop("PREFECT_API_URL", None)  # a temporary API of its own, as a new user's run starts
    with dask_cluster(workers, env) as address:
        env.update(NEWSDESK_TASK_RUNNER="dask", NEWSDESK_DASK_ADDRESS=address)
        held_before, items_before = lock_totals(url)
        start = time.perf_counter()
        done = subprocess.run(
            [str(BIN / "newsdesk"), "ingest", "--sources", str(sources)],
            env=env,
            cwd=sources.parent,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.exit(f"ingest failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    held_after, items_after = lock_totals(url)
    with engine_for_url(url).connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM newsdesk.ingest_runs ORDER BY id DESC LIMIT 1")).mappings().first()
    if row is None:
        sys.exit(f"ingest recorded no run (exit {done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    held, items = held_after - held_before, items_after - items_before
    return {
        "workers": workers,
        "seconds": round(wall, 2),
        "discovered": row["n_discovered"],
        "loaded": row["n_inserted"] + row["n_duplicate"],
        "lock_seconds": round(held, 3),
        "lock_ms_per_article": round(1000 * held / items, 3) if items else None,
        "lock_busy_share": round(held / wall, 3),
        "ceiling_per_s": round(items / held) if held else None,
    }


def web_day(base: str, sites: int, pages: int, workers: int) -> dict:
    with (
        SimulatedWeb(sites, pages, latency=LATENCY) as web,
        fresh_database(base) as url,
        tempfile.TemporaryDirectory(prefix="newsdesk-bench-scale-web-") as tmp,
    ):
        folder = Path(tmp)
        (folder / "sources.toml").write_text(web.sources_toml(), encoding="utf-8")
        extra = {"NEWSDESK_HOST_DELAY": str(DELAY), "NEWSDESK_ALLOW_NETWORKS": ""}
        result = ingest_day(url, folder / "sources.toml", workers, extra)
        fetched = [n for site in web.sites for n in site.pages_requested().values()]
        result["pages_fetched_twice"] = sum(1 for n in fetched if n > 1)
        return result


def files_day(base: str, corpus: Path, workers: int) -> dict:
    with fresh_database(base) as url:
        return ingest_day(url, corpus / "sources.toml", workers, {})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=20000, help="articles of the files day (0: none)")
    parser.add_argument("--shapes", default="20x30,200x5", help="web days, sites x pages ('' for none)")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    days: list[tuple[str, object]] = [
        (f"web {shape}", tuple(int(x) for x in shape.split("x"))) for shape in args.shapes.split(",") if shape
    ]
    if args.files:
        folder = ROOT / "bench" / "corpus" / f"text-{args.files}"
        if not (folder / "sources.toml").exists():
            print(f"generating {args.files} articles in {folder}", flush=True)
            generate(args.files, folder)
        days.append((f"files {args.files}", folder))
    results: dict[str, list[dict]] = {}
    with database_server() as base:
        for name, day in days:
            results[name] = []
            for n in counts:
                result = web_day(base, *day, n) if isinstance(day, tuple) else files_day(base, day, n)  # type: ignore[arg-type]
                results[name].append(result)
                print(f"{name}, {n} worker(s): {json.dumps(result)}", flush=True)
    print(f"\n{'day':<14} {'workers':>7} {'wall s':>8} {'ratio':>6} {'lock ms/art':>11} {'busy':>6} {'ceiling/s':>9}")
    for name, rows in results.items():
        first = rows[0]["seconds"]
        for row in rows:
            print(
                f"{name:<14} {row['workers']:>7} {row['seconds']:>8.1f} {row['seconds'] / first:>6.2f}"
                f" {row['lock_ms_per_article'] or 0:>11.3f} {row['lock_busy_share']:>6.1%} {row['ceiling_per_s'] or 0:>9}"
            )
    print(
        f"goals: 2 workers at most {GOALS['ratio']}x the time of 1; lock at most {GOALS['lock_ms_per_article']} ms an article"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
