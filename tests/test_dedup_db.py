"""Dedup against a real PostgreSQL: the three tiers through the loader, across
runs, under concurrent loads, with thresholds from configuration, and rebuilt."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bench import dedup_set
from newsdesk.tasks.dedup import signature
from newsdesk.tasks.dedup.match import Thresholds
from newsdesk.tasks.records import Article
from newsdesk.tasks.store import load
from tests.helpers import fetch, load_at_once, new_run, prepared
from tests.texts import distinct_story

ORIGINAL = """The city of Brackenford will close its century-old Harlow Street bridge on March 3 for an \
18-month, $42 million reconstruction, transport commissioner Odile Marchetti said on Tuesday.

Engineers found corrosion in 61 of the bridge's 140 steel girders during an inspection last autumn, \
and the load limit was cut to 10 tonnes in December.

Buses on routes 14 and 27 will be diverted over the Quillan Road crossing, adding about nine minutes \
to a typical trip, according to the Brackenford Transit Authority.

Marchetti said the contractor, Velloway Construction, would work night shifts to finish the new deck \
before the 2027 regatta, which draws some 80,000 visitors to the riverfront.

Shop owners on Harlow Street asked the council for a relief fund; councillor Priya Anand proposed \
$1.5 million in grants, and a vote is expected on February 12."""

REWRITE = """Brackenford's Harlow Street bridge, in service for more than a hundred years, is to shut from \
March 3 while crews spend 18 months and $42 million rebuilding it, commissioner Odile Marchetti announced Tuesday.

An inspection last autumn revealed corroded steel in 61 of the span's 140 girders, prompting officials \
to lower its weight limit to 10 tonnes in December.

The Brackenford Transit Authority says routes 14 and 27 will detour via the Quillan Road crossing, \
lengthening an average journey by roughly nine minutes.

Velloway Construction, the firm hired for the job, is expected to run overnight shifts so the replacement \
deck is ready ahead of the 2027 regatta and its roughly 80,000 riverfront visitors, Marchetti added.

Harlow Street merchants have pressed the council for help, and councillor Priya Anand has put forward \
a $1.5 million grant scheme, with a vote due on February 12."""

SAME_TOPIC = """Brackenford council approved a $3 million plan on Monday to repaint the Quillan Road crossing \
and add protected cycle lanes, after a petition signed by 2,300 residents.

Council engineer Tomas Reyes said the repainting would take place in the summer months, when river traffic \
is light, and would not close the crossing to cars.

Cyclists have long complained about the narrow lanes on the crossing, where two riders were injured in 2024.

The work will be paid for from the city's road maintenance reserve, which stood at $11 million at the \
end of last year, Reyes told councillors."""


def item(locator: str, body: str, title: str | None = None, published=None):
    p = prepared(locator, body)
    p.article = Article(body=body, title=title, published=published)
    p.signature = signature(title, body)
    return p


def links(engine) -> dict[str, dict]:
    rows = fetch(
        engine,
        "SELECT id, locator, story_id, duplicate_of, dup_kind, dup_score FROM newsdesk.articles"
        " WHERE is_current ORDER BY id",
    )
    return {r["locator"]: r for r in rows}


def truth_bodies(n: int) -> list[tuple[str, list[str]]]:
    picked = []
    for key, body in dedup_set.originals():
        paras = dedup_set.paragraphs(body)
        if len(" ".join(paras).split()) >= 200 and key not in dedup_set.SAME_STORY:
            picked.append((key, paras))
    return picked[:n]


def test_each_tier_is_recorded_with_its_score(db):
    run_id = new_run(db)
    paras = ORIGINAL.split("\n\n")
    batch = [
        item("/original", ORIGINAL, "Harlow Street bridge to close for rebuild"),
        item("/exact", ORIGINAL.upper().replace(",", " ,"), "HARLOW STREET BRIDGE"),
        item("/near", "\n\n".join(["BRACKENFORD (Wire) - " + paras[0]] + paras[1:3])),
        item("/rewrite", REWRITE, "Century-old bridge in Brackenford to shut"),
        item("/same-topic", SAME_TOPIC, "Quillan Road crossing to be repainted"),
        item("/unrelated", distinct_story(1)),
    ]
    counts = load.load_batch(db, run_id=run_id, source="s", items=batch)
    assert counts == {"inserted": 3, "duplicate": 3}
    found = links(db)
    original = found["/original"]
    assert original["duplicate_of"] is None and original["story_id"] == original["id"]
    assert (found["/exact"]["dup_kind"], found["/exact"]["dup_score"]) == ("exact", 1.0)
    assert found["/near"]["dup_kind"] == "near" and found["/near"]["dup_score"] >= 0.9
    assert found["/rewrite"]["dup_kind"] == "story" and 0.55 <= found["/rewrite"]["dup_score"] <= 1
    for copy in ("/exact", "/near", "/rewrite"):
        assert found[copy]["duplicate_of"] == original["id"] and found[copy]["story_id"] == original["id"]
    for other in ("/same-topic", "/unrelated"):
        assert found[other]["duplicate_of"] is None and found[other]["story_id"] == found[other]["id"]
    # Every article is filed in the index for the runs to come.
    [indexed] = fetch(db, "SELECT count(DISTINCT article_id) AS n FROM newsdesk.near_keys")
    assert indexed["n"] == 6


def test_copies_of_benchmark_articles_match_their_originals_in_a_later_run(db, corpus):
    from newsdesk.flows.ingest import ingest

    rng = random.Random(3)
    originals = truth_bodies(12)
    for key, paras in originals:
        corpus.write(f"originals/{key}.txt", "\n\n".join(paras))
    kinds = ["wrapper-html", "truncated-half", "typos", "paragraph-moved", "dateline", "truncated-edited"]
    for n, (key, paras) in enumerate(originals):
        kind = kinds[n % len(kinds)]
        copy = dedup_set.COPY_KINDS[kind][1](paras, rng)
        corpus.write(f"copies/{key}-{kind}{copy.suffix}", copy.text)
    corpus.configure('[[source]]\nname = "originals"\nkind = "files"\npath = "articles/originals"\n')
    first = ingest(sources_file=str(corpus.sources))
    assert (first["n_inserted"], first["n_duplicate"]) == (12, 0)
    corpus.configure('[[source]]\nname = "copies"\nkind = "files"\npath = "articles/copies"\n')
    second = ingest(sources_file=str(corpus.sources))
    assert (second["n_inserted"], second["n_duplicate"]) == (0, 12)

    found = links(db)
    by_key = {
        Path(locator).name.split("-")[0].split(".")[0]: row
        for locator, row in found.items()
        if "/originals/" in locator
    }
    for locator, row in found.items():
        if "/copies/" in locator:
            key = Path(locator).name.split("-")[0]
            assert row["duplicate_of"] == by_key[key]["id"], locator
            # (the cleaner strips a "LONDON (Newswire) -" dateline: that copy is exact)
            assert row["dup_kind"] in ("near", "exact"), locator


def test_concurrent_loads_of_overlapping_near_copies_make_each_story_once(db):
    run_id = new_run(db)
    originals = truth_bodies(10)
    rng = random.Random(5)
    # Worker A loads the originals; worker B, at the same moment, near copies of
    # them in reverse order, interleaved with four of the originals themselves.
    batch_a = [item(f"/a/{key}", "\n\n".join(paras)) for key, paras in originals]
    batch_b = []
    for key, paras in reversed(originals):
        batch_b.append(item(f"/b/{key}", dedup_set.COPY_KINDS["typos"][1](paras, rng).text))
    batch_b += [item(f"/b/same-{key}", "\n\n".join(paras)) for key, paras in originals[:4]]
    results = load_at_once(db, run_id, [batch_a, batch_b])
    assert len(results) == 2
    assert sum(r.get("inserted", 0) for r in results) == 10
    assert sum(r.get("duplicate", 0) for r in results) == 14
    stories = fetch(db, "SELECT story_id, count(*) AS n FROM newsdesk.articles GROUP BY story_id")
    assert len(stories) == 10 and all(s["n"] == 3 or s["n"] == 2 for s in stories)


def test_thresholds_come_from_configuration_and_rebuild_applies_a_change(db, corpus, monkeypatch):
    from newsdesk.flows.dedup import rebuild_dedup
    from newsdesk.flows.ingest import ingest

    [(key, paras)] = truth_bodies(1)
    corpus.write("a-original.txt", "\n\n".join(paras))
    corpus.write("b-typos.txt", dedup_set.COPY_KINDS["typos"][1](paras, random.Random(1)).text)
    corpus.write("c-other.txt", distinct_story(7))
    corpus.configure()

    # Containment of the typo copy is about 0.9: under a 0.99 threshold it is no
    # near copy, and only the story tier (same sentences, same order) links it.
    monkeypatch.setenv("NEWSDESK_NEAR_THRESHOLD", "0.99")
    strict = ingest(sources_file=str(corpus.sources))
    assert (strict["n_inserted"], strict["n_duplicate"]) == (2, 1)
    assert {Path(k).name: v["dup_kind"] for k, v in links(db).items()}["b-typos.txt"] == "story"

    monkeypatch.delenv("NEWSDESK_NEAR_THRESHOLD")
    rebuilt = rebuild_dedup()
    assert rebuilt["status"] == "completed" and rebuilt["kind"] == "dedup"
    assert (rebuilt["n_discovered"], rebuilt["n_updated"], rebuilt["n_unchanged"]) == (3, 1, 2)
    found = {Path(k).name: v for k, v in links(db).items()}
    assert found["b-typos.txt"]["dup_kind"] == "near" and 0.8 < found["b-typos.txt"]["dup_score"] < 0.99
    assert found["b-typos.txt"]["duplicate_of"] == found["a-original.txt"]["id"]
    assert found["c-other.txt"]["duplicate_of"] is None

    again = rebuild_dedup()
    assert (again["n_discovered"], again["n_updated"], again["n_unchanged"]) == (3, 0, 3)
    assert {Path(k).name: v for k, v in links(db).items()} == found
    [keys] = fetch(db, "SELECT count(DISTINCT article_id) AS n FROM newsdesk.near_keys")
    assert keys["n"] == 3


def test_settings_read_the_dedup_thresholds():
    from newsdesk.config import Settings

    settings = Settings.from_env(
        {"NEWSDESK_NEAR_THRESHOLD": "0.8", "NEWSDESK_STORY_THRESHOLD": "0.7", "NEWSDESK_STORY_WINDOW_DAYS": "3"}
    )
    assert Thresholds.from_settings(settings) == Thresholds(near=0.8, story=0.7, window_days=3)
    assert Thresholds.from_settings(Settings.from_env({})) == Thresholds()
    with pytest.raises(ValueError, match="NEWSDESK_NEAR_THRESHOLD"):
        Settings.from_env({"NEWSDESK_NEAR_THRESHOLD": "1.5"})
