"""The labelled set for `make bench-dedup`: originals and the copies made of them.

Originals are the 181 hand-checked bodies of bench/data/article-extraction
(distinct stories, with one exception listed in SAME_STORY) plus the five
seeds. Each original gets copies of the kinds in COPY_KINDS: the ways a
syndicated article comes back to us (another site's wrapper, truncated, lightly
edited, a paragraph dropped or moved, a dateline added, paragraphs reordered,
typography changed). HELD_OUT_KINDS are made the same way but were not looked
at while choosing thresholds; the bench reports them apart, as a check on
copies "made in ways we have not seen".

Every file's truth is its group: the original it was made from.
"""

from __future__ import annotations

import html
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT / "bench" / "data" / "article-extraction"
SEEDS = ROOT / "seeds"

# Two outlets' rewrites of one press release (Doobie Brothers' 50th-anniversary
# tour: billboard.com and rollingstone.com). They are one story by any reading
# (same facts, same order, paragraph by paragraph), so the truth says so.
SAME_STORY = {"ac1bfdd4": "9cb8224b"}
# Seeds 001 and 002 are an article and its rewrite.
SEED_GROUPS = {"001": "seed-001", "002": "seed-001"}

SITES = ["Daily Ledger", "Metro Wire", "The Courier", "Northern Star", "Valley News"]
WORD = re.compile(r"[A-Za-z]{4,}")
REPLACEMENTS = {
    "said": "stated",
    "says": "states",
    "company": "firm",
    "people": "residents",
    "big": "large",
    "also": "additionally",
    "new": "fresh",
    "help": "assist",
    "show": "indicate",
    "about": "around",
    "many": "numerous",
    "start": "begin",
    "end": "finish",
    "buy": "purchase",
    "get": "obtain",
    "make": "create",
    "use": "utilise",
    "need": "require",
    "because": "since",
    "before": "prior to",
}


@dataclass(frozen=True)
class Copy:
    text: str
    suffix: str  # .txt or .html


def paragraphs(body: str) -> list[str]:
    return [p.strip() for p in body.split("\n") if p.strip()]


def as_text(paras: list[str]) -> Copy:
    return Copy("\n\n".join(paras) + "\n", ".txt")


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 2)
    kind = rng.randrange(3)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]  # swap two letters
    if kind == 1:
        return word[:i] + word[i + 1 :]  # drop a letter
    return word[:i] + word[i] + word[i:]  # double a letter


def edit_words(
    paras: list[str], rng: random.Random, rate: float, change: Callable[[str, random.Random], str]
) -> list[str]:
    def one(match: re.Match) -> str:
        return change(match.group(), rng) if rng.random() < rate else match.group()

    return [WORD.sub(one, p) for p in paras]


def replace_word(word: str, rng: random.Random) -> str:
    return REPLACEMENTS.get(word.lower(), word[::-1] if len(word) > 6 else word.upper())


def truncate(paras: list[str], fraction: float) -> list[str]:
    """The first `fraction` of the words, cut at a sentence end when there is one near."""
    words = " ".join(paras).split()
    keep = max(1, int(len(words) * fraction))
    kept, n = [], 0
    for para in paras:
        size = len(para.split())
        if n + size <= keep:
            kept.append(para)
            n += size
            continue
        part = " ".join(para.split()[: keep - n])
        end = part.rfind(". ")
        kept.append(part[: end + 1] if end > len(part) // 2 else part)
        break
    return kept


def wrapped_html(paras: list[str], rng: random.Random) -> Copy:
    site = rng.choice(SITES)
    title = " ".join(paras[0].split()[:9]).rstrip(".,;:")
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paras)
    links = "".join(f'<li><a href="/story/{rng.randrange(10**6)}">{h}</a></li>' for h in rng.sample(HEADLINES, 4))
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)} | {site}</title></head>
<body><header><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/business">Business</a>
<a href="/subscribe">Subscribe</a></nav></header>
<main><article><h1>{html.escape(title)}</h1><p class="byline">By {site} staff</p>
{body}
<p>This article was originally published by a partner and is republished with permission.</p></article>
<aside><h2>Most read</h2><ul>{links}</ul></aside></main>
<footer><p>&copy; 2024 {site}. All rights reserved.</p><a href="/privacy">Privacy</a></footer></body></html>
"""
    return Copy(page, ".html")


HEADLINES = [
    "Markets slip as investors weigh the rate outlook",
    "City council approves new transit budget",
    "Storm knocks out power to thousands",
    "Local team wins regional championship",
    "Scientists report progress on battery recycling",
    "Airport expansion plan draws objections",
]


def _text_wrapper(paras, rng):
    site = rng.choice(SITES)
    head = [f"{site} | World News", "By Staff Reporter"]
    tail = [f"This story first appeared on {site}.", "Share this article: Facebook Twitter Email"]
    return as_text(head + paras + tail)


def _moved(paras, rng):
    if len(paras) < 3:
        return as_text(paras[1:] + paras[:1])
    i = rng.randrange(1, len(paras))
    rest = paras[:i] + paras[i + 1 :]
    j = rng.choice([k for k in range(len(rest) + 1) if k != i])
    return as_text(rest[:j] + [paras[i]] + rest[j:])


def _dropped(paras, rng):
    if len(paras) < 3:
        return as_text(truncate(paras, 0.8))
    i = rng.randrange(1, len(paras))
    return as_text(paras[:i] + paras[i + 1 :])


def _typography(paras, rng):
    swapped = [p.replace('"', "\u201c").replace("'", "\u2019").replace(" - ", " \u2014 ") for p in paras]
    return as_text([p.upper() if k == 0 else p for k, p in enumerate(swapped)])


def _reordered(paras, rng):
    shuffled = paras[:]
    while len(shuffled) > 1 and shuffled == paras:
        rng.shuffle(shuffled)
    return as_text(shuffled)


def _middle(paras, rng):
    words = " ".join(paras).split()
    a = len(words) // 4
    return as_text([" ".join(words[a : a + len(words) // 2])])


def _tail(paras, rng):
    words = " ".join(paras).split()
    return as_text([" ".join(words[len(words) // 2 :])])


def _ads(paras, rng):
    out = []
    for k, para in enumerate(paras):
        out.append(para)
        if k % 2 == 1:
            out.append(rng.choice(["ADVERTISEMENT", "Sign up for our morning briefing.", "Story continues below"]))
    return as_text(out)


def _resplit(paras, rng):
    sentences = re.split(r"(?<=[.!?])\s+", " ".join(paras))
    return as_text([" ".join(sentences[i : i + 2]) for i in range(0, len(sentences), 2)])


def _sentences_shuffled(paras, rng):
    out = []
    for para in paras:
        sentences = re.split(r"(?<=[.!?])\s+", para)
        rng.shuffle(sentences)
        out.append(" ".join(sentences))
    return as_text(out)


def _every_other(paras, rng):
    return as_text(paras[::2] if len(paras) >= 4 else truncate(paras, 0.6))


def _invisible(paras, rng):
    def soften(word: str, rng: random.Random) -> str:
        i = len(word) // 2
        return word[:i] + rng.choice(["\u00ad", "\u200b", "\u2060"]) + word[i:]

    return as_text(edit_words(paras, rng, 0.15, soften))


def _ocr(paras, rng):
    swaps = {"m": "rn", "l": "1", "O": "0", "e": "c", "h": "b"}

    def misread(word: str, rng: random.Random) -> str:
        i = rng.randrange(len(word))
        return word[:i] + swaps.get(word[i], word[i]) + word[i + 1 :]

    return as_text(edit_words(paras, rng, 0.06, misread))


def _lead_only(paras, rng):
    return as_text(truncate(paras, 0.3))


COPY_KINDS: dict[str, tuple[str, Callable[[list[str], random.Random], Copy]]] = {
    # kind: (expected tier, maker)
    "typography": ("exact", _typography),
    "wrapper-html": ("near", wrapped_html),
    "wrapper-text": ("near", _text_wrapper),
    "truncated-half": ("near", lambda p, r: as_text(truncate(p, 0.5))),
    "truncated-two-thirds": ("near", lambda p, r: as_text(truncate(p, 2 / 3))),
    "typos": ("near", lambda p, r: as_text(edit_words(p, r, 0.03, typo))),
    "changed-words": ("near", lambda p, r: as_text(edit_words(p, r, 0.05, replace_word))),
    "paragraph-dropped": ("near", _dropped),
    "paragraph-moved": ("near", _moved),
    "dateline": (
        "near",
        lambda p, r: as_text([f"{r.choice(['LONDON', 'NEW YORK', 'TAIPEI'])} (Newswire) - {p[0]}"] + p[1:]),
    ),
    "reordered": ("near", _reordered),
    "truncated-edited": ("near", lambda p, r: as_text(edit_words(truncate(p, 2 / 3), r, 0.03, typo))),
}
HELD_OUT_KINDS: dict[str, tuple[str, Callable[[list[str], random.Random], Copy]]] = {
    "middle-half": ("near", _middle),
    "second-half": ("near", _tail),
    "ads-between": ("near", _ads),
    "resplit-paragraphs": ("near", _resplit),
    "heavy-typos": ("near", lambda p, r: as_text(edit_words(p, r, 0.08, typo))),
    "wrapper-truncated": ("near", lambda p, r: wrapped_html(truncate(p, 0.5), r)),
    "sentences-shuffled": ("near", _sentences_shuffled),
    "every-other-paragraph": ("near", _every_other),
    "invisible-characters": ("near", _invisible),
    "ocr-noise": ("near", _ocr),
    "lead-third": ("near", _lead_only),
}


@dataclass(frozen=True)
class Entry:
    path: str  # relative to the set's folder
    group: str
    kind: str  # "original" or a copy kind
    tier: str | None  # the tier a copy should be linked with; None for originals
    held_out: bool = False


def originals(data: Path = DEFAULT_DATA) -> list[tuple[str, str]]:
    """(id, body) of every benchmark body and seed."""
    truth = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    result = [(key[:8], truth[key]["articleBody"]) for key in sorted(truth)]
    return result


def build(out: Path, data: Path = DEFAULT_DATA, seed: int = 7) -> list[Entry]:
    """Write the set under `out` (originals/ and copies/, read as two runs) and labels.json."""
    rng = random.Random(seed)
    entries: list[Entry] = []
    (out / "originals").mkdir(parents=True, exist_ok=True)
    (out / "copies").mkdir(parents=True, exist_ok=True)
    for seed_file in sorted(SEEDS.glob("*.txt")):
        number = seed_file.name[:3]
        path = f"originals/seed-{seed_file.name}"
        (out / path).write_bytes(seed_file.read_bytes())
        entries.append(Entry(path, SEED_GROUPS.get(number, f"seed-{number}"), "original", None))
    for key, body in originals(data):
        paras = paragraphs(body)
        if not paras:
            continue
        group = SAME_STORY.get(key, key)
        path = f"originals/{key}.txt"
        (out / path).write_text(as_text(paras).text, encoding="utf-8")
        entries.append(Entry(path, group, "original", None))
        for kinds, held_out in ((COPY_KINDS, False), (HELD_OUT_KINDS, True)):
            for kind, (tier, make) in kinds.items():
                copy = make(paras, rng)
                path = f"copies/{key}-{kind}{copy.suffix}"
                (out / path).write_text(copy.text, encoding="utf-8")
                entries.append(Entry(path, group, kind, tier, held_out))
    for part in ("originals", "copies"):
        (out / f"{part}.toml").write_text(
            f'[[source]]\nname = "{part}"\nkind = "files"\npath = "{part}"\n', encoding="utf-8"
        )
    (out / "labels.json").write_text(json.dumps([e.__dict__ for e in entries], indent=1), encoding="utf-8")
    return entries
