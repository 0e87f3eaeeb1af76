"""One bad input costs only itself (issue 27): through real ingest runs, each
hostile input is rejected (or loaded sensibly) alone, with its reason, while
everything beside it loads and the counts add up.

- a feed entry with a lone surrogate (`\\ud800` in a JSON Feed's URL or
  title, `&#xD800;` in an RSS title) beside a normal feed;
- responses no HTTP parser reads (a `Location: http:host/x`, headers over
  100 KB): rejected once, not retried every run;
- an extraction bomb beside normal pages, over its CPU time budget;
- a folder holding a file name that is not UTF-8, links out of the folder, a
  link loop, a FIFO, a newline in a name, an extraction bomb and a 1 MB
  front-matter title beside 20 good articles;
- a FIFO swapped in after the folder was listed: rejected, never waited on.
"""

from __future__ import annotations

import asyncio
import json
import os
import socketserver
import threading
from contextlib import contextmanager

import pytest

from newsdesk.tasks.extract.metadata import MAX_FIELD_CHARS
from newsdesk.tasks.files import list_files, prepare_listed
from newsdesk.tasks.sources import Source
from newsdesk.tasks.store import load
from tests.helpers import assert_counts_add_up, fetch, new_run, prepared
from tests.helpers import run_ingest as run
from tests.texts import distinct_story

pytestmark = pytest.mark.usefixtures("prefect_server")

# A page trafilatura takes ~10 s of CPU over (40,000 linked paragraphs, 3.3 MB),
# against a budget of BUDGET: rejected after BUDGET seconds of CPU, not 10.
BUDGET = "3"


def bomb_page() -> str:
    paragraphs = "".join(
        f"<div>Paragraph {i} <a href='/l/{i}'>link {i}</a> words words words words.</div>" for i in range(40_000)
    )
    return f"<!doctype html><html><head><title>Bomb</title></head><body><article>{paragraphs}</article></body></html>"


def story_page(n: int) -> str:
    paragraphs = "".join(f"<p>{distinct_story(n * 10 + i)}</p>" for i in range(3))
    return (
        f"<!doctype html><html><head><title>Story {n}</title></head><body>"
        f"<article><h1>Story {n}</h1>{paragraphs}</article></body></html>"
    )


def rejections(db, run_id: int) -> dict[str, tuple[str, str, str]]:
    rows = fetch(db, "SELECT locator, outcome, stage, reason FROM newsdesk.rejections WHERE run_id = :id", id=run_id)
    return {r["locator"]: (r["outcome"], r["stage"], r["reason"]) for r in rows}


@contextmanager
def raw_http_server(responses: dict[str, bytes]):
    """A server on 127.0.0.1 that answers each path with the bytes given, as
    they are: a response no HTTP library would write (404 for other paths)."""

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                chunk = self.request.recv(4096)
                if not chunk:
                    return
                head += chunk
            path = head.split(b" ", 2)[1].decode()
            served.append(path)
            self.request.sendall(responses.get(path, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))

    served: list[str] = []
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", served
    finally:
        server.shutdown()
        server.server_close()


MALFORMED = {
    "/bad-location": b"HTTP/1.1 302 Found\r\nLocation: http:host/x\r\nContent-Length: 0\r\n\r\n",
    "/bad-ipv6-location": b"HTTP/1.1 302 Found\r\nLocation: http://[::1/x\r\nContent-Length: 0\r\n\r\n",
    "/huge-headers": b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Padding: "
    + b"p" * 200_000
    + b"\r\nContent-Length: 2\r\n\r\nhi",
    "/header-without-colon": b"HTTP/1.1 200 OK\r\nNo colon here\r\nContent-Length: 2\r\n\r\nhi",
}


def test_poisoned_entries_malformed_responses_and_a_bomb_cost_only_themselves(db, tmp_path, httpserver, monkeypatch):
    monkeypatch.setenv("NEWSDESK_HOST_DELAY", "0")
    monkeypatch.setenv("NEWSDESK_FETCH_RETRIES", "2")  # malformed responses must not be retried even so
    monkeypatch.setenv("NEWSDESK_EXTRACT_CPU_SECONDS", BUDGET)
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
    for n in range(1, 10):
        httpserver.expect_request(f"/a/{n}").respond_with_data(story_page(n), content_type="text/html")
    url = httpserver.url_for
    normal = "".join(f"<item><title>Story {n}</title><link>{url(f'/a/{n}')}</link></item>" for n in range(1, 5))
    httpserver.expect_request("/normal.xml").respond_with_data(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>n</title>{normal}</channel></rss>',
        content_type="application/rss+xml",
    )
    # json.dumps writes the lone surrogates as `\ud800` escapes, as a hostile feed would.
    poisoned_json = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "j",
        "items": [
            {"id": "1", "url": url("/a/5") + "\ud800", "title": "Surrogate in the URL"},
            {
                "id": "2",
                "url": url("/a/6"),
                "title": "Surrogate \ud800 in the title",
                "summary": "and \udfff in the summary",
                "authors": [{"name": "Ann \ud800 Author"}],
            },
        ],
    }
    httpserver.expect_request("/poisoned.json").respond_with_data(
        json.dumps(poisoned_json), content_type="application/feed+json"
    )
    httpserver.expect_request("/poisoned.xml").respond_with_data(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>r</title>'
        f"<item><title>Bad &#xD800; reference</title><link>{url('/a/7')}</link></item>"
        f"<item><title>Fine</title><link>{url('/a/8')}</link></item></channel></rss>",
        content_type="application/rss+xml",
    )
    httpserver.expect_request("/bomb").respond_with_data(bomb_page(), content_type="text/html")
    sources = tmp_path / "sources.toml"
    sources.write_text(
        f'[[source]]\nname = "normal"\nkind = "feed"\nurl = "{url("/normal.xml")}"\n\n'
        f'[[source]]\nname = "poisoned-json"\nkind = "feed"\nurl = "{url("/poisoned.json")}"\n\n'
        f'[[source]]\nname = "poisoned-rss"\nkind = "feed"\nurl = "{url("/poisoned.xml")}"\n\n'
        f'[[source]]\nname = "bomb"\nkind = "page"\nurls = ["{url("/bomb")}", "{url("/a/9")}"]\n'
    )

    with raw_http_server(MALFORMED) as (raw, served):
        sources.write_text(
            sources.read_text()
            + f'\n[[source]]\nname = "malformed"\nkind = "page"\nurls = {json.dumps([raw + p for p in MALFORMED])}\n'
        )
        record = run(sources, batch_size=1000)

    assert_counts_add_up(record, db)
    assert record["status"] == "completed"
    counts = {
        row["source"]: tuple(row[f"n_{o}"] for o in ("discovered", "inserted", "rejected", "failed"))
        for row in record["sources"]
    }
    assert counts == {
        "normal": (4, 4, 0, 0),
        "poisoned-json": (2, 1, 1, 0),
        "poisoned-rss": (2, 2, 0, 0),
        "malformed": (4, 0, 4, 0),
        "bomb": (2, 1, 1, 0),
    }
    problems = rejections(db, record["id"])
    assert problems[url("/poisoned.json") + "#entry-1"] == (
        "rejected",
        "discover",
        f"feed entry URL holds a lone surrogate, not text: '{url('/a/5')}\\ud800'",
    )
    assert problems[raw + "/bad-location"] == (
        "rejected",
        "fetch",
        "malformed response: bad Location header (For absolute URLs, path must be empty or begin with '/')",
    )
    assert problems[raw + "/bad-ipv6-location"] == (
        "rejected",
        "fetch",
        "malformed response: bad Location header (Invalid IPv6 URL): 'http://[::1/x'",
    )
    assert problems[raw + "/huge-headers"] == (
        "rejected",
        "fetch",
        "malformed response: headers over the limit of 100 KB",
    )
    assert problems[raw + "/header-without-colon"] == (
        "rejected",
        "fetch",
        "malformed response: illegal header line: bytearray(b'No colon here')",
    )
    assert problems[url("/bomb")] == ("rejected", "clean", f"extraction over its time budget ({BUDGET} s of CPU)")
    for path in MALFORMED:
        assert served.count(path) == 1, path  # rejected at once, not retried

    # What PostgreSQL cannot store is replaced, not a reason to lose the entry (or its batch).
    [six] = fetch(
        db,
        "SELECT d.listing FROM newsdesk.documents d JOIN newsdesk.articles a ON a.document_id = d.id"
        " WHERE a.locator = :url",
        url=url("/a/6"),
    )
    assert six["listing"]["title"] == "Surrogate \ufffd in the title"
    assert six["listing"]["summary"] == "and \ufffd in the summary"
    titles = {r["title"] for r in fetch(db, "SELECT title FROM newsdesk.articles")}
    assert titles == {f"Story {n}" for n in (1, 2, 3, 4, 6, 7, 8, 9)}


@pytest.mark.timeout(600)
def test_a_folder_of_the_findings_inputs_beside_20_good_articles(db, corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSDESK_EXTRACT_CPU_SECONDS", BUDGET)
    root = corpus.root
    for i in range(20):
        corpus.write(f"good-{i:02}.txt", f"Good Story {i}\n\n" + distinct_story(100 + i))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("Secret Story\n\n" + distinct_story(200), encoding="utf-8")
    (root / "secret-link.txt").symlink_to(outside / "secret.txt")  # a link to a file out of the folder
    (root / "outside-folder").symlink_to(outside)  # a link to a folder out of it
    (root / "loop").symlink_to(".")  # back to the folder itself
    (root / "self-loop.txt").symlink_to("self-loop.txt")
    (root / "dangling.txt").symlink_to("nowhere.txt")
    (root / "inside-link.txt").symlink_to("good-00.txt")  # inside the folder: read, a copy of good-00
    os.mkfifo(root / "fifo.txt")
    bad_name = os.fsencode(root) + b"/bad-\xff-name.txt"
    with open(bad_name, "wb") as handle:
        handle.write(("Bad Name Story\n\n" + distinct_story(201)).encode())
    corpus.write("line\nbreak.txt", b"")  # empty: rejected, and its name logged on one line
    corpus.write("bomb.html", bomb_page())
    long_title = "A" * 1_000_000
    corpus.write("long-title.md", f"---\ntitle: {long_title}\n---\n\n" + distinct_story(202))
    corpus.configure()

    record = run(corpus.sources)

    assert_counts_add_up(record, db)
    assert (
        record["n_discovered"],
        record["n_inserted"],
        record["n_duplicate"],
        record["n_rejected"],
        record["n_failed"],
    ) == (31, 21, 1, 9, 0)
    problems = {
        locator.rsplit("/articles/", 1)[1]: (outcome, stage, reason)
        for locator, (outcome, stage, reason) in rejections(db, record["id"]).items()
    }
    assert problems == {
        "bad-\\xff-name.txt": ("rejected", "acquire", "file name is not valid UTF-8"),
        "secret-link.txt": ("rejected", "acquire", "link leaves the source folder"),
        "outside-folder": ("rejected", "acquire", "link leaves the source folder"),
        "loop": ("rejected", "acquire", "symbolic link loop: it leads back to a folder above it"),
        "self-loop.txt": ("rejected", "acquire", "symbolic link loop"),
        "dangling.txt": ("rejected", "acquire", "link to nothing: its target does not exist"),
        "fifo.txt": ("rejected", "acquire", "not a regular file (FIFO)"),
        "line\nbreak.txt": ("rejected", "acquire", "empty file"),
        "bomb.html": ("rejected", "clean", f"extraction over its time budget ({BUDGET} s of CPU)"),
    }
    articles = {
        r["locator"].rsplit("/", 1)[1]: r for r in fetch(db, "SELECT locator, title, dup_kind FROM newsdesk.articles")
    }
    assert {f"good-{i:02}.txt" for i in range(20)} <= set(articles)
    assert articles["inside-link.txt"]["dup_kind"] is not None
    assert articles["long-title.md"]["title"] == "A" * (MAX_FIELD_CHARS - 1) + "…"
    assert not any("Secret" in (r["title"] or "") for r in articles.values())
    # The newline in the name is written as an escape in the run's logs and its
    # rejections artifact: no line of them is forged.
    logs, artifact = logs_and_rejections(record["flow_run_id"])
    assert any("articles/line\\nbreak.txt at acquire: empty file" in message for message in logs)
    assert "line\\nbreak.txt" in artifact
    assert not any("\nbreak.txt" in message for message in logs) and "\nbreak.txt" not in artifact


def logs_and_rejections(flow_run_id) -> tuple[list[str], str]:
    """The flow run's log messages, and its `ingest-rejections` artifact, from the Prefect API."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogHandler

    APILogHandler().flush()

    async def read():
        async with get_client() as client:
            logs = await client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
            artifacts = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["ingest-rejections"]))
            )
            return logs, artifacts

    logs, artifacts = asyncio.run(read())
    [artifact] = [a for a in artifacts if a.flow_run_id == flow_run_id]
    return [log.message for log in logs], str(artifact.data)


def test_follow_links_reads_links_out_of_the_folder(db, corpus, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("Linked Story\n\n" + distinct_story(300), encoding="utf-8")
    corpus.write("own.txt", "Own Story\n\n" + distinct_story(301))
    (corpus.root / "linked.txt").symlink_to(outside / "secret.txt")
    (corpus.root / "loop").symlink_to(".")
    corpus.configure('[[source]]\nname = "local"\nkind = "files"\npath = "articles"\nfollow_links = true\n')

    record = run(corpus.sources)

    assert_counts_add_up(record, db)
    assert (record["n_discovered"], record["n_inserted"], record["n_rejected"]) == (3, 2, 1)
    [loop] = fetch(db, "SELECT locator, reason FROM newsdesk.rejections")
    assert loop["locator"].endswith("/loop") and loop["reason"].startswith("symbolic link loop")


@pytest.mark.timeout(60)
def test_a_fifo_swapped_in_after_listing_is_rejected_without_waiting(corpus):
    """The file is listed as a regular file, then replaced by a FIFO that no
    one writes to: reading it must not block (before, `open` waited forever)."""
    path = corpus.write("story.txt", "Story\n\n" + distinct_story(400))
    source = Source("local", "files", path=str(corpus.root))
    [entry] = list(list_files(source))
    assert entry.refused is None
    path.unlink()
    os.mkfifo(path)
    outcome: list = []
    reader = threading.Thread(target=lambda: outcome.append(prepare_listed(entry, max_bytes=1_000_000)), daemon=True)
    reader.start()
    reader.join(timeout=20)
    assert outcome, "reading the FIFO blocked"
    [problem] = outcome
    assert (problem.outcome, problem.stage, problem.reason) == ("rejected", "acquire", "not a regular file (FIFO)")


def test_a_link_swapped_in_after_listing_cannot_lead_out(corpus, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("Secret\n\n" + distinct_story(401), encoding="utf-8")
    path = corpus.write("story.txt", "Story\n\n" + distinct_story(402))
    [entry] = list(list_files(Source("local", "files", path=str(corpus.root))))
    path.unlink()
    path.symlink_to(secret)
    problem = prepare_listed(entry, max_bytes=1_000_000)
    assert (problem.outcome, problem.reason) == ("rejected", "link leaves the source folder")


def test_text_postgresql_cannot_hold_is_replaced_at_the_load_and_counted(db):
    run_id = new_run(db)
    poisoned = prepared("/p/surrogate.txt", distinct_story(404))
    poisoned.article.body = "Body with a lone \ud800 surrogate and a NUL \x00 in it. " * 5
    poisoned.article.title = "Title \udcff"
    poisoned.article.authors = ["Ann \ud800"]
    clean = prepared("/p/clean.txt", distinct_story(403))
    notes: list[str] = []

    counts = load.load_batch(db, run_id=run_id, source="s", items=[poisoned, clean], notes=notes)

    assert counts == {"inserted": 2}
    assert notes == ["12 characters PostgreSQL cannot store (NUL, lone surrogates) replaced by U+FFFD in 1 items"]
    [row] = fetch(db, "SELECT title, body, authors FROM newsdesk.articles WHERE locator = '/p/surrogate.txt'")
    assert row["title"] == "Title \ufffd" and row["authors"] == ["Ann \ufffd"]
    assert "lone \ufffd surrogate and a NUL \ufffd in it" in row["body"]


def test_a_batch_postgresql_refuses_is_loaded_item_by_item(db):
    """A row PostgreSQL refuses (here one breaking a CHECK constraint, as a bug
    in a cleaner would make it) sets its item apart, with PostgreSQL's reason;
    the rest of the batch loads, and the counts add up."""
    run_id = new_run(db)
    items = [prepared(f"/p/{i}.txt", distinct_story(500 + i)) for i in range(4)]
    items[2].article.published_precision = "sometime"
    notes: list[str] = []

    counts = load.load_batch(db, run_id=run_id, source="s", items=items, notes=notes)

    assert counts == {"inserted": 3, "failed": 1}
    loaded = {r["locator"] for r in fetch(db, "SELECT locator FROM newsdesk.articles")}
    assert loaded == {"/p/0.txt", "/p/1.txt", "/p/3.txt"}
    [refused] = fetch(db, "SELECT locator, outcome, stage, reason FROM newsdesk.rejections")
    assert (refused["locator"], refused["outcome"], refused["stage"]) == ("/p/2.txt", "failed", "load")
    assert refused["reason"].startswith("PostgreSQL refused it: CheckViolation: ")
    assert "loaded item by item: 1 set apart" in notes[-1]
    [stored] = fetch(
        db, "SELECT n_discovered, n_inserted, n_failed FROM newsdesk.ingest_runs WHERE id = :id", id=run_id
    )
    assert (stored["n_discovered"], stored["n_inserted"], stored["n_failed"]) == (4, 3, 1)
