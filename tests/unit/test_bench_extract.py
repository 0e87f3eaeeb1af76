"""The extraction scorer implements the benchmark's metric."""

from bench.extract import page_scores, score


def test_identical_texts_score_one():
    text = "one two three four five six seven"
    assert page_scores(text, text) == (1.0, 1.0)


def test_extra_and_missing_shingles():
    truth = "a b c d e f"  # shingles: abcd bcde cdef
    predicted = "a b c d e x"  # shingles: abcd bcde bcd-e-x... -> abcd, bcde, cdex
    precision, recall = page_scores(predicted, truth)
    assert round(precision, 3) == round(2 / 3, 3) and round(recall, 3) == round(2 / 3, 3)


def test_empty_prediction_is_left_out_of_precision_only():
    assert page_scores("", "a b c d e") == (None, 0.0)
    result = score([("", "a b c d e"), ("a b c d", "a b c d")])
    assert result["precision"] == 1.0 and result["recall"] == 0.5


def test_snippet_metric_counts_over_the_set_after_normalising_whitespace():
    from bench.extract import snippet_counts, snippet_score

    text = "The council  approved\nthe budget. Share this: Facebook"
    assert snippet_counts(text, ["council approved the", "missing words"], ["Share this:", "Subscribe"]) == (1, 1, 1)
    result = snippet_score([(1, 1, 1), (3, 0, 1)])
    assert result["precision"] == 4 / 5 and result["recall"] == 4 / 6
