"""Re-clean stored raw documents with the current cleaner, without fetching.

A document whose cleaned article now differs gets a new article version
(`updated`); one that comes out the same is `unchanged`; one the current
cleaner refuses is `rejected` and keeps its old article. One transaction per
batch, under the same lock as loads.
"""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tasks import load
from tasks.acquire import declared_charset, decode
from tasks.clean import clean_document
from tasks.dedup.match import Thresholds
from tasks.fingerprint import body_hash
from tasks.records import Prepared, Problem, RawDocument, Rejected

# The article fields cleaning produces: a version is new when any of them changes.
_FIELDS = ("title", "summary", "body", "published", "author", "source_name", "url", "language")


def current_document_ids(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.scalars(sa.text("SELECT document_id FROM newsdesk.articles WHERE is_current ORDER BY document_id")))


def reprocess_batch(engine: Engine, *, run_id: int, document_ids: list[int], thresholds: Thresholds = Thresholds()) -> Counter:
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": load.LOAD_LOCK})
        rows = conn.execute(
            sa.text(
                "SELECT d.id AS document_id, d.locator, d.media_type, d.content_sha256, d.raw, a.id, a.version,"
                " a.story_id, a.duplicate_of, a.ingested_from, a.title, a.summary, a.body, a.published_at,"
                " a.author, a.source_name, a.url, a.language"
                " FROM newsdesk.documents d JOIN newsdesk.articles a ON a.document_id = d.id AND a.is_current"
                " WHERE d.id = ANY(:ids) ORDER BY d.id"
            ),
            {"ids": document_ids},
        ).mappings().all()
        by_source: dict[str, Counter] = {}
        changed: list[tuple[dict, Prepared]] = []
        problems: dict[str, list[Problem]] = {}
        for row in rows:
            counts = by_source.setdefault(row["ingested_from"], Counter())
            result = _reclean(row)
            if isinstance(result, Problem):
                counts["rejected"] += 1
                problems.setdefault(row["ingested_from"], []).append(result)
            elif _same_article(row, result):
                counts["unchanged"] += 1
            else:
                counts["updated"] += 1
                changed.append((row, result))
        _write_versions(conn, run_id, changed, thresholds)
        total: Counter = Counter()
        for source, counts in by_source.items():
            load.record_problems(conn, run_id, source, problems.get(source, []))
            load.add_counts(conn, run_id, source, counts)
            total += counts
    return total


def _reclean(row) -> Prepared | Problem:
    raw = bytes(row["raw"])
    try:
        text, encoding = decode(raw, declared=declared_charset(raw, row["media_type"]))
        article = clean_document(text, row["media_type"], url=row["url"] if row["media_type"] == "text/html" else None)
    except Rejected as rejected:
        return Problem(row["locator"], "rejected", rejected.stage, rejected.reason)
    document = RawDocument(row["locator"], raw, row["media_type"], row["content_sha256"])
    return Prepared(document=document, encoding=encoding, article=article, body_hash=body_hash(article.body))


def _same_article(row, prepared: Prepared) -> bool:
    article = prepared.article
    stored = {**row, "published": row["published_at"]}
    return all(getattr(article, name) == stored[name] for name in _FIELDS)


def _write_versions(conn, run_id: int, changed: list[tuple[dict, Prepared]], thresholds: Thresholds) -> None:
    if not changed:
        return
    ids = [row[0] for row in conn.execute(
        sa.text("SELECT nextval('newsdesk.articles_id_seq') FROM generate_series(1, :n)"), {"n": len(changed)})]  # fmt: skip
    conn.execute(
        sa.text("UPDATE newsdesk.articles SET is_current = false, updated_at = now() WHERE id = ANY(:ids)"),
        {"ids": [row["id"] for row, _ in changed]},
    )
    # A canonical article stays its story's canonical; a copy is matched again.
    previous = [
        load.StoredVersion(row["id"], row["version"], row["story_id"], row["duplicate_of"] is None, row["content_sha256"], None)
        for row, _ in changed
    ]
    links = load.place(conn, [(item, article_id, before) for (_, item), article_id, before in zip(changed, ids, previous)], thresholds)
    articles = [
        load.article_row(item, article_id, row["document_id"], row["version"] + 1, link, row["ingested_from"], run_id)
        for (row, item), article_id, link in zip(changed, ids, links)
    ]
    load.copy_rows(conn, "newsdesk.articles", load.ARTICLE_COLUMNS, articles)
