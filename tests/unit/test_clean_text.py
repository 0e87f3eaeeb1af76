"""Cleaning rules for text and markdown, each on texts of its own: where it
must fire, and where it must not."""

from datetime import UTC, datetime

import pytest

from newsdesk.tasks.extract.clean import MIN_BODY_CHARS, clean_document
from newsdesk.tasks.extract.clean.text import clean_text
from newsdesk.tasks.records import Rejected

LONG = (
    "The city council approved the new transit budget on Tuesday after a debate that lasted "
    "well into the evening, with members split over the cost of the northern extension."
)
SECOND = (
    "Opponents argued that the money would be better spent on buses, which carry most of the "
    "city's commuters, while supporters said rail would pay for itself within two decades."
)


def paragraphs(article):
    return article.body.split("\n\n")


# --- front matter -----------------------------------------------------------------


def test_yaml_front_matter_becomes_metadata_and_leaves_the_body():
    text = (
        '---\ntitle: "Council passes budget"\nauthor: [Ana Ruiz, Tom Lee]\ndate: 2024-03-05\n'
        "description: The vote ends a long fight.\nlayout: post\n---\n" + LONG + "\n\n" + SECOND
    )
    article = clean_text(text)
    assert article.title == "Council passes budget"
    assert article.author == "Ana Ruiz, Tom Lee"
    assert article.summary == "The vote ends a long fight."
    assert article.published == datetime(2024, 3, 5, tzinfo=UTC)
    assert paragraphs(article) == [LONG, SECOND]


def test_toml_front_matter():
    article = clean_text('+++\ntitle = "Rail vote"\ndate = 2024-03-05T10:30:00Z\n+++\n' + LONG)
    assert article.title == "Rail vote"
    assert article.published == datetime(2024, 3, 5, 10, 30, tzinfo=UTC)
    assert article.body == LONG


def test_a_leading_rule_without_key_values_is_not_front_matter():
    text = "---\n" + LONG + "\n---\n" + SECOND
    article = clean_text(text)
    assert LONG in article.body and SECOND in article.body


# --- label lines ------------------------------------------------------------------


def test_footer_labels_become_metadata():
    text = (
        LONG
        + "\n\n"
        + SECOND
        + "\n\n<br/>\nPublished: March 5, 2024\n<br/>\nSource: The Daily Ledger\nAuthor: Ana Ruiz\n"
    )
    article = clean_text(text)
    assert article.published == datetime(2024, 3, 5, tzinfo=UTC)
    assert article.source_name == "The Daily Ledger"
    assert article.author == "Ana Ruiz"
    assert paragraphs(article) == [LONG, SECOND]


def test_header_labels_become_metadata():
    text = "Title: Rail extension approved\nDate: 2024-03-05\n\n" + LONG
    article = clean_text(text)
    assert article.title == "Rail extension approved"
    assert article.published.date().isoformat() == "2024-03-05"
    assert article.body == LONG


def test_a_sentence_that_ends_with_a_date_stays():
    last = "The agreement was signed by both parties on 2019-12-12."
    article = clean_text(LONG + "\n\n" + last)
    assert paragraphs(article) == [LONG, last]
    assert article.published is None


def test_a_label_followed_by_a_sentence_stays():
    last = "Source: officials familiar with the plan said it would be announced after the election."
    article = clean_text(LONG + "\n\n" + last)
    assert paragraphs(article)[-1] == last
    assert article.source_name is None


def test_a_date_label_with_no_date_stays():
    last = "Date: to be decided by the committee"
    article = clean_text(LONG + "\n\n" + last)
    assert paragraphs(article)[-1] == last


# --- HTML left in text ------------------------------------------------------------


def test_tags_and_entities_in_text_are_removed():
    text = "<p>The <b>council</b> met at 6&nbsp;pm &amp; voted.<br/>It was &quot;historic&quot;.</p>\n\n" + LONG
    article = clean_text(text)
    assert paragraphs(article)[0] == "The council met at 6 pm & voted."
    assert paragraphs(article)[1] == 'It was "historic".'


def test_angle_brackets_and_ampersands_in_prose_stay():
    text = "Costs rose where a < b and c > d held; AT&T and R&D budgets were cut, said the 3 < 4 rule."
    assert clean_text(text).body == text


# --- markdown ---------------------------------------------------------------------


def test_markdown_links_keep_their_text():
    text = "The [city council](https://example.org/council) approved the [plan](#) and the ![map](map.png) budget."
    assert clean_text(text).body == "The city council approved the plan and the budget."


def test_reference_links_and_definitions():
    text = (
        "Read the [full report][1] for details on the transit budget and its costs.\n\n[1]: https://example.org/report"
    )
    assert clean_text(text).body == "Read the full report for details on the transit budget and its costs."


def test_emphasis_and_code_markers_go_but_snake_case_stays():
    text = "The **vote** was *close*, said __Ana__; the file_name_here and `budget_v2` were shared."
    assert clean_text(text).body == "The vote was close, said Ana; the file_name_here and budget_v2 were shared."


def test_markdown_heading_first_is_the_title_and_inner_headings_stay_paragraphs():
    text = "# Transit budget passes\n\n" + LONG + "\n\n## What happens next\n\n" + SECOND
    article = clean_text(text)
    assert article.title == "Transit budget passes"
    assert paragraphs(article) == [LONG, "What happens next", SECOND]


def test_rules_and_blockquote_markers_go():
    text = LONG + "\n\n***\n\n> " + SECOND
    assert paragraphs(clean_text(text)) == [LONG, SECOND]


# --- breadcrumbs ------------------------------------------------------------------


def test_breadcrumb_trail_at_the_top_goes():
    text = "[Home](/) › [News](/news) › [Local](/news/local)\n\n" + LONG
    assert clean_text(text).body == LONG


def test_breadcrumb_ending_in_the_title_goes_and_the_title_is_found():
    text = "Home » Politics » City Hall » Council Approves Transit Budget\n\nCouncil Approves Transit Budget\n\n" + LONG
    article = clean_text(text)
    assert article.title == "Council Approves Transit Budget"
    assert article.body == LONG


def test_a_sentence_with_guillemets_is_not_a_breadcrumb():
    text = "« Nous avons gagné », a déclaré la maire, « et la ville aussi », devant le conseil réuni.\n\n" + LONG
    assert paragraphs(clean_text(text))[0].startswith("« Nous avons gagné »")


def test_a_slash_list_in_the_body_is_not_a_breadcrumb():
    text = LONG + "\n\nRidership grew 5% / 7% / 9% in the three years before the pandemic.\n\n" + SECOND
    assert "Ridership grew 5% / 7% / 9%" in clean_text(text).body


# --- date lines and bylines -------------------------------------------------------


def test_date_line_under_the_title_is_the_published_date():
    text = "Council Approves Transit Budget\n\nTuesday, March 5, 2024\n\n" + LONG + "\n\n" + SECOND
    article = clean_text(text)
    assert article.title == "Council Approves Transit Budget"
    assert article.published == datetime(2024, 3, 5, tzinfo=UTC)
    assert paragraphs(article) == [LONG, SECOND]


def test_byline_and_date_on_one_line():
    text = "Council Approves Transit Budget\n\nBy Ana Ruiz | 5 March 2024\n\n" + LONG
    article = clean_text(text)
    assert article.author == "Ana Ruiz"
    assert article.published.date().isoformat() == "2024-03-05"
    assert article.body == LONG


def test_a_paragraph_starting_with_by_is_not_a_byline():
    first = "By the end of the meeting, the council had approved the budget."
    article = clean_text(first + "\n\n" + LONG)
    assert paragraphs(article)[0] == first
    assert article.author is None


def test_a_date_inside_a_sentence_is_not_a_date_line():
    first = "On March 5, 2024 the council approved the budget after a long debate."
    article = clean_text(first + "\n\n" + LONG)
    assert paragraphs(article)[0] == first
    assert article.published is None


# --- end marks --------------------------------------------------------------------


def test_end_mark_and_the_boilerplate_after_it_go():
    text = LONG + "\n\n" + SECOND + "\n\n###\n\nAbout the Ledger: a newspaper.\nMedia contact: press@example.org"
    assert paragraphs(clean_text(text)) == [LONG, SECOND]


@pytest.mark.parametrize("mark", ["###", "# # #", "-30-", "- 30 -", "-END-", "(END)", "ENDS"])
def test_end_mark_forms(mark):
    assert clean_text(LONG + "\n\n" + mark + "\n").body == LONG


def test_a_level_three_heading_is_not_an_end_mark():
    text = LONG + "\n\n### Reactions\n\n" + SECOND
    assert paragraphs(clean_text(text)) == [LONG, "Reactions", SECOND]


def test_a_long_text_after_an_early_mark_is_kept():
    text = "Short intro here.\n\n###\n\n" + LONG + "\n\n" + SECOND
    body = clean_text(text).body
    assert LONG in body and SECOND in body


# --- trailing blocks of other headlines -------------------------------------------

HEADLINES = [
    "Mayor Announces Plan to Expand Bike Lanes Across Downtown",
    "Local Bakery Wins National Award for Sourdough Bread",
    "School Board Delays Vote on New Start Times",
    "Storm Knocks Out Power to Thousands in Northern Suburbs",
]


def test_trailing_title_case_headlines_go():
    text = LONG + "\n" + SECOND + "\n\n\n" + "\n".join(HEADLINES) + "\n"
    assert paragraphs(clean_text(text)) == [LONG, SECOND]


def test_trailing_sentence_case_headlines_go_when_there_are_many():
    lines = [
        "Mayor announces plan to expand bike lanes",
        "Local bakery wins national award",
        "School board delays vote on start times",
        "Storm knocks out power to thousands",
        "Museum reopens after two years of repairs",
    ]
    text = LONG + "\n\n" + SECOND + "\n\n" + "\n".join(lines)
    assert paragraphs(clean_text(text)) == [LONG, SECOND]


def test_headlines_after_a_related_label_go():
    text = LONG + "\n\n" + SECOND + "\n\nRelated Articles\n\n" + HEADLINES[0]
    assert paragraphs(clean_text(text)) == [LONG, SECOND]


def test_a_list_that_belongs_to_the_article_stays():
    dates = [
        "June 9 -- Coral Sky Amphitheatre, West Palm Beach, FL",
        "June 10 -- Credit Union Amphitheatre, Tampa, FL",
        "Aug. 2 -- DTE Energy Music Theatre, Clarkston, MI",
        "Sept. 18 -- The Forum, Los Angeles, CA",
        "Oct. 3 -- Ak-Chin Pavilion, Phoenix, AZ",
    ]
    text = LONG + "\n\nThe Tour Dates Are Below\n\n" + "\n".join(dates)
    assert paragraphs(clean_text(text))[-5:] == dates


def test_a_table_at_the_end_stays():
    rows = [
        "| Ticker | Security | Last | Change |",
        "| HD | THE HOME DEPOT INC. | 225.86 | -12.99 |",
        "| LOW | LOWE'S COMPANIES INC. | 113.40 | -1.62 |",
    ]
    assert paragraphs(clean_text(LONG + "\n\n" + SECOND + "\n\n" + "\n".join(rows)))[-3:] == rows


def test_headlines_longer_than_the_article_are_not_taken_for_residue():
    text = "Short intro about the vote.\n\n" + "\n".join(HEADLINES)
    assert paragraphs(clean_text(text))[-4:] == HEADLINES


def test_a_short_real_paragraph_at_the_end_stays():
    text = LONG + "\n\n" + SECOND + "\n\nThe vote is final."
    assert paragraphs(clean_text(text)) == [LONG, SECOND, "The vote is final."]


def test_a_closing_heading_and_paragraph_stay():
    text = LONG + "\n\nWhat Comes Next for the Northern Extension\n\n" + SECOND
    assert paragraphs(clean_text(text)) == [LONG, "What Comes Next for the Northern Extension", SECOND]


def test_two_short_lines_at_the_end_stay():
    text = LONG + "\n\n" + SECOND + "\n\nAna Ruiz Reports From City Hall\nTom Lee Contributed Reporting Here"
    assert len(paragraphs(clean_text(text))) == 4


def test_a_text_made_only_of_short_lines_is_not_emptied():
    text = "\n".join(HEADLINES)
    assert clean_text(text).body.count("\n\n") >= 2


# --- title, paragraphs, whitespace ------------------------------------------------


def test_short_first_line_is_the_title():
    article = clean_text("Council Approves Transit Budget\n" + LONG + "\n" + SECOND)
    assert article.title == "Council Approves Transit Budget"
    assert paragraphs(article) == [LONG, SECOND]


def test_first_line_that_is_a_sentence_is_not_a_title():
    article = clean_text("The council met.\n\n" + LONG)
    assert article.title is None
    assert paragraphs(article) == ["The council met.", LONG]


def test_single_line_breaks_separate_paragraphs():
    assert paragraphs(clean_text(LONG + "\n" + SECOND)) == [LONG, SECOND]


def test_hard_wrapped_paragraphs_are_joined():
    wrapped = (
        "The city council approved the new transit budget on Tuesday\n"
        "after a debate that lasted well into the evening, with members\n"
        "split over the cost of the northern extension.\n\n"
        "Opponents argued that the money would be better spent on buses,\n"
        "which carry most of the city's commuters, while supporters said\n"
        "rail would pay for itself within two decades.\n"
    )
    assert paragraphs(clean_text(wrapped)) == [LONG, SECOND]


def test_list_items_stay_one_per_paragraph():
    text = LONG + "\n\n- Buses: 40 new vehicles\n- Rail: two stations\n* Bikes: 12 km of lanes"
    assert paragraphs(clean_text(text))[1:] == [
        "- Buses: 40 new vehicles",
        "- Rail: two stations",
        "* Bikes: 12 km of lanes",
    ]


def test_invisible_characters_and_odd_spaces_are_normalised():
    text = "The\u00a0council\u200b met\t\tat  six.\r\nIt voted.\u00ad"
    assert clean_text(text).body == "The council met at six.\n\nIt voted."


def test_a_document_with_no_text_left_is_rejected():
    with pytest.raises(Rejected) as caught:
        clean_document("---\ntitle: Only a title\n---\n\n<br/>\n", "text/plain")
    assert caught.value.stage == "clean"
    assert MIN_BODY_CHARS > 0


# --- copyright notices ------------------------------------------------------------


@pytest.mark.parametrize(
    "notice",
    [
        "Copyright 2019 Hawaii Example News. All rights reserved.",
        "© 2024 The Daily Ledger",
        "(c) 2023 Ledger Media Group",
    ],
)
def test_trailing_copyright_notice_goes(notice):
    assert paragraphs(clean_text(LONG + "\n\n" + SECOND + "\n\n" + notice)) == [LONG, SECOND]


def test_a_sentence_about_copyright_stays():
    last = "Copyright law, the judge wrote, was never meant to protect facts about a public budget vote."
    assert paragraphs(clean_text(LONG + "\n\n" + last))[-1] == last


def test_related_label_with_its_links_on_one_line_goes():
    text = LONG + "\n\n" + SECOND + "\n\n*Read more:* [Budget explained](/a), [Who voted how](/b)"
    assert paragraphs(clean_text(text)) == [LONG, SECOND]


def test_a_sentence_starting_like_a_label_stays():
    last = "Read more: the council will publish the full budget, line by line, on its website next week after the vote."
    assert paragraphs(clean_text(LONG + "\n\n" + last))[-1] == last


@pytest.mark.parametrize(
    "line, expected",
    [
        ("Jan. 4, 2023 10:30 AM ET", datetime(2023, 1, 4, 15, 30, tzinfo=UTC)),
        ("Wednesday, January 4, 2023", datetime(2023, 1, 4, tzinfo=UTC)),
        ("Published: 4 January 2023", datetime(2023, 1, 4, tzinfo=UTC)),
        ("2023-01-04T08:00:00+08:00", datetime(2023, 1, 4, 0, 0, tzinfo=UTC)),
    ],
)
def test_date_line_forms(line, expected):
    article = clean_text("Council Approves Transit Budget\n\n" + line + "\n\n" + LONG)
    assert article.published == expected
    assert article.body == LONG


def test_front_matter_dates_in_any_form_dateutil_reads():
    article = clean_text("---\ntitle: Rates\ndate: 2020-05-01 10:00:00 +0800\n---\n" + LONG)
    assert article.published == datetime(2020, 5, 1, 2, 0, tzinfo=UTC)


# --- page furniture: share bars, newsletter boxes, photo credits, inline links ----


@pytest.mark.parametrize(
    "line",
    [
        "Share this article",
        "Share on Facebook",
        "Like this story? Share it with a friend!",
        "Follow us on Twitter",
        "Sign up for our daily newsletter to get the top stories in your inbox.",
        "Get the Morning Brief newsletter. Subscribe now for free.",
        "Get Monthly delivered to your door every month. 12 issues for £11.99. Click here to subscribe",
        "Advertisement",
        "12 Comments",
        "Photo: Jane Roe/Reuters",
        "(Photo by Jane Roe/Getty Images)",
        "Jewels after Jewels, installation views, photos © Inexhibit, 2018",
        "Also on example.com Council approves budget after long debate",
        "READ MORE: Council approves budget after long debate",
    ],
)
def test_furniture_lines_go_wherever_they_are(line):
    assert paragraphs(clean_text(LONG + "\n\n" + line + "\n\n" + SECOND)) == [LONG, SECOND]


@pytest.mark.parametrize(
    "line",
    [
        "The company's newsletter, sent to 3,000 subscribers, said the plan would be announced in May.",
        "Readers who subscribe to the paper's print edition will see the change next week, the editor said in a note.",
        "Share prices fell 4% on the news.",
        "The photo shows the mayor at the opening of the new station last spring.",
        "Comments from residents will be collected until the end of the month at the town hall.",
        "Related coverage of the vote appeared in every local paper the next morning, with mixed verdicts.",
    ],
)
def test_prose_that_mentions_furniture_words_stays(line):
    assert paragraphs(clean_text(LONG + "\n\n" + line + "\n\n" + SECOND)) == [LONG, line, SECOND]


def test_shortcodes_are_removed():
    text = LONG + '\n\n[caption id="attachment_1" align="alignnone"]The mayor at the station.[/caption]'
    assert paragraphs(clean_text(text)) == [LONG, "The mayor at the station."]


def test_a_related_box_in_the_middle_goes_with_its_headlines():
    text = LONG + "\n\nDON'T MISS\n" + "\n".join(HEADLINES[:3]) + "\n\n" + SECOND
    assert paragraphs(clean_text(text)) == [LONG, SECOND]


def test_reporter_contact_lines_go():
    line = "Have a tip? Ana Ruiz may be reached at ana@example.org. Follow her on Twitter @anaruiz."
    assert paragraphs(clean_text(LONG + "\n\n" + SECOND + "\n\n" + line)) == [LONG, SECOND]


# --- share bars and kin, in HTML and text alike (one rule set) ---------------------


@pytest.mark.parametrize(
    "line",
    [
        "Share this:",
        "Share this: Facebook | X",
        "Share on WhatsApp",
        "Facebook Twitter LinkedIn E-Mail",
        "Facebook | X | Pinterest | Print",
        "Teilen mit:",
        "Follow us on Instagram",
        "Folgen Sie uns auf Facebook und Instagram",
        "Click To Tweet",
        "Sign up for the free daily newsletter.",
        "Get The Times of Israel's Daily Edition by email and never miss our top stories Free Sign Up",
        "Abonnieren Sie unseren Newsletter und verpassen Sie keine Nachricht.",
        "© Reuters",
        "(c) AFP",
        "Crédits photos : Bestimage",
        "Lea también: Impiden ingreso a Nicaragua a reportero y camarógrafo estadounidense",
        "LE PUEDE INTERESAR: La ficha de Juan Orlando Hernández en el MDC de Nueva York",
        "Keine Kommentare (Kommentare erscheinen erst nach unserer Freigabe)",
        "For the latest stories and breaking news updates download the Nationnews apps for iOS and Android.",
    ],
)
def test_share_bars_and_kin_go_wherever_they_are(line):
    assert paragraphs(clean_text(LONG + "\n\n" + line + "\n\n" + SECOND)) == [LONG, SECOND]


@pytest.mark.parametrize(
    "line",
    [
        "Share this information with your doctor before the appointment, the health ministry advised on Monday.",
        "Facebook said on Tuesday it would appeal the ruling, which it called a blow to free expression.",
        "Twitter and Facebook removed the posts within hours of the complaint.",
        "Follow-up visits will be scheduled for every patient who took part in the first trial.",
        "The mayor announced the closure in a tweet.",
        "Reuters reported the figures first, citing two people familiar with the talks.",
        "Cookies baked by the school's pupils sold out within an hour at the fair.",
    ],
)
def test_prose_about_sharing_networks_and_credits_stays(line):
    assert paragraphs(clean_text(LONG + "\n\n" + line + "\n\n" + SECOND)) == [LONG, line, SECOND]


def test_a_tweet_prompt_stuck_to_a_sentence_goes_and_the_sentence_stays():
    quote = "Every online business exists in the 'space-time continuum.'"
    assert paragraphs(clean_text(LONG + "\n\n" + quote + "Click To Tweet\n\n" + SECOND)) == [LONG, quote, SECOND]


def test_a_share_label_takes_the_networks_listed_under_it():
    text = LONG + "\n\nShare this:\n\n- Facebook\n\n- Twitter\n\n- WhatsApp\n\n" + SECOND
    assert paragraphs(clean_text(text)) == [LONG, SECOND]


def test_a_paragraph_broken_mid_sentence_is_joined():
    first = "The hero is stretched, drawn and quartered, and tortured before an English crowd"
    second = "that is hissing and calling for more blood, up until a point."
    assert paragraphs(clean_text(LONG + "\n\n" + first + "\n\n" + second)) == [LONG, f"{first} {second}"]


def test_paragraphs_that_end_and_start_as_paragraphs_stay_apart():
    lines = ["Opponents wanted buses;", "supporters wanted rail and trams.", "Then the vote came", "Tuesday night."]
    article = clean_text(LONG + "\n\n" + "\n\n".join(lines))
    assert paragraphs(article) == [LONG, *lines]


def test_a_cookie_wall_alone_is_rejected_and_a_notice_in_an_article_goes():
    notice = (
        "We use cookies to improve your experience. By continuing to use our site, you agree to our use of "
        "cookies. Manage your cookie settings."
    )
    with pytest.raises(Rejected, match="cookie wall"):
        clean_document(notice + "\n\nAccept all\n\nSettings", "text/plain")
    assert paragraphs(clean_text(LONG + "\n\n" + notice + "\n\n" + SECOND)) == [LONG, SECOND]


# --- language ---------------------------------------------------------------------

GERMAN = (
    "Der Stadtrat hat am Dienstag nach einer langen Debatte den neuen Haushalt für den Nahverkehr "
    "beschlossen. Die Gegner wollten mehr Geld für Busse, die Befürworter setzten auf die Straßenbahn. "
    "Die neue Linie soll in vier Jahren fertig sein."
)


def test_language_comes_from_the_text_as_an_iso_639_1_code():
    assert clean_text(LONG + "\n\n" + SECOND).language == "en"
    assert clean_text(GERMAN).language == "de"
    # The text wins over a template's declaration...
    assert clean_text("---\nlang: en-US\n---\n" + GERMAN).language == "de"
    # ...which decides, normalised, when the text is too short to tell.
    assert clean_text("---\nlang: de-AT\n---\nKurze Meldung aus Wien.").language == "de"
    assert clean_text("---\nlanguage: EN_gb\n---\nShort item.").language == "en"
