"""Reprocess goes through the same `prepare` as an ingest: a cleaner failure
fails one document, and what a feed said about a page is applied again."""

import pytest
import sqlalchemy as sa
from werkzeug.wrappers import Response

from newsdesk.tasks.extract import prepare as prepare_module
from tests.helpers import fetch, run_ingest
from tests.texts import distinct_story

pytestmark = pytest.mark.usefixtures("prefect_server")


def test_a_cleaner_failure_in_a_reprocess_fails_that_document_alone(db, corpus, monkeypatch):
    from newsdesk.flows.reprocess import reprocess_stored

    corpus.write("a.txt", distinct_story(1))
    corpus.write("b.txt", distinct_story(2) + "\n\nThe clerk, Zebulon Quartermaine, read the result aloud.")
    corpus.configure()
    assert run_ingest(corpus.sources)["n_inserted"] == 2

    marker = "Zebulon Quartermaine"
    clean = prepare_module.clean_document

    def cleaner_with_a_bug(text, media_type, *, url=None):
        if marker in text:
            raise ValueError("a bug in the cleaner")
        return clean(text, media_type, url=url)

    monkeypatch.setattr(prepare_module, "clean_document", cleaner_with_a_bug)
    record = reprocess_stored()
    assert record["status"] == "completed"
    assert (record["n_discovered"], record["n_unchanged"], record["n_failed"]) == (2, 1, 1)
    [problem] = fetch(db, "SELECT locator, outcome, stage, reason FROM newsdesk.rejections")
    assert problem["locator"].endswith("b.txt") and problem["outcome"] == "failed"
    assert (problem["stage"], problem["reason"]) == ("clean", "ValueError: a bug in the cleaner")
    # The failed document keeps its article.
    assert len(fetch(db, "SELECT id FROM newsdesk.articles WHERE is_current")) == 2


PAGE = (
    "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body><main><article>"
    + "".join(f"<p>{paragraph}</p>" for paragraph in distinct_story(7).split("\n\n"))
    + "</article></main></body></html>"
)


def test_feed_metadata_survives_a_reprocess(db, tmp_path, httpserver, monkeypatch):
    from newsdesk.flows.ingest import ingest
    from newsdesk.flows.reprocess import reprocess_stored

    monkeypatch.setenv("NEWSDESK_HOST_DELAY", "0")
    page_url = httpserver.url_for("/story")
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item>'
        f"<title>Harbour Vote Settles Port Dispute</title><link>{page_url}</link>"
        "<author>ana@example.org (Ana Lind)</author><pubDate>Tue, 03 Mar 2026 08:00:00 GMT</pubDate>"
        "</item></channel></rss>"
    )
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
    httpserver.expect_request("/feed.xml").respond_with_handler(
        lambda request: Response(feed, content_type="application/rss+xml")
    )
    httpserver.expect_request("/story").respond_with_handler(
        lambda request: Response(PAGE, content_type="text/html; charset=utf-8")
    )
    sources = tmp_path / "sources.toml"
    sources.write_text(f'[[source]]\nname = "web"\nkind = "feed"\nurl = "{httpserver.url_for("/feed.xml")}"\n')
    assert ingest(sources_file=str(sources))["n_inserted"] == 1
    [before] = fetch(db, "SELECT title, author, published_at FROM newsdesk.articles")
    assert before["title"] == "Harbour Vote Settles Port Dispute" and before["published_at"] is not None

    record = reprocess_stored()
    assert (record["n_discovered"], record["n_unchanged"], record["n_updated"]) == (1, 1, 0)
    [after] = fetch(db, "SELECT title, author, published_at FROM newsdesk.articles WHERE is_current")
    assert after == before


def test_documents_stored_before_compression_are_reprocessed_too(db, corpus):
    """Rows written before migration 0012 hold the bytes as read (`identity`);
    a reprocess reads both forms."""
    from newsdesk.flows.reprocess import reprocess_stored
    from newsdesk.tasks.packing import unpack

    corpus.write("a.txt", distinct_story(1))
    corpus.write("b.txt", distinct_story(2))
    corpus.configure()
    assert run_ingest(corpus.sources)["n_inserted"] == 2
    [old] = fetch(db, "SELECT id, raw, raw_encoding FROM newsdesk.documents WHERE locator LIKE '%a.txt'")
    with db.begin() as conn:
        conn.execute(
            sa.text("UPDATE newsdesk.documents SET raw = :raw, raw_encoding = 'identity' WHERE id = :id"),
            {"raw": unpack(old["raw"], old["raw_encoding"]), "id": old["id"]},
        )
    record = reprocess_stored()
    assert (record["status"], record["n_discovered"], record["n_unchanged"], record["n_failed"]) == (
        "completed",
        2,
        2,
        0,
    )
