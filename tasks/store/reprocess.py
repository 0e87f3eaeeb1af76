"""Re-clean stored raw documents with the current cleaner, without fetching.

Each document goes through the same `prepare` as at ingest, with the listing
metadata stored beside it. A document whose cleaned article now differs gets a
new article version (`updated`); one that comes out the same is `unchanged`;
one the current cleaner refuses is `rejected` (and one it fails on `failed`)
and keeps its old article. The touched stories' `story_facts` rows are
rewritten.

The documents are read and cleaned outside the load lock, with no transaction
open; one transaction per batch then stages the new versions and takes the
lock only to check that each version it replaces is still the current one (a
load may have stored a newer one meanwhile: that one stays, and the document
counts `unchanged`), decide their stories and insert them.
"""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, RowMapping

from newsdesk.tasks import packing
from newsdesk.tasks.dedup.match import Link, Thresholds
from newsdesk.tasks.extract.prepare import prepare
from newsdesk.tasks.records import ListingHints, Prepared, Problem, RawDocument
from newsdesk.tasks.store import staging, story_facts
from newsdesk.tasks.store.lock import hold_load_lock
from newsdesk.tasks.store.outcomes import add_counts, record_problems
from newsdesk.tasks.store.placement import place
from newsdesk.tasks.store.rows import article_row, next_ids
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
    with engine.connect() as conn:
        rows = conn.execute(sa.text(_SELECT), {"ids": document_ids}).mappings().all()
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
            changed.append((row, result))
    with engine.begin() as conn:
        ids = next_ids(conn, "newsdesk.articles_id_seq", len(changed))
        staging.stage(
            conn,
            [
                article_row(item, article_id, row["document_id"], 0, Link(0), row["ingested_from"], run_id)
                for (row, item), article_id in zip(changed, ids)
            ],
        )
        held = hold_load_lock(conn)
        current = _still_current(conn, [row["id"] for row, _ in changed])
        kept = [(entry, article_id) for entry, article_id in zip(changed, ids) if entry[0]["id"] in current]
        for (row, _), _ in kept:
            by_source[row["ingested_from"]]["updated"] += 1
        for row, _ in changed:
            if row["id"] not in current:  # a load stored a newer version meanwhile
                by_source[row["ingested_from"]]["unchanged"] += 1
        _write_versions(
            conn, run_id, [(row, item, current[row["id"]], article_id) for (row, item), article_id in kept], thresholds
        )
        total: Counter = Counter()
        for source, counts in by_source.items():
            record_problems(conn, run_id, source, problems.get(source, []))
            add_counts(conn, run_id, source, counts)
            total += counts
        held.record(len(rows))
    return total


_SELECT = (
    "SELECT d.id AS document_id, d.locator, d.media_type, d.content_sha256, d.fetched_at, d.raw, d.raw_encoding,"
    " d.listing, a.id, a.version, a.story_id, a.duplicate_of, a.ingested_from, a.title, a.summary, a.body,"
    " a.published_at, a.published_precision, a.author, a.authors, a.publisher AS source_name,"
    " a.publisher_domain, a.url, a.language, a.keywords, a.section"
    " FROM newsdesk.documents d JOIN newsdesk.articles a ON a.document_id = d.id AND a.is_current"
    " WHERE d.id = ANY(:ids) ORDER BY d.id"
)


def _still_current(conn: Connection, article_ids: list[int]) -> dict[int, StoredVersion]:
    """Of these article versions, those still current, as stored now (under the lock)."""
    if not article_ids:
        return {}
    rows = conn.execute(
        sa.text(
            "SELECT a.id, a.version, a.story_id, a.duplicate_of IS NULL, d.content_sha256, d.fetched_at,"
            " a.dup_kind, a.dup_score, a.duplicate_of, a.event_score"
            " FROM newsdesk.articles a JOIN newsdesk.documents d ON d.id = a.document_id"
            " WHERE a.id = ANY(:ids) AND a.is_current"
        ),
        {"ids": article_ids},
    )
    return {row[0]: StoredVersion(*row) for row in rows}


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


def _write_versions(
    conn: Connection, run_id: int, changed: list[tuple[Row, Prepared, StoredVersion, int]], thresholds: Thresholds
) -> None:
    """New versions of still-current articles (each with the version it replaces, as
    stored now, and its staged id); a report stays in its story, linked as it was,
    a copy is matched again (see placement.place)."""
    if not changed:
        return
    conn.execute(
        sa.text("UPDATE newsdesk.articles SET is_current = false, updated_at = now() WHERE id = ANY(:ids)"),
        {"ids": [before.id for _, _, before, _ in changed]},
    )
    links = place(conn, [(item, article_id, before) for _, item, before, article_id in changed], thresholds, run_id)
    staging.insert_decided(
        conn, [article_id for *_, article_id in changed], [before.version + 1 for _, _, before, _ in changed], links
    )
    story_facts.refresh(conn, [before.story_id for _, _, before, _ in changed] + [link.story_id for link in links])
