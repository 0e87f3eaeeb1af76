"""One web day over a Dask cluster of 2 worker processes: the pages are
extracted on the cluster's workers (not in the flow's process), each page is
fetched and loaded once, and the day has one run row and one set of counts."""

from __future__ import annotations

import os

import psutil
import pytest

from tests.helpers import fetch
from tests.test_ingest_web import Site, load_pages

pytestmark = pytest.mark.usefixtures("prefect_server")


@pytest.fixture
def cluster(database_url):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0")
    client = Client(cluster, set_as_default=False)
    workers = [psutil.Process(pid) for pid in client.run(os.getpid).values()]
    try:
        yield cluster, client
    finally:
        client.close()
        cluster.close()
        psutil.wait_procs(workers, timeout=30)


@pytest.mark.timeout(300)
def test_a_web_day_is_extracted_on_the_cluster_and_loaded_once(db, tmp_path, httpserver, monkeypatch, cluster):
    from distributed import get_task_stream

    from newsdesk.flows.ingest import ingest
    from newsdesk.flows.runners import NewsdeskDaskTaskRunner, record_of

    monkeypatch.setenv("NEWSDESK_HOST_DELAY", "0")
    monkeypatch.setenv("NEWSDESK_TASK_RUNNER", "dask")
    site = Site(httpserver, dict(list(load_pages().items())[:24]))
    sources = tmp_path / "sources.toml"
    sources.write_text(f'[[source]]\nname = "web"\nkind = "feed"\nurl = "{site.url("/feed.xml")}"\n')
    scheduler, client = cluster
    with get_task_stream(client) as stream:
        state = ingest.with_options(task_runner=NewsdeskDaskTaskRunner(address=scheduler.scheduler_address))(
            sources_file=str(sources), batch_size=10, return_state=True
        )
    record = record_of(state)

    extracted = [task for task in stream.data if task["key"].startswith("_prepare_page")]
    assert len(extracted) == 24  # every page, on the cluster's workers
    assert {task["worker"] for task in extracted} <= set(client.scheduler_info()["workers"])
    assert all(hits == 1 for hits in site.hits.values()) and len(site.hits) == 24

    [run] = fetch(db, "SELECT * FROM newsdesk.ingest_runs")
    assert run["id"] == record["id"] and run["n_discovered"] == 26  # 24 pages, a 404 and a robots.txt refusal
    loaded = fetch(db, "SELECT locator, count(*) AS n FROM newsdesk.articles GROUP BY locator")
    assert len(loaded) == record["n_inserted"] + record["n_duplicate"] and all(r["n"] == 1 for r in loaded)
    assert record["n_inserted"] + record["n_duplicate"] + record["n_rejected"] + record["n_failed"] == 26
