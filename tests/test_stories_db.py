"""Stories of real news against a real PostgreSQL: separately written reports of
one event by other outlets join its story (real pages of bench/data), other
events on the same topic stay apart, a bridge merges two stories, and loads,
reruns, concurrent loads, rebuilds, reprocessing and edits keep the stories."""

from __future__ import annotations

import gzip
import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsdesk.tasks.extract.prepare import prepare
from newsdesk.tasks.records import Prepared, RawDocument
from newsdesk.tasks.store import load
from tests.helpers import fetch, load_at_once, new_run, run_ingest

PAGES = Path(__file__).resolve().parents[1] / "bench" / "data" / "article-extraction" / "html"

# Hand-labelled in bench/data/stories-dev/truth.json.
EUROPA = {  # water vapour above Europa, 18-19 November 2019
    "sciencealert": "14cc2a0ca59c62a8c9f205a171e9ccf4ef4cf69b0c642f51c8c65c051b39024f",
    "space": "686bb170effe273eaff1c0f88e412172e8d972518a6d1454c896f52aafaa9643",
    "hawaii": "f344ca5fb36e130f4344235fa22726f3367e09c211c120f21d9ae92effe902db",
}
ASSANGE = {  # Sweden drops the Assange investigation, 19 November 2019
    "bbc": "c7e39a",
    "albawaba": "dc7ccc",
}
# Same topics, other events: the first map of Titan (another moon, another
# study); two cars revealed at one motor show.
TITAN = "The First Map of Saturn's Moon Titan"
CARS = ("VW ID. SPACE VIZZION", "Audi e-tron Sportback")
# Same topic, another occasion (the `related` pairs of truth.json): the New York
# Attorney General's WeWork inquiry (VentureBeat, TechCrunch) and Business
# Insider's tech roundup of the same day with one item on it; early reviews
# of Google Stadia (Digg), Red Dead Redemption 2's frame rate on it
# (MSPowerUser), and Destiny 2's resolution at its launch (Wccftech), close
# to each of the other two.
WEWORK = {"venturebeat": "06e512", "techcrunch": "1ace8c", "roundup": "fde930"}
STADIA = {"reviews": "680c28", "rdr2": "aade2e", "destiny": "e100c9"}
# The Garrett-Rudolph fight (CBS Sports) and a WSJ opinion piece on it: they
# share the names (cosine 0.41), but the opinion reacts to the news.
FIGHT = {"news": "08f793", "opinion": "7ab16a"}
# Google Stadia's early reviews (Digg; its URL ends in "-reviews") and the
# Hollywood Reporter's piece on its launch: cosine 0.46, but a review is no
# report of the launch.
LAUNCH = {"reviews": "680c28", "launch": "8267ac"}

# The House impeachment hearings of Tuesday 19 November 2019 (CBS News, "Tuesday";
# Deccan Herald's White House reaction) and AP's preview of Sondland's hearing
# on Wednesday morning, published that morning: they share the inquiry's
# names (cosine 0.38 and 0.32), but the preview names another day.
HEARINGS = {"cbs": "7a664e", "deccan": "c90731", "preview": "82b6d7"}
# Business Insider's "10 things in tech you need to know today" has an item on
# the WeWork inquiry (cosine 0.30 with TechCrunch's report): a digest.
DIGEST = {"techcrunch": "1ace8c", "roundup": "fde930"}


def page(prefix: str) -> Path:
    [path] = PAGES.glob(f"{prefix}*.html.gz")
    return path


def titled(words: str) -> Path:
    """The page whose cleaned title contains these words."""
    for path in sorted(PAGES.glob("*.html.gz")):
        if words.encode() in gzip.decompress(path.read_bytes()):
            item = read(path)
            if item.article.title and words in item.article.title:
                return path
    raise LookupError(words)


def read(path: Path, outlet: str | None = None) -> Prepared:
    raw = gzip.decompress(path.read_bytes())
    item = prepare(RawDocument(f"/pages/{path.name}", raw, "text/html", hashlib.sha256(raw).hexdigest()))
    assert isinstance(item, Prepared)
    if outlet is not None:
        item.article.publisher_domain = outlet
    return item


def stories(db) -> dict[str, dict]:
    rows = fetch(
        db,
        "SELECT id, locator, story_id, duplicate_of, dup_kind, event_score FROM newsdesk.articles"
        " WHERE is_current ORDER BY id",
    )
    return {Path(r["locator"]).name[:6]: r for r in rows}


def partition(db) -> set[frozenset[str]]:
    groups: dict[int, set[str]] = {}
    for name, row in stories(db).items():
        groups.setdefault(row["story_id"], set()).add(name)
    return {frozenset(group) for group in groups.values()}


def test_reports_by_other_outlets_join_the_story_and_other_events_stay_apart(db):
    run_id = new_run(db)
    europa = [page(h) for h in EUROPA.values()]
    first = [read(europa[0]), read(page(ASSANGE["bbc"])), read(titled(TITAN)), read(titled(CARS[0]))]
    # The second batch meets the first as stored stories, and its own earlier items.
    second = [read(europa[1]), read(europa[2]), read(page(ASSANGE["albawaba"])), read(titled(CARS[1]))]
    counts = load.load_batch(db, run_id=run_id, source="s", items=first)
    counts += load.load_batch(db, run_id=run_id, source="s", items=second)
    assert counts["inserted"] == 8  # reports, not copies: each is an article of its own

    found = stories(db)
    name = lambda path: path.name[:6]  # noqa: E731
    europa_stories = {found[name(p)]["story_id"] for p in europa}
    assert europa_stories == {found[name(europa[0])]["id"]}
    assert found[ASSANGE["albawaba"]]["story_id"] == found[ASSANGE["bbc"]]["id"]
    assert found[name(titled(TITAN))]["story_id"] not in europa_stories
    assert found[name(titled(CARS[0]))]["story_id"] != found[name(titled(CARS[1]))]["story_id"]
    for joined in (name(europa[1]), name(europa[2]), ASSANGE["albawaba"]):
        assert found[joined]["duplicate_of"] is None and found[joined]["dup_kind"] is None
        assert found[joined]["event_score"] >= 0.3
    assert found[ASSANGE["bbc"]]["event_score"] is None

    [europa_story] = fetch(
        db,
        "SELECT n_articles, n_outlets, n_originals, n_copies, languages, canonical_id FROM newsdesk.stories"
        " WHERE story_id = :s",
        s=found[name(europa[0])]["id"],
    )
    assert (europa_story["n_articles"], europa_story["n_originals"], europa_story["n_copies"]) == (3, 3, 0)
    assert europa_story["n_outlets"] == 3 and europa_story["languages"] == ["en"]
    assert europa_story["canonical_id"] == found[name(europa[0])]["id"]
    canonical = fetch(db, "SELECT story_id FROM newsdesk.articles_canonical")
    assert len(canonical) == len({row["story_id"] for row in found.values()})  # one per story


def test_a_report_of_two_stored_stories_merges_them_under_the_older_id(db):
    run_id = new_run(db)
    sciencealert, space, hawaii = (page(h) for h in EUROPA.values())
    # One outlet's two reports are no evidence of one event: they stay two stories...
    load.load_batch(db, run_id=run_id, source="s", items=[read(sciencealert, "one.example")])
    load.load_batch(db, run_id=run_id, source="s", items=[read(space, "one.example")])
    before = stories(db)
    older, newer = before[sciencealert.name[:6]]["story_id"], before[space.name[:6]]["story_id"]
    assert older < newer
    # ...until another outlet reports the event of both.
    load.load_batch(db, run_id=run_id, source="s", items=[read(hawaii, "two.example")])

    after = stories(db)
    assert {row["story_id"] for row in after.values()} == {older}
    assert after[space.name[:6]]["event_score"] is not None  # it joined through the bridge
    [merge] = fetch(db, "SELECT merged_story_id, into_story_id, article_id, score, run_id FROM newsdesk.story_merges")
    assert (merge["merged_story_id"], merge["into_story_id"]) == (newer, older)
    assert merge["article_id"] == after[hawaii.name[:6]]["id"] and merge["score"] >= 0.3 and merge["run_id"] == run_id
    [row] = fetch(db, "SELECT story_id, n_articles FROM newsdesk.stories")
    assert (row["story_id"], row["n_articles"]) == (older, 3)


def test_an_article_close_to_one_report_only_does_not_join_the_story(db):
    """A story is joined as a whole: the roundup reaches one report of the
    inquiry (cosine 0.30) but not the story's articles on average."""
    run_id = new_run(db)
    for name, prefix in WEWORK.items():
        item = read(page(prefix), f"{name}.example")
        if name == "roundup":  # its title marks it a digest (see below): here it is scored as a report
            item.article.title = None
        load.load_batch(db, run_id=run_id, source="s", items=[item])
    found = stories(db)
    inquiry = found[WEWORK["venturebeat"]]["story_id"]
    assert found[WEWORK["techcrunch"]]["story_id"] == inquiry
    assert found[WEWORK["roundup"]]["story_id"] != inquiry
    assert found[WEWORK["roundup"]]["event_score"] is None
    [summed] = fetch(db, "SELECT n FROM newsdesk.story_centroids WHERE story_id = :s", s=inquiry)
    assert summed["n"] == 2


def test_an_article_between_two_events_merges_nothing(db):
    """The Destiny 2 report reaches the reviews' story and the Red Dead
    Redemption 2 one, but those two are not one event: it joins the closer,
    and no story is merged."""
    run_id = new_run(db)
    for name, prefix in STADIA.items():
        item = read(page(prefix), f"{name}.example")
        item.article.url = None  # Digg's URL calls it a review (see the next test): here it counts as a report
        load.load_batch(db, run_id=run_id, source="s", items=[item])
    found = stories(db)
    reviews, rdr2 = found[STADIA["reviews"]]["story_id"], found[STADIA["rdr2"]]["story_id"]
    assert reviews != rdr2
    assert found[STADIA["destiny"]]["story_id"] in {reviews, rdr2}
    assert found[STADIA["destiny"]]["event_score"] >= 0.3
    assert fetch(db, "SELECT * FROM newsdesk.story_merges") == []
    assert len(fetch(db, "SELECT story_id FROM newsdesk.stories")) == 2


def test_an_opinion_piece_or_a_review_stays_apart_from_the_news_it_comments_on(db):
    run_id = new_run(db)
    for name, prefix in {**FIGHT, **LAUNCH}.items():
        load.load_batch(db, run_id=run_id, source="s", items=[read(page(prefix), f"{name}.example")])
    found = stories(db)
    assert found[FIGHT["news"]]["story_id"] != found[FIGHT["opinion"]]["story_id"]
    assert found[FIGHT["opinion"]]["event_score"] is None
    assert found[LAUNCH["launch"]]["story_id"] != found[LAUNCH["reviews"]]["story_id"]
    assert found[LAUNCH["launch"]]["event_score"] is None


def test_a_preview_stays_apart_from_the_report_of_the_day_before(db):
    run_id = new_run(db)
    for name in ("cbs", "deccan", "preview"):
        load.load_batch(db, run_id=run_id, source="s", items=[read(page(HEARINGS[name]), f"{name}.example")])
    found = stories(db)
    assert found[HEARINGS["deccan"]]["story_id"] == found[HEARINGS["cbs"]]["story_id"]
    assert found[HEARINGS["preview"]]["story_id"] != found[HEARINGS["cbs"]]["story_id"]
    assert found[HEARINGS["preview"]]["event_score"] is None


def test_a_report_between_two_occasions_does_not_merge_them(db):
    """The reaction reaches the preview's story and the hearing's, which are
    one event by their words (cosine 0.38) but not by their days: it joins
    one, and nothing is merged."""
    run_id = new_run(db)
    for name in ("preview", "cbs", "deccan"):
        load.load_batch(db, run_id=run_id, source="s", items=[read(page(HEARINGS[name]), f"{name}.example")])
    found = stories(db)
    assert found[HEARINGS["preview"]]["story_id"] != found[HEARINGS["cbs"]]["story_id"]
    assert found[HEARINGS["deccan"]]["event_score"] is not None
    assert fetch(db, "SELECT * FROM newsdesk.story_merges") == []


def test_a_digest_neither_joins_a_story_nor_is_joined(db):
    run_id = new_run(db)
    for name in ("techcrunch", "roundup"):
        load.load_batch(db, run_id=run_id, source="s", items=[read(page(DIGEST[name]), f"{name}.example")])
    found = stories(db)
    assert found[DIGEST["roundup"]]["story_id"] != found[DIGEST["techcrunch"]]["story_id"]
    assert found[DIGEST["roundup"]]["event_score"] is None


def test_two_loads_at_once_make_one_story(db):
    run_id = new_run(db)
    sciencealert, space, hawaii = (page(h) for h in EUROPA.values())
    load_at_once(db, run_id, [[read(sciencealert)], [read(space)], [read(hawaii)]])
    assert len(partition(db)) == 1


def test_an_edited_article_keeps_its_story_its_link_and_the_first_seen_time(db):
    run_id = new_run(db)
    sciencealert, space, _ = (page(h) for h in EUROPA.values())
    load.load_batch(db, run_id=run_id, source="s", items=[read(sciencealert), read(space)])
    before = stories(db)
    [story] = fetch(db, "SELECT story_id, first_seen_at FROM newsdesk.stories")

    edited = read(space)
    edited.article.body = edited.article.body.replace("Europa", "Jupiter's moon Europa", 1) + "\n\nUpdated."
    edited.document.sha256 = "edited"
    edited.signature = None
    counts = load.load_batch(db, run_id=run_id, source="s", items=[edited])
    assert counts["updated"] == 1
    after = stories(db)[space.name[:6]]
    assert after["id"] != before[space.name[:6]]["id"]  # a new version...
    assert (after["story_id"], after["event_score"]) == (story["story_id"], before[space.name[:6]]["event_score"])
    [again] = fetch(db, "SELECT story_id, n_articles, first_seen_at FROM newsdesk.stories")
    assert again == {**story, "n_articles": 2}


def test_the_first_published_article_has_a_stated_time_over_a_bare_date_of_that_day(db):
    run_id = new_run(db)
    sciencealert, space, _ = (page(h) for h in EUROPA.values())
    dated, timed = read(sciencealert), read(space)
    dated.article.published, dated.article.published_precision = datetime(2019, 11, 18, tzinfo=UTC), "date"
    timed.article.published, timed.article.published_precision = datetime(2019, 11, 18, 15, tzinfo=UTC), "datetime"
    load.load_batch(db, run_id=run_id, source="s", items=[dated, timed])
    [story] = fetch(
        db, "SELECT first_published_id, first_published_at, first_published_precision FROM newsdesk.stories"
    )
    assert story["first_published_id"] == stories(db)[space.name[:6]]["id"]
    assert story["first_published_precision"] == "datetime"
    assert story["first_published_at"] == datetime(2019, 11, 18, 15, tzinfo=UTC)


@pytest.mark.usefixtures("prefect_server")
def test_reruns_rebuild_and_reprocess_give_the_same_stories(db, corpus):
    from newsdesk.flows.dedup import rebuild_dedup
    from newsdesk.flows.reprocess import reprocess_stored

    for path in [*(page(h) for h in EUROPA.values()), page(ASSANGE["bbc"]), page(ASSANGE["albawaba"])]:
        corpus.write(path.name.removesuffix(".gz"), gzip.decompress(path.read_bytes()))
    corpus.write(titled(TITAN).name.removesuffix(".gz"), gzip.decompress(titled(TITAN).read_bytes()))
    corpus.configure()
    record = run_ingest(corpus.sources)
    assert (record["n_inserted"], record["n_duplicate"]) == (6, 0)
    loaded = partition(db)
    assert sorted(len(group) for group in loaded) == [1, 2, 3]

    assert run_ingest(corpus.sources)["n_unchanged"] == 6
    assert partition(db) == loaded
    # Each story's summed vector counts its articles, and a rebuild sums them alike.
    summed = "SELECT story_id, n, terms FROM newsdesk.story_centroids ORDER BY story_id"
    centroids = fetch(db, summed)
    assert sorted(row["n"] for row in centroids) == [1, 2, 3]
    rebuilt = rebuild_dedup()
    assert rebuilt["status"] == "completed" and partition(db) == loaded
    assert fetch(db, summed) == centroids
    assert rebuild_dedup()["n_updated"] == 0
    reprocessed = reprocess_stored()
    assert reprocessed["status"] == "completed" and partition(db) == loaded
    assert fetch(db, summed) == centroids
