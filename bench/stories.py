"""`make bench-stories`: are separately written reports of one event one story?

Quality: the 676 real pages of bench/data (article-extraction and
extraction-eval) are ingested together by the real flow (files source) into a
fresh database, and every pair of pages is scored against the hand labels of
bench/data/stories-dev/truth.json: a pair is true when both pages are in one
labelled event, predicted when both ended in one story. Pairs listed as
`related` (same topic or person, another occasion) count neither way.
Reported: pairwise precision and recall of same-event pairs, those of the
pairs written separately (`kind: same`) alone, every wrong link, and the copy
tiers' figures from `bench.dedup` (same labelled copy set, same scoring).

Cost: CPU per article of the story decision (`placement.place`: candidate
queries, scoring, filing the keys) for a probe batch placed against a corpus of
generated articles at each size in --sizes, in a transaction rolled back, so
every size sees the same work; and the index size per article.

    python -m bench.stories [--sizes 10000,1000000] [--skip-scale] [--skip-copies]
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import tempfile
from collections import defaultdict
from pathlib import Path

import sqlalchemy as sa

from bench.servers import database_server, fresh_database
from newsdesk.database import engine_for_url

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
TRUTH = DATA / "stories-dev" / "truth.json"


# ---------------------------------------------------------------- quality


def write_pages(workdir: Path) -> Path:
    """The 676 pages, decompressed under workdir with their bench/data paths
    (less .gz), and a sources.toml that reads them all as one files source."""
    for page in sorted(DATA.glob("*/html/*.html.gz")):
        target = workdir / page.relative_to(DATA).with_suffix("")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(gzip.decompress(page.read_bytes()))
    sources = workdir / "sources.toml"
    sources.write_text('[[source]]\nname = "bench-data"\nkind = "files"\npath = "."\ninclude = "*/html/*.html"\n')
    return sources


def quality(database_url: str) -> dict:
    import os

    from newsdesk.flows.ingest import ingest

    with tempfile.TemporaryDirectory(prefix="newsdesk-stories-") as tmp:
        workdir = Path(tmp)
        sources = write_pages(workdir)
        os.environ["DATABASE_URL"] = database_url
        run = ingest(sources_file=str(sources))
        engine = engine_for_url(database_url)
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT locator, story_id, dup_kind, title FROM newsdesk.articles WHERE is_current")
            ).all()
        story_of = {str(Path(r.locator).relative_to(workdir)) + ".gz": r.story_id for r in rows}
        titles = {str(Path(r.locator).relative_to(workdir)) + ".gz": r.title for r in rows}
    report = score(json.loads(TRUTH.read_text(encoding="utf-8")), story_of, titles)
    report["run"] = {k: run[k] for k in ("n_discovered", "n_inserted", "n_duplicate", "n_rejected", "n_failed")}
    return report


def score(truth: dict, story_of: dict[str, int], titles: dict[str, str | None] | None = None) -> dict:
    """Pairwise figures of same-event pairs over all loaded pages (pages not
    loaded miss their pairs)."""
    titles = titles or {}
    event_of: dict[str, int] = {}
    kind_of: dict[str, str] = {}
    for n, cluster in enumerate(truth["clusters"]):
        for member in cluster["members"]:
            event_of[member["page"]] = n
            kind_of[member["page"]] = member["kind"]
    related = {frozenset((r["a"], r["b"])) for r in truth["related"]}
    members: dict[int, list[str]] = defaultdict(list)
    for page, story_id in story_of.items():
        members[story_id].append(page)
    linked = {frozenset(pair) for group in members.values() for pair in itertools.combinations(sorted(group), 2)}
    true_pairs: set[frozenset] = set()
    for n in set(event_of.values()):
        pages = sorted(p for p, e in event_of.items() if e == n)
        true_pairs.update(frozenset(pair) for pair in itertools.combinations(pages, 2))
    tp = linked & true_pairs
    fp = {pair for pair in linked - true_pairs if pair not in related}
    fn = true_pairs - linked
    separate = {pair for pair in true_pairs if all(kind_of[p] == "same" for p in pair)}

    def named(pairs):
        return sorted(" | ".join(sorted(str(titles.get(p) or p)[:60] for p in pair)) for pair in pairs)

    return {
        "pages": len(story_of),
        "same_event": prf(len(tp), len(fp), len(fn)),
        "written_separately": {"found": len(tp & separate), "of": len(separate)},
        "related_linked": {"linked": len(linked & related), "of": len(related)},
        "stories_of_several": sum(1 for group in members.values() if len(group) > 1),
        "wrong_links": named(fp),
        "missed": named(fn),
    }


def prf(tp: int, fp: int, fn: int) -> dict:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "tp": tp, "fp": fp, "fn": fn}


def print_quality(q: dict) -> None:
    s = q["same_event"]
    print(f"  {q['pages']} pages loaded; run: {q['run']}")
    print(
        f"  same-event pairs: precision {s['precision']:.4f}  recall {s['recall']:.4f}"
        f"  (tp {s['tp']}, fp {s['fp']}, fn {s['fn']}; goal: recall >= 0.8 at precision >= 0.95)"
    )
    w, r = q["written_separately"], q["related_linked"]
    print(f"  written separately: {w['found']} of {w['of']} pairs linked")
    print(f"  related pairs (scored neither way) linked: {r['linked']} of {r['of']}")
    print(f"  stories with more than one page: {q['stories_of_several']}")
    for pair in q["wrong_links"]:
        print(f"    WRONG  {pair}")
    for pair in q["missed"]:
        print(f"    missed {pair}")


def copy_tiers(server: str) -> dict:
    """The copy tiers' figures of `make bench-dedup` (its labelled set, its scoring)."""
    from bench import dedup

    with fresh_database(server) as url, tempfile.TemporaryDirectory(prefix="newsdesk-dedup-set-") as workdir:
        report = dedup.quality(url, Path(workdir))
    return {
        "overall": report["overall"],
        "tiers": report["tiers"],
        "links_between_originals": report["links_between_originals"],
    }


def print_copies(c: dict) -> None:
    o = c["overall"]
    print(f"  copies overall: precision {o['precision']:.4f}  recall {o['recall']:.4f}")
    for tier, t in c["tiers"].items():
        print(
            f"    tier {tier:<6} precision {t['precision']}  recall {t['recall']}  ({t['linked']} linked, {t['true']} true)"
        )


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-copies", action="store_true", help="leave out the copy tiers (bench-dedup's set)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    report: dict = {}
    with database_server() as server:
        print("Same-event stories on the 676 pages of bench/data (one run)", flush=True)
        with fresh_database(server) as url:
            report["quality"] = quality(url)
        print_quality(report["quality"])
        if not args.skip_copies:
            print("Copy tiers on bench-dedup's labelled set", flush=True)
            report["copies"] = copy_tiers(server)
            print_copies(report["copies"])
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
