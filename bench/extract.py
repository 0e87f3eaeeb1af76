"""`make bench-extract`: article-body extraction quality on bench/data/article-extraction.

Scores newsdesk's HTML cleaner and trafilatura alone, in the same run, with the
set's metric (its README): per page, 4-token shingles of `\\w+` tokens as
multisets; TP, FP, FN each divided by TP+FP+FN; precision and recall are means
over pages (pages with nothing predicted are left out of precision, pages with
nothing true out of recall); F1 from the two means. Time is per page on one
core, extraction only (parsing included, decompression and scoring not).

    python bench/extract.py [--data DIR] [--worst N]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import time
from collections import Counter
from pathlib import Path

import trafilatura

from newsdesk.tasks.extract.clean.html import clean_html

ROOT = Path(__file__).resolve().parents[1]

DEFAULT_DATA = ROOT / "bench" / "data" / "article-extraction"
_TOKEN = re.compile(r"\w+")


def shingles(text: str, n: int = 4) -> Counter:
    tokens = _TOKEN.findall(text or "")
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def page_scores(predicted: str, truth: str) -> tuple[float | None, float | None]:
    """(precision, recall) of one page, None where the metric leaves it out."""
    p, t = shingles(predicted), shingles(truth)
    tp = sum((p & t).values())
    fp = sum(p.values()) - tp
    fn = sum(t.values()) - tp
    total = tp + fp + fn
    if total == 0:
        return None, None
    precision = (tp / total) / ((tp + fp) / total) if p else None
    recall = (tp / total) / ((tp + fn) / total) if t else None
    return precision, recall


def score(pairs: list[tuple[str, str]]) -> dict:
    precisions, recalls = [], []
    for predicted, truth in pairs:
        precision, recall = page_scores(predicted, truth)
        if precision is not None:
            precisions.append(precision)
        if recall is not None:
            recalls.append(recall)
    p = sum(precisions) / len(precisions)
    r = sum(recalls) / len(recalls)
    return {"f1": 2 * p * r / (p + r), "precision": p, "recall": r}


def newsdesk_body(html: str, url: str) -> str:
    return clean_html(html, url=url).body


def trafilatura_body(html: str, url: str) -> str:
    return trafilatura.extract(html, url=url) or ""


EXTRACTORS = {"newsdesk": newsdesk_body, "trafilatura 2.3.1": trafilatura_body}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--worst", type=int, default=0, help="list the N pages newsdesk scores worst on")
    args = parser.parse_args()
    truth = json.loads((args.data / "ground-truth.json").read_text(encoding="utf-8"))
    pages = {
        key: gzip.decompress((args.data / "html" / f"{key}.html.gz").read_bytes()).decode("utf-8")
        for key in sorted(truth)
    }
    print(f"{len(pages)} pages from {args.data}")
    print(f"{'extractor':<20} {'F1':>6} {'precision':>10} {'recall':>7} {'ms/page':>8}")
    outputs = {}
    for name, extract in EXTRACTORS.items():
        start = time.process_time()
        outputs[name] = {key: extract(html, truth[key]["url"]) for key, html in pages.items()}
        ms = (time.process_time() - start) * 1000 / len(pages)
        result = score([(outputs[name][key], truth[key]["articleBody"]) for key in pages])
        print(f"{name:<20} {result['f1']:6.4f} {result['precision']:10.4f} {result['recall']:7.4f} {ms:8.1f}")
    if args.worst:
        ranked = []
        for key in pages:
            p, r = page_scores(outputs["newsdesk"][key], truth[key]["articleBody"])
            tp, tr = page_scores(outputs["trafilatura 2.3.1"][key], truth[key]["articleBody"])
            ranked.append(((p or 0) + (r or 0) - (tp or 0) - (tr or 0), p, r, tp, tr, key, truth[key]["url"]))
        print("\npages where newsdesk loses most against trafilatura (p, r; trafilatura p, r):")
        for delta, p, r, tp, tr, key, url in sorted(ranked)[: args.worst]:
            print(f"  {delta:+.3f}  {p or 0:.3f} {r or 0:.3f}  ({tp or 0:.3f} {tr or 0:.3f})  {key[:12]}  {url}")


if __name__ == "__main__":
    main()
