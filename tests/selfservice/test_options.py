"""Whether a place could move, or a make-up be booked, is asked of every row of a sessions tab
at once (`have_options`, over rows read in two statements): each answer must be the one the
full search (`first`, the sessions the family then chooses from) gives for the same rules."""

from __future__ import annotations

from datetime import timedelta
from itertools import product

import pytest
from profile_support import NOW, freeze
from sqlmodel import Session, select

from widget_server.core.models import Attendance, Attendee, ClassSession, Programme
from widget_server.selfservice import options


def day(days: int, hour: int = 17) -> str:
    return (NOW.replace(hour=hour, minute=0) + timedelta(days=days)).isoformat()


@pytest.fixture
def timetable(app, api):
    """Leo's two weekly classes, a make-up class beside them with a full session, and a
    session of another class at the same time as one of his."""
    api.put("clients", "c1", {"email": "ann@example.com", "name": "Ann Lee"})
    api.put("attendees", "a1", {"client_id": "c1", "name": "Leo Lee"})
    for programme in ("swim", "gym", "swim-b"):
        api.put("programmes", programme, {"name": programme.title(), "makeup_group": "pool"
                                          if programme.startswith("swim") else None})
    sessions = {  # id: (programme, day, hour, capacity)
        "sw1": ("swim", -7, 17, 10), "sw2": ("swim", 1, 17, 10), "sw3": ("swim", 8, 17, 10),
        "sw4": ("swim", 15, 17, 10), "sw5": ("swim", 22, 17, 10),
        "gy1": ("gym", 3, 17, 10), "gy2": ("gym", 10, 17, 10),
        "sb1": ("swim-b", 3, 17, 10),  # at the time of Leo's gym class
        "sb2": ("swim-b", 4, 17, 0),  # full
        "sb3": ("swim-b", 12, 9, 10), "sb4": ("swim-b", 0, 14, 10)}  # in 2 hours
    for ref, (programme, days, hour, places) in sessions.items():
        api.put("sessions", ref, {"programme_id": programme, "starts_at": day(days, hour),
                                  "ends_at": day(days, hour + 1), "capacity": places})
    api.put("bookings", "b-swim", {"client_id": "c1", "attendee_id": "a1",
                                   "programme_id": "swim"})
    api.put("bookings", "b-gym", {"client_id": "c1", "attendee_id": "a1", "programme_id": "gym"})
    for ref, booking, session, status in (
            ("p1", "b-swim", "sw1", "attended"), ("p2", "b-swim", "sw2", "expected"),
            ("p3", "b-swim", "sw3", "excused"), ("p4", "b-swim", "sw4", "expected"),
            ("p5", "b-gym", "gy1", "expected"), ("p6", "b-gym", "gy2", "expected")):
        api.put("attendance", ref, {"booking_id": booking, "session_id": session,
                                    "status": status})
    freeze(app)
    with Session(app.state.engine) as db:
        ids = {"leo": db.exec(select(Attendee.id).where(Attendee.external_id == "a1")).one()}
        for model in (Programme, ClassSession, Attendance):
            ids |= dict(db.exec(select(model.external_id, model.id)).all())
    return ids


def test_each_answer_is_the_full_search_s_answer(app, timetable):
    ids = timetable
    cutoffs = [{}, {ids["swim"]: 0}, {ids["swim"]: 0, ids["swim-b"]: 0},
               {ids["swim"]: 0, ids["swim-b"]: 48}, {ids["swim-b"]: 0}, {ids["gym"]: 0}]
    places = [None, ids["p2"], ids["p4"], ids["p5"], ids["p3"]]
    excluded = [(), (ids["sw5"],), (ids["sb1"], ids["sb3"], ids["sb4"], ids["sw3"])]
    ends = [None, NOW + timedelta(days=5), NOW + timedelta(hours=1)]
    searches = [options.Search(tenant="demo", attendee_id=ids["leo"], now=NOW, cutoffs=c,
                               until=until, exclude=exclude, ignore_attendance=place,
                               skip_excused=skip)
                for c, place, exclude, until, skip in product(
                    cutoffs, places, excluded, ends, (False, True))]
    with Session(app.state.engine) as db:
        together = options.have_options(db, searches)
        one_by_one = [options.first(db, search) is not None for search in searches]
    assert together == one_by_one
    assert 0.2 < sum(together) / len(together) < 0.8  # both answers are tried, often


def test_a_tab_s_places_to_move_are_answered_in_one_walk_over_the_sessions(
        app, timetable, monkeypatch):
    """A sessions tab asks, for each of its places, whether it could move: the searches differ
    only in the place that moves, so the sessions found are looked at once for all of them,
    not once per place (20 places a tab)."""
    ids = timetable
    looked = []
    clashing = options._Member.clashing

    def counted(member, session_id, starts, ends):
        looked.append(session_id)
        return clashing(member, session_id, starts, ends)

    monkeypatch.setattr(options._Member, "clashing", counted)
    cutoffs = {ids["swim"]: 0, ids["swim-b"]: 0}
    moving = [ids["p2"], ids["p4"], ids["p5"], None]

    def searches(places):
        return [options.Search(tenant="demo", attendee_id=ids["leo"], now=NOW, cutoffs=cutoffs,
                               exclude=(ids["sw2"], ids["sw4"]), ignore_attendance=place)
                for place in places]

    with Session(app.state.engine) as db:
        together = options.have_options(db, searches(moving))
        assert together == [options.first(db, s) is not None for s in searches(moving)]
    # Each session the four places could move to looked at once, not once per place.
    assert looked and len(looked) == len(set(looked))
