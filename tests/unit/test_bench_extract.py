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
