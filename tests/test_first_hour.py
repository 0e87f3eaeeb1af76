"""The first hour (issue 30): every expected failure is one line with its exit
code, settings and the sources file are checked before anything starts, and
the rough edges a new user meets are gone. Run as a user runs `newsdesk`."""

import gzip
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from newsdesk.extracting import JSON_KEYS
from tests.helpers import ROOT, SEEDS

NEWSDESK = str(Path(sys.executable).with_name("newsdesk"))
EXTRACTION_SET = ROOT / "bench" / "data" / "article-extraction" / "html"


def newsdesk(*args, env=None, timeout=300, **kwargs):
    return subprocess.run(
        [NEWSDESK, *args], capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT, **kwargs
    )


def environment(**changes):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def one_line(result) -> str:
    """The error line; `ingest` says first, within a second, what it is starting."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = [
        line for line in result.stderr.strip().splitlines() if not line.endswith("starting the database and Prefect…")
    ]
    assert len(lines) == 1, result.stderr
    return lines[0]


def run_count(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.text("SELECT count(*) FROM newsdesk.ingest_runs"))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the check before starting anything ------------------------------------------------------------


def test_a_typo_in_the_sources_file_is_one_line_exit_2_and_no_run(db, tmp_path):
    sources = tmp_path / "my.toml"
    sources.write_text('[[source]]\nname = "world"\nkind = "feeds"\nurl = "https://example.org/feed.xml"\n')
    before = run_count(db)
    result = newsdesk("ingest", "--sources", str(sources), env=environment(), timeout=60)
    assert result.returncode == 2
    assert one_line(result) == (
        f"newsdesk: {sources}:3: source 'world': kind must be one of files, page, feed, sitemap,"
        " got 'feeds' (did you mean 'feed'?)"
    )
    assert run_count(db) == before  # nothing started, nothing recorded


def test_every_problem_of_the_sources_file_at_once(db, tmp_path):
    sources = tmp_path / "my.toml"
    sources.write_text(
        '[[source]]\nname = "notes"\nkind = "files"\npaht = "notes"\n\n'
        '[[source]]\nname = "notes"\nkind = "page"\nurls = ["http://[::1"]\n'
    )
    result = newsdesk("ingest", "--sources", str(sources), env=environment(), timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"newsdesk: {sources}:1: source 'notes': a files source needs path = \"articles\""
        " (a folder, relative to the sources file)",
        f"newsdesk: {sources}:4: source 'notes': unknown key 'paht' (did you mean 'path'?)",
        f"newsdesk: {sources}:9: source 'notes': urls: 'http://[::1' is not a valid URL (Invalid IPv6 URL)",
    ]


def test_serve_checks_the_sources_file_before_prefect(tmp_path):
    sources = tmp_path / "my.toml"
    sources.write_text("source = ['a']\n")
    result = newsdesk("serve", "--sources", str(sources), env=environment(), timeout=60)
    assert result.returncode == 2
    assert one_line(result) == f"newsdesk: {sources}:1: `source` must be [[source]] tables, one per source"


@pytest.mark.parametrize(
    "command",
    [
        ["ingest"],
        ["runs"],
        ["status"],
        ["export"],
        ["raw", "x"],
        ["reprocess"],
        ["dedup", "--rebuild"],
        ["extract", str(SEEDS)],
        ["db", "status"],
        ["psql", "-c", "SELECT 1"],
    ],
)
def test_a_bad_setting_is_one_line_in_every_command(command):
    result = newsdesk(*command, env=environment(NEWSDESK_BATCH_SIZE="abc"), timeout=60)
    assert result.returncode == 2
    assert one_line(result) == (
        "newsdesk: NEWSDESK_BATCH_SIZE must be a whole number, got 'abc' (fix or unset NEWSDESK_BATCH_SIZE)"
    )


def test_every_bad_setting_at_once_and_misspelled_names():
    env = environment(NEWSDESK_HOST_DELAY="-1", NEWSDESK_FILE_CHECK="mtime", NEWSDESK_BATCHSIZE="10")
    result = newsdesk("runs", env=env, timeout=60)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "newsdesk: NEWSDESK_HOST_DELAY must be zero or more, got -1.0 (fix or unset NEWSDESK_HOST_DELAY)",
        "newsdesk: NEWSDESK_FILE_CHECK must be one of stat, content, got 'mtime' (fix or unset NEWSDESK_FILE_CHECK)",
        "newsdesk: NEWSDESK_BATCHSIZE is not a newsdesk setting: did you mean NEWSDESK_BATCH_SIZE?",
    ]


# -- the database, one line each -------------------------------------------------------------------


def test_a_database_that_is_down_is_one_line_exit_3():
    port = closed_port()
    url = f"postgresql://newsdesk:s3cret@127.0.0.1:{port}/newsdesk"
    for command in (["runs"], ["ingest", "--sources", str(SEEDS / "sources.toml")]):
        result = newsdesk(*command, env=environment(DATABASE_URL=url), timeout=120)
        assert result.returncode == 3, result.stderr
        assert one_line(result) == (
            f"newsdesk: cannot connect to PostgreSQL (127.0.0.1:{port}, from DATABASE_URL="
            f"postgresql://newsdesk:***@127.0.0.1:{port}/newsdesk): connection refused:"
            " is PostgreSQL running there, on that port?"
        )
        assert "s3cret" not in result.stderr + result.stdout


def test_an_unknown_role_is_one_line_exit_3(database_url):
    from sqlalchemy.engine import make_url

    url = make_url(database_url).set(username="no_such_role_i30", password="pw")
    result = newsdesk("status", env=environment(DATABASE_URL=url.render_as_string(hide_password=False)), timeout=60)
    assert result.returncode == 3
    line = one_line(result)
    where = f"{url.host}:{url.port or 5432}" if url.host else "socket "
    assert line.startswith(f"newsdesk: cannot connect to PostgreSQL ({where}")
    assert "from DATABASE_URL=postgresql://no_such_role_i30:***@" in line
    assert line.endswith("role 'no_such_role_i30' does not exist: create it, or fix the user in DATABASE_URL")
    assert ":pw@" not in line


def test_a_url_without_a_scheme_names_database_url():
    result = newsdesk("runs", env=environment(DATABASE_URL="127.0.0.1:5432/newsdesk"), timeout=60)
    assert result.returncode == 2
    assert one_line(result) == (
        "newsdesk: DATABASE_URL is not a URL (got '127.0.0.1:5432/newsdesk'):"
        " write it as postgresql://user:password@host:5432/database"
    )


def test_debug_shows_the_traceback():
    port = closed_port()
    result = newsdesk("--debug", "runs", env=environment(DATABASE_URL=f"postgresql://u@127.0.0.1:{port}/x"), timeout=60)
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "OperationalError" in result.stderr


# -- rough edges -----------------------------------------------------------------------------------


def test_export_into_head_ends_quietly(db, prefect_server):
    from tests.helpers import run_ingest

    run_ingest(SEEDS / "sources.toml")
    env = environment(DATABASE_URL=os.environ["DATABASE_URL"])
    pipeline = subprocess.run(
        f"{NEWSDESK} export | head -1", shell=True, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )
    assert pipeline.returncode == 0
    assert json.loads(pipeline.stdout)["title"]
    assert "BrokenPipe" not in pipeline.stderr and "Traceback" not in pipeline.stderr


def test_raw_takes_a_relative_path(db, prefect_server):
    from tests.helpers import run_ingest

    run_ingest(SEEDS / "sources.toml")
    [seed] = SEEDS.glob("003_*.txt")
    relative = os.path.relpath(seed, ROOT)
    result = subprocess.run(
        [NEWSDESK, "raw", relative],
        capture_output=True,
        env=environment(DATABASE_URL=os.environ["DATABASE_URL"]),
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == seed.read_bytes()


def test_extract_reads_gzipped_pages_and_folders(tmp_path):
    [page] = sorted(EXTRACTION_SET.glob("*.html.gz"))[:1]
    folder = tmp_path / "pages"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "page.html.gz").write_bytes(page.read_bytes())
    (folder / "note.txt").write_text("A note long enough to be an article body, with two sentences. Here.")
    (folder / ".hidden.txt").write_text("never read")
    result = newsdesk("extract", "--json", str(page), str(folder), env=environment(), timeout=120)
    assert result.returncode == 0, result.stderr
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["path"] for o in objects] == [str(page), str(folder / "note.txt"), str(folder / "sub" / "page.html.gz")]
    assert objects[0]["media_type"] == "text/html" and objects[0]["text"]
    assert objects[0]["text"] == objects[2]["text"]
    assert gzip.decompress(page.read_bytes())  # a real gzipped page


def test_extract_json_keys_are_the_documented_ones():
    [seed] = SEEDS.glob("003_*.txt")
    result = newsdesk("extract", "--json", str(seed), env=environment(), timeout=120)
    assert tuple(json.loads(result.stdout)) == JSON_KEYS
    documented = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    row = next(line for line in documented.splitlines() if line.startswith("| `newsdesk extract"))
    listed = re.findall(r"`(\w+)`", row.split("one object per line with", 1)[1].split(" (", 1)[0])
    assert tuple(listed) == JSON_KEYS


def test_help_gives_defaults_environment_and_exit_codes():
    for command in ("ingest", "extract", "reprocess", "dedup", "serve", "runs", "status", "export", "raw", "db"):
        text = newsdesk(command, "--help", env=environment(), timeout=60).stdout
        assert "environment:" in text and "exit codes:" in text, command
    assert "the last N runs (default: 20)" in newsdesk("runs", "--help", env=environment(), timeout=60).stdout
    assert "(default: jsonl)" in newsdesk("export", "--help", env=environment(), timeout=60).stdout
    top = newsdesk("--help", env=environment(), timeout=60).stdout
    assert "3  PostgreSQL cannot be reached" in top and "--debug" in top


def test_dedup_without_rebuild_says_what_to_do():
    result = newsdesk("dedup", env=environment(), timeout=60)
    assert result.returncode == 2
    assert one_line(result) == "newsdesk dedup: nothing to do; `newsdesk dedup --rebuild` recomputes every story"
    assert "required" not in result.stderr


def test_counts_in_tables_read_with_separators():
    from newsdesk.cli import _table

    table = _table(["id", "source", "discovered"], [[1234, "wire", 1000]])
    assert table.splitlines()[2].split() == ["1234", "wire", "1,000"]
