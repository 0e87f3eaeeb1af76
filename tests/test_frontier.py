"""The daily web run through one crawl frontier, against real multi-host servers
on this machine (`bench.sites`: each site on an address of its own in 127/8).

Asserted from the servers' side: two requests to one site never closer than
the delay, robots.txt once per site and run, every page fetched once. Time is
never asserted."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from bench.sites import SimulatedWeb
from newsdesk.tasks.packing import unpack
from tests.helpers import fetch, ingests_at_once, run_ingest

pytestmark = pytest.mark.usefixtures("prefect_server")

DELAY = 0.2


@pytest.fixture
def polite(monkeypatch):
    monkeypatch.setenv("NEWSDESK_HOST_DELAY", str(DELAY))


def _sources(tmp_path: Path, web: SimulatedWeb) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(web.sources_toml(), encoding="utf-8")
    return path


def test_many_sites_in_one_run_each_at_its_own_pace(db, tmp_path, polite):
    with SimulatedWeb(4, 6, latency=0.02) as web:
        record = run_ingest(_sources(tmp_path, web))
        assert record["status"] == "completed"
        assert (record["n_discovered"], record["n_rejected"], record["n_failed"]) == (24, 0, 0)
        assert record["n_inserted"] + record["n_duplicate"] == 24
        for site in web.sites:
            assert site.requests_to("/robots.txt") == 1, site.address
            assert site.requests_to("/feed.xml") == 1, site.address
            assert site.closest_gap() >= DELAY, (site.address, site.closest_gap())
            assert sorted(site.pages_requested().values()) == [1] * 6, site.address
        # The sites were served side by side, not one after another: some site's
        # first request came before another site's last.
        spans = [(min(t for t, _ in site.log), max(t for t, _ in site.log)) for site in web.sites]
        assert any(start < max(end for _, end in spans) for start, _ in spans[1:])
        # Each page is stored as served (compressed in the extraction worker, which sends back only that).
        served = {f"{site.base}/page/{i}": page for site in web.sites for i, page in enumerate(site.pages)}
        stored = fetch(db, "SELECT locator, raw, raw_encoding, byte_size FROM newsdesk.documents")
        assert sorted(row["locator"] for row in stored) == sorted(served)
        for row in stored:
            page = served[row["locator"]]
            assert row["raw_encoding"] == "zstd" and row["byte_size"] == len(page)
            assert unpack(row["raw"], row["raw_encoding"]) == page
    sources = fetch(db, "SELECT source, n_discovered FROM newsdesk.ingest_run_sources ORDER BY source")
    assert [row["n_discovered"] for row in sources] == [6, 6, 6, 6]


def test_robots_txt_is_kept_across_runs_and_revalidated(db, tmp_path, polite):
    with SimulatedWeb(1, 2, latency=0.0) as web:
        site = web.sites[0]
        site.robots = "User-agent: *\nDisallow: /page/1\n"
        first = run_ingest(_sources(tmp_path, web))
        assert (first["n_inserted"], first["n_rejected"]) == (1, 1)
        # The site now refuses to answer robots.txt: the copy kept from the last
        # run (less than a day old) still applies, so the same page stays refused.
        site.robots_status = 503
        second = run_ingest(_sources(tmp_path, web))
        assert (second["n_unchanged"], second["n_rejected"], second["n_failed"]) == (1, 1, 0)
        assert site.requests_to("/robots.txt") == 2  # once per run
        [kept] = fetch(db, "SELECT body FROM newsdesk.http_cache WHERE url = :url", url=f"{site.base}/robots.txt")
    assert bytes(kept["body"]) == b"User-agent: *\nDisallow: /page/1\n"


def test_an_unreachable_robots_txt_fails_the_pages_with_what_happened(db, tmp_path, polite):
    with SimulatedWeb(1, 2, latency=0.0) as web:
        web.sites[0].robots_status = 503
        # A host where nothing listens: its listing fails, with the true reason.
        with socket.socket() as closed:
            closed.bind(("127.0.0.9", 0))
            dead = f"http://127.0.0.9:{closed.getsockname()[1]}/feed.xml"
        path = _sources(tmp_path, web)
        path.write_text(path.read_text() + f'[[source]]\nname = "dead"\nkind = "feed"\nurl = "{dead}"\n')
        record = run_ingest(path)
    assert record["status"] == "failed"  # two sources failed outright
    problems = fetch(db, "SELECT source, outcome, stage, reason FROM newsdesk.rejections ORDER BY source")
    assert [(p["source"], p["outcome"], p["stage"], p["reason"]) for p in problems] == [
        ("dead", "failed", "discover", "robots.txt unreachable: connection refused"),
        ("site-000", "failed", "discover", "robots.txt unreachable: HTTP 503"),
    ]


def test_two_runs_at_once_keep_the_spacing_of_a_shared_slow_host(db, tmp_path, polite, database_url):
    """Two `newsdesk ingest` processes, as two cron jobs or workers start them,
    against one slow host: the spacing is held in PostgreSQL, across both."""
    with SimulatedWeb(1, 8, latency=0.3) as web:
        sources = _sources(tmp_path, web)
        runs = ingests_at_once(sources, database_url, 240, NEWSDESK_HOST_DELAY=str(DELAY))
        assert [run.returncode for run in runs] == [0, 0], [run.stdout for run in runs]
        site = web.sites[0]
        # Both runs fetched from the host at the same time...
        assert site.requests_to("/feed.xml") == 2
        # ...and never two request starts closer than the delay.
        assert site.closest_gap() >= DELAY, site.closest_gap()
    assert len(fetch(db, "SELECT id FROM newsdesk.articles WHERE is_current")) == 8


def test_many_small_sources_share_batches_and_every_page_loads_once(db, tmp_path, polite, monkeypatch):
    """Task runs scale with batches, not sources: one `discover-web` follows
    every listing, and a `load-web-batch-<n>` carries pages of several
    sources. Pages in flight are few (3 in all), so the
    pipeline must keep loading to keep fetching; every page still loads once."""
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, LogFilter, LogFilterFlowRunId

    from newsdesk.tasks import steps

    monkeypatch.setenv("NEWSDESK_PAGES_IN_FLIGHT", "3")
    monkeypatch.setattr(steps, "SOURCES_LOGGED", 5)
    with SimulatedWeb(12, 2, latency=0.01) as web:
        record = run_ingest(_sources(tmp_path, web))
        assert (record["n_discovered"], record["n_rejected"], record["n_failed"]) == (24, 0, 0)
        assert record["n_inserted"] + record["n_duplicate"] == 24
        for site in web.sites:
            assert sorted(site.pages_requested().values()) == [1, 1], site.address
            assert site.closest_gap() >= DELAY, (site.address, site.closest_gap())

    async def task_runs_and_logs():
        async with get_client() as client:
            runs = await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[record["flow_run_id"]]))
            )
            logs = await client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[record["flow_run_id"]]))
            )
            return [r.name for r in runs], [log.message for log in logs]

    names, messages = asyncio.run(task_runs_and_logs())
    assert names.count("discover-web") == 1
    loads = [name for name in names if name.startswith("load-web-batch-")]
    assert 1 <= len(loads) <= 24, names
    # A batch's log line says how many sources it held: some held several.
    sources_per_batch = [int(m.group(1)) for text in messages if (m := re.search(r"items? of (\d+) sources?", text))]
    assert sources_per_batch, messages
    assert max(sources_per_batch) >= 2, sources_per_batch
    # ...and names them (the first 5), so a batch's line says whose pages it loaded.
    named = [m.group(1).split(", ") for text in messages if (m := re.search(r"sources? \(([^)]*)\)", text))]
    assert named and all(1 <= len(names) <= 5 and names[0].startswith("site-") for names in named), named
    assert not [name for name in names if name.startswith(("discover-site", "fetch-site", "load-site"))], names
    # Listings: a line each for the first sources, one line for all.
    assert len([text for text in messages if re.fullmatch(r"source site-\d+: 2 URLs, 0 problems", text)]) == 5
    assert "12 web sources listed: 24 URLs, 0 problems (7 of them not logged one by one)" in messages
    sources = fetch(db, "SELECT source, n_discovered FROM newsdesk.ingest_run_sources ORDER BY source")
    assert [row["n_discovered"] for row in sources] == [2] * 12
