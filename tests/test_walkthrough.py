"""The README's five-minute walk-through, done as it says: a sources file with a
feed, `newsdesk ingest` pointed at a Prefect server, the README's psql commands,
and the run in the Prefect API the UI reads. The feed is served on 127.0.0.1."""

import gzip
import re
import subprocess
import sys
from pathlib import Path

import pytest
from werkzeug import Response

from tests.helpers import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
WALK = README.split("## Five minutes", 1)[1].split("\n## ", 1)[0]
NEWSDESK = str(Path(sys.executable).with_name("newsdesk"))
PAGES = sorted((ROOT / "bench" / "data" / "article-extraction" / "html").glob("*.html.gz"))[:3]


def shell_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, re.S)


def test_the_walkthrough_gets_a_feed_into_psql_and_prefect(db, prefect_server, httpserver, tmp_path, monkeypatch):
    import os

    from prefect.settings import PREFECT_API_URL

    for page in PAGES:
        httpserver.expect_request(f"/news/{page.name[:12]}").respond_with_data(
            gzip.decompress(page.read_bytes()), content_type="text/html; charset=utf-8"
        )
    items = "".join(f"<item><link>{httpserver.url_for('/news/' + p.name[:12])}</link></item>" for p in PAGES)
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
    httpserver.expect_request("/rss.xml").respond_with_response(
        Response(
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>World</title>{items}</channel></rss>',
            content_type="application/rss+xml",
        )
    )

    # 1. the sources file, as the README writes it, with our feed's URL
    [write, *_] = shell_blocks(WALK)
    toml = write.split("<<'EOF'\n", 1)[1].split("\nEOF", 1)[0]
    toml = re.sub(r'url = "[^"]+"', f'url = "{httpserver.url_for("/rss.xml")}"', toml)
    (tmp_path / "my.toml").write_text(toml + "\n", encoding="utf-8")

    # 3. ingest it, pointed at the Prefect server (the session's, standing in for `prefect server start`)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env |= {"PREFECT_API_URL": PREFECT_API_URL.value(), "NEWSDESK_HOST_DELAY": "0"}
    commands = [line for block in shell_blocks(WALK) for line in block.splitlines() if "newsdesk " in line]
    [ingest] = [c for c in commands if " ingest " in c]
    ingest = ingest.replace(".venv/bin/newsdesk", NEWSDESK)
    result = subprocess.run(ingest, shell=True, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    [row] = [line for line in result.stdout.splitlines() if line.startswith("world ")]
    assert row.split()[1:3] == ["3", "3"]  # discovered, inserted

    # 4. the README's psql commands
    for command in [c for c in commands if " psql " in c]:
        shown = subprocess.run(
            command.replace(".venv/bin/newsdesk", NEWSDESK),
            shell=True,
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=120,
        )
        assert shown.returncode == 0, (command, shown.stderr)
        assert "(3 rows)" in shown.stdout, (command, shown.stdout)

    # 5. the run in the Prefect API, with its counts artifact
    from prefect import get_client

    async def runs_and_artifacts():
        async with get_client() as client:
            flow_runs = await client.read_flow_runs()
            artifacts = await client.read_artifacts()
        return flow_runs, artifacts

    import asyncio

    flow_runs, artifacts = asyncio.run(runs_and_artifacts())
    assert any(run.name.startswith("ingest-") and run.state_type.value == "COMPLETED" for run in flow_runs)
    assert any(artifact.key == "ingest-counts" for artifact in artifacts)


@pytest.mark.parametrize("block", shell_blocks(WALK))
def test_the_walkthrough_calls_newsdesk_by_its_path(block):
    for line in block.splitlines():
        if line.startswith(("newsdesk ", "prefect ")):
            pytest.fail(f"not on PATH after `make run`: {line}")
