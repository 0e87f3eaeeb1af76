"""Security through real ingest runs, real HTTP servers on 127.0.0.1 and real PostgreSQL.

1. Only http and https are fetched: file:, data:, ftp:, javascript: (and
   gopher:) URLs in sources, feeds, sitemaps and redirects are rejected with the
   reason and never opened. (tests/test_fetch.py covers the fetcher alone.)
2. Response size and decompression limits: gzip bombs and oversized listings
   through a run are in tests/test_bad_input.py; here brotli and deflate bombs,
   a bomb of a robots.txt and a body that is not the gzip it claims to be.
3. XML is parsed without external entities or entity expansion, in feeds
   (feedparser) and sitemaps (lxml): no file is read, no request is sent.
4. SQL takes values as parameters only: injection strings are stored literally,
   and a scan of the product code finds no value formatted into SQL.
5. The password in DATABASE_URL appears in no log, artifact, error or output.
6. The analyst role cannot write: tests/test_analysts.py
   (test_the_analyst_role_reads_everything_and_writes_nothing).
"""

from __future__ import annotations

import ast
import asyncio
import os
import re
import resource
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from xml.sax.saxutils import escape

import brotli
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.helpers import ROOT, assert_counts_add_up, fetch, refusing_inserts
from tests.helpers import run_ingest as run
from tests.texts import distinct_story

pytestmark = pytest.mark.usefixtures("prefect_server")

MB = 1024 * 1024
REFUSED = "refused: only http and https are fetched, not "


def page(seed: int, title: str | None = None) -> str:
    """An article page; without a title of its own when `title` is None."""
    head = f"<head><title>{title}</title></head>" if title else "<head></head>"
    body = "".join(f"<p>{distinct_story(seed * 10 + i)}</p>" for i in range(3))
    return f"<!doctype html><html>{head}<body><article>{body}</article></body></html>"


def problems(db, run_id: int) -> dict[tuple[str, str], tuple[str, str, str]]:
    """(outcome, stage, reason) by (source, locator)."""
    rows = fetch(db, "SELECT * FROM newsdesk.rejections WHERE run_id = :id", id=run_id)
    return {(r["source"], r["locator"]): (r["outcome"], r["stage"], r["reason"]) for r in rows}


def stored_anywhere(db, needle: str) -> list[str]:
    """Where `needle` is stored: any text column of the newsdesk tables, raw documents, cached bodies."""
    found = []
    with db.connect() as conn:
        columns = conn.execute(
            sa.text(
                "SELECT table_name, column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = 'newsdesk' AND data_type IN ('text', 'bytea', 'character varying')"
                " AND table_name IN (SELECT table_name FROM information_schema.tables"
                "                    WHERE table_schema = 'newsdesk' AND table_type = 'BASE TABLE')"
            )
        ).all()
        for table, column, data_type in columns:
            if data_type == "bytea":
                sql = f'SELECT count(*) FROM newsdesk."{table}" WHERE position(:b IN "{column}") > 0'
                hits = conn.scalar(sa.text(sql), {"b": needle.encode()})
            else:
                sql = f'SELECT count(*) FROM newsdesk."{table}" WHERE strpos("{column}", :s) > 0'
                hits = conn.scalar(sa.text(sql), {"s": needle})
            if hits:
                found.append(f"{table}.{column}")
    return found


class Listener:
    """A bare TCP listener on 127.0.0.1 that records every connection made to it
    (what an ftp: or gopher: URL would connect to)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self._stop.set()
        self._thread.join()
        self.sock.close()


# --- 1. only http and https -------------------------------------------------


def test_only_http_and_https_urls_are_ever_opened(db, tmp_path, httpserver, monkeypatch):
    monkeypatch.setenv("NEWSDESK_HOST_DELAY", "0")
    canary, data_canary = f"CANARY-{uuid.uuid4().hex}", f"CANARY-{uuid.uuid4().hex}"
    secret = tmp_path / "secret.html"
    secret.write_text(page(1, "Secret " + canary))
    local_feed = tmp_path / "feed.xml"
    local_feed.write_text(
        f'<rss version="2.0"><channel><title>{canary}</title><item><link>{httpserver.url_for("/ok")}'
        f"</link></item></channel></rss>"
    )
    listener = Listener()
    ftp = f"ftp://127.0.0.1:{listener.port}/story.html"
    gopher = f"gopher://127.0.0.1:{listener.port}/1story"
    data = "data:text/html," + page(2, "Data " + data_canary).replace(" ", "%20")
    bad = {
        "file": secret.as_uri(),
        "data": data,
        "ftp": ftp,
        "javascript": "javascript:alert(document.cookie)",
        "gopher": gopher,
    }

    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    httpserver.expect_request("/ok").respond_with_data(page(3, "Fine"), content_type="text/html")
    for scheme, target in bad.items():
        httpserver.expect_request(f"/to-{scheme}").respond_with_data("", status=302, headers={"Location": target})
    httpserver.expect_request("/feed.xml").respond_with_data(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        + "".join(f"<item><title>{s}</title><link>{escape(u)}</link></item>" for s, u in bad.items())
        + "</channel></rss>",
        content_type="application/rss+xml",
    )
    httpserver.expect_request("/sitemap.xml").respond_with_data(
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + "".join(f"<url><loc>{escape(u)}</loc></url>" for u in bad.values())
        + "</urlset>",
        content_type="application/xml",
    )
    redirects = [httpserver.url_for(f"/to-{s}") for s in bad]
    sources = tmp_path / "sources.toml"
    sources.write_text(
        '[[source]]\nname = "direct"\nkind = "page"\nurls = [{}]\n\n'.format(
            ", ".join(f'"{u}"' for u in [*bad.values(), httpserver.url_for("/ok")])
        )
        + '[[source]]\nname = "redirected"\nkind = "page"\nurls = [{}]\n\n'.format(
            ", ".join(f'"{u}"' for u in redirects)
        )
        + f'[[source]]\nname = "feed-items"\nkind = "feed"\nurl = "{httpserver.url_for("/feed.xml")}"\n\n'
        + f'[[source]]\nname = "sitemap-items"\nkind = "sitemap"\nurl = "{httpserver.url_for("/sitemap.xml")}"\n\n'
        + f'[[source]]\nname = "file-feed"\nkind = "feed"\nurl = "{local_feed.as_uri()}"\n\n'
        + f'[[source]]\nname = "ftp-sitemap"\nkind = "sitemap"\nurl = "ftp://127.0.0.1:{listener.port}/sitemap.xml"\n\n'
        + f'[[source]]\nname = "redirected-feed"\nkind = "feed"\nurl = "{httpserver.url_for("/to-file")}"\n'
    )
    try:
        record = run(sources)
    finally:
        listener.close()

    assert_counts_add_up(record, db)
    by_source = {r["source"]: (r["n_discovered"], r["n_inserted"], r["n_rejected"]) for r in record["sources"]}
    assert by_source == {
        "direct": (6, 1, 5),
        "redirected": (5, 0, 5),
        "feed-items": (5, 0, 5),
        "sitemap-items": (5, 0, 5),
        # Their own listing refused: nothing delivered, the source fails (n_failed).
        "file-feed": (1, 0, 0),
        "ftp-sitemap": (1, 0, 0),
        "redirected-feed": (1, 0, 0),
    }
    found = problems(db, record["id"])
    for scheme, url in bad.items():
        refused = ("rejected", "fetch", f"{REFUSED}{scheme}: {url[:200]}")
        # Listed directly: refused before any request.
        assert found[("direct", url)] == refused, scheme
        # Reached by a redirect (the server may percent-encode it): refused before following it.
        outcome, stage, reason = found[("redirected", httpserver.url_for(f"/to-{scheme}"))]
        assert (outcome, stage) == ("rejected", "fetch") and reason.startswith(f"{REFUSED}{scheme}: {scheme}:"), scheme
    # Listed in a feed (feedparser may tidy the URL: file:///x becomes file://x) or a sitemap.
    for source in ("feed-items", "sitemap-items"):
        listed = {
            (o, stage, reason.removeprefix(REFUSED).split(":")[0])
            for (s, _), (o, stage, reason) in found.items()
            if s == source and reason.startswith(REFUSED)
        }
        assert listed == {("rejected", "fetch", scheme) for scheme in bad}, source
    # A feed or sitemap that is not http(s) itself, or redirects away from it.
    ftp_map = f"ftp://127.0.0.1:{listener.port}/sitemap.xml"
    assert found[("file-feed", local_feed.as_uri())] == (
        "failed",
        "discover",
        f"{REFUSED}file: {local_feed.as_uri()}",
    )
    assert found[("ftp-sitemap", ftp_map)] == ("failed", "discover", f"{REFUSED}ftp: {ftp_map}")
    assert found[("redirected-feed", httpserver.url_for("/to-file"))] == (
        "failed",
        "discover",
        f"{REFUSED}file: {secret.as_uri()}",
    )
    # Never opened: nothing connected to the ftp/gopher port, no file or data: content was
    # stored (the data: URL itself is, as the locator of its rejection and in the listings).
    assert listener.connections == 0
    assert stored_anywhere(db, canary) == []
    assert set(stored_anywhere(db, data_canary)) <= {"rejections.locator", "rejections.reason", "http_cache.body"}
    [article] = fetch(db, "SELECT title, locator FROM newsdesk.articles")
    assert article["title"] == "Fine" and article["locator"] == httpserver.url_for("/ok")


# --- 2. size and decompression limits ---------------------------------------


def test_brotli_deflate_and_robots_bombs_stop_at_the_limit(db, tmp_path, httpserver, monkeypatch):
    """httpx decodes each received chunk whole: 3 kB of brotli would become 2 GiB
    in memory at once. The fetcher decompresses with a bound instead."""
    from pytest_httpserver import HTTPServer

    monkeypatch.setenv("NEWSDESK_HOST_DELAY", "0")
    monkeypatch.setenv("NEWSDESK_FETCH_RETRIES", "0")
    monkeypatch.setenv("NEWSDESK_MAX_FILE_BYTES", str(10 * MB))
    compressor = brotli.Compressor(quality=5)
    brotli_bomb = b"".join([compressor.process(bytes(16 * MB)) for _ in range(128)] + [compressor.finish()])
    assert len(brotli_bomb) < 10_000  # 2 GiB of zeros
    import zlib

    deflater = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS)
    deflate_bomb = b"".join([deflater.compress(bytes(16 * MB)) for _ in range(16)] + [deflater.flush()])  # 256 MiB
    story = page(4, "Robots bomb host story").encode()

    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    httpserver.expect_request("/br").respond_with_data(
        brotli_bomb, content_type="text/html", headers={"Content-Encoding": "br"}
    )
    httpserver.expect_request("/deflate").respond_with_data(
        deflate_bomb, content_type="text/html", headers={"Content-Encoding": "deflate"}
    )
    httpserver.expect_request("/not-gzip").respond_with_data(
        b"<p>" + b"plain text, not gzip " * 50, content_type="text/html", headers={"Content-Encoding": "gzip"}
    )
    httpserver.expect_request("/ok").respond_with_data(page(5, "Fine"), content_type="text/html")
    # Another host whose robots.txt is a bomb: read up to 500 kB, like Google does.
    other = HTTPServer(host="127.0.0.1", port=0)
    other.start()
    robots = brotli.Compressor(quality=5)
    robots_bomb = robots.process(b"User-agent: *\nDisallow: /private/\n") + b"".join(
        [robots.process(b"#" * (16 * MB)) for _ in range(64)] + [robots.finish()]
    )  # 1 GiB of comment
    other.expect_request("/robots.txt").respond_with_data(
        robots_bomb, content_type="text/plain", headers={"Content-Encoding": "br"}
    )
    other.expect_request("/story").respond_with_data(story, content_type="text/html")
    other.expect_request("/private/x").respond_with_data(story, content_type="text/html")
    urls = [httpserver.url_for(p) for p in ("/br", "/deflate", "/not-gzip", "/ok")] + [
        other.url_for("/story"),
        other.url_for("/private/x"),
    ]
    sources = tmp_path / "sources.toml"
    sources.write_text(
        '[[source]]\nname = "bombs"\nkind = "page"\nurls = [{}]\n'.format(", ".join(f'"{u}"' for u in urls))
    )
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    try:
        record = run(sources)
    finally:
        other.clear()
        other.stop()

    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before < 300
    assert_counts_add_up(record, db)
    assert (record["n_discovered"], record["n_inserted"], record["n_rejected"], record["n_failed"]) == (6, 2, 4, 0)
    found = {locator: problem for (_, locator), problem in problems(db, record["id"]).items()}
    assert found[urls[0]] == ("rejected", "fetch", f"body over the limit of {10 * MB} bytes")
    assert found[urls[1]] == ("rejected", "fetch", f"body over the limit of {10 * MB} bytes")
    assert found[urls[2]][:2] == ("rejected", "fetch") and found[urls[2]][2].startswith("broken gzip body: ")
    assert found[urls[5]] == ("rejected", "fetch", "robots")
    titles = sorted(r["title"] for r in fetch(db, "SELECT title FROM newsdesk.articles"))
    assert titles == ["Fine", "Robots bomb host story"]


# --- 3. XML without external entities ---------------------------------------

LAUGHS = '<!ENTITY lol "lol">' + "".join(
    f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
)


def test_feeds_and_sitemaps_resolve_no_external_entities(db, tmp_path, httpserver, monkeypatch):
    monkeypatch.setenv("NEWSDESK_HOST_DELAY", "0")
    passwd = Path("/etc/passwd").read_text()
    assert passwd.startswith("root:")
    canary = f"CANARY-{uuid.uuid4().hex}"
    secret = tmp_path / "secret.txt"
    secret.write_text(canary)
    remote, dtd = httpserver.url_for("/xxe-remote"), httpserver.url_for("/xxe.dtd")
    entities = (
        f'<!ENTITY passwd SYSTEM "file:///etc/passwd"><!ENTITY canary SYSTEM "{secret.as_uri()}">'
        f'<!ENTITY remote SYSTEM "{remote}"><!ENTITY % dtd SYSTEM "{dtd}"> %dtd;'
    )
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    httpserver.expect_request("/xxe-remote").respond_with_data(canary)
    httpserver.expect_request("/xxe.dtd").respond_with_data(
        f'<!ENTITY leak "{canary}">', content_type="application/xml-dtd"
    )
    for n in range(1, 5):  # pages without a title or summary of their own: the listing's fill them
        httpserver.expect_request(f"/a/{n}").respond_with_data(page(10 + n), content_type="text/html")
    feed = (
        f'<?xml version="1.0"?><!DOCTYPE rss [{entities}]><rss version="2.0"><channel><title>&passwd;</title>'
        f"<item><title>XXE &passwd; &canary; &remote;</title><link>{httpserver.url_for('/a/1')}</link>"
        f"<description>&passwd; &canary; &leak;</description><author>&canary;</author></item></channel></rss>"
    )
    laughs_feed = (
        f'<?xml version="1.0"?><!DOCTYPE rss [{LAUGHS}]><rss version="2.0"><channel><title>t</title>'
        f"<item><title>Laughs &lol9;</title><link>{httpserver.url_for('/a/2')}</link>"
        f"<description>&lol9;&lol9;</description></item></channel></rss>"
    )
    sitemap = (
        f'<?xml version="1.0"?><!DOCTYPE urlset [{entities}]>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        f"<url><loc>{httpserver.url_for('/a/3')}</loc><news:news><news:title>XXE &passwd; &canary; &remote; &leak;"
        "</news:title></news:news></url></urlset>"
    )
    laughs_sitemap = (
        f'<?xml version="1.0"?><!DOCTYPE urlset [{LAUGHS}]>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        f"<url><loc>{httpserver.url_for('/a/4')}</loc><news:news><news:title>Laughs &lol9;</news:title>"
        "</news:news></url></urlset>"
    )
    for name, body in (
        ("feed.xml", feed),
        ("laughs.xml", laughs_feed),
        ("sitemap.xml", sitemap),
        ("laughs-sitemap.xml", laughs_sitemap),
    ):
        httpserver.expect_request(f"/{name}").respond_with_data(body, content_type="application/xml")
    sources = tmp_path / "sources.toml"
    sources.write_text(
        "".join(
            f'[[source]]\nname = "{n}"\nkind = "{k}"\nurl = "{httpserver.url_for(p)}"\n\n'
            for n, k, p in (
                ("xxe-feed", "feed", "/feed.xml"),
                ("laughs-feed", "feed", "/laughs.xml"),
                ("xxe-sitemap", "sitemap", "/sitemap.xml"),
                ("laughs-sitemap", "sitemap", "/laughs-sitemap.xml"),
            )
        )
    )

    record = run(sources)

    assert_counts_add_up(record, db)
    assert (record["n_discovered"], record["n_inserted"]) == (4, 4)
    requested = {request.path for request, _ in httpserver.log}
    assert "/xxe-remote" not in requested and "/xxe.dtd" not in requested
    for needle in (canary, "root:x:0:", passwd.splitlines()[1], "lollollol"):
        assert stored_anywhere(db, needle) == [], needle
    titles = {
        r["locator"].rsplit("/", 1)[1]: r["title"] for r in fetch(db, "SELECT locator, title FROM newsdesk.articles")
    }
    # The entities stay unexpanded: dropped, or kept as written.
    assert set(titles) == {"1", "2", "3", "4"}
    assert titles["1"].startswith("XXE") and titles["3"].startswith("XXE")
    assert titles["2"] in ("Laughs", "Laughs &lol9;") and titles["4"] in ("Laughs", "Laughs &lol9;"), titles


# --- 4. SQL takes values as parameters ---------------------------------------

INJECTIONS = (
    "'); DROP TABLE newsdesk.articles; --",
    "$$; DROP TABLE newsdesk.documents; $$",
    "\\'; TRUNCATE newsdesk.ingest_runs; --",
    "C:\\new\\table \\x00 E'\\n'",
    "%s %(run_id)s {0} :run_id ? $1",
)


def test_injection_strings_are_stored_literally(db, corpus):
    source = "src'); DROP TABLE newsdesk.rejections; --"
    title = "Robert'); DROP TABLE newsdesk.articles; -- $$ \\ :run_id"
    body = distinct_story(21) + " " + " ".join(INJECTIONS) + " " + distinct_story(22)
    name = "x'); DROP TABLE newsdesk.articles; -- $$ back\\slash.md"
    path = corpus.write(name, f"# {title}\n\n{body}\n")
    empty = corpus.write("'); DELETE FROM newsdesk.ingest_runs; --.txt", b"")
    corpus.configure(f'[[source]]\nname = "{source}"\nkind = "files"\npath = "articles"\n')

    record = run(corpus.sources)

    assert_counts_add_up(record, db)
    assert (record["n_discovered"], record["n_inserted"], record["n_rejected"]) == (2, 1, 1)
    for table in (
        "articles",
        "documents",
        "rejections",
        "ingest_runs",
        "ingest_run_sources",
        "http_cache",
        "near_keys",
        "story_keys",
    ):
        assert fetch(db, "SELECT to_regclass(:t) IS NOT NULL AS ok", t=f"newsdesk.{table}")[0]["ok"], table
    [article] = fetch(db, "SELECT * FROM newsdesk.articles")
    assert article["title"] == title and article["locator"] == str(path) and article["ingested_from"] == source
    for injection in INJECTIONS:
        assert injection in article["body"]
    [problem] = fetch(db, "SELECT * FROM newsdesk.rejections")
    assert (problem["locator"], problem["source"], problem["reason"]) == (str(empty), source, "empty file")
    assert [r["source"] for r in record["sources"]] == [source]
    assert fetch(db, "SELECT count(*) AS n FROM newsdesk.ingest_runs")[0]["n"] == 1


# A value formatted into SQL is an injection waiting for its input. These are
# the formatted parts the product's SQL may have, each vetted: identifiers or
# SQL fragments from the code's own constants, never input.
VETTED = {
    ("tasks/store/dedup_index.py", "hits"): "a subquery built from the module's own SQL text",
    ("tasks/store/dedup_index.py", "ARTICLE_DAY"): "a constant SQL expression",
    ("tasks/store/dedup_rebuild.py", "dedup_index.ARTICLE_DAY"): "a constant SQL expression",
    ("tasks/store/outcomes.py", "arrays"): ":parameter names from OUTCOMES",
    ("tasks/store/outcomes.py", "names"): "column names from OUTCOMES",
    ("tasks/store/outcomes.py", "sums"): "column names from OUTCOMES",
    ("tasks/store/outcomes.py", "to_run"): "column names from OUTCOMES",
    ("tasks/store/outcomes.py", "to_source"): "column names from OUTCOMES",
    ("tasks/store/pgcopy.py", "table"): "a table name from the callers' constants",
    ("tasks/store/lock.py", "LOCK_TABLE"): "a constant table name",
    ("tasks/store/staging.py", "STAGE"): "a constant table name",
    ("tasks/store/staging.py", "select"): "column names from ARTICLE_COLUMNS, values as :parameters",
    ("tasks/store/staging.py", "', '.join(names)"): "column names from ARTICLE_COLUMNS",
    ("tasks/store/pgcopy.py", "names"): "column names from the callers' constants",
    ("flows/ingest.py", "total - len(shown)"): "a count in a markdown hint, not executed",
    ("flows/ingest.py", "record.id"): "a run id in a markdown hint, not executed",
    ("newsdesk/cli.py", "record.id"): "a run id in a printed hint, not executed",
    ("newsdesk/database.py", "EMBEDDED_DATABASE"): "a constant database name",
    ("newsdesk/database.py", "wanted"): "an int computed from the machine's memory",
    ("sql/migrations/versions/0001_initial.py", "target"): "constant object names of COMMENTS",
    (
        "sql/migrations/versions/0001_initial.py",
        "text.replace(chr(39), chr(39) * 2)",
    ): "constant comment text, quotes doubled",
    ("sql/migrations/versions/0001_initial.py", "name"): "constant table and view names",
    ("sql/migrations/versions/0003_dedup_index.py", "target"): "constant object names of COMMENTS",
    (
        "sql/migrations/versions/0003_dedup_index.py",
        "text.replace(chr(39), chr(39) * 2)",
    ): "constant comment text, quotes doubled",
    ("sql/migrations/versions/0004_analysts.py", "target"): "constant object names of COMMENTS",
    (
        "sql/migrations/versions/0004_analysts.py",
        "text.replace(chr(39), chr(39) * 2)",
    ): "constant comment text, quotes doubled",
    ("sql/migrations/versions/0004_analysts.py", "stories"): "the view's own definition, read back from PostgreSQL",
    (
        "sql/migrations/versions/0007_document_listing.py",
        "COMMENT.replace(chr(39), chr(39) * 2)",
    ): "constant comment text, quotes doubled",
    (
        "sql/migrations/versions/0005_file_state.py",
        "COMMENT.replace(chr(39), chr(39) * 2)",
    ): "constant comment text, quotes doubled",
    ("sql/migrations/versions/0012_raw_zstd.py", "column"): "constant column names",
    ("sql/migrations/versions/0014_analyst_round_two.py", "PRECISION_COMMENT"): "a constant comment without quotes",
    (
        "sql/migrations/versions/0012_raw_zstd.py",
        "text.replace(chr(39), chr(39) * 2)",
    ): "constant comment text, quotes doubled",
    ("tasks/store/story_facts.py", "_COLUMNS"): "constant column names",
    ("tasks/store/story_facts.py", "_UPDATES"): "constant column names, from _COLUMNS",
    ("tasks/store/story_facts.py", "_FIRST"): "a constant ORDER BY clause",
    ("sql/migrations/versions/0016_stories.py", "_FIRST"): "a constant ORDER BY clause",
    ("sql/migrations/versions/0016_stories.py", "_CANONICAL"): "a constant ORDER BY clause",
    ("sql/migrations/versions/0016_stories.py", "_STORY_COLUMNS"): "constant column names",
    ("sql/migrations/versions/0016_stories.py", "STORY_FACTS_SELECT"): "the migration's constant SQL text",
    ("sql/migrations/versions/0016_stories.py", "target"): "constant object names of COMMENTS",
    (
        "sql/migrations/versions/0016_stories.py",
        "text.replace(chr(39), chr(39) * 2)",
    ): "constant comment text, quotes doubled",
    ("sql/migrations/versions/0017_story_centroids.py", "target"): "constant object names of COMMENTS",
    (
        "sql/migrations/versions/0017_story_centroids.py",
        "text.replace(chr(39), chr(39) * 2)",
    ): "constant comment text, quotes doubled",
    ("tasks/store/story_facts.py", "_SELECT"): "the module's own constant SQL text",
    ("sql/migrations/versions/0009_analyst_articles.py", "_CASE"): "built from the constant CONFIGS",
    ("sql/migrations/versions/0009_analyst_articles.py", "STORY_FACTS_SELECT"): "the migration's constant SQL text",
    ("sql/migrations/versions/0009_analyst_articles.py", "target"): "constant object names of COMMENTS",
    (
        "sql/migrations/versions/0009_analyst_articles.py",
        "text.replace(chr(39), chr(39) * 2)",
    ): "constant comment text, quotes doubled",
}
PRODUCT_CODE = ("tasks", "flows", "newsdesk", "sql")
_SQL = re.compile(
    r"(?i)\b(?:select\b.*\bfrom|insert\s+into|update\s+\S+\s+set|delete\s+from|where|values\s*\(|copy\s+\S+"
    r"|(?:create|drop|alter)\s+(?:or\s+replace\s+)?(?:table|view|index|unique|database|role|schema|function|trigger|extension|system)"
    r"|comment\s+on|grant|revoke|truncate|on\s+conflict|returning)\b",
    re.S,
)
_EXECUTES = {"text", "execute", "executemany", "exec_driver_sql", "copy", "scalar", "scalars"}


def formatted_sql(source: str) -> list[tuple[int, str]]:
    """(line, expression) of every value formatted into SQL text: in an f-string,
    a %-format, a .format() or a concatenation that reads as SQL, or in any
    formatted string handed straight to something that executes SQL."""

    def constant_text(node) -> str:
        if isinstance(node, ast.JoinedStr):
            return "".join(v.value if isinstance(v, ast.Constant) else " " for v in node.values)
        return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else ""

    def formatted(node, sql_context: bool) -> list[tuple[int, str]]:
        if isinstance(node, ast.JoinedStr) and (sql_context or _SQL.search(constant_text(node))):
            return [(node.lineno, ast.unparse(v.value)) for v in node.values if isinstance(v, ast.FormattedValue)]
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
            texts = [constant_text(side) for side in (node.left, node.right)]
            if sql_context or any(_SQL.search(t) for t in texts):
                if not all(isinstance(side, ast.Constant) for side in (node.left, node.right)):
                    return [(node.lineno, ast.unparse(node))]
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format"
            and (sql_context or _SQL.search(constant_text(node.func.value)))
        ):
            return [(node.lineno, ast.unparse(node))]
        return []

    found = []
    for node in ast.walk(ast.parse(source)):
        found += formatted(node, sql_context=False)
        if isinstance(node, ast.Call) and node.args:
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in _EXECUTES:
                found += formatted(node.args[0], sql_context=True)
    return sorted(set(found))


def test_the_sql_scan_catches_formatted_values():
    """The scan below can fail: it catches the usual ways a value gets into SQL."""
    leaks = {
        "sa.text(f\"SELECT * FROM newsdesk.articles WHERE title = '{value}'\")": "value",
        "conn.execute(sa.text(f'select id from t where x = {value}'))": "value",
        'conn.exec_driver_sql("DELETE FROM newsdesk.articles WHERE id = %s" % value)': None,
        "conn.execute(\"UPDATE t SET a = '{}'\".format(value))": None,
        'conn.execute(sa.text("INSERT INTO t VALUES (\'" + value + "\')"))': None,
        "sql = f\"INSERT INTO newsdesk.rejections (reason) VALUES ('{reason}')\"": "reason",
        'cursor.copy(f"{statement}")': "statement",
        "conn.scalar(sa.text(query % params))": None,
    }
    for code, expression in leaks.items():
        found = formatted_sql(code)
        assert found and all(line == 1 for line, _ in found), code
        assert expression is None or expression in {e for _, e in found}, code
    assert formatted_sql('conn.execute(sa.text("SELECT * FROM t WHERE id = :id"), {"id": value})') == []
    assert formatted_sql('logger.info(f"run {run_id} completed: {counts}")') == []


def test_no_value_is_formatted_into_sql_in_the_product_code():
    found = {}
    for folder in PRODUCT_CODE:
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            for line, expression in formatted_sql(path.read_text(encoding="utf-8")):
                found[(relative, expression)] = line
    unvetted = {
        f"{path}:{line}: {{{expression}}}"
        for (path, expression), line in found.items()
        if (path, expression) not in VETTED
    }
    assert unvetted == set(), "values formatted into SQL: bind them as :parameters (or vet the identifier above)"
    # The list stays honest: nothing in it that the code no longer has.
    assert set(VETTED) - set(found) == set(), "no longer in the code: remove from VETTED"


# --- 5. the database password stays secret ----------------------------------

PASSWORD = "s3cr3t-PW-xyz"


def _with_password(url: str, **changes) -> str:
    return make_url(url).set(password=PASSWORD, **changes).render_as_string(hide_password=False)


def _flow_run_logs_and_artifacts(flow_run_id) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogHandler

    APILogHandler().flush()

    async def read():
        async with get_client() as client:
            flow_run = await client.read_flow_run(flow_run_id)
            logs = await client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
            artifacts = await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
            )
            return logs, artifacts, flow_run

    logs, artifacts, flow_run = asyncio.run(read())
    assert logs and artifacts
    parts = [log.message for log in logs] + [f"{a.key} {a.description} {a.data}" for a in artifacts]
    parts += [flow_run.state.message or "", str(flow_run.parameters)]
    return "\n".join(parts)


def test_the_password_is_in_no_log_artifact_or_error(db, corpus, database_url, monkeypatch, caplog):
    import logging

    from newsdesk.database import dispose_all

    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("DATABASE_URL", _with_password(database_url))
    for i in range(3):
        corpus.write(f"{i}.txt", f"Story {i}\n\n" + distinct_story(30 + i))
    corpus.write("empty.txt", b"")
    corpus.configure()
    try:
        with refusing_inserts(db, "/1.txt"):
            record = run(corpus.sources, batch_size=1)
        assert (record["n_inserted"], record["n_rejected"], record["n_failed"]) == (2, 1, 1)
        corpus.sources.write_text('[[source]]\nname = "x"\nkind = "ftp"\n')
        with pytest.raises(Exception, match="kind must be one of"):
            run(corpus.sources)
    finally:
        dispose_all()  # the engine for the URL with the password

    texts = [caplog.text, _flow_run_logs_and_artifacts(record["flow_run_id"])]
    for row in fetch(db, "SELECT error, flow_run_id FROM newsdesk.ingest_runs"):
        texts.append(row["error"] or "")
        if row["error"]:
            texts.append(_flow_run_logs_and_artifacts(row["flow_run_id"]))
    texts += [f"{r['locator']} {r['reason']}" for r in fetch(db, "SELECT * FROM newsdesk.rejections")]
    everything = "\n".join(texts)
    assert "refused by test trigger" in everything and "kind must be one of" in everything  # the errors are there
    assert PASSWORD not in everything


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_cli_never_prints_the_password(db, corpus, database_url):
    from prefect.settings import PREFECT_API_URL

    corpus.write("a.txt", "Story\n\n" + distinct_story(40))
    corpus.configure()
    good = _with_password(database_url)
    closed = _with_password(database_url, host="127.0.0.1", port=_closed_port())
    missing = _with_password(database_url, database="no_such_database_" + uuid.uuid4().hex[:8])
    # Built whole: the embedded server's URL has a socket directory, not a port, to replace.
    unparseable = f"postgresql://{make_url(good).username}:{PASSWORD}@127.0.0.1:not-a-port/{make_url(good).database}"
    assert PASSWORD in unparseable
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "NEWSDESK_FETCH_RETRIES": "0"}
    newsdesk = [sys.executable, "-m", "newsdesk.cli"]

    def cli(url: str, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [*newsdesk, *args],
            cwd=ROOT,
            env={**env, "DATABASE_URL": url},
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    results = {}
    # Without Prefect, beside the rest; the ingests one at a time (the test API's
    # SQLite database does not like several new flow runs at once).
    database_only = {"runs, closed port": cli(closed, "runs"), "status, missing database": cli(missing, "status")}
    for name, url in (
        ("ingest", good),
        ("closed port", closed),
        ("missing database", missing),
        ("unparseable", unparseable),
    ):
        process = cli(url, "ingest", "--sources", str(corpus.sources))
        results[name] = (process.wait(timeout=240), *process.communicate())
    results.update(
        {name: (process.wait(timeout=60), *process.communicate()) for name, process in database_only.items()}
    )
    for name, (_code, out, err) in results.items():
        assert PASSWORD not in out and PASSWORD not in err, f"{name}:\n{out}\n{err}"
    code, out, err = results["ingest"]
    assert code == 0 and "inserted" in out and f"{make_url(good).username}:***@" in out
    for name in ("closed port", "missing database", "unparseable", "runs, closed port", "status, missing database"):
        assert results[name][0] != 0, name
    for name in ("closed port", "missing database"):
        assert "cannot connect to PostgreSQL" in results[name][2], results[name][2]
    assert "no_such_database" in results["missing database"][2]
