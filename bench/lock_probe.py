"""The load lock's cost per article, measured on the loader alone.

Loads the articles of a generated files corpus (`bench.make_corpus`, cleaned and
fingerprinted once, kept in a pickle beside the corpus) through `load.load_parts`,
the function the load tasks call, into a fresh database on DATABASE_URL's
server: in batches of `--batch` (1,000: the files path; a few: the web path,
whose pages arrive a few at a time), by `--workers` processes at once, each
pinned to its own core with `taskset` and loading every n-th batch. Prints the
wall time, the lock's record (`newsdesk.load_lock`: held seconds over items)
and the counts. No Prefect, Dask or crawl: the load stage only.

    python -m bench.lock_probe [--articles 20000] [--limit N] [--batch 1000] [--workers 1]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import sqlalchemy as sa

from bench.make_corpus import generate
from bench.servers import database_server, fresh_database
from newsdesk.database import engine_for_url, migrate
from newsdesk.tasks.records import RawDocument
from newsdesk.tasks.store import load, runs

ROOT = Path(__file__).resolve().parents[1]


def items_of(n: int) -> list:
    folder = ROOT / "bench" / "corpus" / f"text-{n}"
    cache = folder / "prepared.pickle"
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    if not (folder / "sources.toml").exists():
        generate(n, folder)
    import hashlib

    from newsdesk.tasks.extract.prepare import prepare

    items = []
    for path in sorted(p for p in folder.rglob("*") if p.suffix in (".md", ".txt")):
        raw = path.read_bytes()
        locator = f"file://{path.relative_to(folder)}"
        items.append(prepare(RawDocument(locator, raw, "text/plain", hashlib.sha256(raw).hexdigest())))
    cache.write_bytes(pickle.dumps(items))
    return items


def worker(url: str, n: int, limit: int, batch: int, workers: int, me: int, run_id: int) -> None:
    items = items_of(n)[:limit]
    engine = engine_for_url(url)
    counts: Counter = Counter()
    batches = [items[i : i + batch] for i in range(0, len(items), batch)]
    for k in range(me, len(batches), workers):
        for part in load.load_parts(engine, run_id=run_id, parts=[("bench", batches[k])]).values():
            counts += part
    print(json.dumps(dict(counts)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=20000)
    parser.add_argument("--limit", type=int, help="load only the first LIMIT of them")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)  # url me workers run_id batch
    args = parser.parse_args()
    if args.worker:
        url, me, workers, run_id, batch = args.worker
        worker(url, args.articles, args.limit or args.articles, int(batch), int(workers), int(me), int(run_id))
        return
    items_of(args.articles)  # prepared once, before any timing
    with database_server() as base, fresh_database(base) as url:
        engine = engine_for_url(url)
        migrate(engine)
        lease = runs.open_run(engine, flow_run_id=None, sources_file=None)
        lease.close()
        cores = os.cpu_count() or 1
        start = time.perf_counter()
        processes = [
            subprocess.Popen(
                ["taskset", "-c", str(me % cores), sys.executable, "-m", "bench.lock_probe"]
                + [
                    "--articles",
                    str(args.articles),
                    "--limit",
                    str(args.limit or args.articles),
                    "--worker",
                    url,
                    str(me),
                    str(args.workers),
                    str(lease.id),
                ]
                + [str(args.batch)],
                stdout=subprocess.PIPE,
                text=True,
                cwd=ROOT,
            )
            for me in range(args.workers)
        ]
        outputs = [process.communicate()[0] for process in processes]
        wall = time.perf_counter() - start
        counts: Counter = Counter()
        for out in outputs:
            counts.update(json.loads(out.strip().splitlines()[-1]))
        with engine.connect() as conn:
            held, items, holds = conn.execute(
                sa.text("SELECT held_seconds, items, holds FROM newsdesk.load_lock")
            ).one()
            stories = conn.scalar(sa.text("SELECT count(DISTINCT story_id) FROM newsdesk.articles WHERE is_current"))
            # Copies of one text in two stories: what two loads at once must never make.
            split = conn.scalar(
                sa.text(
                    "SELECT count(*) FROM (SELECT body_hash FROM newsdesk.articles WHERE is_current"
                    " GROUP BY body_hash HAVING count(DISTINCT story_id) > 1) s"
                )
            )
            if os.environ.get("LOCK_PROBE_DUMP"):
                rows = conn.execute(
                    sa.text(
                        "SELECT a.locator, a.dup_kind, a.event_score IS NOT NULL AS event, s.locator AS story"
                        " FROM newsdesk.articles a JOIN newsdesk.articles s ON s.id = a.story_id WHERE a.is_current"
                    )
                ).all()
                Path(os.environ["LOCK_PROBE_DUMP"]).write_text(json.dumps([list(r) for r in rows]))
        engine.dispose()
    print(
        json.dumps(
            {
                "articles": args.limit or args.articles,
                "batch": args.batch,
                "workers": args.workers,
                "wall_s": round(wall, 2),
                "lock_s": round(held, 3),
                "holds": holds,
                "lock_ms_per_article": round(1000 * held / items, 3) if items else None,
                "lock_busy_share": round(held / wall, 3),
                "stories": stories,
                "texts_in_two_stories": split,
                "counts": dict(counts),
            }
        )
    )


if __name__ == "__main__":
    main()
