"""Re-clean stored raw documents with the current cleaner, without fetching.

Each document goes through the same `prepare` as at ingest, with the listing
metadata stored beside it. A document whose cleaned article now differs gets a
new article version (`updated`); one that comes out the same is `unchanged`;
one the current cleaner refuses is `rejected` (and one it fails on `failed`)
and keeps its old article. The touched stories' `story_facts` rows are
rewritten. One transaction per batch, under the same lock as loads.
"""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, RowMapping

from newsdesk.tasks import packing
from newsdesk.tasks.dedup.match import Thresholds
from newsdesk.tasks.extract.prepare import prepare
from newsdesk.tasks.records import ListingHints, Prepared, Problem, RawDocument
from newsdesk.tasks.store import story_facts
from newsdesk.tasks.store.lock import hold_load_lock
from newsdesk.tasks.store.outcomes import add_counts, record_problems
from newsdesk.tasks.store.pgcopy import copy_rows
from newsdesk.tasks.store.placement import place
from newsdesk.tasks.store.rows import ARTICLE_COLUMNS, article_row, next_ids
from newsdesk.tasks.store.versions import StoredVersion

# The article fields cleaning produces: a version is new when any of them changes.
_FIELDS = (
    "title",
    "summary",
    "body",
    "published",
    "published_precision",
    "author",
    "authors",
    "source_name",
    "publisher_domain",
    "url",
    "language",
    "keywords",
    "section",
)

Row = RowMapping


def current_document_ids(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        query = sa.text("SELECT document_id FROM newsdesk.articles WHERE is_current ORDER BY document_id")
        return list(conn.scalars(query))


def reprocess_batch(
    engine: Engine, *, run_id: int, document_ids: list[int], thresholds: Thresholds = Thresholds()
) -> Counter:
    with engine.begin() as conn:
        hold_load_lock(conn)
        rows = (
            conn.execute(
                sa.text(
                    "SELECT d.id AS document_id, d.locator, d.media_type, d.content_sha256, d.fetched_at, d.raw, d.raw_encoding, d.listing, a.id,"
                    " a.version, a.story_id, a.duplicate_of, a.dup_kind, a.dup_score, a.event_score,"
                    " a.ingested_from, a.title, a.summary, a.body,"
                    " a.published_at, a.published_precision, a.author, a.authors, a.publisher AS source_name,"
                    " a.publisher_domain, a.url, a.language, a.keywords, a.section"
                    " FROM newsdesk.documents d JOIN newsdesk.articles a ON a.document_id = d.id AND a.is_current"
                    " WHERE d.id = ANY(:ids) ORDER BY d.id"
                ),
                {"ids": document_ids},
            )
            .mappings()
            .all()
        )
        by_source: dict[str, Counter] = {}
        changed: list[tuple[Row, Prepared]] = []
        problems: dict[str, list[Problem]] = {}
        for row in rows:
            counts = by_source.setdefault(row["ingested_from"], Counter())
            result = prepare(_stored_document(row))
            if isinstance(result, Problem):
                counts[result.outcome] += 1
                problems.setdefault(row["ingested_from"], []).append(result)
            elif _same_article(row, result):
                counts["unchanged"] += 1
            else:
                counts["updated"] += 1
                changed.append((row, result))
        _write_versions(conn, run_id, changed, thresholds)
        total: Counter = Counter()
        for source, counts in by_source.items():
            record_problems(conn, run_id, source, problems.get(source, []))
            add_counts(conn, run_id, source, counts)
            total += counts
    return total


def _stored_document(row: Row) -> RawDocument:
    """The raw input as ingest saw it: a page keeps the URL it was read from and its listing's metadata."""
    is_page = row["media_type"] == "text/html"
    return RawDocument(
        row["locator"],
        packing.unpack(row["raw"], row["raw_encoding"]),
        row["media_type"],
        row["content_sha256"],
        url=row["url"] if is_page else None,
        hints=ListingHints.from_json(row["listing"]),
    )


def _same_article(row: Row, prepared: Prepared) -> bool:
    article = prepared.article
    stored = {**row, "published": row["published_at"]}
    return all(getattr(article, name) == stored[name] for name in _FIELDS)


def _write_versions(conn: Connection, run_id: int, changed: list[tuple[Row, Prepared]], thresholds: Thresholds) -> None:
    if not changed:
        return
    ids = next_ids(conn, "newsdesk.articles_id_seq", len(changed))
    conn.execute(
        sa.text("UPDATE newsdesk.articles SET is_current = false, updated_at = now() WHERE id = ANY(:ids)"),
        {"ids": [row["id"] for row, _ in changed]},
    )
    # A report stays in its story, linked as it was; a copy is matched again (see placement.place).
    previous = [
        StoredVersion(
            row["id"],
            row["version"],
            row["story_id"],
            row["duplicate_of"] is None,
            row["content_sha256"],
            row["fetched_at"],
            row["dup_kind"],
            row["dup_score"],
            row["duplicate_of"],
            row["event_score"],
        )
        for row, _ in changed
    ]
    entries = [(item, article_id, before) for (_, item), article_id, before in zip(changed, ids, previous)]
    links = place(conn, entries, thresholds, run_id)
    articles = [
        article_row(item, article_id, row["document_id"], row["version"] + 1, link, row["ingested_from"], run_id)
        for (row, item), article_id, link in zip(changed, ids, links)
    ]
    copy_rows(conn, "newsdesk.articles", ARTICLE_COLUMNS, articles)
    story_facts.refresh(conn, [row["story_id"] for row, _ in changed] + [link.story_id for link in links])
