"""Families never see each other: every profile address with someone else's ids is a 404.

Two families at Splash Swim School ("demo") and one at Piruetka ("demo-sk"); each family has
its own provider ids. The logged-in parent walks every profile route with the other
families' ids. A grandparent a booking is shared with sees that booking only, until the
share is revoked.
"""

from __future__ import annotations

import re

import pytest
from profile_support import browser, counting_statements, freeze, section, text_of

ROUTES = [
    "bookings/{booking}",
    "bookings/{booking}/sessions",
    "bookings/{booking}/sessions/{session}.ics",
    "bookings/{own_booking}/sessions/{session}.ics",
    "?member={child}",
    "progress?member={child}",
]


def push_family(api, key: str, email: str, child: str) -> dict[str, str]:
    """A family with two bookings and one of everything else; returns its provider ids."""
    ids = {"client": f"{key}-client", "child": f"{key}-child", "booking": f"{key}-b1",
           "second": f"{key}-b2", "session": f"{key}-s1", "order": f"{key.upper()}-ORDER-1"}
    puts = [
        ("clients", ids["client"], {"email": email, "name": f"Parent {key.upper()}"}),
        ("attendees", ids["child"], {"client_id": ids["client"], "name": child}),
        ("programmes", f"{key}-p1", {"name": f"Programme {key.upper()}", "venue": "Hall"}),
        ("sessions", ids["session"], {"programme_id": f"{key}-p1",
                                      "starts_at": "2026-12-05T09:00:00Z",
                                      "ends_at": "2026-12-05T09:45:00Z"}),
        ("bookings", ids["booking"], {"client_id": ids["client"], "attendee_id": ids["child"],
                                      "programme_id": f"{key}-p1"}),
        ("bookings", ids["second"], {"client_id": ids["client"], "attendee_id": ids["child"],
                                     "programme_id": f"{key}-p1"}),
        ("attendance", f"{key}-t1", {"booking_id": ids["booking"], "session_id": ids["session"]}),
        ("orders", ids["order"], {"client_id": ids["client"], "number": ids["order"],
                                  "ordered_at": "2026-11-01T10:00:00Z", "currency": "GBP",
                                  "items": [{"name": f"Cap {key}", "unit_price": 500}]}),
        ("payments", f"{key}-pay", {"client_id": ids["client"], "booking_id": ids["booking"],
                                    "amount": 4321, "currency": "GBP",
                                    "description": f"Fee {key.upper()}"}),
        ("makeup-credits", f"{key}-mk", {"client_id": ids["client"], "attendee_id": ids["child"],
                                         "source_attendance_id": f"{key}-t1"}),
        ("discounts", f"{key}-d", {"client_id": ids["client"], "name": f"Deal {key.upper()}",
                                   "value": 10}),
        ("credits", f"{key}-cr", {"client_id": ids["client"], "amount": 700, "currency": "GBP",
                                  "occurred_at": "2026-11-01T10:00:00Z",
                                  "description": f"Top-up {key.upper()}"}),
        ("entry-passes", f"{key}-ep", {"client_id": ids["client"], "name": f"Pass {key.upper()}",
                                       "total_entries": 5}),
    ]
    for resource, external_id, body in puts:
        response = api.put(resource, external_id, body)
        assert response.status_code == 201, (resource, response.text)
    return ids


@pytest.fixture
def families(app, api):
    freeze(app)
    return {
        "mine": push_family(api, "a", "ann@example.com", "Alfie Ann"),
        "other client": push_family(api, "b", "bob@example.com", "Bella Bob"),
        "other tenant": push_family(api.as_tenant("demo-sk"), "c", "cyril@example.com",
                                    "Cilka Cyril"),
    }


@pytest.fixture
def ann(app, families, mailbox):
    return browser(app, mailbox, "ann@example.com")


@pytest.mark.parametrize("owner", ["other client", "other tenant"])
@pytest.mark.parametrize("route", ROUTES)
def test_someone_elses_ids_are_not_found_on_any_route(families, ann, owner, route):
    theirs, mine = families[owner], families["mine"]
    path = route.format(booking=theirs["booking"], session=theirs["session"],
                        child=theirs["child"], own_booking=mine["booking"])
    assert ann.open(path).status_code == 404
    own = route.format(booking=mine["booking"], session=mine["session"], child=mine["child"],
                       own_booking=mine["booking"])
    assert ann.open(own).status_code == 200


@pytest.mark.parametrize("page", ["", "benefits", "orders", "account"])
def test_family_pages_show_nothing_of_other_families(families, ann, page):
    words = text_of(ann.open(page).text)
    for other in ("b", "c"):
        for trace in (f"Parent {other.upper()}", f"Programme {other.upper()}",
                      f"{other.upper()}-ORDER-1", f"Fee {other.upper()}",
                      f"Deal {other.upper()}", f"Top-up {other.upper()}",
                      f"Pass {other.upper()}", "Bella", "Cilka"):
            assert trace not in words, (page, trace)


def test_the_profile_of_one_school_does_not_open_at_another(families, ann):
    assert ann.client.get("/t/demo-sk/", follow_redirects=False).status_code == 303


def test_a_grandparent_sees_only_the_shared_booking_until_it_is_revoked(app, api, families,
                                                                         mailbox):
    mine = families["mine"]
    api.put("shares", "share-1", {"booking_id": mine["booking"], "email": "gran@example.com",
                                  "relation": "grandparent", "status": "active"})
    gran = browser(app, mailbox, "gran@example.com")

    home = gran.open("")
    assert "Hello, gran@example.com" in home.text
    assert "Alfie" in text_of(home.text)
    assert "Programme A" in section(home.text, "active-title")
    assert len(re.findall(r'class="cp-booking"', home.text)) == 1  # not the second booking
    assert "Family account" not in home.text and "Quick actions" in home.text
    assert gran.open(f"bookings/{mine['booking']}").status_code == 200
    assert gran.open(f"bookings/{mine['booking']}/sessions").status_code == 200
    assert gran.open(f"bookings/{mine['second']}").status_code == 404
    dashboard = gran.open(f"bookings/{mine['booking']}").text
    assert "Shared with you" in dashboard and "Fee A" not in dashboard  # no family money
    for page in ("benefits", "orders", "account"):
        words = text_of(gran.open(page).text)
        for trace in ("A-ORDER-1", "Fee A", "Deal A", "Top-up A", "Pass A", "Parent A"):
            assert trace not in words, (page, trace)

    api.put("shares", "share-1", {"booking_id": mine["booking"], "email": "gran@example.com",
                                  "relation": "grandparent", "status": "revoked"})
    assert gran.open(f"bookings/{mine['booking']}").status_code == 404
    assert "No bookings yet" in text_of(gran.open("").text)


def test_a_pending_share_or_a_share_at_another_school_shows_nothing(app, api, families,
                                                                   mailbox):
    api.put("shares", "share-1", {"booking_id": families["mine"]["booking"],
                                  "email": "gran@example.com", "status": "pending"})
    api.as_tenant("demo-sk").put("shares", "share-9", {
        "booking_id": families["other tenant"]["booking"], "email": "gran@example.com",
        "status": "active"})
    gran = browser(app, mailbox, "gran@example.com")  # a pending share may log in
    assert "No bookings yet" in text_of(gran.open("").text)
    assert gran.open(f"bookings/{families['mine']['booking']}").status_code == 404
    assert gran.open(f"bookings/{families['other tenant']['booking']}").status_code == 404


def test_a_parent_a_booking_is_shared_with_sees_it_beside_their_own_from_the_next_page(
        app, api, families, ann):
    theirs, mine = families["other client"], families["mine"]
    # No booking is shared with Ann: her pages read her family's rows by her client alone,
    # with no shares' half in any statement (only the first asks whether she has any).
    for page in ("", f"bookings/{mine['booking']}", f"bookings/{mine['booking']}/sessions",
                 "benefits", "orders"):
        with counting_statements(app) as sent:
            assert ann.open(page).status_code == 200
        assert [s for s, *_ in sent if "booking_share" in s] == [sent[0][0]], page
    home = ann.open("")
    assert "Alfie" in text_of(home.text) and "Bella" not in text_of(home.text)

    api.put("shares", "share-2", {"booking_id": theirs["booking"], "email": "ann@example.com",
                                  "relation": "parent", "status": "active"})
    with counting_statements(app) as sent:
        home = ann.open("")
    assert "Alfie" in text_of(home.text) and "Bella" in text_of(home.text)
    assert len([s for s, *_ in sent if "booking_share" in s]) > 1
    assert ann.open(f"bookings/{theirs['booking']}").status_code == 200
    assert ann.open(f"bookings/{theirs['second']}").status_code == 404
    assert ann.open(f"bookings/{mine['booking']}").status_code == 200

    api.put("shares", "share-2", {"booking_id": theirs["booking"], "email": "ann@example.com",
                                  "relation": "parent", "status": "revoked"})
    assert ann.open(f"bookings/{theirs['booking']}").status_code == 404
    assert "Bella" not in text_of(ann.open("").text)
