"""The `newsdesk` console script, run as a user runs it."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT, SEEDS, run_ingest

NEWSDESK = str(Path(sys.executable).with_name("newsdesk"))


def newsdesk(*args, env=None, timeout=900):  # a hang guard, not a speed check
    return subprocess.run([NEWSDESK, *args], capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)


def test_extract_json_on_the_seeds():
    result = newsdesk("extract", "--json", *sorted(map(str, SEEDS.glob("*.txt"))))
    assert result.returncode == 0, result.stderr
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(objects) == 5
    for obj in objects:
        assert {"path", "title", "published", "text"} <= obj.keys()
        assert "](" not in obj["text"] and "<br" not in obj["text"]
    by_name = {Path(o["path"]).name[:3]: o for o in objects}
    assert by_name["000"]["published"].startswith("2019-12-12")
    assert by_name["003"]["published"].startswith("2023-01-04")
    assert by_name["001"]["published"] is None


def test_extract_reports_a_bad_file_and_goes_on(tmp_path):
    bad = tmp_path / "empty.txt"
    bad.write_bytes(b"")
    good = tmp_path / "good.md"
    good.write_text("# A title\n\nA paragraph long enough to count as an article body, surely.")
    result = newsdesk("extract", "--json", str(bad), str(good))
    assert result.returncode == 1
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first == {"path": str(bad), "error": "empty file", "stage": "acquire"}
    assert second["title"] == "A title"


def test_extract_plain_output():
    [seed] = SEEDS.glob("003_*.txt")
    result = newsdesk("extract", str(seed))
    assert result.returncode == 0
    assert "title: United States and Taiwan" in result.stdout
    assert "published: 2023-01-04" in result.stdout


def test_ingest_with_a_missing_sources_file_fails_clearly(tmp_path):
    result = newsdesk("ingest", "--sources", str(tmp_path / "nope.toml"))
    assert result.returncode == 2
    assert "sources file not found" in result.stderr


@pytest.mark.timeout(900)  # a hang guard: on a loaded machine the embedded server and the run start slowly
def test_ingest_and_runs_on_the_embedded_database(tmp_path):
    """What `make run` does on a machine with no PostgreSQL server."""
    # No XDG_RUNTIME_DIR, as in a container or over su: its warning must not show.
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PREFECT_API_URL", "XDG_RUNTIME_DIR")}
    env["NEWSDESK_HOME"] = str(tmp_path / "home")
    try:
        result = newsdesk("ingest", "--sources", str(SEEDS / "sources.toml"), env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        assert "completed" in result.stdout
        assert "embedded PostgreSQL" in result.stdout and "psql" in result.stdout
        summary = [line for line in result.stdout.splitlines() if line.startswith("seeds ")]
        # discovered, inserted, duplicate: seed 002 is a rewrite of 001
        assert summary and summary[0].split()[1:4] == ["5", "4", "1"]

        # The Connect line pastes as it is, from the repository root (the cwd here).
        [connect] = [line for line in result.stdout.splitlines() if line.startswith("Connect: ")]
        pasted = subprocess.run(
            f"{connect.removeprefix('Connect: ')} -At -c 'SELECT count(*) FROM articles'",
            shell=True,
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=120,
        )
        assert pasted.returncode == 0, (connect, pasted.stderr)
        assert pasted.stdout.strip() == "5"
        assert "XDG_RUNTIME_DIR" not in result.stderr

        history = newsdesk("runs", env=env)
        assert history.returncode == 0, history.stderr
        lines = history.stdout.splitlines()
        assert lines[0].split()[:2] == ["id", "status"]
        # The sources file's whole path: two sources.toml in different folders look alike by name.
        assert lines[2].split()[1:4] == ["completed", "ingest", str((SEEDS / "sources.toml").resolve())]
        assert lines[0].split()[-1] == "reason"

        # The embedded server, started by the run and left running, stopped and started again.
        pgdata = tmp_path / "home" / "pgdata"
        status = newsdesk("db", "status", env=env)
        assert status.returncode == 0, status.stderr
        assert status.stdout.startswith("embedded PostgreSQL: running (pid ")
        stopped = newsdesk("db", "stop", env=env)
        assert stopped.returncode == 0, stopped.stderr
        assert stopped.stdout.strip() == f"embedded PostgreSQL: stopped, data in {pgdata}"
        status = newsdesk("db", "status", env=env)
        assert status.returncode == 1 and "stopped" in status.stdout
        started = newsdesk("db", "start", env=env)
        assert started.returncode == 0, started.stderr
        assert started.stdout.startswith("embedded PostgreSQL: running (pid ")
        assert newsdesk("runs", env=env).returncode == 0
    finally:
        # The server the last `db start` left running is stopped by the product's own
        # command (a handle of this process's would not stop another's server), then deleted.
        pgdata = tmp_path / "home" / "pgdata"
        if pgdata.exists():
            newsdesk("db", "stop", env=env)
            shutil.rmtree(pgdata, ignore_errors=True)


def test_status_shows_the_last_run_per_source_and_who_keeps_failing(db, corpus, prefect_server, capsys):
    from newsdesk.cli import main
    from tests.texts import distinct_story

    corpus.write("a.txt", distinct_story(1))
    corpus.configure(
        '[[source]]\nname = "good"\nkind = "files"\npath = "articles"\n',
        '[[source]]\nname = "gone"\nkind = "files"\npath = "no-such-folder"\n',
    )
    for _n in range(2):
        run_ingest(corpus.sources)
        capsys.readouterr()
        assert main(["status"]) == 0  # failing twice is not yet "repeatedly"
    run_ingest(corpus.sources)
    capsys.readouterr()
    assert main(["status"]) == 1
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines()[2:] if line.split()[:1] in (["good"], ["gone"])}
    # The run failed (a source failed outright); each source's health is its own, as in the UI's artifact.
    assert rows["good"][1:3] == ["3", "ok"] and rows["gone"][1:3] == ["3", "failing"]
    assert rows["gone"][-1] == "never" and rows["good"][-1] != "never"
    assert "Failing in each of their last 3 runs: gone" in out


def test_psql_runs_on_the_configured_database(db):
    result = newsdesk("psql", "-At", "-c", "SELECT count(*) FROM newsdesk.stories", env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"
