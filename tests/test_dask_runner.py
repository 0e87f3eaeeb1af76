"""The ingest flow on Dask worker processes (prefect-dask) loads exactly what it
loads on Prefect's default thread pool, in the same order, and a failed load
still does not stop the next one."""

import os
import time

import psutil
import pytest
import sqlalchemy as sa

from newsdesk.config import Settings
from newsdesk.flows.runners import record_of
from tests.helpers import SEEDS, fetch, refusing_inserts
from tests.texts import distinct_story

TRUNCATE = (
    "TRUNCATE newsdesk.rejections, newsdesk.articles, newsdesk.documents, newsdesk.near_keys,"
    " newsdesk.story_keys, newsdesk.story_vectors, newsdesk.story_merges, newsdesk.story_centroids, newsdesk.ingest_run_sources, newsdesk.ingest_runs RESTART IDENTITY CASCADE"
)


@pytest.fixture(scope="module")
def dask_cluster(database_url):
    """Two single-threaded worker processes, started after DATABASE_URL is set
    (they inherit the environment); closed, and their processes gone, at the end."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0")
    # Not the default client: the runner would pick a default client's cluster up.
    client = Client(cluster, set_as_default=False)
    workers = [psutil.Process(pid) for pid in client.run(os.getpid).values()]
    try:
        yield cluster, client
    finally:
        client.close()
        cluster.close()
        _, alive = psutil.wait_procs(workers, timeout=30)
        assert not alive, f"Dask worker processes left running: {alive}"


def write_corpus(corpus):
    """The seeds, 20 distinct articles, and copies that land in later batches
    than their originals: which copy is canonical depends on the load order."""
    for seed in sorted(SEEDS.glob("*.txt")):
        corpus.write(seed.name, seed.read_bytes())
    for i in range(20):
        corpus.write(f"gen-{i:02}.txt", distinct_story(100 + i))
    corpus.write("zz-copy-000.txt", (SEEDS / sorted(p.name for p in SEEDS.glob("000_*.txt"))[0]).read_bytes())
    corpus.write("zz-copy-gen-03.txt", distinct_story(103))
    corpus.write("zz-half-gen-05.txt", " ".join(distinct_story(105).split(". ")[:4]) + ".")
    return corpus.configure()


def snapshot(db) -> list[tuple]:
    """Every article row, with links between articles named by locator, not id."""
    rows = fetch(
        db,
        "SELECT id, locator, title, body, body_hash, dup_kind, published_at, duplicate_of, story_id"
        " FROM newsdesk.articles",
    )
    locator = {r["id"]: r["locator"] for r in rows}
    return sorted(
        (
            r["locator"],
            r["title"],
            r["body"],
            r["body_hash"],
            r["dup_kind"],
            r["published_at"],
            locator.get(r["duplicate_of"]),
            locator[r["story_id"]],
        )
        for r in rows
    )


def counts(record: dict) -> dict:
    return {
        "run": {k: v for k, v in record.items() if k.startswith("n_")},
        "sources": [{k: v for k, v in row.items() if k == "source" or k.startswith("n_")} for row in record["sources"]],
        "status": record["status"],
    }


def dask_runner(cluster):
    from newsdesk.flows.runners import NewsdeskDaskTaskRunner

    return NewsdeskDaskTaskRunner(address=cluster.scheduler_address)


@pytest.mark.timeout(300)
def test_dask_workers_load_the_same_rows_as_threads(db, corpus, dask_cluster, prefect_server):
    from distributed import get_task_stream

    from newsdesk.flows.ingest import ingest

    cluster, client = dask_cluster
    sources = write_corpus(corpus)

    started = time.perf_counter()
    threads = ingest(sources_file=str(sources), batch_size=5)
    threads_seconds = time.perf_counter() - started
    threads_rows = snapshot(db)
    with db.begin() as conn:
        conn.execute(sa.text(TRUNCATE))

    started = time.perf_counter()
    with get_task_stream(client) as stream:
        on_dask = ingest.with_options(task_runner=dask_runner(cluster))(sources_file=str(sources), batch_size=5)
    dask_seconds = time.perf_counter() - started
    print(f"\ningest of 28 articles in 6 batches: threads {threads_seconds:.1f} s, dask {dask_seconds:.1f} s")

    assert counts(on_dask) == counts(threads)
    assert (threads["n_discovered"], threads["n_inserted"], threads["n_duplicate"]) == (28, 24, 4)
    assert snapshot(db) == threads_rows
    by_name = {row[0].rsplit("/", 1)[1]: row for row in threads_rows}
    assert by_name["zz-copy-000.txt"][4] == "exact" and by_name["zz-copy-000.txt"][6].split("/")[-1].startswith("000_")
    assert by_name["zz-half-gen-05.txt"][4] == "near" and by_name["zz-half-gen-05.txt"][6].endswith("gen-05.txt")

    # The cleans and loads ran in the cluster's worker processes, not here.
    ran = [task["key"] for task in stream.data]
    assert sum("clean" in str(key) for key in ran) == 6 and sum("load" in str(key) for key in ran) == 6
    assert {task["worker"] for task in stream.data} <= set(cluster.scheduler_info["workers"])


@pytest.mark.timeout(300)
def test_on_dask_a_refused_item_fails_alone_and_the_next_batch_loads(db, corpus, dask_cluster, prefect_server):
    from newsdesk.flows.ingest import ingest

    cluster, _ = dask_cluster
    for i in range(6):
        corpus.write(f"{i}.txt", distinct_story(i))
    corpus.configure()
    with refusing_inserts(db, "/3.txt"):
        state = ingest.with_options(task_runner=dask_runner(cluster))(
            sources_file=str(corpus.sources), batch_size=2, return_state=True
        )
    record = record_of(state)
    # Batch 2 (2.txt, 3.txt) is refused, then loaded item by item (3.txt alone fails);
    # batch 3 still loads after it. An item failed: the run is Failed.
    assert state.is_failed() and record["status"] == "failed"
    assert (record["n_discovered"], record["n_inserted"], record["n_failed"]) == (6, 5, 1)
    loaded = {r["locator"].rsplit("/", 1)[1] for r in fetch(db, "SELECT locator FROM newsdesk.articles")}
    assert loaded == {"0.txt", "1.txt", "2.txt", "4.txt", "5.txt"}


@pytest.mark.timeout(300)
def test_the_configured_runner_starts_a_local_cluster_and_stops_it(db, monkeypatch, prefect_server):
    from newsdesk.flows import runners
    from newsdesk.flows.ingest import ingest

    submitted = []
    real_submit = runners.NewsdeskDaskTaskRunner.submit

    def counting_submit(self, task, *args, **kwargs):
        submitted.append(task.name)
        return real_submit(self, task, *args, **kwargs)

    monkeypatch.setattr(runners.NewsdeskDaskTaskRunner, "submit", counting_submit)
    monkeypatch.setenv("NEWSDESK_DASK_WORKERS", "1")
    before = {p.pid for p in psutil.Process().children(recursive=True)}

    record = runners.run(ingest, "dask", sources_file=str(SEEDS / "sources.toml"), batch_size=2)

    assert (record["n_discovered"], record["n_inserted"], record["n_duplicate"]) == (5, 4, 1)
    assert sorted(submitted) == ["clean"] * 3 + ["load"] * 3
    left = [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
    _, alive = psutil.wait_procs(left, timeout=30)
    assert not alive, f"the runner's Dask cluster left processes running: {alive}"


def test_runner_settings():
    from newsdesk.flows.runners import NewsdeskDaskTaskRunner, task_runner

    assert Settings.from_env({}).task_runner == "threads"
    assert task_runner(Settings.from_env({})) is None
    remote = task_runner(
        Settings.from_env({"NEWSDESK_TASK_RUNNER": "dask", "NEWSDESK_DASK_ADDRESS": "tcp://scheduler:8786"})
    )
    assert isinstance(remote, NewsdeskDaskTaskRunner) and remote.address == "tcp://scheduler:8786"
    local = task_runner(
        Settings(
            database_url="postgresql://u@db/x", home=Settings.from_env({}).home, task_runner="dask", dask_workers=3
        )
    )
    assert local.address is None
    assert local.cluster_kwargs["n_workers"] == 3 and local.cluster_kwargs["threads_per_worker"] == 1
    assert local.cluster_kwargs["env"] == {"DATABASE_URL": "postgresql://u@db/x"}
    for env, message in [
        ({"NEWSDESK_TASK_RUNNER": "processes"}, "NEWSDESK_TASK_RUNNER must be one of threads, dask"),
        ({"NEWSDESK_DASK_ADDRESS": "scheduler"}, "NEWSDESK_DASK_ADDRESS must be a Dask scheduler address"),
        ({"NEWSDESK_DASK_WORKERS": "0"}, "NEWSDESK_DASK_WORKERS must be positive"),
    ]:
        with pytest.raises(ValueError, match=message):
            Settings.from_env(env)


def test_cli_rejects_an_unknown_task_runner(capsys):
    from newsdesk.cli import main

    with pytest.raises(SystemExit) as exit:
        main(["ingest", "--task-runner", "processes"])
    assert exit.value.code == 2 and "invalid choice" in capsys.readouterr().err
