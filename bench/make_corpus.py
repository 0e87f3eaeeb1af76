"""Generate a corpus of distinct text articles from the benchmark's real article bodies.

Each article is one of the 181 hand-checked bodies in
../shared/bench/article-extraction, with its paragraphs rotated and a
sentence of its own added so that every body is distinct, wrapped in the
residue the cleaner must strip: front matter, a breadcrumb, markdown links,
`Date:`/`Source:` footers, a trailing block of other headlines, an end mark.

    python bench/make_corpus.py --n 20000 --out bench/corpus/text-20000
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

DEFAULT_TRUTH = Path(__file__).resolve().parents[2] / "shared" / "bench" / "article-extraction" / "ground-truth.json"
HEADLINES = [
    "Markets Slip as Investors Weigh Rate Outlook",
    "City Council Approves New Transit Budget",
    "Storm Knocks Out Power to Thousands",
    "Local Team Wins Regional Championship",
    "Scientists Report Progress on Battery Recycling",
]


def bodies(truth_path: Path) -> list[list[str]]:
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    result = []
    for key in sorted(truth):
        paras = [p.strip() for p in truth[key]["articleBody"].split("\n") if len(p.strip()) > 40]
        if len(paras) >= 2:
            result.append(paras)
    return result


def article(i: int, paras: list[str], rng: random.Random) -> str:
    shift = i % len(paras)
    paras = paras[shift:] + paras[:shift]
    paras = paras + [f"This is dispatch number {i} of the benchmark corpus, filed from desk {rng.randint(1, 99)}."]
    title = " ".join(paras[0].split()[:8]).rstrip(".,;:")
    date = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    style = i % 4
    if style == 0:
        head = f"---\ntitle: \"{title}\"\ndate: {date}\nauthor: Desk {i % 7}\n---\n"
        tail = ""
    elif style == 1:
        head = f"[Home](#) » [News](#) » [World](#) » {title}\n\n{title}\n\n"
        tail = f"\n\n<br/>\nDate: {date}\n<br/>\nSource: Bench Wire\n"
    elif style == 2:
        head = f"{title}\n"
        tail = "\n\n\n" + "\n".join(rng.sample(HEADLINES, 4)) + "\n"
    else:
        head = ""
        tail = "\n\n###\n"
    body = "\n\n".join(p.replace(" the ", " the [linked](#) ", 1) if k == 1 else p for k, p in enumerate(paras))
    return head + body + tail


def generate(n: int, out: Path, truth_path: Path = DEFAULT_TRUTH) -> Path:
    pool = bodies(truth_path)
    rng = random.Random(1234)
    out.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        folder = out / f"{i // 1000:03d}"
        folder.mkdir(exist_ok=True)
        suffix = ".md" if i % 4 == 0 else ".txt"
        (folder / f"{i:06d}{suffix}").write_text(article(i, pool[i % len(pool)], rng), encoding="utf-8")
    (out / "sources.toml").write_text(
        '[[source]]\nname = "bench"\nkind = "files"\npath = "."\n', encoding="utf-8"
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--out", type=Path, default=Path("bench/corpus/text-20000"))
    parser.add_argument("--truth", type=Path, default=DEFAULT_TRUTH)
    args = parser.parse_args()
    print(generate(args.n, args.out, args.truth))


if __name__ == "__main__":
    main()
