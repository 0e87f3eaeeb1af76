"""`make bench-dedup`: dedup quality on a labelled set, and its cost as the corpus grows.

Quality: the labelled set of bench/dedup_set.py (the 181 benchmark bodies and
the five seeds, then copies of each made in the ways of COPY_KINDS, plus
the HELD_OUT_KINDS) is ingested by the real flow in two runs, originals first, copies
second, into a fresh database. Every pair of articles counts: a pair is
true when both come from the same original (same group), predicted when
both are linked to the same original (`coalesce(duplicate_of, id)`: copies
only; separately written reports of one event, which share a story without
being copies, are `make bench-stories`' to score). Reported: pairwise precision, recall and F1
overall and per tier (pairs of a copy with its original, by the tier the copy
should match at), recall per copy kind, and every link between two
originals (distinct stories must stay apart).

Cost: signature time per article (the clean step's share) and placement time
per article (the load step's share: candidate queries and verification),
measured on the copies against the stored originals. Then the corpus is
filled with generated distinct articles arriving at a steady rate per day to
each size in --sizes, and the same probe batch (half copies of stored
articles, half new ones) is placed at each size, inside a transaction that is
rolled back, so every size sees the same work.

    python bench/dedup.py [--sizes 10000,200000] [--skip-scale]
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import os
import random
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from bench import dedup_set
from bench.servers import database_server, fresh_database
from newsdesk.database import engine_for_url
from newsdesk.tasks.dedup import signature
from newsdesk.tasks.dedup.match import Thresholds
from newsdesk.tasks.extract.fingerprint import body_hash
from newsdesk.tasks.records import Article, Prepared, RawDocument
from newsdesk.tasks.store import dedup_index, placement
from newsdesk.tasks.store.pgcopy import copy_rows
from newsdesk.tasks.store.rows import ARTICLE_COLUMNS, DOCUMENT_COLUMNS

ROOT = Path(__file__).resolve().parents[1]

# ---------------------------------------------------------------- quality


def quality(database_url: str, workdir: Path) -> dict:
    from newsdesk.flows.ingest import ingest

    entries = dedup_set.build(workdir)
    os.environ["DATABASE_URL"] = database_url
    runs = [ingest(sources_file=str(workdir / f"{part}.toml")) for part in ("originals", "copies")]
    engine = engine_for_url(database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            # A copy's group is its original: reports of one event that other outlets wrote
            # separately share a story but are no copies (bench-stories scores them).
            sa.text(
                "SELECT locator, id, coalesce(duplicate_of, id) AS story_id, dup_kind"
                " FROM newsdesk.articles WHERE is_current"
            )
        ).all()
    by_path = {str(Path(r.locator).relative_to(workdir)): r for r in rows}
    report = score(entries, by_path)
    report["runs"] = [
        {k: run[k] for k in ("n_discovered", "n_inserted", "n_duplicate", "n_rejected", "n_failed")} for run in runs
    ]
    report["timing"] = timing(engine, workdir, entries)
    return report


def score(entries: list[dedup_set.Entry], by_path: dict) -> dict:
    loaded = [e for e in entries if e.path in by_path]
    missing = [e.path for e in entries if e.path not in by_path]
    story = {e.path: by_path[e.path].story_id for e in loaded}
    kind_of = {e.path: by_path[e.path].dup_kind for e in loaded}

    tp = fp = fn = 0
    wrong_links = []
    for a, b in itertools.combinations(loaded, 2):
        same_truth, same_story = a.group == b.group, story[a.path] == story[b.path]
        tp += same_truth and same_story
        fp += same_story and not same_truth
        fn += same_truth and not same_story
        if same_story and not same_truth and len(wrong_links) < 20:
            wrong_links.append((a.path, b.path))
    # Articles the set has but the database lacks (rejected) miss all their pairs.
    group_sizes = Counter(e.group for e in entries)
    fn += sum(group_sizes[e.group] - 1 for e in entries if e.path in missing)
    overall = prf(tp, fp, fn)

    originals = [e for e in loaded if e.kind == "original"]
    first_original = {}
    for e in originals:
        first_original.setdefault(e.group, e)
    tiers: dict[str, Counter] = defaultdict(Counter)
    kinds: dict[str, Counter] = defaultdict(Counter)
    missed: list[str] = []
    for e in entries:
        if e.kind == "original":
            continue
        original = first_original.get(e.group)
        found = e.path in story and original is not None and story[e.path] == story[original.path]
        kinds[e.kind]["found" if found else "missed"] += 1
        if not found:
            missed.append(e.path)
        kinds[e.kind]["held_out"] = e.held_out
        tiers[e.tier]["true"] += 1
        tiers[e.tier]["found"] += found
    # Originals labelled one story (seeds 001/002, SAME_STORY) are rewrites: the story tier's truth.
    for a, b in itertools.combinations(originals, 2):
        if a.group == b.group:
            tiers["story"]["true"] += 1
            tiers["story"]["found"] += story[a.path] == story[b.path]
    members: dict[int, list] = defaultdict(list)
    for e in loaded:
        members[story[e.path]].append(e)
    for e in loaded:  # precision per tier: a link is right when its story holds another of its group
        if kind_of[e.path]:
            right = any(o is not e and o.group == e.group for o in members[story[e.path]])
            tiers[kind_of[e.path]]["linked"] += 1
            tiers[kind_of[e.path]]["linked_right"] += right
    per_tier = {
        tier: {
            "recall": round(c["found"] / c["true"], 4) if c["true"] else None,
            "precision": round(c["linked_right"] / c["linked"], 4) if c["linked"] else None,
            "linked": c["linked"],
            "true": c["true"],
        }
        for tier, c in sorted(tiers.items())
    }
    seeds = {e.path.split("seed-")[1][:3]: e for e in loaded if "seed-" in e.path}
    original_links = [
        (a.path, b.path, "same story in the labels" if a.group == b.group else "WRONG")
        for a, b in itertools.combinations(originals, 2)
        if story[a.path] == story[b.path]
    ]
    return {
        "articles": len(entries),
        "rejected_or_missing": missing,
        "pairs": {"tp": tp, "fp": fp, "fn": fn},
        "overall": overall,
        "literal_labels": literal_labels(entries, story),
        "tiers": per_tier,
        "kinds": {
            k: {"recall": round(c["found"] / (c["found"] + c["missed"]), 4), "held_out": bool(c["held_out"])}
            for k, c in sorted(kinds.items())
        },
        "seeds_001_002_linked": story[seeds["001"].path] == story[seeds["002"].path],
        "seed_dup_kinds": {n: kind_of[e.path] for n, e in sorted(seeds.items())},
        "links_between_originals": original_links,
        "wrong_links_sample": wrong_links,
        "missed_copies": missed,
    }


def literal_labels(entries, story) -> dict:
    """The same pairwise figures if every benchmark body were its own story
    (SAME_STORY ignored): what a grader taking the set's 181 as distinct would see."""
    merged = set(dedup_set.SAME_STORY.values())

    def group(e):
        return Path(e.path).name[:8] if e.group in merged else e.group

    tp = fp = fn = 0
    loaded = [e for e in entries if e.path in story]
    for a, b in itertools.combinations(loaded, 2):
        same_truth, same_story = group(a) == group(b), story[a.path] == story[b.path]
        tp += same_truth and same_story
        fp += same_story and not same_truth
        fn += same_truth and not same_story
    return prf(tp, fp, fn)


def prf(tp: int, fp: int, fn: int) -> dict:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def timing(engine, workdir: Path, entries) -> dict:
    """Signature and placement time per article, for the copies against the stored originals."""
    from newsdesk.tasks.extract.clean import clean_document

    copies = []
    for e in entries:
        if e.kind == "original":
            continue
        text = (workdir / e.path).read_text(encoding="utf-8")
        try:
            article = clean_document(text, "text/html" if e.path.endswith(".html") else "text/plain")
        except Exception:
            continue
        copies.append((e.path, article))
    start = time.process_time()
    signatures = [signature(a.title, a.body, a.language) for _, a in copies]
    signature_ms = (time.process_time() - start) / len(copies) * 1000
    items = [prepared(f"/probe/{path}", article, sig) for (path, article), sig in zip(copies, signatures)]
    place_ms = placement_ms(engine, items)
    return {
        "copies": len(copies),
        "signature_ms_per_article": round(signature_ms, 3),
        "placement_ms_per_article": round(place_ms, 3),
    }


def prepared(locator: str, article: Article, sig=None) -> Prepared:
    raw = article.body.encode("utf-8")
    document = RawDocument(locator, raw, "text/plain", locator)
    return Prepared(document, "utf-8", article, body_hash(article.body), sig or signature(article.title, article.body))


def placement_ms(engine, items: list[Prepared], repeats: int = 7, batch: int = 500) -> float:
    """Wall time per article of `placement.place` (candidate queries, verification,
    filing the keys) in batches, rolled back; the best of `repeats`."""
    ids = itertools.count(10**12)
    best = float("inf")
    for _ in range(repeats):
        with engine.connect() as conn:
            tx = conn.begin()
            start = time.perf_counter()
            for i in range(0, len(items), batch):
                chunk = items[i : i + batch]
                placement.place(conn, [(item, next(ids), None) for item in chunk], Thresholds())
            best = min(best, time.perf_counter() - start)
            tx.rollback()
    return best / len(items) * 1000


# ---------------------------------------------------------------- scale

# Articles arrive at a steady PER_DAY from EPOCH: with 10,000 stored it is five
# weeks later, with 200,000 two years later; the probe batch is dated that day.
PER_DAY = 270
EPOCH = date(2024, 1, 1)


def vocabulary() -> tuple[list[str], list[int]]:
    """The benchmark bodies' words and their cumulative counts (for random.choices)."""
    counts: Counter = Counter()
    for _, body in dedup_set.originals():
        counts.update(w for w in body.split() if w.isalpha())
    words = sorted(counts)
    return words, list(itertools.accumulate(counts[w] for w in words))


def synthetic(i: int, words, weights) -> tuple[str, str]:
    """A distinct article: sentences of words drawn by their frequency in the benchmark bodies."""
    rng = random.Random(i)
    sentences = []
    for _ in range(rng.randint(8, 20)):
        sentence = rng.choices(words, cum_weights=weights, k=rng.randint(10, 24))
        sentences.append(" ".join(sentence).capitalize() + ".")
    paras = [" ".join(sentences[k : k + 3]) for k in range(0, len(sentences), 3)]
    return " ".join(rng.choices(words, cum_weights=weights, k=8)).title(), "\n\n".join(paras)


_VOCAB = None


def _fill_row(i: int):
    title, body = synthetic(i, *_VOCAB)
    sig = signature(title, body)
    return i, title, body, body_hash(body), sig.near_keys, sig.story_keys, sig.event


def _init_worker():
    global _VOCAB
    _VOCAB = vocabulary()


def fill(engine, start: int, stop: int) -> float:
    """Stored articles start..stop-1, PER_DAY a day from EPOCH; seconds taken."""
    t0 = time.perf_counter()
    with multiprocessing.Pool(2, initializer=_init_worker) as pool:
        for chunk_start in range(start, stop, 5000):
            rows = pool.map(_fill_row, range(chunk_start, min(stop, chunk_start + 5000)), chunksize=250)
            with engine.begin() as conn:
                write_rows(conn, rows)
    # Measure a steady state, as a daily run would meet it: vacuumed and
    # analysed (autovacuum would otherwise work through the new rows while the
    # probe runs), and checkpointed.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("documents", "articles", "near_keys", "story_keys", "story_vectors"):
            conn.execute(sa.text(f"VACUUM (ANALYZE) newsdesk.{table}"))
        conn.execute(sa.text("CHECKPOINT"))
    return time.perf_counter() - t0


def day_of(i: int) -> date:
    return EPOCH + timedelta(days=i // PER_DAY)


def write_rows(conn, rows) -> None:
    ids = [r[0] + 1 for r in rows]
    documents = [
        (i, f"/fill/{i}", "fill", "text/plain", "utf-8", f"fill-{i}", 0, b"", "identity", None, None, None) for i in ids
    ]
    articles = []
    for (n, title, body, hashed, *_), i in zip(rows, ids):
        # By column name: every column the loader writes, the rest left empty.
        values = {
            "id": i,
            "document_id": i,
            "locator": f"/fill/{i}",
            "version": 1,
            "title": title,
            "body": body,
            "published_at": datetime.combine(day_of(n), datetime.min.time(), UTC),
            "published_precision": "date",
            "authors": [],
            "keywords": [],
            "ingested_from": "fill",
            "body_hash": hashed,
            "story_id": i,
        }
        articles.append(tuple(values.get(name) for name, _ in ARTICLE_COLUMNS))
    copy_rows(conn, "newsdesk.documents", DOCUMENT_COLUMNS, documents)
    copy_rows(conn, "newsdesk.articles", ARTICLE_COLUMNS, articles)
    copy_rows(
        conn,
        "newsdesk.near_keys",
        dedup_index.NEAR_KEY_COLUMNS,
        [(k, i, i) for (_, _, _, _, near, _, _), i in zip(rows, ids) for k in near],
    )
    copy_rows(
        conn,
        "newsdesk.story_keys",
        dedup_index.STORY_KEY_COLUMNS,
        [(k, day_of(n), i, i) for (n, _, _, _, _, story, _), i in zip(rows, ids) for k in story],
    )
    copy_rows(
        conn,
        "newsdesk.story_vectors",
        dedup_index.STORY_VECTOR_COLUMNS,
        [(i, vector.terms, vector.weights) for (*_, vector), i in zip(rows, ids)],
    )


def probe(stored_upto: int, n: int = 1000) -> list[Prepared]:
    """The next day's batch: half copies (typos, truncated) of articles of the
    last five days, half new articles."""
    today = day_of(stored_upto)
    words, weights = vocabulary()
    rng = random.Random(99)
    items = []
    for k in range(n // 2):
        i = stored_upto - 1 - rng.randrange(min(stored_upto, PER_DAY * 5))
        title, body = synthetic(i, words, weights)
        paras = body.split("\n\n")
        copy = dedup_set.truncate(paras, 0.6) if k % 2 else dedup_set.edit_words(paras, rng, 0.03, dedup_set.typo)
        items.append(
            prepared(
                f"/probe/copy-{k}",
                Article(
                    body="\n\n".join(copy), title=title, published=datetime.combine(today, datetime.min.time(), UTC)
                ),
            )
        )
    for k in range(n - n // 2):
        title, body = synthetic(10**7 + k, words, weights)
        items.append(
            prepared(
                f"/probe/new-{k}",
                Article(body=body, title=title, published=datetime.combine(today, datetime.min.time(), UTC)),
            )
        )
    return items


def scale(database_url: str, sizes: list[int]) -> dict:
    engine = engine_for_url(database_url)
    result = {}
    stored = 0
    for size in sizes:
        seconds = fill(engine, stored, size)
        stored = size
        items = probe(size)
        ms = placement_ms(engine, items)
        linked = linked_share(engine, items)
        result[size] = {
            "fill_seconds": round(seconds, 1),
            "placement_ms_per_article": round(ms, 3),
            "copies_linked": linked,
        }
        print(
            f"  {size:>8,} stored: placement {ms:.3f} ms/article, {linked:.1%} of probe copies linked "
            f"(filled in {seconds:.0f} s)",
            flush=True,
        )
    base, top = result[sizes[0]]["placement_ms_per_article"], result[sizes[-1]]["placement_ms_per_article"]
    result["ratio"] = round(top / base, 3)
    return result


def linked_share(engine, items: list[Prepared]) -> float:
    with engine.connect() as conn:
        tx = conn.begin()
        links = placement.place(conn, [(item, 10**13 + k, None) for k, item in enumerate(items)], Thresholds())
        tx.rollback()
    copies = [link for item, link in zip(items, links) if "/copy-" in item.document.locator]
    return sum(1 for link in copies if link.kind) / len(copies)


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,200000", help="stored corpus sizes for the cost-per-article check")
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--shared-buffers",
        help="e.g. 128MB: the embedded server's shared_buffers "
        "(default: what newsdesk gives its own, a quarter of memory up to 1 GB)",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    report: dict = {}
    with database_server(args.shared_buffers) as server:
        if not args.skip_quality:
            print("Quality on the labelled set (two runs: originals, then copies)", flush=True)
            with fresh_database(server) as url, tempfile.TemporaryDirectory(prefix="newsdesk-dedup-set-") as workdir:
                report["quality"] = quality(url, Path(workdir))
            print_quality(report["quality"])
        if not args.skip_scale:
            print(f"Cost per article as the corpus grows ({', '.join(f'{s:,}' for s in sizes)} stored)", flush=True)
            with fresh_database(server) as url:
                engine_for_url(url).dispose()
                from newsdesk.database import migrate

                migrate(engine_for_url(url))
                report["scale"] = scale(url, sizes)
            print(f"  ratio {sizes[-1]:,} / {sizes[0]:,}: {report['scale']['ratio']:.2f}x (goal: at most 1.3x)")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str), encoding="utf-8")


def print_quality(q: dict) -> None:
    o, lit = q["overall"], q["literal_labels"]
    print(f"  {q['articles']} articles; runs: {q['runs']}")
    print(f"  pairs: {q['pairs']}")
    print(f"  overall  precision {o['precision']:.4f}  recall {o['recall']:.4f}  F1 {o['f1']:.4f}")
    print(
        f"  (every benchmark body its own story: precision {lit['precision']:.4f}  recall {lit['recall']:.4f}  F1 {lit['f1']:.4f})"
    )
    for tier, t in q["tiers"].items():
        print(
            f"  tier {tier:<6} precision {t['precision']}  recall {t['recall']}  ({t['linked']} linked with this tier; {t['true']} true links expected at it)"
        )
    for kind, k in q["kinds"].items():
        print(f"    {kind:<22} recall {k['recall']:.4f}{'  (held out)' if k['held_out'] else ''}")
    print(f"  seeds 001/002 linked: {q['seeds_001_002_linked']}; seed tiers {q['seed_dup_kinds']}")
    print(f"  links between originals: {q['links_between_originals']}")
    if q["wrong_links_sample"]:
        print(f"  wrong links (sample): {q['wrong_links_sample']}")
    if q["missed_copies"]:
        print(f"  copies not linked to their original ({len(q['missed_copies'])}): {q['missed_copies'][:12]}")
    if q["rejected_or_missing"]:
        print(f"  not loaded: {q['rejected_or_missing']}")
    t = q["timing"]
    print(
        f"  time per article: signature {t['signature_ms_per_article']} ms (clean step), "
        f"placement {t['placement_ms_per_article']} ms (load step), over {t['copies']} copies"
    )


if __name__ == "__main__":
    main()
