"""When every session a make-up could go to is full, the family joins the waiting list; the
first place to free up is held for the first in line, offered by e-mail, and taken in one
click; a hold that runs out passes the place on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from profile_support import freeze, text_of
from self_service_support import DAY, NOW, School, form_action

from widget_server import scheduler
from widget_server.core.models import MakeupCredit, MakeupWaitlist


@pytest.fixture
def school(app, client) -> School:
    """One ballet class with a single place, taken by Zoe; Ema and Max each hold a credit."""
    s = School(app)
    with s.batch():
        s.programme("ballet", name="Ballet")
        s.session("past", "ballet", -7 * DAY, capacity=9)
        s.session("only", "ballet", 3 * DAY, capacity=1)
        for key in ("ema", "max", "zoe"):
            s.family(key, locale="en-GB")
            s.booking(f"b-{key}", f"{key}-parent", f"{key}-child", "ballet")
        for key in ("ema", "max"):
            s.attend(f"a-{key}", f"b-{key}", "past", "excused")
            s.credit(f"mk-{key}", f"{key}-parent", f"{key}-child", f"a-{key}")
        s.attend("a-zoe", "b-zoe", "only")
    return s


def scheduler_round(s: School, now=NOW):
    return scheduler.run_once(s.engine, [s.tenant], lambda tenant: s.notices(), now)


def entry(s: School, credit: str) -> MakeupWaitlist:
    found = s.one(MakeupCredit, MakeupCredit.external_id == credit)
    return s.one(MakeupWaitlist, MakeupWaitlist.credit_id == found.id)


def join(visitor, credit: str):
    page = visitor.open(f"makeups/{credit}")
    assert "Every session Kid could go to is full." in text_of(page.text)
    return visitor.client.post(form_action(page.text, "/waitlist"),
                               data={"csrf_token": visitor.csrf}, follow_redirects=False)


def test_the_first_in_line_is_offered_the_freed_place_and_takes_it_in_one_click(
        school, mailbox, app):
    ema = school.browser(mailbox, "ema@example.com")
    assert join(ema, "mk-ema").status_code == 303
    freeze(app, NOW + timedelta(minutes=5))
    max_ = school.browser(mailbox, "max@example.com")
    assert join(max_, "mk-max").status_code == 303
    waiting = text_of(ema.open("makeups/mk-ema").text)
    assert "You are on the waiting list" in waiting

    zoe = school.browser(mailbox, "zoe@example.com")
    assert zoe.post("bookings/b-zoe/sessions/only/cancel", {}).status_code == 303
    done = scheduler_round(school, NOW + timedelta(minutes=10))
    assert done["offers"] == 1
    assert entry(school, "mk-ema").status == "offered"
    assert entry(school, "mk-max").status == "waiting"  # the held place is not his
    [offer] = school.emails("makeup_offer")
    assert offer["to"] == "ema@example.com"
    assert "holding it for you until" in offer["text"]
    assert "#cp-path=%2Fmakeups%2Fmk-ema" in offer["text"]
    assert "Every session Kid could go to is full." in text_of(max_.open("makeups/mk-max").text)

    page = ema.open("makeups/mk-ema")
    held = text_of(page.text)
    assert "A place is held for Kid" in held
    # The held place is the answer: nothing below it says everything is full.
    assert "is full" not in held and "waiting list" not in held.split("Take this place")[1]
    assert "/waitlist" not in page.text and "No session to book right now" not in held
    taken = ema.client.post(form_action(page.text, "/offer"),
                            data={"csrf_token": ema.csrf}, follow_redirects=False)
    assert taken.status_code == 303
    assert entry(school, "mk-ema").status == "taken"
    assert school.one(MakeupCredit, MakeupCredit.external_id == "mk-ema").used_at is not None
    [event] = school.events("makeup.booked")
    assert event["data"]["session_id"] == "only"
    assert scheduler_round(school, NOW + timedelta(minutes=11))["offers"] == 0


def test_a_hold_that_runs_out_goes_to_the_next_in_line(school, mailbox, app):
    ema = school.browser(mailbox, "ema@example.com")  # before any offer e-mail is in the box
    assert join(ema, "mk-ema").status_code == 303
    freeze(app, NOW + timedelta(minutes=1))
    assert join(school.browser(mailbox, "max@example.com"), "mk-max").status_code == 303
    school.put("attendance", "a-zoe", booking_id="b-zoe", session_id="only", status="excused")
    assert scheduler_round(school)["offers"] == 1
    assert entry(school, "mk-ema").status == "offered"
    assert scheduler_round(school, NOW + timedelta(hours=11))["offers"] == 0  # still held
    assert scheduler_round(school, NOW + timedelta(hours=12, seconds=1))["offers"] == 1
    assert entry(school, "mk-ema").status == "lapsed"
    assert entry(school, "mk-max").status == "offered"

    freeze(app, NOW + timedelta(hours=13))
    ema.open("makeups/mk-ema")
    late = ema.post("makeups/mk-ema/offer", {})
    assert late.status_code == 409
    assert "went to the next family on the waiting list" in text_of(late.text)


def test_capacity_raised_through_the_sync_api_frees_a_place_for_the_list(school, mailbox, api):
    assert join(school.browser(mailbox, "ema@example.com"), "mk-ema").status_code == 303
    session = api.as_tenant("demo-sk").get("sessions", "only").json()
    session["capacity"] = 2
    assert api.as_tenant("demo-sk").put("sessions", "only", session).status_code == 200
    assert scheduler_round(school)["offers"] == 1
    assert entry(school, "mk-ema").status == "offered"


def test_the_list_is_only_for_when_everything_is_full_and_can_be_left(school, mailbox):
    school.session("roomy", "ballet", 4 * DAY, capacity=5)
    ema = school.browser(mailbox, "ema@example.com")
    refused = ema.post("makeups/mk-ema/waitlist", {})
    assert refused.status_code == 409
    assert "There are sessions with a free place" in text_of(refused.text)
    school.put("sessions", "roomy", programme_id="ballet", starts_at="2026-11-26T12:00:00Z",
               ends_at="2026-11-26T12:45:00Z", capacity=0)
    assert join(ema, "mk-ema").status_code == 303
    left = ema.post("makeups/mk-ema/waitlist/leave", {})
    assert left.status_code == 303 and entry(school, "mk-ema").status == "left"
    school.put("attendance", "a-zoe", booking_id="b-zoe", session_id="only", status="excused")
    assert scheduler_round(school)["offers"] == 0


def test_two_schedulers_never_offer_one_place_twice(school, mailbox):
    from concurrent.futures import ThreadPoolExecutor

    for who in ("ema", "max"):
        assert join(school.browser(mailbox, f"{who}@example.com"), f"mk-{who}").status_code \
            == 303
    school.put("attendance", "a-zoe", booking_id="b-zoe", session_id="only", status="excused")
    with ThreadPoolExecutor(4) as pool:
        rounds = list(pool.map(lambda _: scheduler_round(school)["offers"], range(4)))
    assert sum(rounds) == 1
    assert len(school.emails("makeup_offer")) == 1
