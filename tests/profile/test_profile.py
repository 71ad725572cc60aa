"""What a parent sees after logging in: the family, bookings, sessions, benefits, orders."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from markupsafe import Markup
from profile_support import (
    EMILY,
    JAMES,
    JANA,
    NOW,
    SARAH,
    browser,
    counting_statements,
    freeze,
    section,
    text_of,
)
from sqlmodel import Session, select

from widget_server.core.models import WebSession

OLIVER, MIA = "at-1001-1", "at-1001-2"
BEGINNERS, IMPROVERS, ONLINE, OLD_TERM = "bk-1001", "bk-1002", "bk-1003", "bk-1004"


# --- home ---------------------------------------------------------------------------------

def test_home_greets_the_parent_and_shows_the_first_child(sarah):
    page = sarah.open("")
    words = text_of(page.text)
    assert re.search(r"<h1[^>]*>Hello, Sarah Thompson</h1>", page.text)
    family = section(page.text, "main").split("Quick actions")[0]
    assert "Oliver" in family and "Mia" in family
    assert re.search(r'href="[^"]*\?member=at-1001-1" aria-current="true"', page.text)
    assert "Next for Oliver" in words
    assert "Beginners (Stage 1)" in section(page.text, "active-title")
    assert "Water Safety Online" in section(page.text, "past-title")  # his cancelled booking
    assert "Improvers" not in words  # Mia's


def test_switching_to_another_child_is_remembered_by_the_server(demo, sarah, mailbox):
    page = sarah.open(f"?member={MIA}")
    assert "Next for Mia" in text_of(page.text)
    assert "Improvers (Stage 3)" in section(page.text, "active-title")
    assert "Improvers (Stage 3)" in section(page.text, "past-title")  # the finished term

    again = sarah.open("")  # the provider's page reloads the iframe at the bare address
    assert "Next for Mia" in text_of(again.text)
    with Session(demo.state.engine) as db:
        assert set(db.exec(select(WebSession.selected_member)).all()) == {MIA}

    laptop = browser(demo, mailbox, SARAH)  # each logged-in browser keeps its own choice
    assert "Next for Oliver" in text_of(laptop.open("").text)


def test_a_member_who_is_not_in_the_family_is_not_found(sarah):
    assert sarah.open("?member=at-1002-1").status_code == 404  # James's daughter
    assert sarah.open("?member=nobody").status_code == 404


def test_quick_actions_appear_only_when_they_apply(demo, sarah, mailbox):
    oliver = section(sarah.open(f"?member={OLIVER}").text, "actions-title")
    assert "Pay £72.00" in oliver and "1 payment overdue" in oliver
    assert "Book a make-up" in oliver and "2 make-ups available" in oliver
    assert "View sessions" in oliver

    mia = section(sarah.open(f"?member={MIA}").text, "actions-title")
    assert "Book a make-up" not in mia  # her only make-up has expired
    assert "Pay £72.00" in mia  # payments belong to the family

    james = section(browser(demo, mailbox, JAMES).open("").text, "actions-title")
    assert "Pay £96.00" in james and "1 payment due" in james and "overdue" not in james
    assert "make-up" not in james


def test_quick_actions_link_to_where_things_are_done(sarah):
    page = sarah.open(f"?member={OLIVER}").text
    assert 'href="http://testserver/t/demo/orders#to-pay"' in page
    assert 'href="http://testserver/t/demo/benefits#makeups"' in page
    assert 'href="http://testserver/t/demo/bookings/bk-1001/sessions"' in page


def test_family_sections_do_not_change_when_switching_child(sarah):
    oliver = section(sarah.open(f"?member={OLIVER}").text, "family-title")
    mia = section(sarah.open(f"?member={MIA}").text, "family-title")
    assert oliver == mia
    assert "£72.00 to pay" in oliver and "1 unpaid order" in oliver
    assert "Sibling discount · 10%" in oliver  # family-level; Mia's loyalty discount is not
    assert "Loyalty" not in oliver
    assert "£30.00" in oliver  # credit: 50 - 12 - 8


def test_a_new_family_is_told_what_to_do(api, app, mailbox):
    api.put("clients", "c-new", {"email": "new@example.com", "name": "Nora New"})
    page = browser(app, mailbox, "new@example.com").open("")
    assert "No bookings yet" in text_of(page.text)
    assert "When you book a class with Splash Swim School using new@example.com" in page.text

    api.put("attendees", "a-new", {"client_id": "c-new", "name": "Noah New"})
    page = browser(app, mailbox, "new@example.com").open("")
    words = text_of(page.text)
    assert "No active bookings" in words and "No upcoming sessions" in words
    assert "Quick actions" not in words
    assert "All paid" in words


def test_home_lists_the_family_discounts_in_use_today_oldest_first(api, app, mailbox):
    """Home's family account tile: the family's discounts that apply today, in the order the
    provider added them, a percentage or an amount in its currency; not a child's own, a used
    one, one not started or one over."""
    api.put("clients", "c1", {"email": "ann@example.com", "name": "Ann Lee"})
    api.put("attendees", "a1", {"client_id": "c1", "name": "Leo Lee"})
    discounts = [  # now is Sunday 22 Nov 2026
        ("d1", {"name": "Loyalty", "kind": "amount", "value": 500, "currency": "EUR"}),
        ("d2", {"name": "Sibling", "value": 10, "valid_until": "2026-11-22"}),
        ("d3", {"name": "Leo's own", "value": 20, "attendee_id": "a1"}),
        ("d4", {"name": "Spent", "value": 5, "used": True}),
        ("d5", {"name": "Spring", "value": 15, "valid_from": "2026-11-23"}),
        ("d6", {"name": "Autumn", "value": 15, "valid_until": "2026-11-21"}),
        ("d7", {"name": "Welcome", "kind": "amount", "value": 300, "currency": "GBP",
                "valid_from": "2026-11-22"})]
    for key, body in discounts:
        api.put("discounts", key, {"client_id": "c1", **body})
    freeze(app)
    family = text_of(section(browser(app, mailbox, "ann@example.com").open("").text,
                             "family-title"))
    assert "Family discounts Loyalty · €5.00 Sibling · 10% Welcome · £3.00" in family
    for other in ("Leo's own", "Spent", "Spring", "Autumn"):
        assert other not in family


def test_each_booking_on_home_shows_its_own_next_session(api, app, mailbox):
    """A booking's next session is the soonest one the child is still expected at: not one
    over already, cancelled by the provider or excused ahead; one under way still counts. The
    bookings come soonest first, one with nothing to come last."""
    api.put("clients", "c1", {"email": "ann@example.com", "name": "Ann Lee"})
    api.put("attendees", "a1", {"client_id": "c1", "name": "Leo Lee"})
    for n, name in ((1, "Otters"), (2, "Seals"), (3, "Dolphins")):
        api.put("programmes", f"p{n}", {"name": name, "venue": "Lido"})
        api.put("bookings", f"b{n}", {"client_id": "c1", "attendee_id": "a1",
                                      "programme_id": f"p{n}"})
    sessions = [  # (booking, day, hours, status, cancelled): now is Sunday 22 Nov 2026, 12:00
        (1, "2026-11-22", ("10:00", "11:00"), "expected", False),  # over this morning
        (1, "2026-11-23", ("09:00", "10:00"), "expected", True),  # cancelled by the provider
        (1, "2026-11-24", ("09:00", "10:00"), "excused", False),  # excused ahead
        (1, "2026-11-27", ("09:00", "10:00"), "expected", False),
        (1, "2026-11-25", ("09:00", "10:00"), "expected", False),  # sooner: the next one
        (2, "2026-11-15", ("09:00", "10:00"), "attended", False),  # nothing to come
        (3, "2026-11-22", ("11:30", "12:30"), "expected", False),  # under way
        (3, "2026-11-29", ("11:30", "12:30"), "expected", False)]
    for n, (booking, day, (start, end), status, cancelled) in enumerate(sessions):
        api.put("sessions", f"s{n}", {"programme_id": f"p{booking}",
                                      "starts_at": f"{day}T{start}:00Z",
                                      "ends_at": f"{day}T{end}:00Z", "cancelled": cancelled})
        api.put("attendance", f"t{n}", {"booking_id": f"b{booking}", "session_id": f"s{n}",
                                        "status": status})
    freeze(app)
    page = browser(app, mailbox, "ann@example.com").open("").text
    assert "Next for Leo Today 11:30–12:30 Dolphins" in text_of(page)
    assert text_of(section(page, "active-title")) == (
        "Bookings Dolphins Confirmed Lido Next session: Today, 11:30–12:30 "
        "Otters Confirmed Lido Next session: Wed 25 Nov, 09:00–10:00 "
        "Seals Confirmed Lido No upcoming sessions")


# --- the programme dashboard ----------------------------------------------------------------

def test_dashboard_shows_what_is_next_and_the_programme(sarah):
    page = sarah.open(f"bookings/{BEGINNERS}")
    assert page.status_code == 200
    nxt = section(page.text, "next-title")
    assert "Sat 28 Nov" in nxt and "09:00–09:45" in nxt
    assert "Learner pool, Harbourside Leisure Centre" in nxt
    assert "Cumberland Road, Bristol BS1 6XG" in nxt
    assert "Add to calendar" in nxt
    details = section(page.text, "details-title")
    for fact in ("Hannah Brooks", "Saturdays 09:00-09:45", "£96.00", "Towel hire £1.50",
                 "Booked on 23 Sept 2026"):
        assert fact in details
    assert "Progress photo pack" not in details  # offered, not booked
    assert "Confirmed" in text_of(page.text)
    links = section(page.text, "links-title")
    assert "15 sessions" in links and "2 of 5 attended" in links
    assert "All paid" in links and "2 make-ups available" in links
    assert "£97.50" in section(page.text, "payments-title")


def test_an_online_session_shows_its_link_from_15_minutes_before_until_it_ends(demo, sarah):
    starts = NOW.replace(day=25, hour=18, minute=0)  # Wednesday 18:00 in London (GMT)

    def dashboard_at(moment):
        freeze(demo, moment)
        return sarah.open(f"bookings/{ONLINE}").text

    link = 'href="https://meet.example.com/splash-water-safety"'
    early = dashboard_at(starts - timedelta(minutes=16))
    assert link not in early
    assert "The link to join appears here 15 minutes before the session starts." in early
    for moment in (starts - timedelta(minutes=15), starts, starts + timedelta(minutes=29)):
        page = dashboard_at(moment)
        assert link in page and "Join the online session" in page
    assert "Today" in section(dashboard_at(starts), "next-title")
    after = dashboard_at(starts + timedelta(minutes=30))
    assert link not in after
    assert "Wed 2 Dec" in section(after, "next-title")  # the next week's class


def test_a_finished_booking_has_nothing_next(sarah):
    page = sarah.open(f"bookings/{OLD_TERM}")
    assert "Finished" in text_of(page.text)
    assert "No upcoming sessions" in section(page.text, "next-title")


# --- sessions -------------------------------------------------------------------------------

def test_sessions_are_listed_upcoming_first_then_past_each_clearly_labelled(sarah):
    page = sarah.open(f"bookings/{BEGINNERS}/sessions").text
    upcoming, past = section(page, "upcoming-title"), section(page, "past-title")
    assert upcoming.startswith("Upcoming 9")
    assert past.startswith("Past sessions 6")
    days = re.findall(r"\w+day, \d+ \w+ \d{4}", upcoming)
    assert days[:3] == ["Saturday, 28 November 2026", "Saturday, 5 December 2026",
                        "Wednesday, 9 December 2026"]
    assert len(days) == 9 and "Saturday, 21 November 2026" in past
    labels = re.findall(r"(Attended|Excused|Missed|Class cancelled)\b", past)
    assert labels == ["Missed", "Attended", "Excused", "Class cancelled", "Excused", "Attended"]
    # Compact rows: a scheduled session in the usual place says nothing more; the place is
    # said once, above the list.
    assert upcoming.startswith("Upcoming 9 Learner pool Sat")
    assert upcoming.count("Scheduled") == 0 and upcoming.count("Learner pool") == 1
    assert page.count('data-status="scheduled"') == 9
    # The Wednesday catch-up class is the make-up he booked.
    wednesday = upcoming.split("Wednesday, 9 December 2026")[1].split("Saturday")[0]
    assert "Make-up" in wednesday
    # Statuses are words with an icon, coloured by tone, never colour alone.
    for tone, label in (("green", "Attended"), ("amber", "Excused"), ("red", "Missed"),
                        ("grey", "Class cancelled")):
        assert re.search(rf'data-tone="{tone}"><svg[^>]*>.*?</svg>{label}<', page, re.S)


def test_the_dashboard_counts_each_session_as_the_sessions_tab_labels_it(api, app, mailbox):
    api.put("clients", "c1", {"email": "ann@example.com", "name": "Ann Lee"})
    api.put("attendees", "a1", {"client_id": "c1", "name": "Leo Lee"})
    api.put("programmes", "p1", {"name": "Otters", "venue": "Lido"})
    api.put("bookings", "b1", {"client_id": "c1", "attendee_id": "a1", "programme_id": "p1"})
    kinds = [  # (day, recorded status, session cancelled): today is 22 Nov 2026
        ("2026-11-01", "attended", False), ("2026-11-08", "attended", False),
        ("2026-11-15", "missed", False), ("2026-10-25", "excused", False),
        ("2026-10-18", "expected", False),  # past, never marked: "not recorded yet"
        ("2026-10-11", "cancelled_by_provider", False),
        ("2026-11-29", "expected", True),  # the provider cancelled the class: not next
        ("2026-12-06", "expected", False), ("2026-12-13", "expected", False)]
    for n, (day, status, cancelled) in enumerate(kinds):
        api.put("sessions", f"s{n}", {"programme_id": "p1", "starts_at": f"{day}T09:00:00Z",
                                      "ends_at": f"{day}T09:45:00Z", "cancelled": cancelled})
        api.put("attendance", f"t{n}", {"booking_id": "b1", "session_id": f"s{n}",
                                        "status": status})
    freeze(app)
    parent = browser(app, mailbox, "ann@example.com")
    page = parent.open("bookings/b1").text
    links = section(page, "links-title")
    # Held: 2 attended, missed, excused, not recorded; the two cancelled count in the total.
    assert "9 sessions" in links and "2 of 5 attended" in links
    assert "Sun 6 Dec" in section(page, "next-title")
    tab = text_of(parent.open("bookings/b1/sessions").text)
    assert tab.count("Attended") == 2 and "Not recorded yet" in tab
    assert tab.count("Class cancelled") == 2


def weekly_booking(api, first: date, weeks: int, held: int) -> None:
    """Ann's Leo's booking b1 of Otters: a Sunday 09:00 session every week from `first`, the
    first `held` attended, the rest expected."""
    api.put("clients", "c1", {"email": "ann@example.com", "name": "Ann Lee"})
    api.put("attendees", "a1", {"client_id": "c1", "name": "Leo Lee"})
    api.put("programmes", "p1", {"name": "Otters", "venue": "Lido"})
    api.put("bookings", "b1", {"client_id": "c1", "attendee_id": "a1", "programme_id": "p1"})
    for week in range(weeks):
        day = (first + timedelta(weeks=week)).isoformat()
        api.put("sessions", f"s{week}", {"programme_id": "p1", "starts_at": f"{day}T09:00:00Z",
                                          "ends_at": f"{day}T09:45:00Z"})
        api.put("attendance", f"t{week}", {"booking_id": "b1", "session_id": f"s{week}",
                                           "status": "attended" if week < held else "expected"})


def rows_read_by(monkeypatch) -> list[int]:
    """How many rows each prepared statement reads from now on (`core.records`)."""
    from widget_server.core import records

    rows_read: list[int] = []
    real_run = records._Prepared.run
    monkeypatch.setattr(records._Prepared, "run", lambda self, *args: (
        lambda rows: rows_read.append(len(rows)) or rows)(real_run(self, *args)))
    return rows_read


def test_a_long_booking_s_dashboard_does_not_read_every_session(api, app, mailbox, monkeypatch):
    """The dashboard shows counts and the next session: it counts in the database instead of
    reading each of the booking's sessions (a term's 40 were a sixth of the page)."""
    weekly_booking(api, date(2026, 8, 9), weeks=30, held=16)  # the last this morning
    freeze(app)
    parent = browser(app, mailbox, "ann@example.com")
    parent.open("bookings/b1")  # statements are prepared on their second run
    rows_read = rows_read_by(monkeypatch)
    links = section(parent.open("bookings/b1").text, "links-title")
    assert "30 sessions" in links and "16 of 16 attended" in links
    assert rows_read and max(rows_read) < 5, rows_read


def test_a_long_history_shows_the_latest_past_sessions_and_a_link_to_all(api, app, mailbox):
    api.put("clients", "c1", {"email": "ann@example.com", "name": "Ann Lee"})
    api.put("attendees", "a1", {"client_id": "c1", "name": "Leo Lee"})
    api.put("programmes", "p1", {"name": "Otters", "venue": "Lido"})
    api.put("bookings", "b1", {"client_id": "c1", "attendee_id": "a1", "programme_id": "p1"})
    for week in range(14):  # Sundays 2 Aug .. 1 Nov 2026, all before the frozen today
        day = (date(2026, 8, 2) + timedelta(weeks=week)).isoformat()
        api.put("sessions", f"s{week}", {"programme_id": "p1", "starts_at": f"{day}T09:00:00Z",
                                          "ends_at": f"{day}T09:45:00Z"})
        api.put("attendance", f"t{week}", {"booking_id": "b1", "session_id": f"s{week}",
                                           "status": "attended"})
    freeze(app)
    parent = browser(app, mailbox, "ann@example.com")
    past = section(parent.open("bookings/b1/sessions").text, "past-title")
    assert past.startswith("Past sessions 14")  # the count is of all of them
    days = re.findall(r"\w+day, \d+ \w+ \d{4}", past)
    assert len(days) == 10 and days[0] == "Sunday, 1 November 2026"  # the latest ten
    assert days[-1] == "Sunday, 30 August 2026" and "Sunday, 23 August 2026" not in past
    assert "Show all 14 past sessions" in past

    everything = parent.open("bookings/b1/sessions?past=all").text
    days = re.findall(r"\w+day, \d+ \w+ \d{4}", section(everything, "past-title"))
    assert len(days) == 14 and days[-1] == "Sunday, 2 August 2026"
    assert "Show all" not in everything


def test_a_year_of_history_is_not_read_for_the_sessions_tab(api, app, mailbox, monkeypatch):
    """The tab lists the sessions to come and the latest ten past ones: a booking running for
    a year reads those (and counts the rest in the database), not its every session."""
    weekly_booking(api, date(2025, 11, 30), weeks=56, held=52)  # the last this morning
    freeze(app)
    parent = browser(app, mailbox, "ann@example.com")
    parent.open("bookings/b1/sessions")  # statements are prepared on their second run
    rows_read = rows_read_by(monkeypatch)
    tab = parent.open("bookings/b1/sessions").text
    assert section(tab, "upcoming-title").startswith("Upcoming 4")
    past = section(tab, "past-title")
    assert past.startswith("Past sessions 52") and "Show all 52 past sessions" in past
    days = re.findall(r"\w+day, \d+ \w+ \d{4}", past)
    assert len(days) == 10 and days[0] == "Sunday, 22 November 2026"
    assert rows_read and max(rows_read) <= 14, rows_read  # 4 to come and 10 past

    rows_read.clear()
    everything = parent.open("bookings/b1/sessions?past=all").text
    days = re.findall(r"\w+day, \d+ \w+ \d{4}", section(everything, "past-title"))
    assert len(days) == 52 and days[-1] == "Sunday, 30 November 2025"
    assert max(rows_read) == 56


def test_two_past_sessions_at_the_same_start_still_show_the_latest_ten(api, app, mailbox):
    """Twelve past sessions, two of them at the start of the tenth latest (the provider ran two
    groups that morning and the child was in both): the tab shows exactly ten, one of the two
    among them, and counts all twelve."""
    weekly_booking(api, date(2026, 8, 9), weeks=11, held=11)  # Sundays 9 Aug .. 18 Oct
    api.put("sessions", "extra", {"programme_id": "p1", "starts_at": "2026-08-16T09:00:00Z",
                                  "ends_at": "2026-08-16T09:45:00Z"})  # beside s1
    api.put("attendance", "t-extra", {"booking_id": "b1", "session_id": "extra",
                                      "status": "attended"})
    freeze(app)
    parent = browser(app, mailbox, "ann@example.com")
    past = section(parent.open("bookings/b1/sessions").text, "past-title")
    assert past.startswith("Past sessions 12") and "Show all 12 past sessions" in past
    days = re.findall(r"\w+day, \d+ \w+ \d{4}", past)
    assert len(days) == 10 and days[0] == "Sunday, 18 October 2026"
    assert days[-2:] == ["Sunday, 23 August 2026", "Sunday, 16 August 2026"]
    assert "Sunday, 9 August 2026" not in past


def test_the_sessions_tab_reads_the_booking_s_places_as_its_database_does_best(
        api, app, mailbox):
    """The latest ten past sessions and the count of all are picked in the database. PostgreSQL
    ranks the booking's places in one pass over them; SQLite counts them and finds the tenth
    latest in two subqueries, each a walk of the same index, which it does for less than it
    ranks them. Either way the booking's places are read by their (tenant, booking) index."""
    weekly_booking(api, date(2026, 8, 9), weeks=16, held=14)
    freeze(app)
    parent = browser(app, mailbox, "ann@example.com")
    parent.open("bookings/b1/sessions")  # statements are built once
    with counting_statements(app) as seen:
        tab = parent.open("bookings/b1/sessions").text
    assert section(tab, "past-title").startswith("Past sessions 16")
    rows = [sql for sql, _, _ in seen if "session_note" in sql]
    assert len(rows) == 1
    walks = rows[0].count("attendance.booking_id = ")
    assert walks == (1 if app.state.engine.dialect.name == "postgresql" else 3), rows[0]


def test_an_unrecorded_past_session_says_so_and_empty_lists_say_what_to_expect(api, app,
                                                                                mailbox):
    api.put("clients", "c1", {"email": "ann@example.com", "name": "Ann Lee"})
    api.put("attendees", "a1", {"client_id": "c1", "name": "Leo Lee"})
    api.put("programmes", "p1", {"name": "Otters", "venue": "Lido"})
    api.put("sessions", "s1", {"programme_id": "p1", "starts_at": "2026-11-01T09:00:00Z",
                               "ends_at": "2026-11-01T09:45:00Z"})
    api.put("bookings", "b1", {"client_id": "c1", "attendee_id": "a1", "programme_id": "p1"})
    api.put("attendance", "t1", {"booking_id": "b1", "session_id": "s1"})
    freeze(app)
    page = browser(app, mailbox, "ann@example.com").open("bookings/b1/sessions").text
    assert "Not recorded yet" in section(page, "past-title")
    assert "No upcoming sessions" in section(page, "upcoming-title")


def test_a_class_the_provider_cancelled_reads_cancelled_even_if_attendance_was_not_updated(
        api, app, mailbox):
    api.put("clients", "c1", {"email": "ann@example.com", "name": "Ann Lee"})
    api.put("attendees", "a1", {"client_id": "c1", "name": "Leo Lee"})
    api.put("programmes", "p1", {"name": "Otters"})
    api.put("sessions", "s1", {"programme_id": "p1", "starts_at": "2026-12-01T09:00:00Z",
                               "ends_at": "2026-12-01T09:45:00Z", "cancelled": True})
    api.put("bookings", "b1", {"client_id": "c1", "attendee_id": "a1", "programme_id": "p1"})
    api.put("attendance", "t1", {"booking_id": "b1", "session_id": "s1"})
    freeze(app)
    page = browser(app, mailbox, "ann@example.com").open("bookings/b1/sessions").text
    assert "Class cancelled" in section(page, "upcoming-title")
    assert "Add " not in section(page, "upcoming-title")  # nothing to put in a calendar


def test_a_booking_the_provider_cancelled_says_its_sessions_are_no_longer_booked(api, app,
                                                                                mailbox):
    api.put("clients", "c1", {"email": "ann@example.com", "name": "Ann Lee"})
    api.put("attendees", "a1", {"client_id": "c1", "name": "Leo Lee"})
    api.put("programmes", "p1", {"name": "Otters"})
    api.put("sessions", "s1", {"programme_id": "p1", "starts_at": "2026-12-01T09:00:00Z",
                               "ends_at": "2026-12-01T09:45:00Z"})
    api.put("bookings", "b1", {"client_id": "c1", "attendee_id": "a1", "programme_id": "p1"})
    api.put("attendance", "t1", {"booking_id": "b1", "session_id": "s1"})
    freeze(app)
    ann = browser(app, mailbox, "ann@example.com")
    booked = ann.open("bookings/b1/sessions").text
    assert "no longer booked" not in booked and "cp-sessions-void" not in booked
    api.put("bookings", "b1", {"client_id": "c1", "attendee_id": "a1", "programme_id": "p1",
                               "status": "cancelled"})
    page = ann.open("bookings/b1/sessions").text
    assert "This booking is cancelled, so these sessions are no longer booked." in section(
        page, "upcoming-title")
    assert 'class="cp-sessions cp-sessions-void"' in page
    assert "cp-text-action" not in page  # nothing to cancel or move


# --- benefits, orders, account ----------------------------------------------------------------

def test_benefits_answer_do_i_still_have_a_make_up_and_where_did_my_credit_go(sarah):
    page = sarah.open("benefits").text
    makeups = section(page, "makeups-title")
    assert "You have 2 make-up sessions to book." in makeups
    assert "For Beginners (Stage 1) on 7 Nov 2026 Use by 6 Jan 2027 Available" in makeups
    assert "Used on 9 Dec 2026 Used" in makeups
    assert "Mia Thompson For Improvers (Stage 3) on 1 Aug 2026 Expired on 30 Sept 2026" \
        in makeups
    discounts = section(page, "discounts-title")
    assert "Sibling discount · 10% Whole family · valid until 23 May 2027 Available" in discounts
    assert "Loyalty discount · £5.00 Mia Thompson" in discounts
    assert "Early bird · 15% Whole family · ended 23 Oct 2026 Expired" in discounts
    passes = section(page, "passes-title")
    assert "Family Fun Swim 10-visit pass Available 7 entries left 3 of 10 used" in passes
    assert "valid until 21 Feb 2027" in passes and "3 entries used" in passes
    assert "1 entry left 4 of 5 used" in passes and "expired on 13 Oct 2026" in passes
    credit = section(page, "credit-title")
    assert "Balance: £30.00" in credit
    assert "15 Nov 2026 Used for Water Safety Online -£8.00" in credit
    assert "22 Sept 2026 Top-up +£50.00" in credit


def test_orders_show_items_vat_promo_codes_and_what_is_still_to_pay(sarah):
    page = sarah.open("orders").text
    to_pay = section(page, "to-pay-title")
    assert to_pay.index("£54.00") < to_pay.index("£18.00")  # the most urgent first
    assert "was due 12 Nov 2026" in to_pay and "Overdue" in to_pay
    assert "due 27 Nov 2026" in to_pay and "To pay" in to_pay
    assert "IBAN GB33 BUKB 2020 1555 5555 55" in to_pay and "Reference SPLASH-1005" in to_pay
    orders = section(page, "orders-title") + text_of(page.split('id="payments-title"')[0])
    assert "Order SPL-5001" in orders and "Paid" in orders
    assert "Splash silicone swim cap 2 £16.00 20%" in orders
    assert "Subtotal £80.00 Promo code SPLASH10 −£8.00 Total £72.00 Including VAT £4.50" \
        in orders
    assert "Family Fun Swim 10-visit pass : 7 entries left" in orders
    history = section(page, "payments-title")
    assert "24 Sept 2026 Beginners (Stage 1) – Oliver £97.50 Paid INV-2026-0041" in history
    assert 'href="http://testserver/t/demo/invoices/inv-41"' in page


def test_account_shows_the_login_and_logs_out(sarah):
    page = sarah.open("account")
    details = section(page.text, "details-title")
    assert "Name Sarah Thompson" in details
    assert "Login e-mail sarah.thompson@example.com" in details
    assert "Phone +44 7700 900123" in details
    assert "Oliver Thompson" in section(page.text, "members-title")
    assert sarah.post("logout/everywhere", {}).status_code == 303
    assert sarah.home().status_code == 303


@pytest.mark.parametrize("path", ["", "bookings/bk-1001", "bookings/bk-1001/sessions",
                                  "benefits", "orders", "account"])
def test_every_profile_page_asks_to_log_in_first(demo, client, path):
    response = client.get(f"/t/demo/{path}", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "http://testserver/t/demo/login"


def test_navigation_marks_the_current_section(sarah):
    home = sarah.open("").text
    assert re.search(r'<nav class="cp-nav" aria-label="Sections">', home)
    assert re.search(r'/t/demo/"\s+aria-current="page"', home)
    booking = sarah.open("bookings/bk-1001").text
    assert re.search(r'/t/demo/"\s+aria-current="true"', booking)  # inside Bookings
    assert re.search(r'/t/demo/benefits"\s+aria-current="page"', sarah.open("benefits").text)
    assert re.search(r'/t/demo/orders"\s+aria-current="page"', sarah.open("orders").text)
    assert re.search(r'/t/demo/account"\s+aria-current="page"', sarah.open("account").text)


def test_the_section_tabs_are_made_once_per_section_and_stay_right(sarah, monkeypatch):
    """The tabs are the same on every page of a section: made on the section's first page,
    then reused (making them cost every page 45 us). Reused, they still mark the page's own
    section, as the section itself or as a page inside it."""
    from widget_server.web import templating

    sarah.open("bookings/bk-1001/sessions")  # the tabs of a page inside Bookings: made
    linked: list[str] = []
    real = templating.link_for
    monkeypatch.setattr(templating, "link_for", lambda request, name, /, **params: (
        linked.append(name) or real(request, name, **params)))
    sessions = sarah.open("bookings/bk-1002/sessions").text
    assert "benefits" not in linked  # only the tabs link there from a sessions tab
    assert re.search(r'/t/demo/"\s+aria-current="true"', sessions)
    tabs = sessions[sessions.index('<nav class="cp-nav"'):sessions.index("</nav>")]
    assert tabs in sarah.open("bookings/bk-1001").text  # the same tabs on its dashboard
    benefits = sarah.open("benefits").text  # the first page of Benefits: its tabs made
    assert "benefits" in linked
    assert re.search(r'/t/demo/benefits"\s+aria-current="page"', benefits)
    assert re.search(r'/t/demo/"\s+aria-current="page"', sarah.open("").text)


def test_the_session_badges_are_made_once_per_school_and_language_and_stay_right(demo, sarah,
                                                                                 mailbox):
    """Every sessions tab prints the same status badges: made on a school's first sessions
    tab in a language, then reused (made on each, 18 macro calls a page). What is kept is
    what the rows print; another school or language gets its own."""
    first = sarah.open(f"bookings/{BEGINNERS}/sessions").text
    made = demo.state.templates.env.cp_made
    (key,) = [k for k in made if k[0] == "demo"]  # the demo school's, in English
    assert made[key]["attended"] in first and made[key]["missed"] in first
    made[key] = {**made[key], "attended": Markup('<span class="kept">Kept</span>')}
    again = section(sarah.open(f"bookings/{BEGINNERS}/sessions").text, "past-title")
    assert again.count("Kept") == 2 and "Attended" not in again  # the kept badges, reused
    assert "Missed" in again  # the others as they were
    jana = browser(demo, mailbox, JANA, "demo-sk")
    slovak = section(jana.open("bookings/bk-1001/sessions").text, "past-title")
    assert "Absolvovaná" in slovak and "Kept" not in slovak  # made for Slovak, apart
    assert len([k for k in made if k[0] == "demo-sk"]) == 1


def test_the_theme_head_is_made_once_per_theme_and_address(demo, sarah):
    """The stylesheet's and the script's links and the theme's colours head every page: made
    on the first page of a school's theme at one address, then reused (25 us a page)."""
    heads = demo.state.templates.env.cp_heads
    home = sarah.open("").text
    (key,) = [k for k in heads if k[0] == "demo" and not k[3]]
    theme, head = heads[key]
    assert head in home and "--cp-primary: #0b5cad" in head and "<script src=" in head
    heads[key] = (theme, Markup('<style>:root { --cp-primary: #123456; }</style>'))
    account = sarah.open("account").text  # another page: the kept head, reused
    assert "--cp-primary: #123456" in account and "--cp-primary: #0b5cad" not in account
    other = sarah.open("", headers={"host": "profile.example"}).text  # another address: its own
    assert "--cp-primary: #0b5cad" in other and "http://profile.example/assets/widget." in other


def test_headings_go_in_order_on_every_screen(sarah):
    for path in ("", "bookings/bk-1001", "bookings/bk-1001/sessions", "benefits", "orders",
                 "account"):
        levels = [int(n) for n in re.findall(r"<h([1-6])\b", sarah.open(path).text)]
        assert levels[0] == 1 and levels.count(1) == 1, path
        assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False)), path


# --- languages, dates and money ---------------------------------------------------------------

def test_a_slovak_family_reads_slovak_dates_and_euros(demo, mailbox):
    jana = browser(demo, mailbox, JANA, "demo-sk")
    home = jana.open("")
    assert 'lang="sk"' in home.text
    assert "Dobrý deň, Jana Kováčová" in home.text
    assert "Zaplatiť 75,90 €" in text_of(home.text)  # 60,00 € overdue + 15,90 € (OBJ-5002)
    assert "1 platba po splatnosti" in text_of(home.text)
    board = text_of(jana.open("bookings/bk-1001").text)
    assert "Sobota 28. novembra 2026" in board and "so 28. 11." in board
    assert "90,00 €" in board and "9:00 – 9:45" in board
    orders = text_of(jana.open("orders").text)
    assert "Objednávka OBJ-5001" in orders and "23 %" in orders
    benefits = text_of(jana.open("benefits").text)
    assert "Môžete si rezervovať 2 náhradné hodiny." in benefits


def test_each_session_row_s_links_name_its_day_in_the_family_s_language(demo, sarah, mailbox):
    """A screen reader hears which session a row's "Cancel" and calendar links are for."""
    rows = sarah.open(f"bookings/{BEGINNERS}/sessions").text
    row = rows.split('id="session-')[2].split("</li>")[0]  # Saturday, 5 December 2026
    assert 'aria-label="Cancel, Saturday, 5 December 2026"' in row
    assert re.search(rf'href="[^"]*/bookings/{BEGINNERS}/sessions/[^"/]+\.ics"', row)
    assert "Add Sat 5 Dec to calendar</span>" in row
    jana = browser(demo, mailbox, JANA, "demo-sk")
    row = jana.open("bookings/bk-1001/sessions").text.split('id="session-')[2]
    assert re.search(r">Pridať so 5\. 12\. do kalendára</span>", row.split("</li>")[0])


def test_a_client_who_reads_english_gets_english_at_a_slovak_school(demo, mailbox):
    emily = browser(demo, mailbox, EMILY, "demo-sk")
    page = emily.open("")
    assert 'lang="en"' in page.text and "Hello, Emily Clarke" in page.text
    assert "€90.00" in text_of(emily.open("bookings/bk-1025").text)
    # The sessions tab's rows, formatted before the page is rendered, in her language too.
    rows = emily.open("bookings/bk-1025/sessions").text
    first = rows.split('id="session-')[1].split("</li>")[0]
    assert "<small>Sat</small>" in first and "<small>Nov</small>" in first
    assert "Saturday, November 28, 2026, </span>" in first and "Add Sat, Nov 28 to" in first


def test_errors_inside_the_widget_keep_the_schools_look_and_language(demo, sarah, mailbox):
    missing = sarah.open("bookings/no-such-booking")
    assert missing.status_code == 404
    assert "We could not find that page" in missing.text
    assert "Splash Swim School" in missing.text and "--cp-primary: #0b5cad" in missing.text
    assert 'href="http://testserver/t/demo/"' in missing.text  # a way back
    jana = browser(demo, mailbox, JANA, "demo-sk")
    slovak = jana.open("nothing-here")
    assert slovak.status_code == 404 and 'lang="sk"' in slovak.text
    assert "Tanečná škola Piruetka" in slovak.text
