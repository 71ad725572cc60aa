"""A parent whose child will miss a class cancels it in two taps and books a make-up in a
session that really has a free place; moves a session; adds an add-on; and the provider hears
of each. Driven like a browser: pages, forms and CSRF tokens."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from profile_support import freeze, text_of
from self_service_support import DAY, School, form_action, links

from widget_server.core.models import (
    Attendance,
    AttendanceOrigin,
    Booking,
    ClassSession,
    MakeupCredit,
    Payment,
)


@pytest.fixture
def school(app, client) -> School:
    s = School(app)
    with s.batch():
        s.programme("ballet", name="Ballet", makeup_policy="programme_group",
                    makeup_group="dance", addons=[{"id": "costume", "name": "Costume",
                                                   "price": 2500}])
        s.programme("jazz", name="Jazz", makeup_policy="programme_group", makeup_group="dance")
        s.family("ema", phone="+421 905 123 456", locale="en-GB")  # reads English
        s.booking("b-ema", "ema-parent", "ema-child", "ballet", price=9000, currency="EUR")
        for week in range(4):
            s.session(f"ballet-{week}", "ballet", 6 * DAY + week * 7 * DAY, capacity=2)
            s.attend(f"a-{week}", "b-ema", f"ballet-{week}")
        s.session("jazz-1", "jazz", 8 * DAY, capacity=5)
    return s


@pytest.fixture
def ema(school, mailbox):
    visitor = school.browser(mailbox, "ema@example.com")
    visitor.open("")  # a page of the logged-in session, for its form token
    return visitor


def test_cancel_in_two_taps_then_book_a_make_up(school, ema):
    sessions = ema.open("bookings/b-ema/sessions")
    [cancel] = [h for h in links(sessions.text, "/cancel") if "ballet-0" in h]
    confirm = ema.client.get(cancel)  # tap one: the confirm step says what will happen
    ema._remember_csrf(confirm)
    words = text_of(confirm.text)
    assert "Cancel this session?" in words
    assert "Kid gets a make-up to use by 28 Dec 2026." in words
    done = ema.client.post(form_action(confirm.text, "/cancel"),  # tap two
                           data={"csrf_token": ema.csrf}, follow_redirects=False)
    assert done.status_code == 303 and "done=cancelled" in done.headers["location"]
    after = ema.client.get(done.headers["location"])
    assert "The session is cancelled" in text_of(after.text)
    place = school.one(Attendance, Attendance.external_id == "a-0")
    assert place.status == "excused"
    credit = school.one(MakeupCredit, MakeupCredit.source_attendance_id == place.id)
    assert credit.external_id.startswith("mc-") and credit.used_at is None
    [event] = school.events("session.cancelled")
    assert event["data"]["makeup_credit_id"] == credit.external_id
    assert event["data"]["attendance_id"] == "a-0" and event["data"]["booking_id"] == "b-ema"

    makeup = ema.client.get(links(after.text, f"/makeups/{credit.external_id}")[0])
    options = text_of(makeup.text)
    assert "Sessions with a free place" in options and "Jazz" in options
    choose = [h for h in links(makeup.text, "/sessions/") if "jazz-1" in h][0]
    confirm = ema.client.get(choose)
    ema._remember_csrf(confirm)
    booked = ema.client.post(form_action(confirm.text, "/sessions/jazz-1"),
                             data={"csrf_token": ema.csrf}, follow_redirects=False)
    assert booked.status_code == 303
    listed = ema.client.get(booked.headers["location"])
    row = re.search(r'<li class="cp-session[^"]*" data-status="scheduled" id="session-jazz-1">'
                    r'.*?</li>', listed.text, re.S).group(0)
    assert "Make-up" in text_of(row) and "Jazz" in text_of(row)
    assert "Make-up booked" in text_of(listed.text)
    assert len(school.events("makeup.booked")) == 1


@pytest.mark.parametrize("offset, allowed", [(-1, True), (0, False), (1, False)])
def test_the_cutoff_edge_to_the_second(school, ema, app, offset, allowed):
    start = school.one(ClassSession, ClassSession.external_id == "ballet-0").starts_at
    freeze(app, start - timedelta(hours=6) + timedelta(seconds=offset))
    page = ema.open("bookings/b-ema/sessions")
    row = re.search(r'id="session-ballet-0">.*?</li>', page.text, re.S).group(0)
    assert ("/cancel" in row) is allowed
    if not allowed:
        assert "Too late to cancel or reschedule: changes close 6 hours before the start." \
            in text_of(row)
    answer = ema.post("bookings/b-ema/sessions/ballet-0/cancel", {})
    assert answer.status_code == (303 if allowed else 409)
    if not allowed:
        words = text_of(answer.text)
        assert "It is too late to cancel online." in words
        assert "please tell the provider (Tanečná škola Piruetka) directly" in words
        assert "too close to book" not in words and "make-up" not in words.lower()
        assert school.one(Attendance, Attendance.external_id == "a-0").status == "expected"
        assert school.events("session.cancelled") == []


def test_a_class_at_8_across_the_clock_change_shows_its_local_cutoff(app, client, mailbox):
    s = School(app, now=datetime(2026, 10, 20, 12, tzinfo=UTC))
    with s.batch():
        s.programme("ballet", cancel_cutoff_hours=24)
        s.family("ema")  # reads Slovak, the school's language
        s.booking("b", "ema-parent", "ema-child", "ballet")
        # 08:00 in Bratislava on the Sunday summer time ends: 07:00 UTC.
        s.session("dst", "ballet", datetime(2026, 10, 25, 7, tzinfo=UTC), capacity=9)
        s.attend("a", "b", "dst")
    page = s.browser(mailbox, "ema@example.com").open("bookings/b/sessions/dst/cancel")
    words = text_of(page.text)
    assert "8:00 – 8:45" in words
    # 24 hours earlier it was still summer time: 09:00, not 08:00, on Saturday.
    assert "so 24. 10., 9:00" in words


def test_after_the_cutoff_the_page_explains_why_not(school, ema, app):
    start = school.one(ClassSession, ClassSession.external_id == "ballet-0").starts_at
    freeze(app, start - timedelta(hours=2))
    words = text_of(ema.open("bookings/b-ema/sessions/ballet-0/cancel").text)
    assert "It is too late to cancel online." in words
    assert "Sessions can be cancelled up to 6 hours before they start" in words
    assert "Yes, cancel it" not in words


def test_a_programme_without_make_ups_says_cancelling_gives_none(school, ema):
    school.programme("ballet", name="Ballet", makeup_policy="none")
    words = text_of(ema.open("bookings/b-ema/sessions/ballet-0/cancel").text)
    assert "cancelling does not give a make-up" in words
    assert ema.post("bookings/b-ema/sessions/ballet-0/cancel", {}).status_code == 303
    assert school.rows(MakeupCredit) == []
    assert school.events("session.cancelled")[0]["data"]["makeup_credit_id"] is None


def test_a_session_cancelled_twice_is_refused_the_second_time(school, ema):
    assert ema.post("bookings/b-ema/sessions/ballet-0/cancel", {}).status_code == 303
    again = ema.post("bookings/b-ema/sessions/ballet-0/cancel", {})
    assert again.status_code == 409
    assert len(school.rows(MakeupCredit)) == 1
    assert len(school.events("session.cancelled")) == 1


def test_reschedule_moves_the_place_in_one_step(school, ema):
    page = ema.open("bookings/b-ema/sessions/ballet-0/move")
    words = text_of(page.text)
    assert "Reschedule a session" in words
    # Not jazz (another programme), not the weeks Ema is already in.
    assert "jazz-1" not in page.text and "ballet-1" not in page.text
    school.session("ballet-extra", "ballet", 7 * DAY, capacity=1)
    page = ema.open("bookings/b-ema/sessions/ballet-0/move")
    moved = ema.post("bookings/b-ema/sessions/ballet-0/move", {"to": "ballet-extra"})
    assert moved.status_code == 303
    place = school.one(Attendance, Attendance.external_id == "a-0")
    target = school.one(ClassSession, ClassSession.external_id == "ballet-extra")
    assert place.session_id == target.id and place.status == "expected"
    origin = school.one(AttendanceOrigin, AttendanceOrigin.attendance_id == place.id)
    assert origin.moved_from_session_id is not None
    listed = ema.client.get(moved.headers["location"])
    row = re.search(r'id="session-ballet-extra">.*?</li>', listed.text, re.S).group(0)
    assert "Rescheduled" in text_of(row) and "Moved from" in text_of(row)
    assert "session-ballet-0" not in listed.text
    [event] = school.events("session.rescheduled")
    assert event["data"] == {"client_id": "ema-parent", "attendee_id": "ema-child",
                             "booking_id": "b-ema", "attendance_id": "a-0",
                             "from_session_id": "ballet-0", "session_id": "ballet-extra",
                             "starts_at": event["data"]["starts_at"]}
    assert school.rows(MakeupCredit) == []  # a move earns nothing


def test_reschedule_into_a_full_session_is_refused(school, ema):
    with school.batch():
        school.session("full", "ballet", 7 * DAY, capacity=1)
        school.family("zoe")
        school.booking("b-zoe", "zoe-parent", "zoe-child", "ballet")
        school.attend("z", "b-zoe", "full")
    refused = ema.post("bookings/b-ema/sessions/ballet-0/move", {"to": "full"})
    assert refused.status_code == 409 and "that session has just filled up" in refused.text
    assert school.one(Attendance, Attendance.external_id == "a-0").status == "expected"


def test_an_add_on_shows_on_the_booking_and_is_owed(school, ema):
    page = ema.open("bookings/b-ema/addons")
    assert "Costume" in text_of(page.text)
    added = ema.post("bookings/b-ema/addons", {"addon": "costume"})
    assert added.status_code == 303
    booking = school.one(Booking, Booking.external_id == "b-ema")
    assert booking.addons == ["costume"]
    payment = school.one(Payment, Payment.booking_id == booking.id)
    assert (payment.amount, payment.currency, payment.status) == (2500, "EUR", "unpaid")
    assert payment.external_id.startswith("pay-")
    details = text_of(ema.open("bookings/b-ema").text)
    assert "Costume" in details
    [event] = school.events("addon.added")
    assert event["data"] == {"client_id": "ema-parent", "booking_id": "b-ema",
                             "addon_id": "costume", "payment_id": payment.external_id,
                             "amount": 2500, "currency": "EUR"}
    twice = ema.post("bookings/b-ema/addons", {"addon": "costume"})
    assert twice.status_code == 409
    assert len(school.rows(Payment)) == 1


def test_a_view_only_share_sees_no_buttons_and_cannot_act(school, mailbox):
    school.put("shares", "sh", booking_id="b-ema", email="grandma@example.com", access="view")
    grandma = school.browser(mailbox, "grandma@example.com")
    page = grandma.open("bookings/b-ema/sessions")
    assert page.status_code == 200 and "/cancel" not in page.text
    assert grandma.post("bookings/b-ema/sessions/ballet-0/cancel", {}).status_code == 403
    for link in ("sessions/ballet-0/cancel", "sessions/ballet-0/move", "addons"):
        opened = grandma.open(f"bookings/b-ema/{link}")
        words = text_of(opened.text)  # grandma has no account: the school's language
        assert opened.status_code == 403
        assert "Túto rezerváciu vidíte, ale nemôžete ju meniť" in words
        assert "požiadajte vlastníka rezervácie" in words and "vypršal" not in words
    assert school.one(Attendance, Attendance.external_id == "a-0").status == "expected"


def test_a_co_parent_with_full_access_can_cancel(school, mailbox):
    school.put("shares", "sh", booking_id="b-ema", email="dad@example.com", access="full")
    dad = school.browser(mailbox, "dad@example.com")
    assert "/cancel" in dad.open("bookings/b-ema/sessions").text
    assert dad.post("bookings/b-ema/sessions/ballet-0/cancel", {}).status_code == 303
    assert school.one(Attendance, Attendance.external_id == "a-0").status == "excused"


def test_every_action_is_written_with_its_webhook_in_one_transaction(school, ema, monkeypatch):
    """If queueing the webhook fails, the cancellation is not kept either."""
    from widget_server.delivery import webhooks

    def broken(*args, **kwargs):
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr(webhooks, "enqueue_event", broken)
    with pytest.raises(RuntimeError):
        ema.post("bookings/b-ema/sessions/ballet-0/cancel", {})
    assert school.one(Attendance, Attendance.external_id == "a-0").status == "expected"
    assert school.rows(MakeupCredit) == []


def test_the_sessions_tab_lists_the_childs_make_ups_to_book(school, ema):
    school.credit("mk-x", "ema-parent", "ema-child", None, expires=12 * DAY)
    school.session("ballet-extra", "ballet", 9 * DAY, capacity=4)  # somewhere to book it
    page = ema.open("bookings/b-ema/sessions")
    panel = re.search(r'id="makeups-title".*?</section>', page.text, re.S).group(0)
    assert "1 make-up to book" in text_of(panel)
    assert "Use within 12 days" in text_of(panel)
    assert "/makeups/mk-x" in panel


def test_a_make_up_with_no_session_to_book_is_neither_counted_nor_offered(school, ema):
    """Kid is in every ballet session before the credit runs out: "Book a make-up" would
    lead nowhere, so no page offers it or counts it."""
    school.credit("mk-x", "ema-parent", "ema-child", None, expires=12 * DAY)
    sessions = ema.open("bookings/b-ema/sessions").text
    assert 'id="makeups-title"' not in sessions and "/makeups/mk-x" not in sessions
    assert "No make-ups to book" in text_of(ema.open("bookings/b-ema").text)
    assert "Book a make-up" not in text_of(ema.open("").text)
    hub = text_of(ema.open("makeups").text)
    assert "No free session now" in hub and "No session to book right now" in hub
    assert "Book it" not in text_of(ema.open("benefits").text)

    school.session("ballet-extra", "ballet", 9 * DAY, capacity=4)
    assert "/makeups/mk-x" in ema.open("bookings/b-ema/sessions").text
    assert "1 make-up available" in text_of(ema.open("bookings/b-ema").text)
    assert "1 make-up available" in text_of(ema.open("").text)
    assert "No free session now" not in text_of(ema.open("makeups").text)
    assert "Book it" in text_of(ema.open("benefits").text)


def test_reschedule_is_offered_only_where_there_is_somewhere_to_move(school, ema):
    """Kid is in every ballet session: the move page would say "no other session", so the
    list offers no "Reschedule"; a session with a free place brings it back."""
    def reschedule_links() -> list[str]:
        return links(ema.open("bookings/b-ema/sessions").text, "/move")

    assert reschedule_links() == []
    assert links(ema.open("bookings/b-ema/sessions").text, "/cancel")  # cancelling still is
    school.session("ballet-full", "ballet", 9 * DAY, capacity=0)
    assert reschedule_links() == []  # full is nowhere
    school.session("ballet-extra", "ballet", 10 * DAY, capacity=3)
    found = reschedule_links()
    assert len(found) == 4 and all(ema.client.get(h).status_code == 200 for h in found)
    assert "Move here" in text_of(ema.client.get(found[0]).text)


def test_a_session_the_family_cancelled_says_so(school, ema):
    school.attend("a-1", "b-ema", "ballet-1", "excused")  # excused by the school
    assert ema.post("bookings/b-ema/sessions/ballet-0/cancel", {}).status_code == 303
    page = ema.open("bookings/b-ema/sessions").text
    mine = text_of(re.search(r'id="session-ballet-0">.*?</li>', page, re.S).group(0))
    theirs = text_of(re.search(r'id="session-ballet-1">.*?</li>', page, re.S).group(0))
    assert "You cancelled" in mine and "Excused" not in mine
    assert "Excused" in theirs and "You cancelled" not in theirs


def test_a_makeup_credit_page_says_why_nothing_is_offered_and_counts_down(school, ema):
    with school.batch():
        school.credit("mk-x", "ema-parent", "ema-child", "a-0", expires=3 * DAY)
    # Ballet has no session before the credit runs out; jazz is later still.
    page = ema.open("makeups/mk-x")
    words = text_of(page.text)
    assert "No session to book right now" in words
    assert "No session that Kid could make up in is scheduled before this make-up runs out." \
        in words
    assert "Use within 3 days" in words
    expired = school.credit("mk-old", "ema-parent", "ema-child", None, expires=None)
    school.put("makeup-credits", expired, client_id="ema-parent", attendee_id="ema-child",
               expires_at="2026-11-01T00:00:00Z")
    assert "This make-up has run out." in text_of(ema.open("makeups/mk-old").text)


def test_the_sessions_tab_rows_come_worked_out_for_the_template(school, ema):
    """Each row of the tab is worked out once by its loader (the template's tests and lookups
    per row cost more than the row's HTML): when it is, where when not in the usual hall, its
    status when there is one to say, and what can be done to it now or why not."""
    from widget_server.profile import bookings
    from widget_server.selfservice import places

    with school.batch():
        school.session("ballet-today", "ballet", timedelta(hours=3))  # inside the 6 h cutoff
        school.session("ballet-tomorrow", "ballet", DAY, location="Studio 2")
        school.session("ballet-last", "ballet", -6 * DAY)
        for key in ("today", "tomorrow"):
            school.attend(f"a-{key}", "b-ema", f"ballet-{key}")
        school.attend("a-last", "b-ema", "ballet-last", "attended")
    access = school.access("ema@example.com")

    def load(db):
        tab = bookings.sessions(db, access, "b-ema", school.now)
        return places.for_sessions(db, school.tenant, access, tab, school.now, "en")

    extra = school.run(load)
    rows = {line.ref: line for line in (*extra.upcoming, *extra.past)}
    assert [line.ref for line in extra.upcoming][:3] == ["ballet-today", "ballet-tomorrow",
                                                         "ballet-0"]
    assert [line.ref for line in extra.past] == ["ballet-last"]
    assert extra.usual_place == "Hall"
    today, tomorrow, later, last = (rows[k] for k in ("ballet-today", "ballet-tomorrow",
                                                      "ballet-0", "ballet-last"))
    assert (today.soon, today.cancel, today.closed_hours, today.ics) == ("today", "", 6, True)
    assert (tomorrow.soon, tomorrow.place) == ("tomorrow", "Studio 2")
    assert (tomorrow.cancel, tomorrow.move, tomorrow.closed_hours) == ("cancel", False, None)
    assert (later.soon, later.place, later.badge) == ("", "", "")
    assert (last.badge, last.cancel, last.ics) == ("attended", "", False)
    # The page prints just that: a line of tags only where there is one to show.
    page = ema.open("bookings/b-ema/sessions").text
    tags = {ref: "cp-session-tags" in re.search(rf'id="session-{ref}">.*?</li>', page,
                                                re.S).group(0)
            for ref in ("ballet-tomorrow", "ballet-0", "ballet-last")}
    assert tags == {"ballet-tomorrow": True, "ballet-0": False, "ballet-last": True}
    row = text_of(re.search(r'id="session-ballet-tomorrow">.*?</li>', page, re.S).group(0))
    assert "Tomorrow" in row and "Studio 2" in row and "Cancel" in row
    assert "Too late to cancel or reschedule: changes close 6 hours before the start." in \
        text_of(re.search(r'id="session-ballet-today">.*?</li>', page, re.S).group(0))


def test_the_sessions_tab_unpacks_each_row_once(school, ema, monkeypatch):
    """The template takes each row's fields apart once, into names, rather than looking a
    field up on the row at each of its thirty uses (a tab lists dozens of rows): no field of
    a row is read by name while the page is made."""
    from widget_server.selfservice import places

    read = []

    class Watched(places.Line):
        __slots__ = ()

        def __getattribute__(self, name):
            read.append(name)
            return super().__getattribute__(name)

    monkeypatch.setattr(places, "Line", Watched)
    page = ema.open("bookings/b-ema/sessions").text
    assert 'id="session-ballet-0"' in page and "Add " in text_of(page)
    assert read == []


def test_the_sessions_list_needs_no_more_queries_for_more_sessions(school, ema, app):
    from profile_support import counting_statements

    with counting_statements(app) as few:
        ema.open("bookings/b-ema/sessions")
    with school.batch():
        for week in range(4, 30):
            school.session(f"ballet-{week}", "ballet", 6 * DAY + week * 7 * DAY, capacity=2)
            school.attend(f"a-{week}", "b-ema", f"ballet-{week}")
    with counting_statements(app) as many:
        ema.open("bookings/b-ema/sessions")
    assert len(many) == len(few)


def test_a_session_in_another_programme_is_not_bookable_as_a_move(school, ema):
    refused = ema.post("bookings/b-ema/sessions/ballet-0/move", {"to": "jazz-1"})
    assert refused.status_code == 409
    place = school.one(Attendance, Attendance.external_id == "a-0")
    assert school.rows(ClassSession, ClassSession.id == place.session_id)[0].external_id \
        == "ballet-0"


def test_a_place_is_not_moved_into_a_session_the_booking_cancelled(school, ema):
    assert ema.post("bookings/b-ema/sessions/ballet-1/cancel", {}).status_code == 303
    page = ema.open("bookings/b-ema/sessions/ballet-0/move")
    assert "ballet-1" not in page.text  # it has a free place, but it is the one cancelled
    refused = ema.post("bookings/b-ema/sessions/ballet-0/move", {"to": "ballet-1"})
    assert refused.status_code == 409
    assert school.events("session.rescheduled") == []
