"""Saturdays no longer work: a family changes its child's class for the rest of the term. The
booking's dashboard offers "Change class"; the page lists the programme's other weekly groups
and the classes of its make-up group with a place in every remaining session, and the price
difference. Instant: the remaining places move at once, all or none, never over capacity. On
request: the provider confirms or declines through the API. Sessions already attended,
cancelled or inside the cutoff stay where they are."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from threading import Barrier

import pytest
from conftest import sqlite_only
from profile_support import counting_statements, text_of
from self_service_support import DAY, School
from sqlmodel import Session, select

from widget_server.core.errors import Refused, ViewOnly
from widget_server.core.models import Attendance, Booking, BookingSwitch, ClassSession
from widget_server.selfservice import switching

SAT = 6 * DAY - timedelta(hours=4)  # Saturday 28 Nov, 09:00 in Bratislava
SUN = 7 * DAY - timedelta(hours=3, minutes=30)  # Sunday 29 Nov, 09:30
WED = 3 * DAY + timedelta(hours=3, minutes=30)  # Wednesday 25 Nov, 16:30
WEEK = 7 * DAY


@pytest.fixture
def school(app, client) -> School:
    s = School(app)  # Piruetka, Bratislava; NOW is Sunday 22 November 2026, 13:00 there
    with s.batch():
        s.programme("ballet", name="Ballet Saturdays", price=9000, makeup_group="balet",
                    switch_policy="instant")
        s.programme("ballet-wed", name="Ballet Wednesdays", price=12000, makeup_group="balet",
                    switch_policy="instant")
        s.programme("jazz", name="Jazz", makeup_group="jazz")
        for week in (-2, -1, 0, 1, 2, 3):
            s.session(f"sat{week}", "ballet", SAT + week * WEEK, capacity=8)
        for week in range(4):
            s.session(f"sun{week}", "ballet", SUN + week * WEEK, capacity=8, location="Hall B")
        for week in range(5):
            s.session(f"wed{week}", "ballet-wed", WED + week * WEEK, capacity=2)
            s.session(f"jazz{week}", "jazz", WED + DAY + week * WEEK, capacity=9)
        for key in ("ann", "bob"):
            s.family(key, locale="en-GB")
            s.booking(f"b-{key}", f"{key}-parent", f"{key}-child", "ballet")
        statuses = {-2: "attended", -1: "excused", 0: "expected", 1: "excused", 2: "expected",
                    3: "expected"}
        for week, status in statuses.items():
            s.attend(f"ann-sat{week}", "b-ann", f"sat{week}", status)
            s.attend(f"bob-sat{week}", "b-bob", f"sat{week}", "expected")
    return s


def sessions_of(s: School, booking: str) -> dict[str, tuple[str, str]]:
    """attendance id -> (session id, status)."""
    with Session(s.engine) as db:
        rows = db.exec(select(Attendance.external_id, ClassSession.external_id,
                              Attendance.status)
                       .join(ClassSession, ClassSession.id == Attendance.session_id)
                       .join(Booking, Booking.id == Attendance.booking_id)
                       .where(Booking.external_id == booking)).all()
    return {a: (sess, status) for a, sess, status in rows}


def key(s: School, programme: str, session: str) -> str:
    row = s.one(ClassSession, ClassSession.external_id == session)
    return switching.class_key(type("P", (), {"external_id": programme}), row.starts_at,
                               s.tenant.zone)


def test_ann_moves_her_child_to_wednesdays_at_once(school, mailbox):
    s = school
    ann = s.browser(mailbox, "ann@example.com")
    assert "Change class" in text_of(ann.open("bookings/b-ann").text)
    page = text_of(ann.open("bookings/b-ann/switch").text)
    assert ("Kid has 3 sessions left that can still be changed, from 28 Nov 2026. They move to "
            "the class you choose.") in page
    # The programme's Sunday group first (same price), then Wednesdays (3 x (€24 - €15)).
    assert page.index("Ballet Saturdays From Sunday, 29 November") < page.index(
        "Ballet Wednesdays From Wednesday, 25 November")
    assert "Hall B" in page and "Same price" in page
    assert "€27.00 more for the rest of the term" in page
    assert "Jazz" not in page  # another make-up group
    assert "The change happens at once" in page

    wed = key(s, "ballet-wed", "wed0")
    answer = ann.post("bookings/b-ann/switch", {"class": wed})
    assert answer.status_code == 303
    assert answer.headers["location"].endswith("/bookings/b-ann?done=switch_switched")
    done = text_of(ann.open("bookings/b-ann?done=switch_switched").text)
    assert "Class changed: Kid Ann now goes to Ballet Wednesdays." in done

    assert sessions_of(s, "b-ann") == {
        "ann-sat-2": ("sat-2", "attended"), "ann-sat-1": ("sat-1", "excused"),
        "ann-sat0": ("wed0", "expected"), "ann-sat1": ("sat1", "excused"),
        "ann-sat2": ("wed1", "expected"), "ann-sat3": ("wed2", "expected")}
    assert s.one(Booking, Booking.external_id == "b-ann").programme_id == s.one(
        ClassSession, ClassSession.external_id == "wed0").programme_id
    [event] = s.events("booking.switched")
    data = event["data"]
    assert data | {"switch_id": None, "requested_at": None, "decided_at": None} == {
        "client_id": "ann-parent", "switch_id": None, "status": "switched",
        "booking_id": "b-ann", "attendee_id": "ann-child", "from_programme_id": "ballet",
        "to_programme_id": "ballet-wed", "price_difference": 2700, "currency": "EUR",
        "requested_by": "ann@example.com", "requested_at": None, "decided_at": None,
        "message": None, "sessions": [
            {"attendance_id": "ann-sat0", "from_session_id": "sat0", "to_session_id": "wed0"},
            {"attendance_id": "ann-sat2", "from_session_id": "sat2", "to_session_id": "wed1"},
            {"attendance_id": "ann-sat3", "from_session_id": "sat3", "to_session_id": "wed2"}]}
    [letter] = s.emails("switch_switched")
    assert letter["to"] == "ann@example.com"
    assert letter["subject"] == "Class changed: Kid Ann, Ballet Wednesdays"
    assert "3 sessions moved" in letter["text"] and "€27.00" in letter["text"]
    # The sessions tab shows the new class's sessions to come.
    sessions = text_of(ann.open("bookings/b-ann/sessions").text)
    assert "Wednesday" in sessions or "Wed" in sessions


def test_a_make_up_in_the_booking_does_not_change_what_the_new_class_costs(school, mailbox):
    """The booking's price pays for its own six places: a make-up it also holds (here in
    another class) is not one of them, so Wednesdays still cost 3 x (€24 - €15) more."""
    s = school
    s.attend("ann-mk", "b-ann", "jazz0", makeup=True)
    page = text_of(s.browser(mailbox, "ann@example.com").open("bookings/b-ann/switch").text)
    assert "€27.00 more for the rest of the term" in page


def test_a_session_the_booking_is_in_already_is_not_one_to_move_to(school, mailbox):
    """Ann's child makes up a class on Wednesday 25 November: Wednesdays are offered from the
    week after, and her places move to the three Wednesdays she is not in yet."""
    s = school
    s.attend("ann-mk", "b-ann", "wed0", makeup=True)
    ann = s.browser(mailbox, "ann@example.com")
    page = text_of(ann.open("bookings/b-ann/switch").text)
    assert "Ballet Wednesdays From Wednesday, 2 December" in page
    assert "From Wednesday, 25 November" not in page
    assert "€27.00 more for the rest of the term" in page  # the make-up is not paid for
    assert ann.post("bookings/b-ann/switch",
                    {"class": key(s, "ballet-wed", "wed1")}).status_code == 303
    moved = sessions_of(s, "b-ann")
    assert [moved[a] for a in ("ann-mk", "ann-sat0", "ann-sat2", "ann-sat3")] == [
        ("wed0", "expected"), ("wed1", "expected"), ("wed2", "expected"), ("wed3", "expected")]


def test_a_class_s_price_is_shared_by_all_its_sessions_past_ones_too(school, mailbox):
    """Wednesdays also had two sessions before today: €120 is for seven sessions, so the three
    places cost 3 x (€17.14 - €15) more, not 3 x (€24 - €15)."""
    s = school
    with s.batch():
        for week in (1, 2):
            s.session(f"wed-past{week}", "ballet-wed", WED - week * WEEK, capacity=2)
    page = text_of(s.browser(mailbox, "ann@example.com").open("bookings/b-ann/switch").text)
    assert "€6.43 more for the rest of the term" in page


def timetable_rows(s: School, seen: list) -> list[tuple]:
    """The rows of the page's timetable statement, run again as the page sent it."""
    [(sql, parameters)] = [(sql, parameters) for sql, parameters, _ in seen
                           if "ORDER BY session.programme_id, session.starts_at" in sql]
    raw = s.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(sql, parameters)
        return cursor.fetchall()
    finally:
        raw.close()


def test_without_a_price_to_work_out_only_the_sessions_to_come_are_read(school, mailbox):
    """Tap has two weekly groups and no make-up group: a change costs the same in either, so
    the page reads the timetable's sessions to come only, not the term's past ones too."""
    s = school
    with s.batch():
        s.programme("tap", name="Tap", switch_policy="instant")
        for week in (-3, -2, -1, 0, 1, 2):
            s.session(f"tap-sat{week}", "tap", SAT + week * WEEK, capacity=8)
            s.session(f"tap-wed{week}", "tap", WED + week * WEEK, capacity=8)
        s.booking("b-tap", "ann-parent", "ann-child", "tap")
        for week in (-1, 0, 1, 2):
            s.attend(f"ann-tap{week}", "b-tap", f"tap-sat{week}")
    ann = s.browser(mailbox, "ann@example.com")
    ann.open("bookings/b-tap/switch")  # statements are built once
    with counting_statements(s.app) as seen:
        page = text_of(ann.open("bookings/b-tap/switch").text)
    assert "Tap From Wednesday, 25 November" in page and "Same price" in page
    assert len(timetable_rows(s, seen)) == 3 + 3  # Saturdays 0-2, Wednesdays 0-2
    # Ballet's Wednesdays have their own price: there the past sessions are read as well.
    with counting_statements(s.app) as seen:
        ann.open("bookings/b-ann/switch")
    assert len(timetable_rows(s, seen)) == 6 + 4 + 5  # Saturdays, Sundays, Wednesdays


def test_moving_to_another_group_of_the_same_programme(school, mailbox):
    s = school
    ann = s.browser(mailbox, "ann@example.com")
    assert ann.post("bookings/b-ann/switch",
                    {"class": key(s, "ballet", "sun0")}).status_code == 303
    moved = sessions_of(s, "b-ann")
    assert [moved[a] for a in ("ann-sat0", "ann-sat2", "ann-sat3")] == [
        ("sun0", "expected"), ("sun1", "expected"), ("sun2", "expected")]
    [event] = s.events("booking.switched")
    assert event["data"]["to_programme_id"] == "ballet" and event["data"][
        "price_difference"] == 0


def test_a_class_full_in_one_remaining_session_cannot_be_chosen(school, mailbox):
    s = school
    s.put("bookings", "b-x", client_id="bob-parent", attendee_id="bob-child",
          programme_id="ballet-wed")
    s.attend("x1", "b-x", "wed1")
    s.put("bookings", "b-y", client_id="bob-parent", attendee_id="bob-child",
          programme_id="ballet-wed")
    s.attend("y1", "b-y", "wed1")  # wed1: 2 of 2 taken
    ann = s.browser(mailbox, "ann@example.com")
    page = ann.open("bookings/b-ann/switch").text
    wed = key(s, "ballet-wed", "wed0")
    row = page[page.index(f'value="{wed}"') - 200:]
    assert "disabled" in row[:400] and "Full on 2 Dec 2026" in text_of(row)
    refused = ann.post("bookings/b-ann/switch", {"class": wed})
    assert refused.status_code == 409 and "has just filled up" in text_of(refused.text)
    assert sessions_of(s, "b-ann")["ann-sat0"] == ("sat0", "expected")  # nothing moved
    assert s.events("booking.switched") == [] and s.emails("switch_switched") == []


def changes_by_request(s: School) -> None:
    """Ballet's changes of class wait for the provider's answer."""
    s.put("programmes", "ballet", name="Ballet Saturdays", price=9000, makeup_group="balet",
          switch_policy="request", makeup_policy="same_programme", cancel_cutoff_hours=6,
          venue="Hall")


def test_a_request_waits_for_the_provider_who_confirms_it(school, mailbox, api):
    s = school
    changes_by_request(s)
    ann = s.browser(mailbox, "ann@example.com")
    page = text_of(ann.open("bookings/b-ann/switch").text)
    assert "Ask for the change" in page and "confirms the change" in page
    wed = key(s, "ballet-wed", "wed0")
    answer = ann.post("bookings/b-ann/switch", {"class": wed})
    assert answer.headers["location"].endswith("?done=switch_requested")
    board = text_of(ann.open("bookings/b-ann?done=switch_requested").text)
    assert "Your request is sent." in board and "You asked to change Kid's class" in board
    assert "Change class" not in board.replace("change Kid's class", "")
    assert sessions_of(s, "b-ann")["ann-sat0"] == ("sat0", "expected")  # not yet
    [requested] = s.events("booking.switch_requested")
    change = requested["data"]["switch_id"]
    assert requested["data"]["status"] == "requested"
    assert [m["to_session_id"] for m in requested["data"]["sessions"]] == ["wed0", "wed1",
                                                                           "wed2"]
    assert s.emails("switch_requested")[0]["subject"] == "Class change requested: Kid Ann"
    # A second request while one waits is refused.
    again = ann.post("bookings/b-ann/switch", {"class": key(s, "ballet", "sun0")})
    assert again.status_code == 409

    api = api.as_tenant("demo-sk")
    waiting = api.get("switches", status="requested").json()
    assert [c["id"] for c in waiting["items"]] == [change]
    confirmed = api.client.post(f"/api/v1/switches/{change}/confirm", headers=api.headers)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "switched"
    assert sessions_of(s, "b-ann")["ann-sat3"] == ("wed2", "expected")
    [switched] = s.events("booking.switched")
    assert switched["data"]["switch_id"] == change
    assert len(s.emails("switch_switched")) == 1
    # Answered once.
    twice = api.client.post(f"/api/v1/switches/{change}/confirm", headers=api.headers)
    assert twice.status_code == 409 and "already switched" in twice.json()["detail"]
    assert api.get("switches", status="requested").json()["items"] == []


def test_the_provider_declines_a_request_with_a_message(school, mailbox, api):
    s = school
    changes_by_request(s)
    ann = s.browser(mailbox, "ann@example.com")
    ann.post("bookings/b-ann/switch", {"class": key(s, "ballet-wed", "wed0")})
    change = s.one(BookingSwitch).external_id
    api = api.as_tenant("demo-sk")
    bad = api.client.post(f"/api/v1/switches/{change}/decline", json={"message": 5},
                          headers=api.headers)
    assert bad.status_code == 422
    answer = api.client.post(f"/api/v1/switches/{change}/decline",
                             json={"message": "Wednesdays are full until January."},
                             headers=api.headers)
    assert answer.status_code == 200 and answer.json()["status"] == "declined"
    [letter] = s.emails("switch_declined")
    assert "Wednesdays are full until January." in letter["text"]
    page = text_of(ann.open("bookings/b-ann/switch").text)
    assert "Wednesdays are full until January." in page and "Ask for the change" in page
    assert sessions_of(s, "b-ann")["ann-sat0"] == ("sat0", "expected")


def test_a_family_takes_back_its_request(school, mailbox):
    s = school
    changes_by_request(s)
    ann = s.browser(mailbox, "ann@example.com")
    ann.post("bookings/b-ann/switch", {"class": key(s, "ballet-wed", "wed0")})
    assert "Take back the request" in text_of(ann.open("bookings/b-ann/switch").text)
    back = ann.post("bookings/b-ann/switch/cancel", {})
    assert back.headers["location"].endswith("?done=switch_cancelled")
    assert s.one(BookingSwitch).status == "cancelled"
    assert ann.post("bookings/b-ann/switch/cancel", {}).status_code == 409


def test_the_dashboard_reads_the_waiting_change_afresh_without_building_orm_objects(
        school, mailbox, api):
    """Every view of a booking asks for its latest change of class: it is read as a record
    (an ORM object cost twice the statement), always afresh, so the provider's answer shows
    at once."""
    from sqlalchemy import event

    s = school
    changes_by_request(s)
    ann = s.browser(mailbox, "ann@example.com")
    ann.post("bookings/b-ann/switch", {"class": key(s, "ballet-wed", "wed0")})
    built: list[BookingSwitch] = []

    def loaded(target, context):
        built.append(target)

    event.listen(BookingSwitch, "load", loaded)
    try:
        assert "You asked to change Kid's class" in text_of(ann.open("bookings/b-ann").text)
        assert "Take back the request" in text_of(ann.open("bookings/b-ann/switch").text)
        assert built == []
    finally:
        event.remove(BookingSwitch, "load", loaded)
    change = s.one(BookingSwitch).external_id
    api = api.as_tenant("demo-sk")
    api.client.post(f"/api/v1/switches/{change}/decline", json={"message": "Full."},
                    headers=api.headers)
    board = text_of(ann.open("bookings/b-ann").text)
    assert "You asked to change Kid's class" not in board and "Change class" in board


def test_each_booking_shows_its_own_latest_change_of_class(school, mailbox, api):
    """A booking's dashboard and its change-class page read the booking's latest change with
    the booking itself: another family's request is not theirs, a declined change followed by a
    new request shows the new one, and a programme that stops allowing changes shows none."""
    s = school
    changes_by_request(s)
    ann = s.browser(mailbox, "ann@example.com")
    bob = s.browser(mailbox, "bob@example.com")
    ann.post("bookings/b-ann/switch", {"class": key(s, "ballet-wed", "wed0")})
    first = s.one(BookingSwitch).external_id
    board = text_of(bob.open("bookings/b-bob").text)
    assert "You asked to change" not in board and "Change class" in board
    page = text_of(bob.open("bookings/b-bob/switch").text)
    assert "Take back the request" not in page and "Ask for the change" in page

    api = api.as_tenant("demo-sk")
    api.client.post(f"/api/v1/switches/{first}/decline", json={"message": "Full."},
                    headers=api.headers)
    assert "Full." in text_of(ann.open("bookings/b-ann/switch").text)
    ann.post("bookings/b-ann/switch", {"class": key(s, "ballet", "sun0")})
    with counting_statements(s.app) as asking:
        board = text_of(ann.open("bookings/b-ann").text)
    assert "You asked to change Kid's class" in board
    page = text_of(ann.open("bookings/b-ann/switch").text)
    assert "Take back the request" in page and "Full." not in page

    s.put("programmes", "ballet", name="Ballet Saturdays", price=9000, makeup_group="balet",
          switch_policy="none", makeup_policy="same_programme", cancel_cutoff_hours=6,
          venue="Hall")
    with counting_statements(s.app) as fixed:
        board = text_of(ann.open("bookings/b-ann").text)
    assert "You asked to change" not in board and "Change class" not in board
    assert ann.open("bookings/b-ann/switch").status_code == 404
    # The change comes with the booking: no statement of its own where changes are allowed.
    assert len(asking) == len(fixed)


def test_fifty_switches_into_the_last_place_move_one_booking_whole(app):
    s = School(app)
    with s.batch():
        s.programme("sat", name="Saturdays", makeup_group="g", switch_policy="instant")
        s.programme("wed", name="Wednesdays", makeup_group="g")
        for week in range(3):
            s.session(f"sat{week}", "sat", SAT + week * WEEK)
            s.session(f"wed{week}", "wed", WED + week * WEEK, capacity=2 if week == 1 else 1)
        s.session("wed-taken", "wed", WED + 3 * WEEK)
        for n in range(50):
            s.family(f"f{n}")
            s.booking(f"b{n}", f"f{n}-parent", f"f{n}-child", "sat")
            for week in range(3):
                s.attend(f"a{n}-{week}", f"b{n}", f"sat{week}")
    target = key(s, "wed", "wed0")
    accesses = [s.access(f"f{n}@example.com") for n in range(50)]
    notices = s.notices()
    start = Barrier(50)

    def attempt(n: int) -> str:
        start.wait()  # all fifty at once, each on its own connection
        try:
            with Session(s.engine, expire_on_commit=False) as db:
                switching.switch(db, s.tenant, accesses[n], f"b{n}", target, s.now, notices)
                db.commit()
            return "switched"
        except Refused as refused:
            return refused.reason

    with ThreadPoolExecutor(50) as pool:
        results = Counter(pool.map(attempt, range(50)))
    assert results == {"switched": 1, "switch_full": 49}
    with Session(s.engine) as db:
        per_session = Counter(db.exec(select(ClassSession.external_id)
                                      .join(Attendance,
                                            Attendance.session_id == ClassSession.id)).all())
    assert {k: per_session[k] for k in ("wed0", "wed1", "wed2")} == {
        "wed0": 1, "wed1": 1, "wed2": 1}  # never over capacity
    # Every booking is whole: all three places in Saturdays, or all three in Wednesdays.
    assert per_session["sat0"] == per_session["sat1"] == per_session["sat2"] == 49
    assert len(s.events("booking.switched")) == 1


def test_a_view_share_sees_the_classes_and_cannot_switch(school, mailbox):
    s = school
    s.put("shares", "sh-gran", booking_id="b-ann", email="gran@example.com", access="view")
    s.put("shares", "sh-dad", booking_id="b-ann", email="dad@example.com", access="full")
    gran = s.browser(mailbox, "gran@example.com")
    page = gran.open("bookings/b-ann/switch")
    assert page.status_code == 200 and 'name="class"' not in page.text
    wed = key(s, "ballet-wed", "wed0")
    assert gran.post("bookings/b-ann/switch", {"class": wed}).status_code == 403
    with pytest.raises(ViewOnly):
        s.run(lambda db: switching.switch(db, s.tenant, s.access("gran@example.com"), "b-ann",
                                          wed, s.now, s.notices()))
    dad = s.browser(mailbox, "dad@example.com")
    assert dad.post("bookings/b-ann/switch", {"class": wed}).status_code == 303
    assert s.events("booking.switched")[0]["data"]["requested_by"] == "dad@example.com"


def test_another_familys_booking_and_another_schools_change_are_not_found(school, mailbox, api):
    s = school
    ann = s.browser(mailbox, "ann@example.com")
    wed = key(s, "ballet-wed", "wed0")
    assert ann.open("bookings/b-bob/switch").status_code == 404
    assert ann.post("bookings/b-bob/switch", {"class": wed}).status_code == 404
    assert ann.post("bookings/b-bob/switch/cancel", {}).status_code == 404
    assert sessions_of(s, "b-bob")["bob-sat0"] == ("sat0", "expected")
    assert ann.post("bookings/b-ann/switch", {"class": "ballet-wed/9/09:99"}).status_code == 404
    bob = s.browser(mailbox, "bob@example.com")
    bob.post("bookings/b-bob/switch", {"class": wed})
    change = s.one(BookingSwitch).external_id
    other = api.as_tenant("demo")  # another school's key
    assert other.get("switches", change).status_code == 404
    assert other.client.post(f"/api/v1/switches/{change}/confirm",
                             headers=other.headers).status_code == 404
    assert other.get("switches").json()["items"] == []
    assert api.as_tenant("demo-sk").get("switches", status="nonsense").status_code == 422


def test_a_programme_without_switching_offers_no_change(school, mailbox):
    s = school
    s.put("bookings", "b-jazz", client_id="ann-parent", attendee_id="ann-child",
          programme_id="jazz")
    ann = s.browser(mailbox, "ann@example.com")
    assert "Change class" not in text_of(ann.open("bookings/b-jazz").text)
    assert ann.open("bookings/b-jazz/switch").status_code == 404


def test_nothing_left_to_move_says_so(school, mailbox):
    s = school
    for week in (0, 2, 3):
        s.attend(f"ann-sat{week}", "b-ann", f"sat{week}", "excused")
    ann = s.browser(mailbox, "ann@example.com")
    assert "No sessions left to move" in text_of(ann.open("bookings/b-ann/switch").text)


def test_the_page_costs_the_same_statements_for_two_classes_or_six(school, mailbox):
    s = school
    ann = s.browser(mailbox, "ann@example.com")

    def statements() -> int:
        ann.open("bookings/b-ann/switch")  # statements are built once
        with counting_statements(s.app) as seen:
            assert ann.open("bookings/b-ann/switch").status_code == 200
        return len(seen)

    two = statements()
    # The visitor's session, the booking with its latest change, its places to move, the other
    # classes, the booking's every place, the classes' timetable (their sizes, and the sessions
    # to come), and those the places would move to with whether there is room. On PostgreSQL
    # the booking's places come with the timetable, one round trip fewer.
    assert two == (6 if s.engine.dialect.name == "postgresql" else 7)
    with s.batch():
        for n in range(4):
            s.programme(f"more{n}", name=f"Ballet more {n}", makeup_group="balet", price=9000)
            for week in range(4):
                s.session(f"more{n}-{week}", f"more{n}", WED + DAY + week * WEEK, capacity=9)
    assert text_of(ann.open("bookings/b-ann/switch").text).count("Ballet more") == 4
    assert statements() == two


def test_room_is_counted_only_in_the_sessions_the_places_would_move_to(school, mailbox):
    """Ann has three places left (Saturdays 0, 2 and 3): a class is offered by its next three
    sessions, so a later one filling up changes nothing, and counting the places taken (three
    counts a session) is done for those three only, not for every session still to come."""
    s = school
    for n in ("x", "y"):
        s.put("bookings", f"b-{n}", client_id="bob-parent", attendee_id="bob-child",
              programme_id="ballet-wed")
        s.attend(f"{n}4", f"b-{n}", "wed4")  # the fifth Wednesday: 2 of 2 taken
    ann = s.browser(mailbox, "ann@example.com")
    ann.open("bookings/b-ann/switch")  # statements are built once
    with counting_statements(s.app) as seen:
        page = ann.open("bookings/b-ann/switch").text
    wed = key(s, "ballet-wed", "wed0")
    row = page[page.index(f'value="{wed}"') - 200:][:400]
    assert "disabled" not in row and "Full" not in text_of(row)
    counted = [parameters for sql, parameters, _ in seen if "makeup_waitlist" in sql]
    assert len(counted) == 1
    sunday_and_wednesday = 3 + 3  # each class's next three sessions, in one statement
    values = counted[0].values() if isinstance(counted[0], dict) else counted[0]
    assert len([v for v in values if isinstance(v, int)]) == sunday_and_wednesday


def test_the_sessions_to_move_to_are_read_once_and_shown_whole(school, mailbox):
    """The timetable gives each session's class and start; the sessions the places would move
    to are then read only for what it lacks (their end, place and room), not for their
    programme and start again: every value read costs, and a class's sessions are many. The
    page still shows each class's first session in full."""
    s = school
    ann = s.browser(mailbox, "ann@example.com")
    ann.open("bookings/b-ann/switch")  # statements are built once
    with counting_statements(s.app) as seen:
        page = ann.open("bookings/b-ann/switch").text
    room = [sql for sql, _, _ in seen if "makeup_waitlist" in sql]
    assert len(room) == 1
    columns = room[0].split("(SELECT")[0]  # the statement's own columns, before its counts
    assert "ends_at" in columns and "location" in columns
    assert "starts_at" not in columns and "programme_id" not in columns
    sunday = text_of(page[page.index(f'value="{key(s, "ballet", "sun0")}"'):])
    assert sunday.startswith(f'value="{key(s, "ballet", "sun0")}"')
    assert "From Sunday, 29 November 2026, 09:30\u201310:15 Hall B" in sunday  # start to end


@sqlite_only
def test_the_classes_timetable_is_read_from_one_index_in_its_order(school, mailbox):
    """The timetable lists the sessions held of each class (past ones too where a class's price
    is divided among them): read from the index alone, already in order, not the table row of each
    session for whether it was cancelled. Which index PostgreSQL reads a test's few rows by
    depends on its statistics (tests/test_query_plans.py), so the plan is SQLite's; on the
    benchmark's data PostgreSQL reads the same index alone too (bench/README.md)."""
    s = school
    ann = s.browser(mailbox, "ann@example.com")
    ann.open("bookings/b-ann/switch")  # statements are built once
    with counting_statements(s.app) as seen:
        ann.open("bookings/b-ann/switch")
    timetable = [(sql, parameters) for sql, parameters, _ in seen
                 if "ORDER BY session.programme_id, session.starts_at" in sql]
    assert len(timetable) == 1
    raw = s.engine.raw_connection()
    try:
        plan = [row[-1] for row in raw.cursor().execute(
            "EXPLAIN QUERY PLAN " + timetable[0][0], timetable[0][1])]
    finally:
        raw.close()
    assert plan == ["SEARCH session USING COVERING INDEX ix_session_programme_timetable "
                    "(programme_id=? AND cancelled=? AND starts_at>?)"], plan


def test_the_provider_can_still_delete_a_booking_that_changed_class(school, mailbox, api):
    s = school
    ann = s.browser(mailbox, "ann@example.com")
    assert ann.post("bookings/b-ann/switch",
                    {"class": key(s, "ballet", "sun0")}).status_code == 303
    api = api.as_tenant("demo-sk")
    for attendance in sessions_of(s, "b-ann"):
        assert api.delete("attendance", attendance).status_code == 204
    assert api.delete("bookings", "b-ann").status_code == 204
    assert s.rows(BookingSwitch) == []  # its history goes with it
