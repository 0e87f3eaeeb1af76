"""Bad input through real ingest runs: every item is loaded sensibly or rejected
with a reason, the run completes, and its counts add up.

One run reads a folder of bad files, one run reads web sources that misbehave
(served on 127.0.0.1). What each bad input should become:

- a huge sitemap: the sitemap protocol allows 50,000 URLs per sitemap; past
  that, only the first 50,000 are read and the sitemap itself is rejected with
  the reason (most of its URLs are disallowed by robots.txt here, so they end
  as `robots` rejections without a request, as on a real site);
- a sitemap or page over NEWSDESK_MAX_FILE_BYTES (default 10 MB), compressed
  or not: rejected at the limit, never read whole into memory;
- HTML nested 50,000 levels deep: rejected (no real page nests past 512);
- NUL bytes in text: rejected, from UTF-8 and UTF-16 alike (PostgreSQL text
  cannot hold a NUL, and one in a batch would fail the batch's load);
- bytes that are mostly UTF-8 with a few bad ones: UTF-8, the bad bytes
  replaced by U+FFFD.
"""

from __future__ import annotations

import gzip
import json
import random
import resource
import struct
import zlib

import pytest
from werkzeug.wrappers import Response

from newsdesk.tasks.packing import unpack
from tests.helpers import assert_counts_add_up, fetch
from tests.helpers import run_ingest as run
from tests.texts import distinct_story

pytestmark = pytest.mark.usefixtures("prefect_server")

MB = 1024 * 1024
DEFAULT_LIMIT = 10 * MB  # NEWSDESK_MAX_FILE_BYTES's default (docs/configuration.md, newsdesk/config.py)
LATIN = (
    "Le café de la gare rouvre\n\nLa naïve idée de M. Müller, adjoint au maire, a séduit le conseil "
    "municipal, qui a voté jeudi la réouverture du café après trois ans de travaux. Les habitants "
    "réunis à la salle des fêtes étaient partagés: « Ça coûte cher », a dit une riveraine."
)
MIXED = (
    (
        "Café owner sues city\n\nHerr Müller, who runs the café by the station, filed suit on Monday over "
        "the naïve plan to close the street for two years."
    ).encode()
    + b" Stray bytes \xff\xfe\xc3( here. "
    + ("The city says the café will stay open and that Müller will be compensated.").encode()
)


def problems_by_name(db, run_id: int) -> dict[str, tuple[str, str, str]]:
    rows = fetch(db, "SELECT locator, outcome, stage, reason FROM newsdesk.rejections WHERE run_id = :id", id=run_id)
    return {r["locator"].rstrip("/").rsplit("/", 1)[-1]: (r["outcome"], r["stage"], r["reason"]) for r in rows}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def gzip_bomb(chunks: int) -> bytes:
    """A gzip stream of `chunks` × 16 MiB of zeros in about 16 kB per chunk: one
    deflate block of 16 MiB of zeros, repeated (a full flush ends each block on a
    byte boundary and resets the history, so the same block can follow itself)."""
    chunk = bytes(16 * MB)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.flush()
    crc = 0
    for _ in range(chunks):
        crc = zlib.crc32(chunk, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + block * chunks + end + struct.pack("<II", crc, (chunks * len(chunk)) & 0xFFFFFFFF)


BOMB_CHUNKS = 128  # 2 GiB once decompressed


def test_the_gzip_bomb_is_real():
    """The bombs below are what they claim: valid gzip that grows a thousandfold."""
    assert gzip.decompress(gzip_bomb(2)) == bytes(32 * MB)
    bomb = gzip_bomb(BOMB_CHUNKS)
    assert len(bomb) < 3 * MB
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    assert len(inflater.decompress(bomb, DEFAULT_LIMIT + 1)) == DEFAULT_LIMIT + 1
    assert len(inflater.unconsumed_tail) > 0.9 * len(bomb)  # and that was the start of it


def test_a_folder_of_bad_files(db, corpus, monkeypatch):
    monkeypatch.delenv("NEWSDESK_MAX_FILE_BYTES", raising=False)
    corpus.write("good.txt", "Council Votes On Budget\n\n" + distinct_story(1))
    corpus.write("latin1.txt", LATIN.encode("latin-1"))
    corpus.write("mixed-utf8.txt", MIXED)
    corpus.write("png.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + random.Random(1).randbytes(4000))
    corpus.write("random.txt", random.Random(2).randbytes(20_000).replace(b"\x00", b"\x01"))
    corpus.write("empty.txt", b"")
    corpus.write("blank.md", " \n\n\t  \r\n   \n")
    corpus.write("nul.txt", ("Water Board Meets\n\n" + distinct_story(2)).encode().replace(b". ", b".\x00 ", 1))
    corpus.write(
        "nul-utf16.txt", ("Harbour Works Begin\n\n" + distinct_story(3) + "\x00" + distinct_story(4)).encode("utf-16")
    )
    corpus.write("huge.txt", b"word " * (30 * MB // 5))
    deep = "<div>" * 50_000 + "Text at the bottom of fifty thousand levels of nesting, a sentence." + "</div>" * 50_000
    corpus.write("deep.html", "<!doctype html><html><head><title>Deep</title></head><body>" + deep + "</body></html>")
    corpus.write("deep-fragment.html", deep)
    menu = "".join(f"<li><a href='/section/{i}'>Section number {i}</a></li>" for i in range(40))
    corpus.write(
        "nav-only.html", f"<html><head><title>Home</title></head><body><nav><ul>{menu}</ul></nav></body></html>"
    )
    corpus.configure()
    before = peak_rss_mb()

    record = run(corpus.sources)

    assert_counts_add_up(record, db)
    assert (record["n_discovered"], record["n_inserted"], record["n_rejected"], record["n_failed"]) == (13, 3, 10, 0)
    problems = problems_by_name(db, record["id"])
    assert problems == {
        "png.txt": ("rejected", "acquire", "binary file: PNG image"),
        "random.txt": problems["random.txt"],
        "empty.txt": ("rejected", "acquire", "empty file"),
        "blank.md": ("rejected", "decode", "blank file: only whitespace"),
        "nul.txt": ("rejected", "decode", "contains NUL bytes (binary or corrupt file)"),
        "nul-utf16.txt": ("rejected", "decode", "contains NUL characters (binary or corrupt file)"),
        "huge.txt": ("rejected", "acquire", f"file is {30 * MB} bytes, over the limit of {DEFAULT_LIMIT}"),
        "deep.html": ("rejected", "clean", "HTML nested more than 512 levels deep"),
        "deep-fragment.html": ("rejected", "clean", "HTML nested more than 512 levels deep"),
        "nav-only.html": ("rejected", "clean", "no article text after cleaning (4 characters left)"),
    }
    assert problems["random.txt"][:2] == ("rejected", "decode")
    assert "control characters" in problems["random.txt"][2] or "undecodable" in problems["random.txt"][2]
    # The 30 MB file was refused from its size alone, not read into memory (nor anything else).
    assert peak_rss_mb() - before < 200

    articles = {
        r["locator"].rsplit("/", 1)[1]: r
        for r in fetch(
            db,
            """
        SELECT a.locator, a.title, a.body, d.encoding, d.raw, d.raw_encoding FROM newsdesk.articles a
        JOIN newsdesk.documents d ON d.id = a.document_id""",
        )
    }
    assert set(articles) == {"good.txt", "latin1.txt", "mixed-utf8.txt"}
    latin = articles["latin1.txt"]
    assert latin["title"] == "Le café de la gare rouvre"
    for word in ("café", "naïve", "Müller", "réunis à la salle des fêtes", "« Ça coûte cher »"):
        assert word in latin["body"]
    assert latin["encoding"] in ("cp1252", "latin_1", "iso8859_15") and unpack(
        latin["raw"], latin["raw_encoding"]
    ) == LATIN.encode("latin-1")
    # Mostly UTF-8 with a few bad bytes: UTF-8, the bad bytes replaced, not a
    # single-byte code page that would garble every accent ("cafÃ©", "cafĂŠ").
    mixed = articles["mixed-utf8.txt"]
    assert mixed["encoding"] == "utf-8" and mixed["title"] == "Café owner sues city"
    assert "Herr Müller, who runs the café" in mixed["body"] and "Müller will be compensated" in mixed["body"]
    assert "Stray bytes \ufffd" in mixed["body"] and "Ã" not in mixed["body"] and "Ă" not in mixed["body"]
    assert unpack(mixed["raw"], mixed["raw_encoding"]) == MIXED


class Site:
    """Misbehaving listings and pages, and a few good pages they point at."""

    def __init__(self, server):
        self.server = server
        server.expect_request("/robots.txt").respond_with_data("User-agent: *\nDisallow: /huge/\nAllow: /huge/keep\n")
        for name in ("one", "two", "three", "four", "five", "fine"):
            server.expect_request(f"/a/{name}").respond_with_data(self.page(name), content_type="text/html")
        server.expect_request("/huge/keep").respond_with_data(self.page("keep"), content_type="text/html")

    def url(self, path: str) -> str:
        return self.server.url_for(path)

    @staticmethod
    def page(name: str) -> str:
        seed = sum(map(ord, name))
        paragraphs = "".join(f"<p>{distinct_story(seed * 10 + i)}</p>" for i in range(3))
        return (
            f"<!doctype html><html><head><title>Story {name}</title></head><body><nav><a href='/'>Home</a></nav>"
            f"<article><h1>Story {name}</h1>{paragraphs}</article></body></html>"
        )


def urlset(urls) -> bytes:
    body = "".join(f"<url><loc>{u}</loc></url>" for u in urls)
    return f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{body}</urlset>'.encode()


def test_web_sources_that_misbehave(db, tmp_path, httpserver, monkeypatch):
    monkeypatch.delenv("NEWSDESK_MAX_FILE_BYTES", raising=False)
    monkeypatch.setenv("NEWSDESK_HOST_DELAY", "0")
    monkeypatch.setenv("NEWSDESK_FETCH_RETRIES", "0")
    site = Site(httpserver)
    # Broken XML: feedparser's lenient parser still reads the complete items.
    broken = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>One</title><link>{site.url('/a/one')}</link></item>"
        f"<item><title>Two & <b>unclosed</title><link>{site.url('/a/two')}</link></item>"
        f"<item><title>Thr"
    )
    httpserver.expect_request("/broken.xml").respond_with_data(broken, content_type="application/rss+xml")
    httpserver.expect_request("/page.xml").respond_with_data(
        "<html><body><p>Not a feed</p></body></html>", content_type="application/xml"
    )
    # Links that are no URLs at all: each is rejected, the rest of the batch goes on.
    bad_links = ["http://127.0.0.1:notaport/story", "http://127.0.0.1:99999/story", "https://", site.url("/a/three")]
    httpserver.expect_request("/bad-links.xml").respond_with_data(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        + "".join(f"<item><link>{link}</link></item>" for link in bad_links)
        + "</channel></rss>",
        content_type="application/rss+xml",
    )
    # A JSON Feed with control characters (a NUL cannot be stored in PostgreSQL text)
    # and a number where a title belongs: the entries load, their text cleaned.
    controls = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "t",
        "items": [
            {
                "id": "4",
                "url": site.url("/a/four"),
                "title": "Nul\u0000 in the\u0007 title",
                "summary": "A\u0000 summary",
                "authors": [{"name": "Ann\u0000 Author"}, {"name": 7}],
            },
            {"id": "5", "url": site.url("/a/five"), "title": 12345, "summary": {"not": "text"}},
        ],
    }
    httpserver.expect_request("/controls.json").respond_with_data(
        json.dumps(controls), content_type="application/feed+json"
    )
    httpserver.expect_request("/empty.xml").respond_with_data(b"", content_type="application/rss+xml")
    httpserver.expect_request("/noise.xml").respond_with_data(random.Random(3).randbytes(5000), content_type="text/xml")
    huge = [site.url("/huge/keep")] + [site.url(f"/huge/{i}") for i in range(50_000)] + [site.url("/a/fine")]
    httpserver.expect_request("/huge.xml").respond_with_data(urlset(huge), content_type="application/xml")
    oversized = urlset(site.url(f"/big/{'x' * 100}/{i}") for i in range(DEFAULT_LIMIT // 130))
    assert len(oversized) > DEFAULT_LIMIT
    httpserver.expect_request("/big.xml").respond_with_data(oversized, content_type="application/xml")
    bomb = gzip_bomb(BOMB_CHUNKS)
    httpserver.expect_request("/bomb.xml.gz").respond_with_data(bomb, content_type="application/gzip")
    httpserver.expect_request("/bomb-encoded.xml").respond_with_data(
        bomb, content_type="application/xml", headers={"Content-Encoding": "gzip"}
    )
    httpserver.expect_request("/bomb.html").respond_with_handler(
        lambda request: Response(bomb, content_type="text/html", headers={"Content-Encoding": "gzip"})
    )
    sources = tmp_path / "sources.toml"
    entries = [
        ("broken-feed", "feed", "/broken.xml"),
        ("html-feed", "feed", "/page.xml"),
        ("noise-feed", "feed", "/noise.xml"),
        ("empty-feed", "feed", "/empty.xml"),
        ("bad-links", "feed", "/bad-links.xml"),
        ("controls", "feed", "/controls.json"),
        ("huge-map", "sitemap", "/huge.xml"),
        ("big-map", "sitemap", "/big.xml"),
        ("bomb-map", "sitemap", "/bomb.xml.gz"),
        ("bomb-encoded-map", "sitemap", "/bomb-encoded.xml"),
    ]
    sources.write_text(
        "".join(f'[[source]]\nname = "{n}"\nkind = "{k}"\nurl = "{site.url(p)}"\n\n' for n, k, p in entries)
        + f'[[source]]\nname = "bomb-page"\nkind = "page"\nurls = ["{site.url("/bomb.html")}"]\n'
    )
    before = peak_rss_mb()

    record = run(sources, batch_size=60_000)

    assert_counts_add_up(record, db)
    by_source = {row["source"]: row for row in record["sources"]}
    counts = {
        name: tuple(row[f"n_{o}"] for o in ("discovered", "inserted", "rejected", "failed"))
        for name, row in by_source.items()
    }
    assert counts == {
        # Its truncated third entry names no URL: rejected, with the reason.
        "broken-feed": (3, 2, 1, 0),
        # A listing that cannot be read fails its source (it delivers nothing).
        "html-feed": (1, 0, 0, 1),
        "noise-feed": (1, 0, 0, 1),
        "empty-feed": (1, 0, 0, 1),
        "bad-links": (4, 1, 3, 0),
        "controls": (2, 2, 0, 0),
        # The sitemap itself (over the protocol's limit) and the first 50,000 URLs
        # it lists: /huge/keep, then 49,999 that robots.txt disallows. /a/fine,
        # listed past the limit, is not read.
        "huge-map": (50_001, 1, 50_000, 0),
        "big-map": (1, 0, 0, 1),
        "bomb-map": (1, 0, 0, 1),
        "bomb-encoded-map": (1, 0, 0, 1),
        "bomb-page": (1, 0, 1, 0),
    }
    problems = problems_by_name(db, record["id"])
    assert problems["page.xml"] == ("failed", "discover", "not a feed or sitemap: root element <html>")
    assert problems["empty.xml"] == ("failed", "discover", "not a feed or sitemap: the body is empty")
    assert problems["noise.xml"][:2] == ("failed", "discover")
    assert problems["noise.xml"][2].startswith("not a feed, sitemap or robots.txt")
    assert problems["huge.xml"] == (
        "rejected",
        "discover",
        "sitemap lists 50,002 URLs, over the sitemap protocol's limit of 50,000: the first 50,000 were read",
    )
    assert problems["big.xml"] == (
        "failed",
        "discover",
        f"body of {len(oversized)} bytes is over the limit of {DEFAULT_LIMIT}",
    )
    assert problems["bomb.xml.gz"] == ("failed", "discover", f"listing over {DEFAULT_LIMIT} bytes once decompressed")
    assert problems["bomb-encoded.xml"] == ("failed", "discover", f"body over the limit of {DEFAULT_LIMIT} bytes")
    assert problems["bomb.html"] == ("rejected", "fetch", f"body over the limit of {DEFAULT_LIMIT} bytes")
    bad = {r["locator"]: r["reason"] for r in fetch(db, "SELECT * FROM newsdesk.rejections WHERE source = 'bad-links'")}
    assert bad == {
        bad_links[0]: f"invalid URL (Port could not be cast to integer value as 'notaport'): {bad_links[0]}",
        bad_links[1]: f"invalid URL (Port out of range 0-65535): {bad_links[1]}",
        "https://": "invalid URL (no host): https://",
    }
    robots = [reason for name, (_, stage, reason) in problems.items() if name.isdigit()]
    assert len(robots) == 49_999 and set(robots) == {"robots"}
    # Disallowed URLs were never requested; the allowed one was, once.
    requested = [request.path for request, _ in httpserver.log]
    assert not any(p.startswith("/huge/") and p != "/huge/keep" for p in requested)
    assert requested.count("/huge/keep") == 1 and "/a/fine" not in requested
    # Two 2 GiB bombs and a sitemap of 10 MB, stopped at the limit: memory stayed bounded.
    assert peak_rss_mb() - before < 500

    titles = sorted(r["title"] for r in fetch(db, "SELECT title FROM newsdesk.articles"))
    assert titles == ["Story five", "Story four", "Story keep", "Story one", "Story three", "Story two"]
    [four] = fetch(db, "SELECT summary, author FROM newsdesk.articles WHERE title = 'Story four'")
    assert (four["summary"], four["author"]) == ("A summary", "Ann Author")
