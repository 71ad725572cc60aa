"""A parent sees how their child is doing: the level they are on, each skill's latest rating,
what comes next, and a timeline of assessments, completed levels and instructors' notes.

The provider pushes levels, assessments and session notes through the sync API; the parent
opens Progress from the home page, a booking's dashboard or the section bar.
"""

from __future__ import annotations

import re

import pytest
from profile_support import browser, counting_statements, freeze, section, text_of
from progress_support import SKILLS, assess, note, push_family


@pytest.fixture
def families(app, api):
    freeze(app)
    return {"mine": push_family(api, "a", "ann@example.com", "Alfie Ann"),
            "other client": push_family(api, "b", "bob@example.com", "Bella Bob"),
            "other tenant": push_family(api.as_tenant("demo-sk"), "c", "cyril@example.com",
                                        "Cilka Cyril")}


@pytest.fixture
def ann(app, families, mailbox):
    return browser(app, mailbox, "ann@example.com")


def progress_of(visitor, query: str = "") -> tuple[str, str]:
    page = visitor.open(f"progress{query}")
    assert page.status_code == 200, page.text
    return page.text, text_of(page.text)


def test_before_any_assessment_the_child_starts_at_the_first_level(ann):
    page, words = progress_of(ann)
    assert "Alfie's progress" in words
    swim = section(page, "programme-1")
    assert "Swim A" in swim and "Current level Tadpoles a" in swim
    assert "0 of 3 skills achieved" in swim
    assert swim.count("Not assessed yet") == 3
    assert "Next level: Frogs a" in swim
    dance = section(page, "programme-2")
    assert "Ballet a" in dance and "This is the last level of Dance A." in dance
    assert "Timeline" not in words


def test_a_child_with_no_levels_sees_a_clear_empty_state(app, api, mailbox):
    freeze(app)
    push_family(api, "z", "zed@example.com", "Zoe Zed", levels=False)
    words = progress_of(browser(app, mailbox, "zed@example.com"))[1]
    assert "No progress recorded yet" in words
    assert "When Splash Swim School's instructors assess Zoe's skills" in words


def test_the_latest_rating_of_each_skill_counts_and_the_timeline_is_newest_first(ann, api):
    assess(api, "a", "as-1", "a-l1", "float", 1, "2026-10-03", assessor="Coach Kim")
    assess(api, "a", "as-2", "a-l1", "float", 4, "2026-11-14", assessor="Coach Kim",
           note="Floats on her own now")
    assess(api, "a", "as-3", "a-l1", "glide", 2, "2026-11-14", assessor="Coach Kim")
    note(api, "n-1", "a-t2", "Great push-and-glide today, practise blowing bubbles",
         author="Coach Kim")
    note(api, "n-2", "a-t2", "Needs a word about behaviour", visibility="staff")

    page, words = progress_of(ann)
    swim = section(page, "programme-1")
    assert "1 of 3 skills achieved" in swim
    assert re.search(r"Floats on back Assessed on 14 Nov 2026 Achieved", swim)
    assert re.search(r"Push and glide Assessed on 14 Nov 2026 Developing", swim)
    assert re.search(r"Blows bubbles Not assessed yet Not started", swim)
    assert 'style="width: 33%"' in page  # the bar: one skill of three

    timeline = section(page, "timeline-title")
    entries = [text_of(e) for e in re.findall(r'<li class="cp-event".*?</li>\n', page, re.S)]
    assert [e.split(" · ")[0] for e in entries] == ["21 Nov 2026", "14 Nov 2026",
                                                    "3 Oct 2026"]
    assert "Great push-and-glide today, practise blowing bubbles" in entries[0]
    assert "Tadpoles a assessment · by Coach Kim" in entries[1]
    assert "Floats on back: Achieved" in entries[1] and "Push and glide: Developing" in entries[1]
    assert "Floats on her own now" in entries[1]
    assert "Floats on back: Introduced" in entries[2]
    assert "behaviour" not in words and "behaviour" not in timeline  # staff notes stay hidden


def test_completing_every_skill_completes_the_level_and_moves_the_child_up(ann, api):
    for n, skill in enumerate(s["id"] for s in SKILLS):
        assess(api, "a", f"done-{n}", "a-l1", skill, 4, f"2026-11-0{n + 1}")
    page, words = progress_of(ann)
    swim = section(page, "programme-1")
    assert "Current level Frogs a" in swim and "0 of 2 skills achieved" in swim
    assert "This is the last level of Swim A." in swim
    assert "Completed levels Tadpoles a Completed on 3 Nov 2026 Certificate" in swim
    assert "3 Nov 2026 · Swim A Completed Tadpoles a" in words

    for n, skill in enumerate(("float", "glide")):
        assess(api, "a", f"up-{n}", "a-l2", skill, 4, "2026-11-20")
    swim = section(progress_of(ann)[0], "programme-1")
    assert "Every level completed" in swim
    assert "Alfie has completed every level of Swim A. Well done!" in swim


def test_a_rating_above_the_scale_counts_as_its_top_and_unknown_skills_are_not_shown(ann, api):
    assess(api, "a", "as-9", "a-d1", "plie", 9, "2026-11-20")
    assess(api, "a", "as-10", "a-d1", "pirouette", 2, "2026-11-20")
    page, words = progress_of(ann)
    dance = section(page, "programme-2")
    assert "Every level completed" in dance and "Ballet a Completed on 20 Nov 2026" in dance
    assert "Plié: Achieved" in words
    assert "pirouette" not in words


def test_a_note_shows_in_its_sessions_row(ann, api, families):
    note(api, "n-1", "a-t1", "Lovely kicking.\nTry to keep the chin up.", author="Coach Kim")
    note(api, "n-2", "a-t1", "Parents to bring goggles", visibility="staff")
    page = ann.open(f"bookings/{families['mine']['booking']}/sessions").text
    row = page[page.index('id="session-a-s1"'):]
    row = text_of(row[:row.index("</li>")])
    assert "Note from the instructor · Coach Kim Lovely kicking. Try to keep the chin up." in row
    assert "goggles" not in text_of(page)


def test_two_notes_on_one_session_show_in_its_one_row_oldest_first(ann, api, families):
    """The tab reads its rows and their notes in one statement, a row once per note: the
    session is still one row, with both notes in the order they were written."""
    note(api, "n-2", "a-t1", "Then: lovely kicking.", author="Coach Kim",
         written_at="2026-11-20T10:00:00Z")
    note(api, "n-1", "a-t1", "First: bring goggles.", author="Coach Lee",
         written_at="2026-11-20T09:00:00Z")
    note(api, "n-3", "a-t1", "Staff only", visibility="staff")
    page = ann.open(f"bookings/{families['mine']['booking']}/sessions").text
    assert page.count('id="session-a-s1"') == 1
    row = page[page.index('id="session-a-s1"'):]
    row = text_of(row[:row.index("</li>")])
    assert row.count("Note from the instructor") == 2
    assert row.index("First: bring goggles.") < row.index("Then: lovely kicking.")
    assert "Staff only" not in text_of(page)


def test_progress_is_reachable_from_home_the_booking_and_the_section_bar(ann, families):
    home = ann.open("").text
    link = '/t/demo/progress?member=a-child'
    assert f'href="http://testserver{link}"' in home or f'href="{link}"' in home
    dashboard = ann.open(f"bookings/{families['mine']['booking']}").text
    assert "How Alfie is doing" in text_of(dashboard) and "progress?member=a-child" in dashboard
    assert re.search(r'<a href="[^"]*/t/demo/progress"', home)  # the section bar


def test_a_long_history_shows_the_latest_entries_and_a_link_to_all(ann, api):
    for n in range(25):
        assess(api, "a", f"h-{n}", "a-l1", "bubbles", 1 + n % 3, f"2026-{1 + n // 28:02d}-"
               f"{1 + n:02d}")
    page, words = progress_of(ann)
    assert page.count('class="cp-event"') == 20
    assert "Show the whole history (25 entries)" in words
    assert progress_of(ann, "?member=a-child&history=all")[0].count('class="cp-event"') == 25


@pytest.mark.parametrize("owner", ["other client", "other tenant"])
def test_another_familys_child_is_not_found(families, ann, owner):
    assert ann.open(f"progress?member={families[owner]['child']}").status_code == 404
    words = progress_of(ann)[1]
    for trace in ("Bella", "Cilka", "Swim B", "Swim C", "Tadpoles b", "Tadpoles c"):
        assert trace not in words


def test_a_view_share_sees_the_shared_programme_only(app, api, families, mailbox):
    assess(api, "a", "as-1", "a-l1", "float", 2, "2026-11-14")
    assess(api, "a", "as-2", "a-d1", "plie", 2, "2026-11-14")
    note(api, "n-1", "a-t3", "Lovely arms in ballet")
    api.put("shares", "share-1", {"booking_id": "a-b1", "email": "gran@example.com",
                                  "relation": "grandparent", "access": "view"})
    gran = browser(app, mailbox, "gran@example.com")
    page, words = progress_of(gran)
    assert "Alfie's progress" in words and "Swim A" in words
    assert "Dance A" not in words and "Ballet a" not in words
    assert "Plié" not in words and "Lovely arms" not in words


def test_the_page_costs_the_same_statements_for_one_or_fifty_assessments(app, ann, api):
    def statements() -> int:
        ann.open("progress")  # warm: statements are built once
        with counting_statements(app) as seen:
            assert ann.open("progress").status_code == 200
        return len(seen)

    assess(api, "a", "one", "a-l1", "float", 2, "2026-11-01")
    note(api, "n-1", "a-t1", "One note")
    few = statements()
    # The session with its client and the family's members, the member's bookings, the levels
    # of their programmes, the member's assessments, the notes on their sessions, report cards.
    assert few == 6
    for n in range(50):
        assess(api, "a", f"many-{n}", "a-l1", SKILLS[n % 3]["id"], 1 + n % 4,
               f"2026-{1 + n // 28:02d}-{1 + n % 28:02d}")
        note(api, f"n-{n + 2}", "a-t2", f"Note {n}")
    assert statements() == few
