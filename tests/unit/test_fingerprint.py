from newsdesk.tasks.extract.fingerprint import body_hash, normalised_body


def test_typography_case_and_spacing_do_not_change_the_hash():
    a = "The “Council” met —\n\nand voted: 5–4."
    b = 'the "council" met - and VOTED 5 4'
    assert normalised_body(a) == normalised_body(b) == "the council met and voted 5 4"
    assert body_hash(a) == body_hash(b)


def test_a_changed_word_changes_the_hash():
    assert body_hash("the council met and voted") != body_hash("the council met and waited")


def test_unicode_forms_fold():
    assert body_hash("ﬁnal café") == body_hash("final cafe\u0301")
