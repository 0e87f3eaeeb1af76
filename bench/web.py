"""`make bench-web`: the daily web run against a simulated web on this machine.

Three shapes of day (`bench.sites`): 20 sites x 30 pages, 200 sites x 5 pages,
1 site x 200 pages, each site with robots.txt, an RSS feed and 0.15 s of
latency per response. Each shape is ingested by `newsdesk ingest` in a child
process, as a user runs it, into a fresh database; so is a day of one site
with one page, and the difference is the shape's *marginal* wall time
(start-up cancels out). Each day runs `--repeat` times (3) and the medians
are compared: on a 2-core machine one run can be a second or two off.
The sites run at a higher priority than newsdesk, as other machines would
not share its cores (see SITES_NICENESS).

The bound is what newsdesk's own politeness allows with both cores in use:
a site's requests (robots.txt, feed, pages) one host delay apart with every
site served side by side, or the extraction CPU of all pages spread over the
cores, whichever is longer, plus one round trip. The extraction CPU per page
is measured here, in this run, in a warm extraction worker, over benchmark
pages it has not seen. Printed per shape: marginal wall time, bound,
their ratio, the *CPU floor* (the marginal CPU time of newsdesk's processes,
its extraction workers and Prefect server included, over the cores: no run on
this machine can be shorter, whatever its overlap) and the same *with the
database* (PostgreSQL's processes share the cores too), robots.txt requests per
site, and the closest two requests to one site (against the delay). This
machine's speed drifts from minute to minute, so each shape also gets the
bound and ratios again with the extraction CPU a page that the runs' own
extraction workers used (their marginal CPU over the pages), and each run
against the extraction CPU of its own workers. A run's start-up (its start to
the first request reaching a site: imports, the temporary Prefect server)
swings by a second or two from run to run, as much as the goal's margin, so
each shape is also timed from each run's first request to its end, less the
one-page day's span timed the same way. With `--against`, each day runs
with two newsdesk commands in turn (a before and an after), so that the
machine's drift falls on both alike. Last, the CPU this process used
meanwhile: the simulated sites' threads, other machines in life, on
newsdesk's cores here. Reference, same rules: Scrapy 2.19 took 2.0-2.6x the
bound on 20 x 30 (issue #13).

    python -m bench.web [--shapes 20x30,200x5,1x200] [--repeat 3] [--json FILE]
                        [--newsdesk CMD] [--against CMD]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from bench.servers import database_server, fresh_database
from bench.sites import SimulatedWeb, real_pages
from newsdesk.database import engine_for_url

ROOT = Path(__file__).resolve().parents[1]
DELAY = 0.25
LATENCY = 0.15
GOAL = 1.3
SHAPES = ((20, 30), (200, 5), (1, 200))


# Pages an extraction worker prepares before it is measured: what a worker
# does once (imports, each language's word list, models read on first use)
# is behind it, as it is a few pages into a day.
WARM_PAGES = 20


def extraction_cpu_per_page() -> float:
    """CPU seconds to prepare one page (decode, clean, fingerprint), as an
    extraction worker of a run does it: in a worker of the same kind of pool,
    warmed on WARM_PAGES pages, then over the other benchmark pages once each
    (a day's pages are new to it, not the same few again, which caches would
    flatter)."""
    from newsdesk.tasks.web.pages import extraction_pool

    with extraction_pool(1) as pool:
        return pool.submit(_cpu_per_page).result()


def _cpu_per_page() -> float:
    from newsdesk.tasks.web.fetch import Fetched
    from newsdesk.tasks.web.listings import WebItem
    from newsdesk.tasks.web.pages import prepare_page

    pages = real_pages()

    def prepare(page: bytes, url: str) -> None:
        prepare_page(WebItem(url), Fetched(url, url, False, page))

    for i, page in enumerate(pages[-WARM_PAGES:]):
        prepare(page, f"http://warm.example/{i}")
    measured = pages[:-WARM_PAGES]
    start = time.process_time()
    for i, page in enumerate(measured):
        prepare(page, f"http://cpu.example/{i}")
    return (time.process_time() - start) / len(measured)


def bound(sites: int, pages: int, cpu_per_page: float, cores: int) -> float:
    chain = (pages + 1) * DELAY  # robots.txt, the feed and every page, one delay apart
    cpu = sites * pages * cpu_per_page / cores
    return max(chain, cpu) + LATENCY


def run_day(database_url: str, sites: int, pages: int, newsdesk: Path) -> dict:
    """One ingest of a simulated day, in a child process; wall time and what the sites saw."""
    with (
        SimulatedWeb(sites, pages, latency=LATENCY) as web,
        fresh_database(database_url) as url,
        tempfile.TemporaryDirectory(prefix="newsdesk-bench-web-") as tmp,
    ):
        folder = Path(tmp)
        (folder / "sources.toml").write_text(web.sources_toml(), encoding="utf-8")
        env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DATABASE_URL": url}
        env.pop("PREFECT_API_URL", None)  # a temporary API of its own, as a new user's run starts
        env["NEWSDESK_HOST_DELAY"] = str(DELAY)
        env["NEWSDESK_ALLOW_NETWORKS"] = ""  # the pages sit on their feed's own host: nothing to open
        sites_before = resource.getrusage(resource.RUSAGE_SELF)
        start, started_at = time.perf_counter(), time.time()
        with (
            subprocess.Popen(
                [str(newsdesk), "ingest", "--sources", str(folder / "sources.toml")],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                cwd=newsdesk.parents[2],
                preexec_fn=_as_a_user_runs_it,
            ) as child,
            _TreeCpu(child.pid) as tree,
        ):
            stdout, stderr = child.communicate()
        wall = time.perf_counter() - start
        sites_after = resource.getrusage(resource.RUSAGE_SELF)
        # This process's CPU meanwhile: the simulated sites' threads (other machines in life) on these cores.
        sites_cpu = sum(getattr(sites_after, f) - getattr(sites_before, f) for f in ("ru_utime", "ru_stime"))
        cpu = tree.seconds()  # newsdesk, its extraction workers and its Prefect server
        database_cpu = tree.database_seconds()
        extraction_cpu = tree.extraction_seconds()
        # Exit 1 is a run with failed items: still a run to measure, and the counts say how many.
        if child.returncode not in (0, 1):
            sys.exit(f"ingest failed:\n{stdout[-3000:]}\n{stderr[-3000:]}")
        if child.returncode == 1:
            print(f"  exit 1 (a run with failed items):\n{stdout[-1500:]}", flush=True)
        with engine_for_url(url).connect() as conn:
            row = conn.execute(sa.text("SELECT * FROM newsdesk.ingest_runs ORDER BY id DESC LIMIT 1")).mappings().one()
            # A simulated day should load every page: say why any did not.
            reasons = conn.execute(
                sa.text(
                    "SELECT outcome, stage, left(reason, 160) AS reason, count(*) AS n FROM newsdesk.rejections"
                    " GROUP BY 1, 2, 3 ORDER BY n DESC LIMIT 5"
                )
            ).all()
        for reason in reasons:
            print(f"  {reason.n} {reason.outcome} at {reason.stage}: {reason.reason}", flush=True)
        first_request = min((arrived for site in web.sites for arrived, _ in site.log), default=started_at)
        gaps = [gap for site in web.sites if (gap := site.closest_gap()) is not None]
        for site in web.sites:
            if (gap := site.closest_gap()) is not None and gap < DELAY:
                print(f"  {site.address}: two requests {gap:.3f} s apart: {site.closest_pair()}", flush=True)
        fetched = [n for site in web.sites for n in site.pages_requested().values()]
        return {
            "sites": sites,
            "pages": pages,
            "seconds": round(wall, 2),
            # From the process's start to the first request reaching a site: imports,
            # the temporary Prefect server, the flow's start (the same whatever the day).
            "startup_seconds": round(first_request - started_at, 2),
            "sites_cpu_seconds": round(sites_cpu, 2),
            "cpu_seconds": round(cpu, 2),
            "database_cpu_seconds": round(database_cpu, 2),
            "extraction_cpu_seconds": round(extraction_cpu, 2),
            "loaded": row["n_inserted"] + row["n_duplicate"],
            "discovered": row["n_discovered"],
            "rejected_or_failed": row["n_rejected"] + row["n_failed"],
            "exit_code": child.returncode,
            "robots_per_site": max(site.requests_to("/robots.txt") for site in web.sites),
            "closest_gap": round(min(gaps), 3) if gaps else None,
            "pages_fetched_twice": sum(1 for n in fetched if n > 1),
        }


# The simulated sites stand for other machines: they run at a higher priority
# than newsdesk (which runs at the ordinary one), so that a busy machine does
# not make them note a request's arrival late, nor answer it late.
SITES_NICENESS = -10


def _as_a_user_runs_it() -> None:
    os.setpriority(os.PRIO_PROCESS, 0, 0)


def _raise_priority() -> bool:
    try:
        os.setpriority(os.PRIO_PROCESS, 0, SITES_NICENESS)
    except PermissionError:
        return False
    return True


class _TreeCpu:
    """CPU time of a process and all its descendants (extraction workers under
    a forkserver, a Prefect server), read from /proc twice a second while it
    runs: descendants that no one waits for never reach rusage. Also the CPU
    time PostgreSQL's processes (any `postgres`) used meanwhile: the database
    shares the cores too."""

    EVERY = 0.5

    def __init__(self, pid: int):
        self.pid = pid
        self.last: dict[int, float] = {}
        self.database_first: dict[int, float] = {}
        self.database_last: dict[int, float] = {}
        self._extraction: dict[int, bool] = {}  # pid -> whether it is the extraction pool's
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> _TreeCpu:
        self._read(before=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._read()

    def seconds(self) -> float:
        return sum(self.last.values())

    def extraction_seconds(self) -> float:
        """CPU time of the run's extraction pool (its forkserver and workers)."""
        return sum(cpu for pid, cpu in self.last.items() if self._extraction.get(pid))

    def database_seconds(self) -> float:
        """CPU time of PostgreSQL's processes while the run ran (those that
        started meanwhile, all of theirs)."""
        return sum(cpu - self.database_first.get(pid, 0.0) for pid, cpu in self.database_last.items())

    def _sample(self) -> None:
        while not self._stop.wait(self.EVERY):
            self._read()

    def _read(self, before: bool = False) -> None:
        """One look at /proc; `before` the run, it only notes where the database's processes stand."""
        tick = os.sysconf("SC_CLK_TCK")
        parents: dict[int, int] = {}
        used: dict[int, float] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                name, stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)
            except OSError:
                continue
            pid, fields = int(entry), stat.split()
            parents[pid] = int(fields[1])
            used[pid] = (int(fields[11]) + int(fields[12])) / tick
            if name.endswith("(postgres"):
                self.database_first.setdefault(pid, used[pid] if before else 0.0)
                self.database_last[pid] = used[pid]
        if before:
            return
        tree = {self.pid}
        grew = True
        while grew:
            grew = False
            for pid, parent in parents.items():
                if parent in tree and pid not in tree:
                    tree.add(pid)
                    grew = True
        for pid in tree & used.keys():
            self.last[pid] = used[pid]
            if pid not in self._extraction:
                with contextlib.suppress(OSError):
                    self._extraction[pid] = b"multiprocessing.forkserver" in Path(f"/proc/{pid}/cmdline").read_bytes()


def _per_page(extraction_seconds: float, baseline_extraction: float, sites: int, pages: int) -> float:
    """The marginal extraction CPU a page of a day whose extraction workers
    used `extraction_seconds` (the one-page day's `baseline_extraction` taken off)."""
    return (extraction_seconds - baseline_extraction) / max(sites * pages - 1, 1)


def _startups(days: list[dict], sep: str) -> str:
    return sep.join(f"{day['startup_seconds']:.2f}" for day in days)


def _median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shapes", default=",".join(f"{s}x{p}" for s, p in SHAPES))
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each day (and of the one-page day); medians are compared"
    )
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")
    parser.add_argument(
        "--newsdesk",
        type=Path,
        default=ROOT / ".venv" / "bin" / "newsdesk",
        help="the newsdesk command to measure (another checkout's, for a before/after)",
    )
    parser.add_argument(
        "--against",
        type=Path,
        help="a second newsdesk command (another checkout's): each day runs with both in turn, one"
        " after the other, so that the machine's drift from minute to minute falls on both alike (the bound's"
        " lone measurement is of this checkout's extractor: where the other's costs otherwise, compare each"
        " run against its own extraction CPU)",
    )
    args = parser.parse_args()
    shapes = [tuple(int(n) for n in shape.split("x")) for shape in args.shapes.split(",")]
    commands = [args.newsdesk] + ([args.against] if args.against else [])
    cores = os.cpu_count() or 1
    if not _raise_priority():
        print("note: the simulated sites run at newsdesk's own priority (raising it needs CAP_SYS_NICE)")
    cpu_per_page = extraction_cpu_per_page()
    print(f"extraction CPU {cpu_per_page * 1000:.1f} ms a page, {cores} cores; delay {DELAY} s, latency {LATENCY} s")
    results: dict = {"cpu_per_page_ms": round(cpu_per_page * 1000, 2), "cores": cores}
    reports = {command: {"command": str(command), "shapes": []} for command in commands}
    with database_server() as database_url:
        baselines = _interleaved(commands, args.repeat, lambda command: run_day(database_url, 1, 1, command))
        for command in commands:
            reports[command].update(_report_baseline(_label(command, commands), baselines[command]))
        for sites, pages in shapes:
            days = _interleaved(
                commands, args.repeat, lambda command, s=sites, p=pages: run_day(database_url, s, p, command)
            )
            for command in commands:
                reports[command]["shapes"].append(
                    _report_shape(
                        _label(command, commands), sites, pages, days[command], reports[command], cpu_per_page, cores
                    )
                )
    print("Scrapy 2.19 (news-please's crawler), same rules, 20x30: 2.0-2.6x the bound (reference from issue #13)")
    results.update(reports[args.newsdesk])
    if args.against:
        results["against"] = reports[args.against]
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


def _interleaved(commands: list[Path], repeat: int, day: Callable[[Path], dict]) -> dict[Path, list[dict]]:
    """`repeat` days with each command, the commands in turn."""
    days: dict[Path, list[dict]] = {command: [] for command in commands}
    for _ in range(repeat):
        for command in commands:
            days[command].append(day(command))
    return days


def _label(command: Path, commands: list[Path]) -> str:
    """Which command a line is about, when there are two: its checkout's folder name."""
    if len(commands) < 2:
        return ""
    return f"[{command.parents[2].name if len(command.parents) > 2 else command}] "


def _report_baseline(label: str, baseline_days: list[dict]) -> dict:
    """Print the one-page day's figures; return them, with what the shapes subtract."""
    baselines = [day["seconds"] for day in baseline_days]
    baseline = _median(baselines)
    print(
        f"{label}one site, one page: {baseline:.2f} s, median of {', '.join(f'{b:.2f}' for b in baselines)}"
        " (start-up, subtracted below)",
        flush=True,
    )
    # The same with each run's own start-up left out: from the first request to the end.
    baseline_work = _median([day["seconds"] - day["startup_seconds"] for day in baseline_days])
    print(
        f"  start-up (to the first request): {_startups(baseline_days, ', ')} s;"
        f" from the first request to the end: {baseline_work:.2f} s",
        flush=True,
    )
    return {
        "baseline_seconds": baselines,
        "baseline_startup_seconds": [day["startup_seconds"] for day in baseline_days],
        "baseline_medians": {
            "seconds": baseline,
            "work": baseline_work,
            "cpu": _median([day["cpu_seconds"] for day in baseline_days]),
            "all": _median([day["cpu_seconds"] + day["database_cpu_seconds"] for day in baseline_days]),
            "extraction": _median([day["extraction_cpu_seconds"] for day in baseline_days]),
            "sites_cpu": _median([day["sites_cpu_seconds"] for day in baseline_days]),
        },
    }


def _report_shape(
    label: str, sites: int, pages: int, days: list[dict], report: dict, cpu_per_page: float, cores: int
) -> dict:
    """Print one shape's figures against the one-page day's (`report`, from `_report_baseline`); return them."""
    base = report["baseline_medians"]
    baseline = base["seconds"]
    marginals = [day["seconds"] - baseline for day in days]
    marginal = _median(marginals)
    limit = bound(sites, pages, cpu_per_page, cores)
    ratio = marginal / limit
    goal = f"(goal <= {GOAL}x)" if (sites, pages) != (1, 200) else ""
    runs = "/".join(f"{m / limit:.2f}" for m in marginals)
    # The marginal CPU of newsdesk's processes spread over the cores: no run on this machine is shorter.
    floor = (_median([day["cpu_seconds"] for day in days]) - base["cpu"]) / cores
    # The same with PostgreSQL's CPU: it runs on these cores too.
    floor_all = (_median([day["cpu_seconds"] + day["database_cpu_seconds"] for day in days]) - base["all"]) / cores
    # This machine's speed drifts from minute to minute: the bound again,
    # with the extraction CPU a page that the runs' own workers used.
    in_runs = _per_page(_median([day["extraction_cpu_seconds"] for day in days]), base["extraction"], sites, pages)
    limit_in_runs = bound(sites, pages, in_runs, cores)
    # Each run against the extraction CPU its own workers used: the machine's
    # speed drifts between runs too, not only between this and the lone measurement.
    own = [
        (day["seconds"] - baseline)
        / bound(sites, pages, _per_page(day["extraction_cpu_seconds"], base["extraction"], sites, pages), cores)
        for day in days
    ]
    robots = max(day["robots_per_site"] for day in days)
    gap = min(day["closest_gap"] for day in days)
    loaded = "/".join(str(day["loaded"]) for day in days)
    print(
        f"{label}{'shape':>8} {'marginal':>9} {'bound':>7} {'ratio':>6} {'(runs)':>18} {'CPU floor':>15}"
        f" {'with database':>15} {'robots/site':>12} {'closest gap':>12} loaded"
    )
    print(
        f"{label}{sites:>4}x{pages:<3} {marginal:>8.2f}s {limit:>6.2f}s {ratio:>5.2f}x {runs:>18}"
        f" {floor:>7.2f}s {floor / limit:>5.2f}x {floor_all:>7.2f}s {floor_all / limit:>5.2f}x"
        f" {robots:>12}"
        f" {gap:>11}s {loaded} of {sites * pages} {goal}",
        flush=True,
    )
    print(
        f"{'':>9}with the runs' own extraction CPU, {in_runs * 1000:.1f} ms a page: bound {limit_in_runs:.2f}s,"
        f" ratio {marginal / limit_in_runs:.2f}x"
        f" ({'/'.join(f'{m / limit_in_runs:.2f}' for m in marginals)}),"
        f" CPU floor {floor / limit_in_runs:.2f}x, with database {floor_all / limit_in_runs:.2f}x",
        flush=True,
    )
    print(
        f"{'':>9}each run against its own extraction CPU: {_median(own):.2f}x"
        f" ({'/'.join(f'{ratio:.2f}' for ratio in own)})",
        flush=True,
    )
    # Each run from its first request, less the one-page day's the same way:
    # the start-up's own swing (seconds, on this machine) left out of the ratio.
    from_first = [day["seconds"] - day["startup_seconds"] - base["work"] for day in days]
    print(
        f"{'':>9}from each run's first request (start-up {_startups(days, '/')} s"
        f" left out): {_median(from_first):.2f}s, ratio {_median(from_first) / limit:.2f}x"
        f" ({'/'.join(f'{m / limit:.2f}' for m in from_first)}),"
        f" with the runs' own extraction CPU {_median(from_first) / limit_in_runs:.2f}x",
        flush=True,
    )
    sites_cpu = _median([day["sites_cpu_seconds"] for day in days]) - base["sites_cpu"]
    print(
        f"{'':>9}the simulated sites' CPU on these cores: {sites_cpu:.2f}s"
        f" ({sites_cpu / cores / limit:.2f}x of the bound spread over the cores)",
        flush=True,
    )
    return {
        "ratio_from_first_request": round(_median(from_first) / limit, 2),
        "sites_cpu_seconds": round(sites_cpu, 2),
        "ratios_from_first_request": [round(m / limit, 2) for m in from_first],
        "runs": days,
        "marginal": round(marginal, 2),
        "bound": round(limit, 2),
        "ratio": round(ratio, 2),
        "ratios": [round(m / limit, 2) for m in marginals],
        "cpu_floor": round(floor, 2),
        "cpu_floor_with_database": round(floor_all, 2),
        "extraction_ms_per_page_in_runs": round(in_runs * 1000, 2),
        "bound_in_runs": round(limit_in_runs, 2),
        "ratio_in_runs": round(marginal / limit_in_runs, 2),
        "ratios_each_against_its_own": [round(ratio, 2) for ratio in own],
    }


if __name__ == "__main__":
    main()
