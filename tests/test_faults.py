"""Faults on purpose, against real PostgreSQL, real Prefect runs and real HTTP
servers: a database connection dropped in the middle of a batch, the process
killed with SIGKILL in the middle of a run, two runs at once over the same
sources, and web servers that are slow, hang, fail or hang up.

Faults in the database are placed exactly, with PostgreSQL itself: a trigger
on `newsdesk.articles` makes the load transaction that inserts one chosen
article wait on an advisory lock the test holds (the "gate"), so the test
knows which batch is half-written when it terminates the backend or kills the
process.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from newsdesk.tasks.store.lock import LOCK_TABLE
from newsdesk.tasks.store.runs import RUN_LOCK_NAMESPACE
from tests.helpers import ROOT, assert_counts_add_up, fetch
from tests.helpers import run_ingest as run
from tests.texts import distinct_story

pytestmark = pytest.mark.usefixtures("prefect_server")

NEWSDESK = str(Path(sys.executable).with_name("newsdesk"))
GATE = 7_214_099  # advisory lock key the test holds to stop a load where it wants


def write_stories(corpus, n: int) -> list[str]:
    """n articles that share no story, named 000.txt, 001.txt...; their paths in discovery order."""
    return [str(corpus.write(f"{i:03}.txt", distinct_story(i))) for i in range(n)]


def assert_each_locator_loaded_once(db, locators: list[str]) -> list[dict]:
    rows = fetch(db, "SELECT * FROM newsdesk.articles ORDER BY locator")
    assert sorted(r["locator"] for r in rows) == sorted(locators)  # each exactly once, nothing else
    assert all(r["version"] == 1 and r["is_current"] for r in rows)
    documents = fetch(db, "SELECT locator FROM newsdesk.documents ORDER BY locator")
    assert [d["locator"] for d in documents] == sorted(locators)
    # A rolled-back batch leaves no dedup keys behind pointing at articles that do not exist.
    for index in ("near_keys", "story_keys"):
        orphans = fetch(
            db,
            f"SELECT count(*) AS n FROM newsdesk.{index} k"
            " WHERE NOT EXISTS (SELECT FROM newsdesk.articles a WHERE a.id = k.article_id)",
        )
        assert orphans[0]["n"] == 0, index
    return rows


@pytest.fixture
def admin(database_url):
    """Connections of the test's own, outside newsdesk's pool, each its own session."""
    engine = sa.create_engine(
        make_url(database_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    yield engine
    engine.dispose()


def advisory_lockers(admin, key: int, *, granted: bool = False) -> list[int]:
    """Backends of this database waiting on (or, with granted, holding) the bigint advisory lock `key`."""
    with admin.connect() as conn:
        return conn.scalars(
            sa.text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND classid = 0 AND objid = :k"
                " AND granted = :granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ),
            {"k": key, "granted": granted},
        ).all()


def load_lock_backends(admin, *, granted: bool = False) -> list[int]:
    """Backends of this database waiting on (or, with granted, holding) the load lock (tasks/store/lock.py)."""
    with admin.connect() as conn:
        return conn.scalars(
            sa.text(
                "SELECT pid FROM pg_locks WHERE locktype = 'relation' AND mode = 'ExclusiveLock'"
                f" AND relation = '{LOCK_TABLE}'::regclass AND granted = :granted"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ),
            {"granted": granted},
        ).all()


def lock_waiters(admin, *besides: int) -> list[int]:
    """Backends of this database (other than `besides`) waiting for a lock: a row
    another transaction wrote, a table lock, an advisory lock."""
    with admin.connect() as conn:
        return conn.scalars(
            sa.text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
                " AND pid <> ALL(CAST(:besides AS int[]))"
            ),
            {"besides": list(besides)},
        ).all()


def wait_for(condition, timeout: float, what: str, poll: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Gate:
    """While open, the load transaction inserting the article whose locator ends in
    `suffix` stops inside a trigger, waiting on the advisory lock GATE held by the
    test, until the test releases it. Once the test calls `fired`, a row in
    `faults.fired` (written by the test, so it survives the stopped transaction's
    rollback) lets every later insert of that article through: the fault happens once."""

    def __init__(self, admin, suffix: str):
        self.admin = admin
        self.suffix = suffix
        self.holder = None

    def __enter__(self) -> Gate:
        with self.admin.connect() as conn:
            conn.execute(sa.text("CREATE SCHEMA faults"))
            conn.execute(sa.text("CREATE TABLE faults.fired (pid int, at timestamptz DEFAULT clock_timestamp())"))
            conn.execute(
                sa.text(
                    "CREATE FUNCTION faults.gate() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                    f" IF NEW.locator LIKE '%{self.suffix}' AND NOT EXISTS (SELECT 1 FROM faults.fired) THEN"
                    f"   PERFORM pg_advisory_xact_lock_shared({GATE}); END IF;"
                    " RETURN NEW; END $$"
                )
            )
            conn.execute(
                sa.text(
                    "CREATE TRIGGER gate BEFORE INSERT ON newsdesk.articles FOR EACH ROW EXECUTE FUNCTION faults.gate()"
                )
            )
        self.holder = self.admin.connect()
        self.holder.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": GATE})
        return self

    def stopped(self, timeout: float = 60, alive=lambda: True) -> int:
        """A backend stopped at the gate (once one is; another may follow it there)."""

        def waiter():
            assert alive(), "the run ended before reaching the gate"
            return advisory_lockers(self.admin, GATE)

        return wait_for(waiter, timeout, f"a load to stop at {self.suffix}")[0]

    def fired(self, pid: int) -> None:
        with self.admin.connect() as conn:
            conn.execute(sa.text("INSERT INTO faults.fired (pid) VALUES (:pid)"), {"pid": pid})

    def release(self) -> None:
        if self.holder is not None:
            self.holder.execute(sa.text("SELECT pg_advisory_unlock_all()"))
            self.holder.close()
            self.holder = None

    def __exit__(self, *exc) -> None:
        self.release()
        with self.admin.connect() as conn:
            conn.execute(sa.text("SET lock_timeout = '30s'"))
            conn.execute(sa.text("DROP SCHEMA faults CASCADE"))  # the trigger goes with its function


def child_env(database_url: str, tmp_path) -> dict:
    """The environment of a `newsdesk ingest` child: the test database and the
    session's Prefect API (no temporary server of its own), nothing else of ours."""
    from prefect.settings import PREFECT_API_URL

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "NEWSDESK_"))}
    env.update(
        DATABASE_URL=database_url,
        PREFECT_API_URL=PREFECT_API_URL.value(),
        PREFECT_HOME=str(tmp_path / "prefect-home"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
    )
    return env


def start_ingest(sources, env: dict, log, batch_size: int) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen(
            [NEWSDESK, "ingest", "--sources", str(sources), "--batch-size", str(batch_size)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def backend_gone(admin, pid: int) -> bool:
    with admin.connect() as conn:
        return not conn.scalar(sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid})


def run_lock_held(admin, run_id: int) -> bool:
    """Whether a session still holds the liveness lock of run `run_id` (see tasks/store/runs.py)."""
    with admin.connect() as conn:
        return bool(
            conn.scalar(
                sa.text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 AND classid = :ns"
                    " AND objid = :id AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                ),
                {"ns": RUN_LOCK_NAMESPACE, "id": run_id},
            )
        )


def visible(db, locators: list[str]) -> int:
    return fetch(db, "SELECT count(*) AS n FROM newsdesk.articles WHERE locator = ANY(:l)", l=locators)[0]["n"]


# --- 1. A database connection dropped in the middle of a batch -----------------------------------------


def test_a_connection_dropped_mid_batch_is_retried_whole(db, corpus, admin):
    locators = write_stories(corpus, 30)
    corpus.configure()
    batch_4 = locators[15:20]  # batch_size=5: the batch of 017.txt
    seen: dict = {}

    def saboteur(gate: Gate):
        try:
            pid = gate.stopped()
            # 015 and 016 are already written by the stopped transaction: none may show.
            seen["visible while stopped"] = visible(db, batch_4)
            # Articles are written before the load lock is taken (docs/scale.md): the
            # stopped load holds nothing that stops other loads.
            seen["holds the load lock"] = pid in load_lock_backends(admin, granted=True)
            gate.fired(pid)
            with admin.connect() as conn:
                seen["terminated"] = conn.scalar(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            wait_for(lambda: backend_gone(admin, pid), 10, "the terminated backend to go")
            seen["visible after the drop"] = visible(db, batch_4)
        except BaseException as exc:  # reported by the test thread below
            seen["error"] = exc

    with Gate(admin, "/017.txt") as gate:
        thread = threading.Thread(target=saboteur, args=(gate,), daemon=True)
        thread.start()
        record = run(corpus.sources, batch_size=5)
        thread.join(timeout=30)
        fired = fetch(admin, "SELECT count(*) AS n FROM faults.fired")[0]["n"]

    assert "error" not in seen, seen.get("error")
    assert seen == {
        "visible while stopped": 0,
        "holds the load lock": False,
        "terminated": True,
        "visible after the drop": 0,
    }
    assert fired == 1  # the fault happened exactly once

    assert record["status"] == "completed"
    assert (record["n_discovered"], record["n_inserted"], record["n_failed"]) == (30, 30, 0)
    assert_counts_add_up(record)
    assert fetch(db, "SELECT count(*) AS n FROM newsdesk.rejections")[0]["n"] == 0
    rows = assert_each_locator_loaded_once(db, locators)
    # One transaction per batch, so one created_at per batch: the retried batch was written whole, once.
    by_time: dict = {}
    for row in rows:
        by_time.setdefault(row["created_at"], []).append(row["locator"])
    assert sorted(map(sorted, by_time.values())) == [locators[i : i + 5] for i in range(0, 30, 5)]

    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async def load_runs():
        async with get_client() as client:
            runs = await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[record["flow_run_id"]]))
            )
            return {r.name: (r.run_count, r.state.type.value) for r in runs if r.name.startswith("load-")}

    loads = asyncio.run(load_runs())
    assert loads["load-local-batch-4"] == (2, "COMPLETED")  # the dropped attempt, then the retry
    assert {name: count for name, (count, _) in loads.items() if name != "load-local-batch-4"} == {
        f"load-local-batch-{n}": 1 for n in (1, 2, 3, 5, 6)
    }

    again = run(corpus.sources, batch_size=5)
    assert (again["n_discovered"], again["n_unchanged"]) == (30, 30)
    assert_counts_add_up(again)
    assert_each_locator_loaded_once(db, locators)


# --- 2. The process killed with SIGKILL in the middle of a run -----------------------------------------


def test_a_run_killed_mid_batch_is_marked_crashed_and_the_next_run_loads_the_rest_once(
    db, corpus, admin, database_url, tmp_path
):
    locators = write_stories(corpus, 80)
    corpus.configure()

    with Gate(admin, "/042.txt") as gate:
        log = tmp_path / "child.log"
        child = start_ingest(corpus.sources, child_env(database_url, tmp_path), log, 5)
        try:
            pid = gate.stopped(alive=lambda: child.poll() is None)
            # Batches 1-8 are committed; batch 9 (040-044) is half-written and stopped.
            [killed] = fetch(db, "SELECT * FROM newsdesk.ingest_runs")
            assert killed["status"] == "running" and run_lock_held(admin, killed["id"])
            assert (killed["n_discovered"], killed["n_inserted"]) == (40, 40)
            assert visible(db, locators[:40]) == 40 and visible(db, locators[40:]) == 0
            child.send_signal(signal.SIGKILL)
            assert child.wait(timeout=10) == -signal.SIGKILL
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
            output = log.read_text(errors="replace")
        # The stopped backend only learns its client is gone when it reads from it again.
        gate.release()
        wait_for(lambda: backend_gone(admin, pid), 20, "the killed run's load backend to go")
        wait_for(lambda: not run_lock_held(admin, killed["id"]), 20, "the killed run's session to end")

    assert "completed" not in output  # the child never got to print its summary
    assert visible(db, locators) == 40  # the half-written batch was rolled back whole

    record = run(corpus.sources, batch_size=7)
    [before] = fetch(db, "SELECT * FROM newsdesk.ingest_runs WHERE id = :id", id=killed["id"])
    assert before["status"] == "crashed" and before["finished_at"] is not None
    assert "stopped before finishing" in before["error"]
    assert (before["n_discovered"], before["n_inserted"]) == (40, 40)
    assert_counts_add_up(before)

    assert record["status"] == "completed"
    assert (record["n_discovered"], record["n_unchanged"], record["n_inserted"], record["n_failed"]) == (80, 40, 40, 0)
    assert_counts_add_up(record)
    rows = assert_each_locator_loaded_once(db, locators)
    assert {r["locator"] for r in rows if r["run_id"] == killed["id"]} == set(locators[:40])
    assert {r["locator"] for r in rows if r["run_id"] == record["id"]} == set(locators[40:])
    assert fetch(db, "SELECT count(*) AS n FROM newsdesk.rejections")[0]["n"] == 0


# --- 3. Two runs at once over the same sources ---------------------------------------------------------


def test_two_runs_at_once_load_each_article_once(db, corpus, admin, database_url, tmp_path):
    """Two `newsdesk ingest` processes over the same sources, as two cron jobs or two workers would start them."""
    originals = write_stories(corpus, 40)
    # Exact copies under other names; discovered after every original in both runs.
    copies = [str(corpus.write(f"copy-{i:03}.txt", distinct_story(i).upper())) for i in range(0, 40, 4)]
    corpus.configure()
    env = child_env(database_url, tmp_path)

    with Gate(admin, "/000.txt") as gate:
        children = [start_ingest(corpus.sources, env, tmp_path / f"{name}.log", 5) for name in ("a", "b")]
        try:
            stopped = gate.stopped(alive=lambda: all(child.poll() is None for child in children))
            # The first batch of one run is stopped writing its articles (before the
            # load lock: docs/scale.md) while the other run's first load waits behind
            # it, on the same page's row or on the lock: both runs are loading at once.
            wait_for(lambda: lock_waiters(admin, stopped), 60, "the other run to wait behind the stopped load")
            running = fetch(db, "SELECT id FROM newsdesk.ingest_runs WHERE status = 'running'")
            assert len(running) == 2
            gate.release()
            codes = [child.wait(timeout=120) for child in children]
        finally:
            for child in children:
                if child.poll() is None:
                    child.kill()
                    child.wait()
        assert codes == [0, 0], [(tmp_path / f"{name}.log").read_text(errors="replace")[-3000:] for name in ("a", "b")]

    a, b = fetch(db, "SELECT * FROM newsdesk.ingest_runs ORDER BY id")
    for record in (a, b):
        assert record["status"] == "completed"
        assert (record["n_discovered"], record["n_rejected"], record["n_failed"], record["n_updated"]) == (50, 0, 0, 0)
        assert_counts_add_up(record)
    # Across both runs, each original is inserted once, each copy is a duplicate once, and
    # every item is unchanged in the run that found it already loaded.
    assert (a["n_inserted"] + b["n_inserted"], a["n_duplicate"] + b["n_duplicate"]) == (40, 10)
    assert a["n_unchanged"] + b["n_unchanged"] == 50
    rows = assert_each_locator_loaded_once(db, originals + copies)
    for record in (a, b):
        mine = [r for r in rows if r["run_id"] == record["id"]]
        assert sum(r["duplicate_of"] is None for r in mine) == record["n_inserted"]
        assert sum(r["duplicate_of"] is not None for r in mine) == record["n_duplicate"]
    by_locator = {r["locator"]: r for r in rows}
    for copy in copies:
        original = by_locator[str(Path(copy).with_name(Path(copy).name.removeprefix("copy-")))]
        assert by_locator[copy]["duplicate_of"] == original["id"] and by_locator[copy]["dup_kind"] == "exact"
    assert fetch(db, "SELECT count(*) AS n FROM newsdesk.articles_canonical")[0]["n"] == 40
    statuses = fetch(db, "SELECT status FROM newsdesk.ingest_runs")
    assert [s["status"] for s in statuses] == ["completed", "completed"]


# --- 4. Slow and failing web servers under load --------------------------------------------------------

# How each page of the site behaves until it is healed, and how many pages do so.
BEHAVIOURS = {
    "fine": 30,  # 200 at once
    "slow": 8,  # 200 after 0.3 s, within the timeout
    "flaky": 6,  # 503 the first time, then 200
    "hang": 4,  # never answers (until healed)
    "error": 5,  # always 500
    "reset": 4,  # reads the request, then resets the connection
    "cut": 4,  # sends half the body it announced, then hangs up
    "drip": 2,  # sends its body a byte at a time, each well within the read timeout
    "gone": 3,  # 404, even healed
}
PAGE_KINDS = [kind for kind, n in BEHAVIOURS.items() for _ in range(n)]


class FaultySite(ThreadingHTTPServer):
    """A threaded HTTP/1.0 site on 127.0.0.1 whose pages fail on purpose, with ETags
    for conditional GETs; `heal()` makes every page but the gone ones answer 200
    from then on."""

    daemon_threads = True
    request_queue_size = 128  # socketserver's 5 would drop connections of a burst, as no real site does

    def __init__(self, robots: str = "none"):
        super().__init__(("127.0.0.1", 0), _FaultyHandler)
        self.robots = robots  # "none" (404: all allowed) or "drip" (allows all, a byte at a time)
        # Dealt round-robin in the feed: a fine page, a slow one, a flaky one... then again.
        numbered = list(enumerate(PAGE_KINDS))
        self.pages = [
            f"{kind}-{i}" for i, kind in sorted(numbered, key=lambda p: (PAGE_KINDS[: p[0]].count(p[1]), p[0]))
        ]
        self.hits: dict[str, int] = {}
        self.done: dict[str, int] = {}  # requests of each page answered to the end
        self.healed = threading.Event()
        self.lock = threading.Lock()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def feed(self) -> bytes:
        items = "".join(f"<item><title>Page {p}</title><link>{self.url('/a/' + p)}</link></item>" for p in self.pages)
        return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()

    @staticmethod
    def html(page: str) -> bytes:
        number = int(page.rsplit("-", 1)[1])
        return (
            f"<html><head><title>Report {page}</title></head><body><article><h1>Report {page}</h1>"
            f"<p>{distinct_story(1000 + number, sentences=8)}</p></article></body></html>"
        ).encode()

    def heal(self) -> None:
        self.healed.set()

    def handle_error(self, request, client_address):
        pass  # a client that gave up on a hanging page, a connection reset on purpose


class _FaultyHandler(BaseHTTPRequestHandler):
    server: FaultySite

    def log_message(self, *args):
        pass

    def do_GET(self):
        self._answer()
        with self.server.lock:  # not reached when the client hung up first
            self.server.done[self.path] = self.server.done.get(self.path, 0) + 1

    def _answer(self):
        site = self.server
        if self.path == "/robots.txt" and site.robots == "drip":
            return self._drip(b"User-agent: *\nAllow: /\n" + b"# padding\n" * 100, "text/plain")
        if self.path == "/robots.txt":
            return self._send(404, b"none", "text/plain")
        if self.path == "/feed.xml":
            return self._send(200, site.feed(), "application/rss+xml")
        page = self.path.removeprefix("/a/")
        kind = page.rsplit("-", 1)[0]
        with site.lock:
            site.hits[page] = site.hits.get(page, 0) + 1
            first = site.hits[page] == 1
        body = site.html(page)
        if kind == "gone":
            self._send(404, b"no", "text/plain")
        elif site.healed.is_set() or kind in ("fine", "slow") or (kind == "flaky" and not first):
            if kind == "slow":
                time.sleep(0.3)
            if self.headers.get("If-None-Match") == f'"{page}"':
                self._send(304, b"", None)
            else:
                self._send(200, body, "text/html; charset=utf-8", etag=f'"{page}"')
        elif kind == "flaky":
            self._send(503, b"busy", "text/plain")
        elif kind == "error":
            self._send(500, b"oops", "text/plain")
        elif kind == "hang":
            site.healed.wait(60)  # then closes the connection, having sent nothing
        elif kind == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        elif kind == "cut":
            self._head(200, "text/html", len(body))
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        elif kind == "drip":
            self._drip(body, "text/html")

    def _drip(self, body: bytes, content_type: str):
        """The whole body, a byte every 0.2 s: each read is quick, the response endless."""
        self._head(200, content_type, len(body))
        for byte in body:
            if self.server.healed.wait(0.2):
                break
            self.wfile.write(bytes([byte]))
            self.wfile.flush()

    def _head(self, status: int, content_type: str | None, length: int, etag: str | None = None):
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        if etag:
            self.send_header("ETag", etag)
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def _send(self, status: int, body: bytes, content_type: str | None, etag: str | None = None):
        self._head(status, content_type, len(body), etag)
        self.wfile.write(body)


@pytest.fixture
def faulty_site(monkeypatch):
    """Starts a FaultySite; short timeouts, and no politeness delay to wait out."""
    for name, value in {
        "NEWSDESK_HOST_DELAY": "0",
        "NEWSDESK_PER_HOST": "16",
        "NEWSDESK_FETCH_CONCURRENCY": "16",
        "NEWSDESK_FETCH_TIMEOUT": "1",
        "NEWSDESK_FETCH_DEADLINE": "2",
        "NEWSDESK_FETCH_RETRIES": "1",
    }.items():
        monkeypatch.setenv(name, value)
    sites = []

    def start(**options) -> FaultySite:
        site = FaultySite(**options)
        threading.Thread(target=site.serve_forever, daemon=True).start()
        sites.append(site)
        return site

    yield start
    for site in sites:
        site.heal()
        site.shutdown()
        site.server_close()


def test_slow_hanging_and_failing_servers_end_each_item_with_an_outcome(db, tmp_path, faulty_site):
    site = faulty_site()
    sources = tmp_path / "sources.toml"
    sources.write_text(f'[[source]]\nname = "web"\nkind = "feed"\nurl = "{site.url("/feed.xml")}"\n')
    pages_of = lambda *kinds: {p for p in site.pages if p.rsplit("-", 1)[0] in kinds}  # noqa: E731

    first = run(sources, batch_size=33)
    # The run did not wait for the pages that take a minute or more to answer.
    assert not {"/a/" + p for p in pages_of("hang", "drip")} & set(site.done)
    assert {"/a/" + p for p in pages_of("fine")} <= set(site.done)
    assert first["status"] == "failed"  # items failed: the run says so
    loaded, failing = pages_of("fine", "slow", "flaky"), pages_of("hang", "error", "reset", "cut", "drip")
    assert (first["n_discovered"], first["n_inserted"], first["n_failed"], first["n_rejected"]) == (
        66,
        len(loaded),
        len(failing),
        3,
    )
    assert_counts_add_up(first)
    problems = {
        r["locator"].rsplit("/", 1)[1]: r
        for r in fetch(db, "SELECT * FROM newsdesk.rejections WHERE run_id = :id", id=first["id"])
    }
    assert set(problems) == failing | pages_of("gone")
    for page, problem in problems.items():
        kind = page.rsplit("-", 1)[0]
        assert problem["stage"] == "fetch"
        if kind == "gone":
            assert (problem["outcome"], problem["reason"]) == ("rejected", "HTTP 404")
            continue
        assert problem["outcome"] == "failed" and problem["reason"].startswith("gave up after 2 attempts: "), problem
        expected = {
            "hang": "ReadTimeout",
            "error": "HTTP 500",
            "reset": "Error",
            "cut": "RemoteProtocolError",
            "drip": "no complete response within 2 s",
        }[kind]
        assert expected in problem["reason"], problem
    # Retried once each (NEWSDESK_FETCH_RETRIES=1), and never more.
    assert {p: site.hits[p] for p in pages_of("flaky", "error", "reset", "cut")} == dict.fromkeys(
        pages_of("flaky", "error", "reset", "cut"), 2
    )
    articles = {r["locator"].rsplit("/", 1)[1]: r for r in fetch(db, "SELECT * FROM newsdesk.articles")}
    assert set(articles) == loaded
    assert all(a["title"] == f"Report {p}" and a["duplicate_of"] is None for p, a in articles.items())

    # Healed: the pages that failed load now, the others answer 304, nothing is loaded twice.
    site.heal()
    second = run(sources, batch_size=33)
    assert second["status"] == "completed"
    assert (
        second["n_discovered"],
        second["n_inserted"],
        second["n_unchanged"],
        second["n_rejected"],
        second["n_failed"],
    ) == (66, len(failing), len(loaded), 3, 0)
    assert_counts_add_up(second)
    rows = fetch(db, "SELECT locator, version FROM newsdesk.articles")
    assert sorted(r["locator"].rsplit("/", 1)[1] for r in rows) == sorted(loaded | failing)
    assert all(r["version"] == 1 for r in rows)


def test_a_robots_txt_that_never_finishes_fails_its_pages_for_the_next_run(db, tmp_path, faulty_site, monkeypatch):
    monkeypatch.setenv("NEWSDESK_FETCH_DEADLINE", "1")
    site = faulty_site(robots="drip")
    pages = ["fine-0", "fine-1", "fine-2"]
    sources = tmp_path / "sources.toml"
    urls = ", ".join(f'"{site.url("/a/" + p)}"' for p in pages)
    sources.write_text(f'[[source]]\nname = "pages"\nkind = "page"\nurls = [{urls}]\n')
    record = run(sources)
    assert record["status"] == "failed"
    # An unreachable robots.txt (RFC 9309) means nothing may be fetched, but it
    # is not a refusal: the pages fail, with what happened, and the next run tries again.
    assert (record["n_discovered"], record["n_failed"]) == (3, 3)
    assert_counts_add_up(record)
    reasons = fetch(db, "SELECT stage, reason FROM newsdesk.rejections WHERE run_id = :id", id=record["id"])
    assert reasons == [{"stage": "fetch", "reason": "robots.txt unreachable: timed out"}] * 3
    assert site.hits == {}  # no page was requested
