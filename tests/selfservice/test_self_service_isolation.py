"""Every self-service address with another family's or another school's ids is a 404, and
every self-service form is refused without its CSRF token."""

from __future__ import annotations

import pytest
from self_service_support import DAY, School

from widget_server.core.models import Attendance, EntryPass, MakeupCredit

GETS = [
    "bookings/{booking}/sessions/{session}/cancel",
    "bookings/{booking}/sessions/{session}/move",
    "bookings/{booking}/addons",
    "makeups/{credit}",
    "makeups/{credit}/sessions/{session}",
    "passes/{pass}",
    "passes/{pass}/sessions/{session}",
]
POSTS = [
    "bookings/{booking}/sessions/{session}/cancel",
    "bookings/{booking}/sessions/{session}/move",
    "bookings/{booking}/addons",
    "makeups/{credit}/sessions/{session}",
    "makeups/{credit}/waitlist",
    "makeups/{credit}/waitlist/leave",
    "makeups/{credit}/offer",
    "passes/{pass}/sessions/{session}",
]


def family(s: School, key: str) -> dict[str, str]:
    """A family with a booking, a session in it, a credit and a pass; returns its ids."""
    ids = {"booking": f"{key}-b", "session": f"{key}-s", "credit": f"{key}-mk",
           "pass": f"{key}-ep"}
    with s.batch():
        s.programme(f"{key}-p", addons=[{"id": "towel", "name": "Towel", "price": 100}])
        s.family(key)
        s.booking(ids["booking"], f"{key}-parent", f"{key}-child", f"{key}-p")
        s.session(f"{key}-past", f"{key}-p", -7 * DAY, capacity=9)
        s.session(ids["session"], f"{key}-p", 5 * DAY, capacity=9)
        s.attend(f"{key}-a0", ids["booking"], f"{key}-past", "excused")
        s.attend(f"{key}-a1", ids["booking"], ids["session"])
        s.credit(ids["credit"], f"{key}-parent", f"{key}-child", f"{key}-a0")
        s.put("entry-passes", ids["pass"], client_id=f"{key}-parent", name="Pass",
              total_entries=5, programme_id=f"{key}-p")
    return ids


@pytest.fixture
def world(app, client, mailbox):
    sk = School(app, "demo-sk")
    mine, neighbour = family(sk, "mine"), family(sk, "them")
    elsewhere = family(School(app, "demo"), "far")
    visitor = sk.browser(mailbox, "mine@example.com")
    return sk, visitor, mine, neighbour, elsewhere


def variants(route: str, mine: dict, other: dict, same_school: bool) -> list[dict]:
    """My ids with one of them swapped for the other family's. Another family's session of
    the same school is a class anyone may see, so it is swapped only where it must be in my
    booking."""
    out = []
    for key in ("booking", "credit", "pass", "session"):
        if "{" + key + "}" not in route:
            continue
        if key == "session" and same_school and "{booking}" not in route:
            continue
        out.append(mine | {key: other[key]})
    return out


def unchanged(s: School) -> None:
    assert s.rows(MakeupCredit, MakeupCredit.used_attendance_id.is_not(None)) == []
    assert {a.status for a in s.rows(Attendance, Attendance.external_id.like("%-a1"))} \
        == {"expected"}
    assert {p.used_entries for p in s.rows(EntryPass)} == {0}


@pytest.mark.parametrize("route", GETS)
@pytest.mark.parametrize("whose", ["neighbour", "other school"])
def test_someone_elses_ids_are_not_found(world, route, whose):
    s, visitor, mine, neighbour, elsewhere = world
    other = neighbour if whose == "neighbour" else elsewhere
    assert visitor.open(route.format(**mine)).status_code == 200
    for ids in variants(route, mine, other, whose == "neighbour"):
        assert visitor.open(route.format(**ids)).status_code == 404, route.format(**ids)


@pytest.mark.parametrize("route", POSTS)
@pytest.mark.parametrize("whose", ["neighbour", "other school"])
def test_someone_elses_ids_cannot_be_acted_on(world, route, whose):
    s, visitor, mine, neighbour, elsewhere = world
    other = neighbour if whose == "neighbour" else elsewhere
    for ids in variants(route, mine, other, whose == "neighbour"):
        answer = visitor.post(route.format(**ids), {"to": mine["session"], "addon": "towel",
                                                    "member": "mine-child"})
        assert answer.status_code == 404, route.format(**ids)
    unchanged(s)
    assert s.events() == []


@pytest.mark.parametrize("route", POSTS)
def test_every_form_needs_its_csrf_token(world, route):
    s, visitor, mine, _, _ = world
    visitor.open("")
    without = visitor.client.post(visitor.url(route.format(**mine)),
                                  data={"to": mine["session"], "addon": "towel"},
                                  follow_redirects=False)
    assert without.status_code == 403
    forged = visitor.client.post(visitor.url(route.format(**mine)),
                                 data={"csrf_token": "forged", "addon": "towel"},
                                 follow_redirects=False)
    assert forged.status_code == 403
    unchanged(s)


@pytest.mark.parametrize("route", POSTS)
def test_forms_of_a_logged_out_visitor_go_to_the_login(app, client, route):
    School(app)
    answer = client.post(f"/t/demo-sk/{route}".format(booking="b", session="s", credit="c",
                                                       **{"pass": "p"}),
                         follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].endswith("/login")


def test_a_place_cannot_be_moved_to_another_schools_session(world):
    s, visitor, mine, _, elsewhere = world
    visitor.open("")
    moved = visitor.post(f"bookings/{mine['booking']}/sessions/{mine['session']}/move",
                         {"to": elsewhere["session"]})
    assert moved.status_code == 404
    unchanged(s)
