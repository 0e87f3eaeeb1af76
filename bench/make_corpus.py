"""Generate a corpus of text articles for `make bench`: distinct stories, with
a daily share of syndicated copies, as a news archive has them.

Each article is made of real sentences drawn from the benchmark's 181
hand-checked bodies (bench/data/article-extraction), with about a third
of their words swapped for (ASCII) words drawn by their frequency in those
bodies, and their names, numbers and rare words replaced by the article's
own: the sentences keep their shape (punctuation, length, where names go), yet
no word sequence and few rare words repeat across stories, as in real news.
One article in COPY_EVERY is a copy of one of the day's earlier articles:
half the copies exact (other wrapping), half cut to their first paragraphs.
Articles are dated PER_DAY a day, in file order. Every file is wrapped in the
residue the cleaner must strip: front matter, a breadcrumb, markdown links,
`Date:`/`Source:` footers, a trailing block of other headlines, an end mark.

    python bench/make_corpus.py --n 20000 --out bench/corpus/text-20000
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
from collections import Counter
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

DEFAULT_TRUTH = Path(__file__).resolve().parent / "data" / "article-extraction" / "ground-truth.json"
HEADLINES = [
    "Markets Slip as Investors Weigh Rate Outlook",
    "City Council Approves New Transit Budget",
    "Storm Knocks Out Power to Thousands",
    "Local Team Wins Regional Championship",
    "Scientists Report Progress on Battery Recycling",
]
COPY_EVERY = 20
PER_DAY = 270
EPOCH = date(2024, 1, 1)
SWAPPED = 0.3  # share of each sentence's words replaced
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“])")
_CAPITALISED = re.compile(r"(?<=\w )[A-Z][a-z]{2,}\b")  # a capitalised word not starting a sentence
_DIGITS = re.compile(r"\d+")
_LOWER_WORD = re.compile(r"\b[a-z]{4,}\b")
RARE = 3.4e-4  # a word this rare in English (wordfreq) is a story's own term, not common language


@lru_cache(maxsize=1)
def _frequencies() -> dict[str, float]:
    from wordfreq import get_frequency_dict

    return get_frequency_dict("en")


@lru_cache(maxsize=1)
def _rare_words() -> list[str]:
    """English words rare enough to name a story's subject, common enough to be words."""
    return sorted(
        w for w, f in _frequencies().items() if 1e-7 <= f < RARE and w.isascii() and w.isalpha() and len(w) > 4
    )


_SYLLABLES = ["ka", "lo", "ven", "dra", "mi", "tor", "sel", "ba", "ru", "quin", "zan", "el", "mo", "ash", "fen", "gri"]


@lru_cache(maxsize=4)
def material(truth_path: Path = DEFAULT_TRUTH) -> tuple[list[str], list[str], list[int]]:
    """The benchmark bodies' sentences, their words, and the words' cumulative counts."""
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    sentences = []
    counts: Counter = Counter()
    for key in sorted(truth):
        for para in truth[key]["articleBody"].split("\n"):
            for sentence in _SENTENCE.split(para.strip()):
                if len(sentence.split()) >= 6:
                    sentences.append(sentence)
                    counts.update(w for w in sentence.split() if w.isalpha() and w.isascii())
    words = sorted(counts)
    return sentences, words, list(itertools.accumulate(counts[w] for w in words))


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(3, 4))).capitalize()


def story(i: int, truth_path: Path = DEFAULT_TRUTH) -> tuple[str, list[str]]:
    """Article i's own title and paragraphs (the same for the same i, always)."""
    sentences, words, weights = material(truth_path)
    rng = random.Random(i)
    # Each story has its own cast and subject: names, numbers and rare words of
    # the borrowed sentences are replaced by the article's own, so two stories
    # share rare words no more than chance allows, while a story repeats its
    # names and terms as news does.
    cast = [_name(rng) for _ in range(rng.randint(5, 12))]
    subject = rng.sample(_rare_words(), rng.randint(40, 80))
    recast = lambda m: rng.choice(cast)  # noqa: E731
    resubject = lambda m: rng.choice(subject) if _frequencies().get(m.group(), 0) < RARE else m.group()  # noqa: E731
    renumber = lambda m: str(rng.randrange(10 ** (len(m.group()) - 1), 10 ** len(m.group())))  # noqa: E731
    picked = []
    for sentence in rng.sample(sentences, rng.randint(14, 38)):
        tokens = sentence.split()
        for k in range(len(tokens)):
            if rng.random() < SWAPPED and tokens[k].isalpha():
                tokens[k] = rng.choices(words, cum_weights=weights)[0]
        text = " ".join(tokens)
        text = _LOWER_WORD.sub(resubject, _DIGITS.sub(renumber, _CAPITALISED.sub(recast, text)))
        picked.append(text)
    paras, k = [], 0
    while k < len(picked):
        size = rng.randint(2, 4)
        paras.append(" ".join(picked[k : k + size]))
        k += size
    title = " ".join(rng.choices(words, cum_weights=weights, k=rng.randint(6, 10))).title()
    return title, paras


def article(i: int, truth_path: Path = DEFAULT_TRUTH) -> str:
    rng = random.Random(-1 - i)
    day = EPOCH + timedelta(days=i // PER_DAY)
    if i % COPY_EVERY == COPY_EVERY - 1 and i % PER_DAY >= COPY_EVERY:
        original = i - rng.randint(1, i % PER_DAY)  # an earlier article of the same day
        title, paras = story(original, truth_path)
        if i // COPY_EVERY % 2:
            paras = paras[: max(2, len(paras) * 2 // 3)]
    else:
        title, paras = story(i, truth_path)
    style = i % 4
    if style == 0:
        head = f'---\ntitle: "{title}"\ndate: {day}\nauthor: Desk {i % 7}\n---\n'
        tail = ""
    elif style == 1:
        head = f"[Home](#) » [News](#) » [World](#) » {title}\n\n{title}\n\n"
        tail = f"\n\n<br/>\nDate: {day}\n<br/>\nSource: Bench Wire\n"
    elif style == 2:
        head = f"{title}\n"
        tail = "\n\n\n" + "\n".join(rng.sample(HEADLINES, 4)) + "\n"
    else:
        head = ""
        tail = "\n\n###\n"
    body = "\n\n".join(p.replace(" the ", " the [linked](#) ", 1) if k == 1 else p for k, p in enumerate(paras))
    return head + body + tail


def generate(n: int, out: Path, truth_path: Path = DEFAULT_TRUTH) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        folder = out / f"{i // 1000:03d}"
        folder.mkdir(exist_ok=True)
        suffix = ".md" if i % 4 == 0 else ".txt"
        (folder / f"{i:06d}{suffix}").write_text(article(i, truth_path), encoding="utf-8")
    (out / "sources.toml").write_text('[[source]]\nname = "bench"\nkind = "files"\npath = "."\n', encoding="utf-8")
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
