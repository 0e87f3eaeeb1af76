"""What several test modules share: paths, a real ingest run, checks on its
counts, database reads, and loader shortcuts. Imported as `tests.helpers`."""

from __future__ import annotations

import hashlib
import os
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from newsdesk.tasks.extract.fingerprint import body_hash
from newsdesk.tasks.records import OUTCOMES, Article, Prepared, RawDocument
from newsdesk.tasks.store import load, runs

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
# The 181 hand-checked pages of the extraction benchmark, kept in the repository.
BENCH_PAGES = ROOT / "bench" / "data" / "article-extraction"


def run_ingest(sources, **kwargs) -> runs.RunRecord:
    """A real run of the ingest flow over a sources file; its run record (also
    of a run that ended Failed for failed items)."""
    from newsdesk.flows.ingest import ingest
    from newsdesk.flows.runners import record_of

    return record_of(ingest(sources_file=str(sources), return_state=True, **kwargs))


def assert_counts_add_up(record: dict, db=None) -> None:
    """Every discovered item has one outcome, in the run and per source. With
    `db`: the run completed, its stored row says the same, and every rejected or
    failed item has its `rejections` row with a stage and a reason."""
    assert record["n_discovered"] == sum(record[f"n_{o}"] for o in OUTCOMES), record
    for row in record.get("sources", []):
        assert row["n_discovered"] == sum(row[f"n_{o}"] for o in OUTCOMES), row
    if db is None:
        return
    # A run with failed items ends `failed` (its loaded items kept); otherwise `completed`.
    assert record["status"] == ("failed" if record["n_failed"] else "completed"), record["status"]
    [stored] = fetch(db, "SELECT * FROM newsdesk.ingest_runs WHERE id = :id", id=record["id"])
    assert {k: stored[k] for k in stored if k.startswith("n_")} == {k: record[k] for k in stored if k.startswith("n_")}
    problems = fetch(db, "SELECT outcome, stage, reason FROM newsdesk.rejections WHERE run_id = :id", id=record["id"])
    assert len(problems) == record["n_rejected"] + record["n_failed"]
    assert all(p["stage"] and p["reason"] for p in problems)


def fetch(engine, sql: str, **params) -> list[dict]:
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(sa.text(sql), params).mappings()]


@contextmanager
def refusing_inserts(engine, locator_suffix: str):
    """A real refusal from PostgreSQL, not a mock: while the block runs, a trigger
    rejects the article row of any locator ending in `locator_suffix`."""
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE FUNCTION newsdesk.refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$"
                f" BEGIN IF NEW.locator LIKE '%{locator_suffix}' THEN RAISE EXCEPTION 'refused by test trigger'; END IF;"
                " RETURN NEW; END $$"
            )
        )
        conn.execute(
            sa.text(
                "CREATE TRIGGER refuse_one BEFORE INSERT ON newsdesk.articles"
                " FOR EACH ROW EXECUTE FUNCTION newsdesk.refuse_one()"
            )
        )
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP TRIGGER refuse_one ON newsdesk.articles"))
            conn.execute(sa.text("DROP FUNCTION newsdesk.refuse_one()"))


def prepared(locator: str, body: str, raw: bytes | None = None) -> Prepared:
    raw = raw if raw is not None else body.encode()
    return Prepared(
        document=RawDocument(locator, raw, "text/plain", hashlib.sha256(raw).hexdigest()),
        encoding="utf-8",
        article=Article(body=body, title="T"),
        body_hash=body_hash(body),
    )


def load_at_once(engine, run_id: int, batches: list) -> list:
    """Each batch loaded by its own thread, all released at the same moment; their counts."""
    barrier = threading.Barrier(len(batches))
    results = []

    def worker(batch):
        barrier.wait()
        results.append(load.load_batch(engine, run_id=run_id, source="s", items=batch))

    threads = [threading.Thread(target=worker, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def new_run(engine) -> int:
    lease = runs.open_run(engine, flow_run_id=None, sources_file=None)
    lease.close()
    return lease.id


def ingests_at_once(
    sources: Path, database_url: str, timeout: float, **settings: str
) -> list[subprocess.CompletedProcess]:
    """Two `newsdesk ingest` processes over `sources` started together, as two
    cron jobs or workers start them, with `settings` in their environment; each
    one's exit code and output (stderr in stdout). They use the session's Prefect
    server: each process starting one of its own would share ~/.prefect's SQLite
    file with every other run on the machine."""
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "DATABASE_URL": database_url, "PREFECT_API_URL": str(PREFECT_API_URL.value()), **settings}
    command = [str(ROOT / ".venv" / "bin" / "newsdesk"), "ingest", "--sources", str(sources)]
    started = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=timeout)[0] for run in started]
    return [subprocess.CompletedProcess(run.args, run.returncode, out) for run, out in zip(started, outputs)]


class AtOnce:
    """A handler for pytest-httpserver that answers after `seconds` and
    counts the requests it serves at once (`peak`)."""

    def __init__(self, body: str, seconds: float):
        self.body, self.seconds = body, seconds
        self.peak = 0
        self._active = 0
        self._lock = threading.Lock()

    def __call__(self, request):
        from werkzeug.wrappers import Response

        with self._lock:
            self._active += 1
            self.peak = max(self.peak, self._active)
        time.sleep(self.seconds)
        with self._lock:
            self._active -= 1
        return Response(self.body, content_type="text/html")
