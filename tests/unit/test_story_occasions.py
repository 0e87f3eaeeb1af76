"""Which articles are reports of one occasion: the days their titles and leads
name (`occasion`) and the digests of several occasions (`digest`). The texts
are the titles, leads and addresses of real pages of bench/data (quoted), and
German sentences written in the style of German news leads."""

from __future__ import annotations

from datetime import date

from newsdesk.tasks.dedup import digest, occasion

# CBS News, 20 November 2019 06:07 UTC: the hearings of Tuesday 19 November.
HEARING = (
    "Key moments from Kurt Volker's and Tim Morrison's impeachment hearing testimony",
    "Kurt Volker, the former special envoy to Ukraine, and Tim Morrison, a former National Security Council official,"
    " testified side-by-side before the House Intelligence Committee Tuesday about the events at the center of the"
    " impeachment inquiry. Morrison was the third witness testifying Tuesday who listened in on President Trump's"
    " July 25 call with Ukrainian President Volodymyr Zelensky.",
    date(2019, 11, 20),
)
# AP, 20 November 2019 05:52 (-05:00): the preview of Sondland's hearing that morning.
PREVIEW = (
    "Unpredictable Sondland faces questions about Trump, Ukraine",
    "WASHINGTON (AP) — Ambassador Gordon Sondland, the most anticipated witness in the impeachment inquiry, is likely"
    " to be unpredictable when he faces questions about his evolving accounts of the Trump administration's dealings"
    " with Ukraine. Sondland's appearance at Wednesday morning's hearing, and his closeness to Trump, is of particular"
    " concern to the White House.",
    date(2019, 11, 20),
)
# BBC Newsbeat, 19 November 2019 09:44 UTC (a Tuesday): the AMAs are on the coming Sunday.
AMAS = (
    "Taylor Swift's AMA row seems to be over",
    "The group that owns most of her music, Big Machine, says she will be allowed to play her old tracks at the"
    " American Music Awards on Sunday. Swift got high profile support last week.",
    date(2019, 11, 19),
)


def test_the_days_of_a_report_and_of_a_preview_are_resolved_against_the_publication_day():
    hearing, preview = occasion.days(*HEARING), occasion.days(*PREVIEW)
    assert hearing == {date(2019, 11, 19)}  # "Tuesday", published on Wednesday; "July 25" is background
    assert preview == {date(2019, 11, 20)}  # "Wednesday morning's hearing", published that morning
    assert occasion.other_occasion(hearing, preview)
    # A sentence that speaks of what is to come puts its weekday ahead.
    assert occasion.days(*AMAS) == {date(2019, 11, 24)}


def test_reports_of_one_day_in_other_words_and_languages_share_it():
    tuesday = date(2019, 11, 19)
    reports = [
        occasion.days("Sweden drops Assange rape investigation", "Prosecutors said on Tuesday ...", tuesday),
        occasion.days("Assange investigation dropped", "Swedish prosecutors yesterday dropped ...", date(2019, 11, 20)),
        occasion.days("Schweden stellt Ermittlungen ein", "Die Staatsanwaltschaft hat am Dienstagabend ...", tuesday),
        occasion.days(
            "Ermittlungen gegen Assange eingestellt", "Wie die Behörde gestern mitteilte, ...", date(2019, 11, 20)
        ),
        occasion.days("Assange: Ermittlungen eingestellt", "Stockholm (dpa) - Am 19. November ...", date(2019, 11, 21)),
        occasion.days("Assange case closed", "STOCKHOLM, Nov. 19 (Reuters) - ...", date(2019, 11, 19)),
        occasion.days("Assange", "Stockholm, 19.11.2019: ...", date(2019, 11, 22)),
    ]
    assert all(found == {tuesday} for found in reports), reports
    assert not any(occasion.other_occasion(a, b) for a in reports for b in reports)


def test_german_tomorrow_and_the_coming_weekday_lie_ahead():
    monday = date(2019, 11, 18)
    assert occasion.days("Anhörung", "Der Botschafter soll morgen aussagen.", monday) == {date(2019, 11, 19)}
    assert occasion.days("Anhörung", "Am Morgen tagte der Ausschuss.", monday) == frozenset()  # the morning
    assert occasion.days("Anhörung", "Der Ausschuss wird am Mittwoch tagen.", monday) == {date(2019, 11, 20)}
    assert occasion.days("Anhörung", "Am kommenden Montag tagt der Ausschuss.", monday) == {date(2019, 11, 25)}
    assert occasion.days("Hearing", "The committee meets next Monday.", monday) == {date(2019, 11, 25)}


def test_what_is_no_day_of_the_occasion_is_not_read():
    tuesday = date(2019, 11, 19)
    # Background dates, outlets, lower-case words and a bare date's weekdays say nothing of the occasion.
    assert occasion.days("Trump's July 25 call", "The call of July 25 with Zelensky ...", tuesday) == frozenset()
    assert occasion.days("Meth. We're On It", "USA Today reports that the campaign ...", tuesday) == frozenset()
    assert occasion.days("x", "You may 3 times try; a sunday roast.", tuesday) == frozenset()
    # MSN's page dated 14 November (a bare date) says the study was "published Monday": it was 18 November.
    assert occasion.days("Duvet lung", "in a case study published Monday", date(2019, 11, 14), timed=False) == set()
    assert occasion.days("Duvet lung", "published on 18 November", date(2019, 11, 14), timed=False) == {
        date(2019, 11, 18)
    }
    # Unknown on either side is no evidence of another occasion.
    assert not occasion.other_occasion(frozenset(), frozenset({tuesday}))


def test_digests_are_known_by_title_section_or_url():
    for title in (
        "HS Roundup: Viera defeats Rockledge to remain undefeated",
        "10 things in tech you need to know today",
        "The Latest: Man stabbed to death on San Francisco Bay train",
        "Christian County police blotters",
        "Das ändert sich im Jahr 2023: Die wichtigsten Änderungen für Verbraucher*innen im Überblick",
        "Liveblog: Die Lage in der Ukraine",
        "Presseschau: Stimmen zur Wahl",
        "Morning Briefing: Markets, Brexit and the Fed",
        "News in brief",
    ):
        assert digest.is_digest(title), title
    for title in (
        "Sweden drops Assange rape investigation",
        "Bundesliga: Dortmund - Gladbach live sehen!",
        "Ratboys live mit „The Window“: Deutschland-Tour 2023",
        "Unpredictable Sondland faces questions about Trump, Ukraine",
        "Three Cases of Plague Diagnosed in China",
        None,
    ):
        assert not digest.is_digest(title), title
    assert digest.is_digest("Axios Future", url="https://www.axios.com/newsletters/axios-future-7120a6cf")
    assert digest.is_digest("Brexit", url="https://www.theguardian.com/politics/live/2019/oct/19/brexit-vote")
    assert digest.is_digest("Wahl", section="Liveticker")
    # A news ticker's directory holds single reports.
    assert not digest.is_digest(
        "Verhärtete Fronten nach Tumulten bei Luckes Vorlesung",
        url="https://www.sat1regional.de/newsticker/verhaertete-fronten-nach-tumulten-bei-luckes-vorles",
    )
