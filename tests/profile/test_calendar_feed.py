"""A parent puts the family's sessions in their phone's calendar, and can take the link back."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

import pytest
from icalendar import Calendar
from profile_support import JAMES, browser, freeze, load_demo_families
from sqlmodel import Session, select
from starlette.testclient import TestClient

from widget_server.core.models import CalendarFeed

FEED_URL = re.compile(r'value="(http://testserver/t/demo/calendar/[\w-]+\.ics)"')


@pytest.fixture
def demo(app, client):
    """Only Splash Swim School's families (the shared `demo` loads Piruetka's too)."""
    freeze(app)
    load_demo_families(app, "demo")
    return app


def get_link(visitor) -> str:
    visitor.open("account")
    page = visitor.post("account/calendar", {"action": "new"})
    assert page.status_code == 200
    return FEED_URL.search(page.text).group(1)


def calendar_app(app) -> TestClient:
    """What a calendar app is: no cookies, no login, just the address."""
    return TestClient(app)


def events_of(response) -> dict[str, dict]:
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.content)
    return {str(e["uid"]): e for e in calendar.walk("VEVENT")}


def test_the_feed_holds_the_familys_upcoming_sessions(demo, sarah):
    response = calendar_app(demo).get(get_link(sarah))
    calendar = Calendar.from_ical(response.content)
    assert str(calendar["x-wr-calname"]) == "Splash Swim School"
    assert str(calendar["method"]) == "PUBLISH"
    events = events_of(response)

    saturday = events["demo.att-1001-beginners-2026-11-28@testserver"]
    assert str(saturday["summary"]) == "Beginners (Stage 1) – Oliver"
    assert saturday.decoded("dtstart") == datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    assert saturday.decoded("dtend") == datetime(2026, 11, 28, 9, 45, tzinfo=UTC)
    assert str(saturday["location"]) == ("Learner pool, Harbourside Leisure Centre, "
                                         "Cumberland Road, Bristol BS1 6XG, United Kingdom")
    assert str(saturday["status"]) == "CONFIRMED"
    assert "Instructor: Hannah Brooks" in str(saturday["description"])

    makeup = events["demo.att-1001-beginners-2026-12-09@testserver"]
    assert str(makeup["summary"]) == "Make-up: Beginners (Stage 1) – Oliver"
    excused = events["demo.att-1002-improvers-2027-01-02@testserver"]
    assert str(excused["status"]) == "CANCELLED"
    assert str(excused["summary"]).startswith("Cancelled: Improvers (Stage 3) – Mia")
    by_provider = events["demo.att-1002-improvers-2026-12-19@testserver"]
    assert str(by_provider["status"]) == "CANCELLED"
    online = events["demo.att-1003-water-safety-2026-11-25@testserver"]
    assert str(online["url"]) == "https://meet.example.com/splash-water-safety"

    starts = [e.decoded("dtstart") for e in events.values()]
    assert min(starts) > datetime(2026, 10, 23, tzinfo=UTC)  # a month back at most
    assert not any("Aisha" in str(e["summary"]) for e in events.values())  # not her family
    assert not any("att-1004" in uid or "att-1005" in uid for uid in events)  # ended bookings


def test_the_feed_follows_changes_with_the_same_event_ids(demo, sarah, api):
    link = get_link(sarah)
    before = events_of(calendar_app(demo).get(link))
    api.put("attendance", "att-1001-beginners-2026-12-05",
            {"booking_id": "bk-1001", "session_id": "ses-beginners-2026-12-05",
             "status": "excused"})
    after = events_of(calendar_app(demo).get(link))
    assert before.keys() == after.keys()
    changed = after["demo.att-1001-beginners-2026-12-05@testserver"]
    assert str(changed["status"]) == "CANCELLED"


def test_resetting_the_link_stops_the_old_one_and_turning_it_off_stops_all(demo, sarah):
    old = get_link(sarah)
    new = get_link(sarah)
    assert old != new
    assert calendar_app(demo).get(old).status_code == 404
    assert calendar_app(demo).get(new).status_code == 200

    sarah.open("account")
    off = sarah.post("account/calendar", {"action": "off"})
    assert off.status_code == 303
    assert calendar_app(demo).get(new).status_code == 404
    page = sarah.open("account?calendar=off").text
    assert "Your calendar link is turned off." in page
    assert "Get my calendar link" in page


def test_the_account_page_shows_the_link_only_once(demo, sarah):
    link = get_link(sarah)
    later = sarah.open("account").text
    assert link not in later
    assert "You made a calendar link on 22 Nov 2026." in later
    assert "Reset my calendar link" in later


def test_only_a_hash_of_the_link_is_stored(demo, sarah):
    token = get_link(sarah).rsplit("/", 1)[1].removesuffix(".ics")
    with Session(demo.state.engine) as db:
        rows = db.exec(select(CalendarFeed)).all()
    assert [r.token_hash for r in rows] == [hashlib.sha256(token.encode()).hexdigest()]
    assert all(token not in (r.token_hash + r.email) for r in rows)


def test_a_link_opens_nothing_at_another_school_and_guesses_open_nothing(demo, sarah):
    link = get_link(sarah)
    assert calendar_app(demo).get(link.replace("/t/demo/", "/t/demo-sk/")).status_code == 404
    assert calendar_app(demo).get("/t/demo/calendar/guess.ics").status_code == 404


def test_the_calendar_form_needs_the_pages_csrf_token(demo, sarah):
    sarah.open("account")
    sarah.csrf = "forged"
    assert sarah.post("account/calendar", {"action": "new"}).status_code == 403


def test_one_session_downloads_as_a_calendar_file(demo, sarah, mailbox):
    response = sarah.open("bookings/bk-1001/sessions/ses-beginners-2026-11-28.ics")
    disposition = response.headers["content-disposition"]
    assert disposition == 'attachment; filename="session-2026-11-28.ics"'
    events = list(events_of(response).values())
    assert len(events) == 1 and str(events[0]["summary"]) == "Beginners (Stage 1) – Oliver"

    james = browser(demo, mailbox, JAMES)
    assert james.open("bookings/bk-1001/sessions/ses-beginners-2026-11-28.ics").status_code == 404
    # His own booking, but a session it does not have.
    assert james.open("bookings/bk-1010/sessions/ses-improvers-2026-11-28.ics").status_code == 404
    assert james.open("bookings/bk-1010/sessions/ses-beginners-2026-11-28.ics").status_code == 200
