from collections import Counter

from newsdesk.tasks.words import in_words, plural


def test_plurals():
    assert [plural(n, "URL") for n in (0, 1, 2, 1500)] == ["0 URLs", "1 URL", "2 URLs", "1,500 URLs"]
    assert plural(1, "story", "stories") == "1 story" and plural(3, "story", "stories") == "3 stories"


def test_outcomes_read_as_words_in_a_fixed_order():
    assert in_words(Counter(rejected=2, inserted=180)) == "180 inserted, 2 rejected"
    assert in_words({"n_ignored": 3}) == "nothing"
