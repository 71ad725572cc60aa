"""A family with an entry pass books a session in two steps, with no payment and against real
capacity; the entry comes back if they cancel in time; a pass that ran out says why."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from profile_support import text_of
from self_service_support import DAY, NOW, School, form_action, links
from sqlmodel import Session

from widget_server.core.errors import Refused
from widget_server.core.models import Attendance, Booking, EntryPass, EntryPassUse
from widget_server.selfservice import passes


@pytest.fixture
def school(app, client) -> School:
    s = School(app)
    with s.batch():
        s.programme("dropin", name="Drop-in dance", makeup_policy="none", cancel_cutoff_hours=2)
        s.programme("ballet", name="Ballet")
        s.family("ema", locale="en-GB")
        s.put("attendees", "ema-sister", client_id="ema-parent", name="Sis Ema")
        s.session("sunday", "dropin", 7 * DAY, capacity=2)
        s.session("full-sunday", "dropin", 14 * DAY, capacity=1)
        s.session("ballet-1", "ballet", 3 * DAY, capacity=9)
        s.family("zoe")
        s.booking("b-zoe", "zoe-parent", "zoe-child", "dropin")
        s.attend("z", "b-zoe", "full-sunday")
        s.put("entry-passes", "pass-10", client_id="ema-parent", name="10 visits",
              total_entries=10, used_entries=8, valid_until="2027-01-31", programme_id="dropin")
    return s


def test_book_with_a_pass_in_two_steps_and_get_the_entry_back_on_cancelling(school, mailbox):
    ema = school.browser(mailbox, "ema@example.com")
    hub = ema.open("makeups")
    assert "10 visits" in text_of(hub.text) and "2 entries left" in text_of(hub.text)
    page = ema.client.get(links(hub.text, "/passes/pass-10")[0])
    words = text_of(page.text)
    assert "Sessions with a free place for Kid" in words
    assert "Drop-in dance" in words and "ballet" not in page.text.lower().split("<main")[1]
    assert "/sessions/full-sunday" not in page.text  # full
    confirm = ema.client.get(links(page.text, "/sessions/sunday")[0])  # step one: choose
    ema._remember_csrf(confirm)
    assert "This takes 1 entry from your pass, leaving 1." in text_of(confirm.text)
    booked = ema.client.post(form_action(confirm.text, "/sessions/sunday"),  # step two
                             data={"csrf_token": ema.csrf, "member": "ema-child"},
                             follow_redirects=False)
    assert booked.status_code == 303
    entry_pass = school.one(EntryPass, EntryPass.external_id == "pass-10")
    assert entry_pass.used_entries == 9
    use = school.one(EntryPassUse, EntryPassUse.entry_pass_id == entry_pass.id)
    assert use.note == "Kid Ema"
    booking = school.one(Booking, Booking.client_id == entry_pass.client_id)
    assert booking.external_id.startswith("bk-") and booking.status == "confirmed"
    [event] = school.events("entry_pass.used")
    assert event["data"] == {"client_id": "ema-parent", "attendee_id": "ema-child",
                             "entry_pass_id": "pass-10", "session_id": "sunday",
                             "used_entries": 9, "total_entries": 10}
    listed = ema.client.get(booked.headers["location"])
    assert "Entry pass" in text_of(listed.text) and "Booked with your entry pass." in \
        text_of(listed.text)

    cancelled = ema.post(f"bookings/{booking.external_id}/sessions/sunday/cancel", {})
    assert cancelled.status_code == 303 and "returned=entry" in cancelled.headers["location"]
    assert school.one(EntryPass, EntryPass.external_id == "pass-10").used_entries == 8
    assert school.rows(EntryPassUse) == []
    [event] = school.events("session.cancelled")
    assert event["data"]["makeup_credit_id"] is None


def test_the_last_entry_cannot_be_spent_twice(school):
    school.put("entry-passes", "pass-10", client_id="ema-parent", name="10 visits",
               total_entries=10, used_entries=9, programme_id="dropin")
    school.session("later", "dropin", 8 * DAY, capacity=5)
    who = school.access("ema@example.com")
    start = Barrier(2)

    def attempt(args) -> str:
        member, session = args
        start.wait()
        try:
            with Session(school.engine) as db:
                passes.book(db, school.tenant, who, "pass-10", session, member, NOW)
                db.commit()
            return "booked"
        except Refused as refused:
            return refused.reason

    with ThreadPoolExecutor(2) as pool:
        results = sorted(pool.map(attempt, [("ema-child", "sunday"), ("ema-sister", "later")]))
    assert results == ["booked", "pass_used_up"]
    assert school.one(EntryPass, EntryPass.external_id == "pass-10").used_entries == 10


@pytest.mark.parametrize("change, reason", [
    ({"used_entries": 10}, "This pass has no entries left."),
    ({"valid_until": "2026-11-21"}, "This pass has expired."),
    ({"status": "cancelled"}, "This pass was cancelled."),
    ({"programme_id": None}, "This pass cannot be used to book online."),
])
def test_a_pass_that_cannot_book_says_why(school, mailbox, change, reason):
    body = {"client_id": "ema-parent", "name": "10 visits", "total_entries": 10,
            "used_entries": 8, "valid_until": "2027-01-31", "programme_id": "dropin"} | change
    school.put("entry-passes", "pass-10", **body)
    ema = school.browser(mailbox, "ema@example.com")
    assert reason in text_of(ema.open("passes/pass-10").text)
    refused = ema.post("passes/pass-10/sessions/sunday", {"member": "ema-child"})
    assert refused.status_code == 409
    assert school.rows(Attendance, Attendance.session_id.is_not(None),
                       Attendance.booking_id != school.one(
                           Booking, Booking.external_id == "b-zoe").id) == []


def test_a_session_after_the_pass_runs_out_is_refused(school, mailbox):
    school.put("entry-passes", "pass-10", client_id="ema-parent", name="10 visits",
               total_entries=10, used_entries=8, valid_until="2026-12-01", programme_id="dropin")
    ema = school.browser(mailbox, "ema@example.com")
    page = ema.open("passes/pass-10")
    assert "/sessions/sunday" in page.text  # 29 Nov: the pass still runs
    refused = ema.post("passes/pass-10/sessions/full-sunday", {"member": "ema-child"})
    assert refused.status_code == 409
    assert "The pass expires before this session." in text_of(refused.text)


def test_an_emptied_pass_booking_offers_the_pass_not_actions_that_cannot_apply(school, mailbox):
    """Ema books Sunday with the pass, then cancels it: the booking made for it has nothing
    left, so it points to the pass instead of saying the school will schedule sessions."""
    ema = school.browser(mailbox, "ema@example.com")
    booked = ema.post("passes/pass-10/sessions/sunday", {"member": "ema-child"})
    booking = booked.headers["location"].split("/bookings/")[1].split("/")[0]
    assert ema.post(f"bookings/{booking}/sessions/sunday/cancel", {}).status_code == 303
    words = text_of(ema.open(f"bookings/{booking}").text)
    assert "No session booked" in words and "booked with your entry pass" in words
    assert "2 entries left" in words and "New sessions appear here" not in words
    assert links(ema.open(f"bookings/{booking}").text, "/passes/pass-10")
    sessions = ema.open(f"bookings/{booking}/sessions").text
    assert "You cancelled" in text_of(sessions)
    assert links(sessions, "/cancel") == [] and links(sessions, "/move") == []


def test_a_cancelled_booking_offers_nothing_to_do_to_its_sessions(school, mailbox):
    with school.batch():
        school.booking("b-ema", "ema-parent", "ema-child", "ballet", status="cancelled")
        school.attend("a-1", "b-ema", "ballet-1")
    ema = school.browser(mailbox, "ema@example.com")
    page = ema.open("bookings/b-ema/sessions")
    assert page.status_code == 200
    assert links(page.text, "/cancel") == [] and links(page.text, "/move") == []
    assert links(page.text, ".ics") == [] and "Too late to cancel" not in text_of(page.text)
    assert ema.post("bookings/b-ema/sessions/ballet-1/cancel", {}).status_code == 409
