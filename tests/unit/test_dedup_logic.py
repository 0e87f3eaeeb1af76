"""The pure dedup logic (tasks.dedup): shingles, containment, LSH keys, same-story
similarity and the placing of a batch. No database, no Prefect; all texts are made up here."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

import numpy as np
from datasketch import MinHash
from wordfreq import word_frequency

from newsdesk.tasks import dedup
from newsdesk.tasks.dedup import match, near, story
from newsdesk.tasks.extract.fingerprint import body_hash

PORT = """Harbour authorities in Valtmora approved a 412 million euro expansion of the Kessling container terminal on Tuesday, ending three years of disputes with fishing cooperatives and environmental groups.

The plan, drafted by the engineering firm Brannock Ostveld, adds two deep-water berths and a rail spur linking the quay to the Dorrendal freight corridor. Construction is expected to begin in March and to last until late 2028.

Port director Ilse Marwenka said the new berths would let the terminal handle ships carrying up to 18,000 containers, roughly double its current limit. "We were turning vessels away every week," she told reporters after the vote.

The Valtmora Fishermen's Guild, which had sued twice to block the project, dropped its objections after the authority agreed to fund a 26 million euro replacement harbour for small boats at Gellisund.

Environmental campaigners remained critical. Tomas Rybeck of the Coastal Watch alliance said dredging the channel would disturb seagrass beds that shelter juvenile cod, and vowed to appeal the permit before the regional court in Hallvik.

The authority said an independent survey would monitor the seagrass throughout the works."""

# The same facts, names and numbers in the same order, told in other words.
PORT_REWRITE = """On Tuesday, Valtmora's harbour board gave the green light to a 412 million euro plan to enlarge the Kessling container terminal, closing a three-year fight with fishing cooperatives and green groups.

Under the design prepared by engineers at Brannock Ostveld, the quay gains two deep-water berths and a rail link to the Dorrendal freight corridor. Work should start in March and run until the end of 2028.

According to port director Ilse Marwenka, ships with as many as 18,000 containers could dock once the berths are built, about twice what the terminal manages today. "Every week we had to send vessels elsewhere," Marwenka said following the vote.

Having taken the project to court two times, the Valtmora Fishermen's Guild withdrew its opposition once the board promised 26 million euros for a new small-boat harbour at Gellisund.

Campaigners for the environment were not satisfied. Dredging the channel will harm seagrass meadows where young cod shelter, warned Tomas Rybeck of the Coastal Watch alliance, who plans to challenge the permit at the regional court in Hallvik.

Throughout construction, an independent survey will keep watch on the seagrass, the board said."""

# Same topic (a container port), other facts and names.
PORT_OTHER = """Dock workers at the port of Serranova walked off the job on Monday in protest against plans to automate cranes at the Quintela container terminal, halting cargo traffic for the second time this year.

The union Frente Portuario said about 1,300 members joined the stoppage, which is due to last 48 hours. Its spokesman, Rui Abrantes, accused the operator Atlantimar of hiding the number of jobs that remote-controlled cranes would replace.

Atlantimar, which holds a 35-year concession for the terminal, said automation was needed to compete with larger hubs along the coast and promised that no permanent worker would be dismissed before 2031.

Shipping agents reported at least nine vessels waiting at anchor outside the breakwater. Exporters of cork and canned sardines warned that delays could cost them orders before the holiday season.

The transport ministry called both sides to talks in Lisbon on Thursday. Minister Helena Vasconcelos said the government would not let a dispute over cranes paralyse the country's third-largest port."""

COUNCIL_A = """The Brackwell city council approved a 1.2 billion pound budget on Wednesday after a late-night session in which members clashed over library closures and bus subsidies.

Council leader Margaret Ossington said the plan protected frontline services while closing a 38 million pound gap caused by rising social care costs. Council tax will rise by 4.99 percent, the maximum allowed without a local referendum.

Opposition councillors argued that shutting five branch libraries would hit older residents hardest. Their amendment to keep the libraries open by trimming consultancy spending was defeated by 31 votes to 24.

The budget also sets aside 6 million pounds to repair potholes and cracked pavements, a long-standing complaint in the northern wards. Officials said the work would be completed before next winter.

Trade unions representing council staff said they would study the plans for hidden job cuts and did not rule out industrial action in the spring."""

COUNCIL_B = """Residents packed the public gallery at Fenmoor town hall on Thursday as councillors debated a spending plan that would raise parking charges and cut grants to community centres.

Finance chief Daniel Ashgrove told the meeting that the council faced a shortfall of 14 million pounds next year, driven mainly by higher energy bills and the cost of housing homeless families in temporary accommodation.

Under his proposals, evening parking in the town centre would no longer be free, and seven community centres would have to find new funding or close by the autumn. Shopkeepers fear the parking changes will drive customers to out-of-town retail parks.

A petition signed by more than 9,000 people asked the council to protect the centres, which host youth clubs, food banks and classes for elderly people.

The final vote was postponed until next month so that officers could examine alternative savings suggested by members of the Green group."""

JAPANESE = "東京都は来年度の予算案で、子育て支援と防災対策に重点を置き、総額で八兆円を超える規模になる見通しだと関係者が明らかにした。"

_PARAGRAPHS = PORT.split("\n\n")
HALF = "\n\n".join(_PARAGRAPHS[:3])  # the first half, as a truncating syndicator would cut it
DATELINE = "LONDON (Reuters) - " + PORT
REORDERED = "\n\n".join(
    [_PARAGRAPHS[0], _PARAGRAPHS[3], _PARAGRAPHS[1], _PARAGRAPHS[5], _PARAGRAPHS[2], _PARAGRAPHS[4]]
)
# Six misspelt words out of 183 (about 3%).
TYPOS = PORT
for _right, _wrong in [
    ("approved", "aproved"),
    ("engineering", "enginering"),
    ("roughly", "rougly"),
    ("objections", "objetions"),
    ("campaigners", "campaingers"),
    ("survey", "survy"),
]:
    assert _right in TYPOS
    TYPOS = TYPOS.replace(_right, _wrong, 1)
# Same words, other case, spacing and typography: the same normalised body.
EXACT = PORT.upper().replace("\n\n", "\n   \n").replace('"', "“")
SHORT = "Council meets on Friday."

sh = dedup.shingles_of


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    return len(np.intersect1d(a, b)) / len(np.union1d(a, b))


# --- near.shingles / word_ids ------------------------------------------------


def test_shingles_are_deterministic_and_distinct():
    first, second = sh(PORT), sh(PORT)
    assert first.dtype == np.uint64 and np.array_equal(first, second)
    assert len(np.unique(first)) == len(first)
    assert not np.array_equal(first, sh(COUNCIL_A)[: len(first)])


def test_word_ids_are_crc32_of_words():
    ids = near.word_ids("the council met the council")
    assert list(ids) == [ids[0], ids[1], ids[2], ids[0], ids[1]] and ids[0] != ids[1]
    assert np.array_equal(ids, near.word_ids("the council met the council"))


def test_repeated_runs_give_distinct_shingles_only():
    words = near.word_ids("a b c d a b c d a b c d")  # 9 windows, 4 distinct
    assert len(near.shingles(words)) == 4


def test_japanese_characters_count_as_words():
    assert len(JAPANESE) >= 60
    assert len(near.word_ids("東京都は")) == 4
    assert len(sh(JAPANESE)) > 20


# --- near.containment ----------------------------------------------------------


def test_truncated_copy_is_contained_though_jaccard_halves():
    full, half = sh(PORT), sh(HALF)
    assert near.containment(half, full) >= 0.9
    assert near.containment(full, half) == near.containment(half, full)  # symmetric
    assert 0.3 < jaccard(half, full) < 0.6


def test_copy_with_typos_is_mostly_contained():
    value = near.containment(sh(TYPOS), sh(PORT))
    assert 0.8 <= value < 1.0


def test_different_articles_on_one_topic_are_not_contained():
    assert near.containment(sh(COUNCIL_A), sh(COUNCIL_B)) < 0.2
    assert near.containment(sh(PORT), sh(PORT_OTHER)) < 0.2


def test_short_texts_have_no_containment():
    assert len(sh(SHORT)) < near.MIN_SHINGLES
    assert near.containment(sh(SHORT), sh(SHORT)) == 0.0
    assert near.containment(sh(SHORT), sh(PORT)) == 0.0


# --- near.lsh_keys -------------------------------------------------------------


def test_copies_share_an_lsh_key_with_their_original():
    original = set(near.lsh_keys(sh(PORT)))
    for copy in (HALF, DATELINE, REORDERED, TYPOS):
        assert original & set(near.lsh_keys(sh(copy))), copy[:40]


def test_different_articles_share_no_lsh_key():
    assert not set(near.lsh_keys(sh(COUNCIL_A))) & set(near.lsh_keys(sh(COUNCIL_B)))
    assert not set(near.lsh_keys(sh(PORT))) & set(near.lsh_keys(sh(PORT_OTHER)))


def test_lsh_keys_are_signed_64_bit_and_counted_per_band():
    keys = near.lsh_keys(sh(PORT))
    assert len(keys) == near.BODY_BANDS + near.LEAD_BANDS
    assert all(isinstance(k, int) and -(2**63) <= k < 2**63 for k in keys)
    assert any(k < 0 for k in keys)  # signed, not unsigned
    assert keys == near.lsh_keys(sh(PORT))  # stored keys must not change between runs
    assert near.lsh_keys(sh(SHORT)) == []


def test_stored_keys_are_pinned():
    """Keys are stored: a faster implementation must file an article under the
    very same keys (these digests were taken before the vectorised MinHash and
    the direct word-frequency lookup)."""
    digest = lambda keys: hashlib.sha256(repr(keys).encode()).hexdigest()  # noqa: E731
    assert digest(near.lsh_keys(sh(PORT))) == "e3a208b94c2e47cc48526e2aed655e42b6e43b3dfe3ab1348fafb800a45e9d74"
    signature = dedup.signature("Valtmora approves port expansion", PORT)
    assert digest(signature.story_keys) == "fe9597d5fc3f03afe73e0dbdfee49dd44749ee9c895580e494c3e96cf4fc7509"
    assert digest((signature.event.terms, signature.event.weights)) == (
        "27c7fd2a1d3ce330a832e96ea8528e6842216a856ff5bb77c0cad0ae4135aae6"
    )


def test_minhashes_are_datasketchs():
    shingles = sh(PORT + "\n\n" + COUNCIL_A)
    body, lead = near.minhashes(shingles, near.LEAD_SHINGLES)
    for values, part in ((body, shingles), (lead, shingles[: near.LEAD_SHINGLES])):
        reference = MinHash(num_perm=near.NUM_PERM, seed=near._SEED, scheme="affine32", hashfunc=lambda v: v)
        reference.update_batch(part)
        assert np.array_equal(values, reference.hashvalues)


def test_plain_words_and_numbers_weigh_what_wordfreq_says():
    words = sorted(
        {w.lower() for w in story._WORD.findall(PORT + COUNCIL_A) if w.isalpha() or w.isdigit()}
        | {"zzqxv", "the", "007", "2028", "18000", "5", "1234567890123"}
    )
    assert {"412", "2028", "valtmora"} <= set(words)
    for language in ("en", "de", "fr", "ru"):
        for word in words:
            assert story._frequency(word, language) == word_frequency(word, language, minimum=1e-8), (language, word)


# --- story -----------------------------------------------------------------------


def test_rewrite_shares_few_word_runs():
    """The rewrite must not be a near copy, or the story tier would not be what links it."""
    assert near.containment(sh(PORT), sh(PORT_REWRITE)) < 0.3


def test_rewrite_is_the_same_story_and_same_topic_is_not():
    original = story.story_text("Valtmora approves port expansion", PORT)
    rewrite = story.story_text("Green light for Kessling terminal", PORT_REWRITE)
    other = story.story_text("Serranova dock workers strike", PORT_OTHER)
    threshold = match.Thresholds().story
    assert story.similarity(original, rewrite) >= threshold
    assert story.similarity(rewrite, original) >= threshold
    assert story.similarity(original, other) < threshold


def test_rewrite_shares_key_terms():
    def keys(body):
        return set(dedup.signature(None, body).story_keys)

    assert len(keys(PORT) & keys(PORT_REWRITE)) >= 2
    assert len(keys(PORT) & keys(COUNCIL_A)) == 0


# --- match.place -------------------------------------------------------------------

DAY = date(2025, 3, 4)


def text(article_id: int, body: str, title: str | None = None, day: date = DAY, story_id: int | None = None):
    return match.Text(article_id, story_id, title, body, "en", day, body_hash(body), dedup.signature(title, body))


def test_place_links_each_tier_in_one_batch():
    batch = [text(1, PORT), text(2, EXACT), text(3, TYPOS), text(4, PORT_REWRITE), text(5, COUNCIL_A)]
    assert batch[0].body_hash == batch[1].body_hash
    links = match.place(batch, match.Stored(), match.Thresholds()).links
    assert [link.kind for link in links] == [None, "exact", "near", "story", None]
    assert links[0] == match.Link(1) and links[0].duplicate_of is None
    assert links[1].score == 1.0
    assert 0.8 <= links[2].score < 1.0 and links[3].score >= 0.55
    assert [link.duplicate_of for link in links[1:4]] == [1, 1, 1]
    assert links[4].story_id == 5 and links[4].duplicate_of is None
    assert [t.story_id for t in batch] == [1, 1, 1, 1, 5]  # set as placed


def test_stored_candidates_link_to_their_story():
    stored = text(70, PORT, story_id=42)
    links = match.place([text(80, DATELINE)], match.Stored(near={0: [stored]}), match.Thresholds()).links
    assert links[0].kind == "near" and links[0].story_id == 42 and links[0].duplicate_of == 70


def test_stored_exact_hash_links_to_its_story():
    stored = match.Stored(exact={body_hash(PORT): (9, 7)})
    assert match.place([text(2, EXACT)], stored, match.Thresholds()).links[0] == match.Link(9, "exact", 1.0, 7)


def test_rewrite_outside_the_time_window_is_not_linked():
    def links(window: int):
        batch = [text(1, PORT), text(2, PORT_REWRITE, day=DAY + timedelta(days=30))]
        return match.place(batch, match.Stored(), match.Thresholds(window_days=window)).links

    assert links(7)[1] == match.Link(2)
    assert links(60)[1].kind == "story" and links(60)[1].story_id == 1


def test_near_threshold_is_honoured():
    batch = [text(1, PORT), text(2, TYPOS)]
    assert match.place(batch, match.Stored(), match.Thresholds()).links[1].kind == "near"
    batch = [text(1, PORT), text(2, TYPOS)]
    assert match.place(batch, match.Stored(), match.Thresholds(near=0.999)).links[1].kind != "near"


def test_keep_makes_a_position_keep_its_story_and_link():
    batch = [text(1, PORT), text(2, TYPOS), text(3, COUNCIL_A)]
    kept_copy = match.Link(50, "near", 0.9, 49)
    links = match.place(batch, match.Stored(), match.Thresholds(), keep={0: match.Link(42), 2: kept_copy}).links
    assert links[0] == match.Link(42) and links[0].kind is None
    assert links[1].kind == "near" and links[1].story_id == 42 and links[1].duplicate_of == 1
    assert links[2] == kept_copy


def test_earlier_sharing_finds_earlier_articles_by_shared_keys_most_shared_first():
    from newsdesk.tasks.dedup.match import earlier_sharing

    keys = [[1, 2, 3], [3, 4], [1, 2, 5], [9], [1, 2, 3, 4]]
    # 4 shares three keys with 0, two with 1 and with 2: ties go to the earlier.
    assert earlier_sharing(keys, 1) == {1: [0], 2: [0], 4: [0, 1, 2]}
    assert earlier_sharing(keys, 2) == {2: [0], 4: [0, 1, 2]}
    assert earlier_sharing(keys, 3) == {4: [0]}
    assert earlier_sharing([], 1) == {}
    assert earlier_sharing([[7], [7], [7]], 1) == {1: [0], 2: [0, 1]}


# --- event.Centroid: a story as a whole --------------------------------------


def test_a_storys_summed_vector_gives_the_mean_cosine_with_its_articles():
    from newsdesk.tasks.dedup import event

    port, rewrite, council_a, council_b = (
        event.features(None, body, "en")[0] for body in (PORT, PORT_REWRITE, COUNCIL_A, COUNCIL_B)
    )
    story_of_two = event.Centroid.of(port)
    story_of_two.add(council_a)
    mean = (event.similarity(rewrite, port) + event.similarity(rewrite, council_a)) / 2
    assert story_of_two.n == 2
    assert abs(story_of_two.mean_similarity(rewrite) - mean) < 1e-4
    # Close to one member (the port story) is less close to the story as a whole.
    assert story_of_two.mean_similarity(rewrite) < event.similarity(rewrite, port) - 0.2
    other = event.Centroid.of(council_b)
    pairs = [event.similarity(a, council_b) for a in (port, council_a)]
    assert abs(story_of_two.between(other) - sum(pairs) / 2) < 1e-4
    story_of_two.merge(other)
    assert story_of_two.n == 3 and len(story_of_two.terms) <= event.CENTROID_TERMS


def test_opinion_pieces_and_reviews_are_known_by_title_section_or_url():
    from newsdesk.tasks.dedup import event

    for title in (
        "Opinion | Is Football Violence a Crime?",
        "Kommentar: Die Wahl",
        "Op-Ed: Tariffs",
        "Opinión: el voto",
        "16-inch MacBook Pro review: The keyboard is probably enough",
        "Star Wars Jedi: Fallen Order review - shoots for the stars",
    ):
        assert event.is_opinion(title), title
    for title in ("Opinions differ on the tariff", "Columnist wins award", "Court to review the law", None):
        assert not event.is_opinion(title), title
    assert event.is_opinion("The Guardian view on Hong Kong", section="Opinion")
    assert event.is_opinion("x", url="http://www.theguardian.com/commentisfree/2019/nov/18/the-guardian-view")
    assert event.is_opinion("x", url="https://digg.com/2019/is-stadia-good-worth-it-reviews")
    assert not event.is_opinion("x", section="Business", url="https://example.com/2019/court-to-review-law/")
