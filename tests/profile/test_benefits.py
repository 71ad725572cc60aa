"""Benefits: every extra in one place, each in the state it is in and with its history:
make-ups (to book, used, expired), discounts (available, coming up, used, expired; the
family's marked), entry passes (active, used up, expired, cancelled; the entries used) and
prepaid credit (balance, and where and when it went)."""

from __future__ import annotations

import re

import pytest
from profile_support import NOW, browser, freeze, section
from sqlmodel import Session

from widget_server.core.access import Access
from widget_server.core.models import Client
from widget_server.profile.benefits import load_benefits

PARENT = "kim@example.com"


def push(api, items: list[tuple[str, str, dict]]) -> None:
    for resource, external_id, item in items:
        answer = api.put(resource, external_id, item)
        assert answer.status_code == 201, (resource, answer.text)


def session_item(programme: str, day: str, hour: str = "09") -> dict:
    return {"programme_id": programme, "starts_at": f"{day}T{hour}:00:00Z",
            "ends_at": f"{day}T{hour}:45:00Z"}


@pytest.fixture
def family(app, api):
    """Kim's family: Leo has a running and a finished booking, Ada one; benefits in each state."""
    freeze(app)  # Sunday 22 November 2026, noon
    push(api, [
        ("clients", "c1", {"email": PARENT, "name": "Kim Park"}),
        ("attendees", "leo", {"client_id": "c1", "name": "Leo Park"}),
        ("attendees", "ada", {"client_id": "c1", "name": "Ada Park"}),
        ("programmes", "otters", {"name": "Otters", "venue": "Lido",
                                  "makeup_policy": "same_programme"}),
        ("programmes", "seals", {"name": "Seals", "venue": "Lido",
                                 "makeup_policy": "same_programme"}),
        ("sessions", "s-oct", session_item("otters", "2026-10-31")),
        ("sessions", "s-nov", session_item("otters", "2026-11-07")),
        ("sessions", "s-dec", session_item("otters", "2026-12-02", "16")),
        ("sessions", "s-old", session_item("seals", "2026-06-06")),
        # Sessions to book make-ups in (Leo has no place in them).
        ("sessions", "s-otters-next", session_item("otters", "2026-12-12")),
        ("sessions", "s-seals-next", session_item("seals", "2026-12-12", "11")),
        ("bookings", "b-leo", {"client_id": "c1", "attendee_id": "leo", "programme_id": "otters"}),
        ("bookings", "b-leo-old", {"client_id": "c1", "attendee_id": "leo",
                                   "programme_id": "seals", "status": "finished"}),
        ("bookings", "b-ada", {"client_id": "c1", "attendee_id": "ada",
                               "programme_id": "seals", "status": "finished"}),
        ("attendance", "t-oct", {"booking_id": "b-leo", "session_id": "s-oct",
                                 "status": "excused"}),
        ("attendance", "t-nov", {"booking_id": "b-leo", "session_id": "s-nov",
                                 "status": "missed"}),
        ("attendance", "t-dec", {"booking_id": "b-leo", "session_id": "s-dec", "makeup": True}),
        ("attendance", "t-old", {"booking_id": "b-leo-old", "session_id": "s-old",
                                 "status": "excused"}),
        ("attendance", "t-ada", {"booking_id": "b-ada", "session_id": "s-old",
                                 "status": "missed"}),
        # Make-ups: one to book, one spent on the 2 December class, one expired; the old
        # term's, whose booking is over, is booked from Leo's running booking; Ada has none
        # running, so hers cannot be booked here.
        ("makeup-credits", "m-free", {"client_id": "c1", "attendee_id": "leo",
                                      "source_attendance_id": "t-nov",
                                      "expires_at": "2027-01-06T23:59:00Z"}),
        ("makeup-credits", "m-used", {"client_id": "c1", "attendee_id": "leo",
                                      "source_attendance_id": "t-oct",
                                      "used_attendance_id": "t-dec",
                                      "used_at": "2026-11-20T10:00:00Z"}),
        ("makeup-credits", "m-gone", {"client_id": "c1", "attendee_id": "leo",
                                      "source_attendance_id": "t-old",
                                      "expires_at": "2026-08-01T00:00:00Z"}),
        ("makeup-credits", "m-old", {"client_id": "c1", "attendee_id": "leo",
                                     "source_attendance_id": "t-old"}),
        ("makeup-credits", "m-ada", {"client_id": "c1", "attendee_id": "ada",
                                     "source_attendance_id": "t-ada"}),
        ("discounts", "d-now", {"client_id": "c1", "name": "Siblings", "value": 10,
                                "valid_until": "2027-05-01"}),
        ("discounts", "d-soon", {"client_id": "c1", "attendee_id": "ada", "name": "Birthday",
                                 "kind": "amount", "value": 500, "currency": "GBP",
                                 "valid_from": "2026-12-10"}),
        ("discounts", "d-used", {"client_id": "c1", "attendee_id": "leo", "name": "Trial",
                                 "value": 50, "used": True}),
        ("discounts", "d-past", {"client_id": "c1", "name": "Summer", "value": 15,
                                 "valid_until": "2026-09-01"}),
        ("entry-passes", "p-active", {
            "client_id": "c1", "attendee_id": "leo", "name": "Swim 10", "total_entries": 10,
            "used_entries": 2, "valid_until": "2027-02-01",
            "uses": [{"used_at": "2026-11-01T14:05:00Z", "session_id": "s-oct"},
                     {"used_at": "2026-11-08T14:05:00Z", "note": "Family swim"}]}),
        ("entry-passes", "p-full", {"client_id": "c1", "name": "Swim 5", "total_entries": 5,
                                    "used_entries": 5}),
        ("entry-passes", "p-late", {"client_id": "c1", "name": "Summer 3", "total_entries": 3,
                                    "used_entries": 1, "valid_until": "2026-09-30"}),
        ("entry-passes", "p-off", {"client_id": "c1", "name": "Gift 2", "total_entries": 2,
                                   "status": "cancelled"}),
        ("orders", "o-1", {"client_id": "c1", "number": "ORD-7", "currency": "GBP",
                           "ordered_at": "2026-11-01T10:00:00Z",
                           "items": [{"name": "Goggles", "unit_price": 900}]}),
        ("credits", "cr-in", {"client_id": "c1", "amount": 3000, "currency": "GBP",
                              "occurred_at": "2026-09-01T10:00:00Z", "description": "Top-up"}),
        ("credits", "cr-order", {"client_id": "c1", "amount": -900, "currency": "GBP",
                                 "occurred_at": "2026-11-01T10:00:00Z", "order_id": "o-1"}),
        ("credits", "cr-class", {"client_id": "c1", "amount": -1200, "currency": "GBP",
                                 "occurred_at": "2026-11-10T10:00:00Z", "booking_id": "b-leo",
                                 "description": "Paid with credit"}),
        ("credits", "cr-eur", {"client_id": "c1", "amount": 500, "currency": "EUR",
                               "occurred_at": "2026-11-12T10:00:00Z", "description": "Refund"}),
    ])
    return app


@pytest.fixture
def kim(family, mailbox):
    return browser(family, mailbox, PARENT)


def test_make_ups_to_book_come_first_with_their_expiry_and_a_way_to_book(kim):
    makeups = section(kim.open("benefits").text, "makeups-title")
    assert "You have 2 make-up sessions to book." in makeups  # Ada's cannot be booked
    order = [makeups.index(s) for s in ("Use by 6 Jan 2027", "on 6 Jun 2026 Available",
                                        "Used on 2 Dec 2026", "Expired on 1 Aug 2026")]
    assert order == sorted(order)
    assert "Leo Park For Otters on 7 Nov 2026 Use by 6 Jan 2027 Available Book it" in makeups
    page = kim.open("benefits").text
    # "Book it" opens the make-up flow for that credit, even the old term's (Leo has a
    # running booking to book it from); Ada has none, so hers cannot be booked here.
    assert 'href="http://testserver/t/demo/makeups/m-free"' in page
    assert 'href="http://testserver/t/demo/makeups/m-old"' in page
    assert "makeups/m-ada" not in page and "makeups/m-used" not in page
    assert makeups.count("Book it") == 2


def test_a_used_make_up_shows_when_it_was_spent_and_an_expired_one_when_it_ended(kim):
    makeups = section(kim.open("benefits").text, "makeups-title")
    assert "For Otters on 31 Oct 2026 Used on 2 Dec 2026 Used" in makeups
    assert "For Seals on 6 Jun 2026 Expired on 1 Aug 2026 Expired" in makeups


def test_discounts_in_every_state_the_family_ones_marked(kim):
    discounts = section(kim.open("benefits").text, "discounts-title")
    assert "Siblings · 10% Whole family · valid until 1 May 2027 Available" in discounts
    assert "Birthday · £5.00 Ada Park · from 10 Dec 2026 Coming up" in discounts
    assert "Trial · 50% Leo Park Used" in discounts
    assert "Summer · 15% Whole family · ended 1 Sept 2026 Expired" in discounts
    assert discounts.index("Coming up") < discounts.index("Used")  # usable ones first


def test_entry_passes_count_down_and_list_the_entries_used(kim):
    passes = section(kim.open("benefits").text, "passes-title")
    assert "Swim 10 Available 8 entries left 2 of 10 used Leo Park · valid until 1 Feb 2027" \
        in passes
    assert "2 entries used 8 Nov 2026 Family swim 1 Nov 2026 Otters" in passes
    assert "Swim 5 Used up 0 entries left 5 of 5 used Whole family" in passes
    assert "Summer 3 Expired 2 entries left 1 of 3 used Whole family · expired on 30 Sept " \
           "2026" in passes
    assert "Gift 2 Cancelled" in passes
    assert passes.index("Swim 10") < passes.index("Swim 5")  # the usable pass first


def test_credit_shows_the_balance_and_where_each_amount_went(kim):
    credit = section(kim.open("benefits").text, "credit-title")
    assert re.search(r"Balance: €5\.00 ?, £9\.00", credit)
    assert "10 Nov 2026 Paid with credit Otters – Leo Park -£12.00" in credit
    assert "1 Nov 2026 Order ORD-7 -£9.00" in credit
    assert "1 Sept 2026 Top-up +£30.00" in credit
    assert credit.index("12 Nov 2026") < credit.index("10 Nov 2026") < credit.index("1 Sept")


def test_an_adult_a_booking_is_shared_with_sees_that_childs_make_ups_only(family, api,
                                                                         mailbox):
    push(api, [("shares", "sh-gran", {"booking_id": "b-leo", "email": "gran@example.com",
                                      "relation": "grandparent", "access": "view"})])
    gran = browser(family, mailbox, "gran@example.com")
    page = gran.open("benefits").text
    makeups = section(page, "makeups-title")
    assert "2 make-up sessions are available." in makeups
    assert "Leo Park" in makeups and "Ada" not in makeups and "Book it" not in makeups
    assert 'id="discounts-title"' not in page and "Siblings" not in page
    assert "Discounts, entry passes and credit belong to the family's own account" in page


def test_benefits_of_a_family_load_in_the_same_few_queries(family):
    with Session(family.state.engine) as db:
        client = db.exec(Client.__table__.select().where(Client.email == PARENT)).one()
        benefits = load_benefits(db, Access("demo", PARENT, client.id), NOW, "Europe/London")
    assert [m.state for m in benefits.makeups] == ["available", "available", "available",
                                                   "used", "expired"]
    assert [m.bookable for m in benefits.makeups][:3] == [True, True, False]
    assert benefits.balances == [("EUR", 500), ("GBP", 900)]
