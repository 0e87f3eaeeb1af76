"""`make bench-extract`: article-body extraction quality on both extraction sets.

Scores newsdesk's HTML cleaner and trafilatura alone (`extract()` with its
defaults), in the same run, on:

- `bench/data/article-extraction` (181 pages with a gold body), with that set's
  metric (its README): per page, 4-token shingles of `\\w+` tokens as multisets;
  TP, FP, FN each divided by TP+FP+FN; precision and recall are means over pages
  (pages with nothing predicted are left out of precision, pages with nothing
  true out of recall); F1 from the two means.
- `bench/data/extraction-eval` (495 pages with snippets), with trafilatura's
  snippet metric (its README): whitespace normalised, a `with` snippet found is
  a TP, one missed a FN, a `without` snippet found a FP, counted over the set.

Time is CPU time per page in this process, extraction only (parsing included;
decompression, decoding and scoring not). Each page is decoded once, as
newsdesk decodes it, and both extractors get the same text.

Then, on the second set's pages that declare them in their markup (og:title,
article:published_time or JSON-LD datePublished, `<html lang>`), how often
newsdesk's title, publication day and language agree with the declaration.

    python -m bench.extract [--worst N]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import trafilatura

from newsdesk.tasks.extract.clean.html import clean_html
from newsdesk.tasks.extract.decode import declared_charset, decode
from newsdesk.tasks.records import Article

ROOT = Path(__file__).resolve().parents[1]
GOLD_DATA = ROOT / "bench" / "data" / "article-extraction"
SNIPPET_DATA = ROOT / "bench" / "data" / "extraction-eval"
_TOKEN = re.compile(r"\w+")
_SPACE = re.compile(r"\s+")


# --- the first set's metric: shingles of a gold body ---------------------------


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


# --- the second set's metric: snippets in and out ------------------------------


def normalise_space(text: str) -> str:
    return _SPACE.sub(" ", text or "").strip()


def snippet_counts(predicted: str, with_: list[str], without: list[str]) -> tuple[int, int, int]:
    """(TP, FP, FN) of one page."""
    text = normalise_space(predicted)
    found = [normalise_space(s) in text for s in with_]
    fp = sum(normalise_space(s) in text for s in without)
    return sum(found), fp, len(found) - sum(found)


def snippet_score(counts: list[tuple[int, int, int]]) -> dict:
    tp, fp, fn = (sum(c[i] for c in counts) for i in range(3))
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"f1": 2 * p * r / (p + r) if p + r else 0.0, "precision": p, "recall": r}


# --- the sets ------------------------------------------------------------------


@dataclass(slots=True)
class Page:
    key: str
    url: str | None
    html: str
    truth: dict


def load_pages(data: Path, truth_file: str) -> list[Page]:
    truth = json.loads((data / truth_file).read_text(encoding="utf-8"))
    pages = []
    for key in sorted(truth):
        raw = gzip.decompress((data / "html" / f"{key}.html.gz").read_bytes())
        html, _ = decode(raw, declared=declared_charset(raw, "text/html"))
        url = truth[key]["url"]
        pages.append(Page(key, url if url.startswith(("http://", "https://")) else None, html, truth[key]))
    return pages


def newsdesk_article(html: str, url: str | None) -> Article:
    return clean_html(html, url=url)


def trafilatura_body(html: str, url: str | None) -> str:
    return trafilatura.extract(html, url=url) or ""


def run(pages: list[Page], extract: Callable[[str, str | None], object]) -> tuple[dict[str, object], float]:
    """Outputs by page key, and CPU milliseconds per page."""
    start = time.process_time()
    outputs = {page.key: extract(page.html, page.url) for page in pages}
    return outputs, (time.process_time() - start) * 1000 / len(pages)


# --- metadata the second set's pages declare ----------------------------------

_META = re.compile(r"<meta\b[^>]*>", re.I)
_ATTR = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_LD_DATE = re.compile(r'"datePublished"\s*:\s*"(\d{4}-\d{2}-\d{2})')
_HTML_LANG = re.compile(r"<html\b[^>]*\blang\s*=\s*[\"']?([A-Za-z]{2,3})\b", re.I)


def declared_metadata(html: str) -> dict[str, str]:
    """Title, publication day and language as the page's markup declares them."""
    found: dict[str, str] = {}
    for tag in _META.findall(html):
        attrs = {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3) for m in _ATTR.finditer(tag)}
        name = (attrs.get("property") or attrs.get("name") or "").lower()
        content = (attrs.get("content") or "").strip()
        if name == "og:title" and content:
            found.setdefault("title", content)
        elif name == "article:published_time" and re.match(r"\d{4}-\d{2}-\d{2}", content):
            found.setdefault("published", content[:10])
    if "published" not in found and (match := _LD_DATE.search(html)):
        found["published"] = match.group(1)
    if match := _HTML_LANG.search(html[:4096]):
        found["language"] = match.group(1).lower()
    return found


def _words(text: str) -> list[str]:
    return _TOKEN.findall(text.casefold())


def metadata_agreement(pages: list[Page], articles: dict[str, object]) -> dict[str, tuple[int, int]]:
    """Per field: (pages declaring it, pages where newsdesk agrees). A title agrees
    when one title's words are the other's, give or take a site name before or after."""
    tallies = {"title": [0, 0], "published": [0, 0], "language": [0, 0]}
    for page in pages:
        article = articles[page.key]
        assert isinstance(article, Article)
        declared = declared_metadata(page.html)
        for field, value in declared.items():
            tallies[field][0] += 1
            if field == "title":
                ours, theirs = " ".join(_words(article.title or "")), " ".join(_words(html_unescape(value)))
                agrees = bool(ours) and (ours in theirs or theirs in ours)
            elif field == "published":
                agrees = article.published is not None and article.published.date().isoformat() == value
            else:
                agrees = article.language == value
            tallies[field][1] += agrees
    return {field: (n, agree) for field, (n, agree) in tallies.items()}


def html_unescape(text: str) -> str:
    import html

    return html.unescape(text)


# --- report --------------------------------------------------------------------

NEWSDESK, TRAFILATURA = "newsdesk", f"trafilatura {trafilatura.__version__}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worst", type=int, default=0, help="list the N pages of each set newsdesk scores worst on")
    args = parser.parse_args()

    gold = load_pages(GOLD_DATA, "ground-truth.json")
    snippets = load_pages(SNIPPET_DATA, "truth.json")
    extractors: dict[str, Callable[[str, str | None], object]] = {
        NEWSDESK: newsdesk_article,
        TRAFILATURA: trafilatura_body,
    }
    texts: dict[tuple[str, str], dict[str, str]] = {}
    articles: dict[str, object] = {}
    print(f"{'set':<28} {'extractor':<20} {'F1':>6} {'precision':>10} {'recall':>7} {'ms/page':>8}")
    for set_name, pages in ((f"{len(gold)} pages, gold bodies", gold), (f"{len(snippets)} pages, snippets", snippets)):
        for name, extract in extractors.items():
            outputs, ms = run(pages, extract)
            if name == NEWSDESK and pages is snippets:
                articles = outputs
            text = {k: v.body if isinstance(v, Article) else str(v) for k, v in outputs.items()}
            texts[(set_name, name)] = text
            if pages is gold:
                result = score([(text[p.key], p.truth["articleBody"]) for p in pages])
            else:
                result = snippet_score(
                    [snippet_counts(text[p.key], p.truth["with"], p.truth["without"]) for p in pages]
                )
            print(
                f"{set_name:<28} {name:<20} {result['f1']:6.4f} {result['precision']:10.4f} "
                f"{result['recall']:7.4f} {ms:8.1f}"
            )

    print("\nnewsdesk metadata on the 495 pages, against what their markup declares:")
    for field, (n, agree) in metadata_agreement(snippets, articles).items():
        print(f"  {field:<10} {agree}/{n} agree ({agree / n if n else 0:.3f})")
    languages = Counter(a.language if isinstance(a, Article) else None for a in articles.values())
    print(f"  language filled on {sum(n for lang, n in languages.items() if lang)}/{len(articles)} pages")

    if args.worst:
        _print_worst(gold, snippets, texts, args.worst)


def _print_worst(gold: list[Page], snippets: list[Page], texts: dict, count: int) -> None:
    names = sorted({name for _, name in texts})
    gold_set = next(s for s, _ in texts if "gold" in s)
    snippet_set = next(s for s, _ in texts if "snippet" in s)
    ranked = []
    for page in gold:
        p, r = page_scores(texts[(gold_set, NEWSDESK)][page.key], page.truth["articleBody"])
        tp, tr = page_scores(texts[(gold_set, TRAFILATURA)][page.key], page.truth["articleBody"])
        ranked.append(((p or 0) + (r or 0) - (tp or 0) - (tr or 0), p or 0, r or 0, tp or 0, tr or 0, page))
    print(f"\n{gold_set}: pages where newsdesk loses most against trafilatura (p, r; trafilatura p, r):")
    for delta, p, r, tp, tr, page in sorted(ranked, key=lambda row: row[0])[:count]:
        print(f"  {delta:+.3f}  {p:.3f} {r:.3f}  ({tp:.3f} {tr:.3f})  {page.key[:12]}  {page.url}")
    print(f"\n{snippet_set}: pages with snippets missed (FN) or boilerplate kept (FP), newsdesk vs {names}:")
    rows = []
    for page in snippets:
        counts = {
            name: snippet_counts(texts[(snippet_set, name)][page.key], page.truth["with"], page.truth["without"])
            for name in names
        }
        tp, fp, fn = counts[NEWSDESK]
        if fp or fn:
            rows.append((fp + fn, page, counts))
    for _, page, counts in sorted(rows, key=lambda row: -row[0])[:count]:
        print(f"  {page.key}  {page.truth['url'][:70]}  " + "  ".join(f"{n}: tp,fp,fn={c}" for n, c in counts.items()))


if __name__ == "__main__":
    main()
