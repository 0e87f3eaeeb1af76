"""The scoring of `make bench-stories` (`bench.stories.score`) on a small truth."""

from bench.stories import score

TRUTH = {
    "clusters": [{"event": "e", "members": [{"page": "a", "kind": "same"}, {"page": "b", "kind": "same"}]}],
    "related": [{"a": "a", "b": "c", "why": "the same topic, another day"}],
}


def test_related_pairs_count_neither_way_and_are_shown_apart_from_other_events():
    # One story holds a, b (one event), c (related to a) and d (another event on the topic).
    topical = {frozenset(pair) for pair in (("a", "c"), ("a", "d"), ("b", "c"), ("c", "d"))}
    figures = score(TRUTH, {"a": 1, "b": 1, "c": 1, "d": 1}, topical=topical)
    assert figures["same_event"]["tp"] == 1
    assert figures["same_event"]["fp"] == 4  # a-d, b-c, b-d, c-d: a-b is true, a-c related
    assert figures["different_events_same_topic"] == {"linked": 4, "of": 4}
    assert figures["different_events_same_topic_unrelated"] == {"linked": 3, "of": 3}
    assert figures["related_among_them_linked"] == ["a | c"]
