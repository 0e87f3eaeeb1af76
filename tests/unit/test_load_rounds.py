"""Which sources of a web batch are loaded together (`load._rounds`): all of
them, unless two list the same URL, or one source comes twice."""

from newsdesk.tasks.records import Unchanged
from newsdesk.tasks.store.load import _rounds


def _part(source: str, *urls: str):
    return (source, [Unchanged(url) for url in urls])


def _names(rounds):
    return [[source for source, _ in members] for members in rounds]


def test_sources_with_different_urls_load_together():
    parts = [_part("a", "u1", "u2"), _part("b", "u3"), _part("c", "u4")]
    assert _names(_rounds(parts)) == [["a", "b", "c"]]


def test_a_url_two_sources_list_is_loaded_by_the_second_after_the_first():
    parts = [_part("a", "u1", "u2"), _part("b", "u2"), _part("c", "u3")]
    assert _names(_rounds(parts)) == [["a", "c"], ["b"]]


def test_a_source_twice_keeps_its_order():
    parts = [_part("a", "u1"), _part("b", "u2"), _part("a", "u3"), _part("c", "u1")]
    assert _names(_rounds(parts)) == [["a", "b"], ["a", "c"]]


def test_nothing_to_load():
    assert _rounds([]) == []
