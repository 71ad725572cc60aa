"""Sessions a family member could be booked into: the rules every self-service booking shares.

A session is an option when it belongs to one of the allowed programmes, is not cancelled, is
still before its booking cutoff, starts before the credit or pass runs out, is not one the
member already has a place in (nor, for a make-up, one they were excused from: the session just
cancelled is never offered back), does not overlap another of the member's sessions, and has a
real free place (see `capacity`). When nothing qualifies, `why_none` says which rule left
nothing, in that order, so the page can say why instead of showing an empty list; `why_not`
checks one session by the same rules (the re-check made under the lock when booking).

Options are listed soonest first, a page at a time, never silently cut short: the page knows
how many there are in all. `have_options` answers "is there at least one?" for many searches
at once in two queries, so a page can offer only the buttons that lead somewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import (
    and_,
    bindparam,
    case,
    false,
    func,
    literal_column,
    null,
    or_,
    true,
    union_all,
)
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, select

from widget_server.core.formatting import local
from widget_server.core.models import Attendance, Attendee, Booking, ClassSession, Programme
from widget_server.core.records import read
from widget_server.selfservice import capacity

PER_PAGE = 20
# What leaves nothing, checked in this order; "none_scheduled" also covers "nothing allowed".
STAGES = ("none_scheduled", "past_cutoff", "already_booked", "clash", "full")


@dataclass(frozen=True)
class Search:
    """Where to look for one family member: programmes (with their cutoff hours), until when."""

    tenant: str
    attendee_id: int
    cutoffs: dict[int, int]  # programme row id -> cutoff hours
    now: datetime
    until: datetime | None = None
    exclude: tuple[int, ...] = ()  # session ids never offered (e.g. the one a credit is for)
    ignore_attendance: int | None = None  # the place being moved away from (a reschedule)
    skip_excused: bool = False  # never offer a session the member was excused from (make-ups)


@dataclass(frozen=True)
class Option:
    session: ClassSession
    programme: Programme
    free: int | None  # None: no limit


@dataclass(frozen=True)
class Week:
    """Options of one local week (Monday first)."""

    starts: date
    options: list[Option]


@dataclass
class Page:
    options: list[Option]
    total: int
    page: int
    per_page: int = PER_PAGE
    weeks: list[Week] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max((self.total + self.per_page - 1) // self.per_page, 1)

    @property
    def first(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.options else 0

    @property
    def last(self) -> int:
        return self.first + len(self.options) - 1 if self.options else 0


EXCUSED = "excused"


def _statuses(search: Search) -> tuple[str, ...]:
    return capacity.COUNTING + ((EXCUSED,) if search.skip_excused else ())


def _busy(db: Session, search: Search
          ) -> tuple[set[int], list[tuple[datetime, datetime]], set[int]]:
    """The member's own places from now on: sessions already booked, times taken, and (when
    the search skips them) sessions the member was excused from."""
    # By the member's bookings (tenant and attendee), then their places: naming the tenant on
    # the places too would lead SQLite through the tenant's every place.
    conditions = [Booking.tenant == search.tenant, Booking.attendee_id == search.attendee_id,
                  Attendance.status.in_(_statuses(search)), ClassSession.cancelled == false(),
                  ClassSession.ends_at > search.now]
    if search.until is not None:
        conditions.append(ClassSession.starts_at <= search.until + timedelta(days=1))
    if search.ignore_attendance is not None:
        conditions.append(Attendance.id != search.ignore_attendance)
    rows = db.exec(
        select(ClassSession.id, ClassSession.starts_at, ClassSession.ends_at, Attendance.status)
        .join(Attendance, Attendance.session_id == ClassSession.id)
        .join(Booking, Booking.id == Attendance.booking_id)
        .where(*conditions)
    ).all()
    held = [r for r in rows if r[3] != EXCUSED]
    return ({r[0] for r in held}, [(r[1], r[2]) for r in held],
            {r[0] for r in rows if r[3] == EXCUSED})


def _conditions(db: Session, search: Search) -> dict[str, ColumnElement[bool]]:
    """Each rule as a condition on ClassSession, keyed by the reason it gives when it fails."""
    booked, times, excused = _busy(db, search)
    scheduled = [ClassSession.tenant == search.tenant,
                 ClassSession.programme_id.in_(list(search.cutoffs) or [-1]),
                 capacity.open_sessions(), ClassSession.starts_at > search.now]
    if search.until is not None:
        scheduled.append(ClassSession.starts_at <= search.until)
    if search.exclude or excused:
        scheduled.append(ClassSession.id.not_in({*search.exclude, *excused}))
    by_hours: dict[int, list[int]] = {}
    for programme, hours in search.cutoffs.items():
        by_hours.setdefault(hours, []).append(programme)
    cutoff = or_(false(), *[
        and_(ClassSession.programme_id.in_(programmes),
             ClassSession.starts_at > search.now + timedelta(hours=hours))
        for hours, programmes in by_hours.items()])
    clash = or_(false(), *[and_(ClassSession.starts_at < ends, ClassSession.ends_at > starts)
                           for starts, ends in times])
    return {
        "none_scheduled": and_(*scheduled),
        "past_cutoff": cutoff,
        "already_booked": ClassSession.id.not_in(booked) if booked else true(),
        "clash": ~clash if times else true(),
        "full": capacity.has_room(search.now),
    }


def _all(rules: dict[str, ColumnElement[bool]]) -> ColumnElement[bool]:
    return and_(*rules.values())


def find(db: Session, search: Search, page: int = 1, per_page: int = PER_PAGE,
         tz: str = "UTC") -> Page:
    """One page of options, soonest first, grouped by local week; with the total."""
    rules = _conditions(db, search)
    where = _all(rules)
    total = db.exec(select(func.count()).select_from(ClassSession).where(where)).one()
    pages = max((total + per_page - 1) // per_page, 1)
    page = min(max(page, 1), pages)
    rows = db.exec(
        select(ClassSession, Programme, capacity.attendance_taken(ClassSession.id)
               + capacity.holds_taken(ClassSession.id, search.now))
        .join(Programme, Programme.id == ClassSession.programme_id)
        .where(where)
        .order_by(ClassSession.starts_at, ClassSession.id)
        .offset((page - 1) * per_page).limit(per_page)
    ).all()
    options = [Option(s, p, capacity.free_places(s, taken)) for s, p, taken in rows]
    return Page(options, total, page, per_page, by_week(options, tz))


def find_or_why(db: Session, search: Search, page: int, tz: str) -> tuple[Page, str | None]:
    """One page of options, and when there are none the first rule that left none."""
    found = find(db, search, page, tz=tz)
    return found, (None if found.total else why_none(db, search))


def first(db: Session, search: Search) -> Option | None:
    """The soonest option, if any."""
    found = find(db, search, per_page=1)
    return found.options[0] if found.options else None


def by_week(options: Sequence[Option], tz: str) -> list[Week]:
    weeks: list[Week] = []
    for option in options:
        day = local(option.session.starts_at, tz).date()
        monday = day - timedelta(days=day.weekday())
        if not weeks or weeks[-1].starts != monday:
            weeks.append(Week(monday, []))
        weeks[-1].options.append(option)
    return weeks


def why_none(db: Session, search: Search, session_id: int | None = None) -> str | None:
    """The first rule that leaves no option (for one session, if given); None if some remain.

    One query: how many sessions pass each rule together with all the rules before it."""
    rules = _conditions(db, search)
    passed, counts = [], [func.count()]
    for reason in STAGES[1:]:
        passed.append(rules[reason])
        counts.append(func.sum(case((and_(*passed), 1), else_=0)))
    query = select(*counts).select_from(ClassSession).where(rules[STAGES[0]])
    if session_id is not None:
        query = query.where(ClassSession.id == session_id)
    row = db.exec(query).one()
    for reason, count in zip(STAGES, row, strict=True):
        if not count:
            return reason
    return None


def why_not(db: Session, search: Search, session: ClassSession) -> str | None:
    """Why one session is not an option, by the same rules, or None if it is one. Cheaper than
    `why_none` for a single session (two small queries), which matters under a lock."""
    if (session.tenant != search.tenant or session.programme_id not in search.cutoffs
            or session.cancelled or session.starts_at <= search.now
            or (search.until is not None and session.starts_at > search.until)
            or session.id in search.exclude):
        return "none_scheduled"
    if session.starts_at <= search.now + timedelta(hours=search.cutoffs[session.programme_id]):
        return "past_cutoff"
    conditions = [Booking.tenant == search.tenant, Booking.attendee_id == search.attendee_id,
                  Attendance.status.in_(_statuses(search)), ClassSession.cancelled == false(),
                  ClassSession.starts_at < session.ends_at,
                  ClassSession.ends_at > session.starts_at]
    if search.ignore_attendance is not None:
        conditions.append(Attendance.id != search.ignore_attendance)
    found = db.exec(
        select(ClassSession.id, Attendance.status)
        .join(Attendance, Attendance.session_id == ClassSession.id)
        .join(Booking, Booking.id == Attendance.booking_id)
        .where(*conditions)).all()
    overlapping = {sid for sid, status in found if status != EXCUSED}
    if session.id not in overlapping and (session.id, EXCUSED) in set(found):
        return "none_scheduled"
    if session.id in overlapping:
        return "already_booked"
    if overlapping:
        return "clash"
    return None if capacity.room_for_one(db, session, search.now) else "full"


def have_options(db: Session, searches: Sequence[Search]) -> list[bool]:
    """Whether each search has at least one option, by the rules of `find`, in two queries
    however many searches there are (all of one tenant, at one moment): the members' places,
    and the sessions with a free place; each search's own rules are then checked here."""
    if not searches:
        return []
    tenant, now = searches[0].tenant, searches[0].now
    programmes = {p for s in searches for p in s.cutoffs}
    if not programmes:
        return [False] * len(searches)
    ends = [s.until for s in searches]
    latest = None if None in ends else max(e for e in ends if e is not None)
    # Plain rows on the connection (`records.read`): the ORM's execution path cost more.
    rows = read(db, _PLACES_AND_CANDIDATES[latest is not None], {
        "tenant": tenant, "attendees": sorted({s.attendee_id for s in searches}),
        "programmes": sorted(programmes), "now": now,
        **({"latest": latest} if latest is not None else {})})
    # The places come first (the rows' order): the rest are the candidates, soonest first.
    split = next((n for n, row in enumerate(rows) if row[0] == _CANDIDATE), len(rows))
    by_member: dict[int, list] = {}
    for place in rows[:split]:
        by_member.setdefault(place[1], []).append(place)
    candidates = rows[split:]
    members = {attendee: _Member(places) for attendee, places in by_member.items()}
    nobody = _Member()
    # The sessions a search never takes, dropped once for all the searches that name the same
    # ones: a sessions tab's places to move (19 of them) all exclude the booking's sessions,
    # which are most of their programme's candidates.
    left: dict[tuple[int, ...], Sequence] = {(): candidates}
    # Searches that differ only in the place they move away from (a sessions tab's 20) share
    # one walk over the candidates, which notes the places that alone stand in the way.
    groups: dict[tuple, list[Search]] = {}
    for search in searches:
        groups.setdefault((search.attendee_id, search.exclude, id(search.cutoffs), search.now,
                           search.until, search.skip_excused), []).append(search)
    answers: dict[int, bool] = {}  # by the id() of each search
    for group in groups.values():
        first = group[0]  # all alike but for the place that moves
        usable = left.get(first.exclude)
        if usable is None:
            never = set(first.exclude)
            usable = left[first.exclude] = [row for row in candidates if row[4] not in never]
        moving = {s.ignore_attendance for s in group} - {None}
        free, unless = _walk(first, members.get(first.attendee_id, nobody), usable, moving)
        for search in group:
            answers[id(search)] = free or search.ignore_attendance in unless
    return [answers[id(search)] for search in searches]


# The statement of `have_options`, built once with bound parameters: every sessions page and
# the home page run it, and building it again cost more than running it. Two parts in one
# statement (one round trip, not two: on PostgreSQL each cost a page ~50 us of its CPU besides
# its rows), the members' places first, then the candidate sessions, soonest first. A row: the
# part, the member (a place) or the programme (a candidate), the place's id and status (none
# for a candidate), the session, its start and its end.
# The places are led by the members (then their bookings: attendance by booking is indexed),
# never by the tenant's whole attendance table; a semi-join on the bookings took half a
# millisecond. The bookings are joined on `attendee.id + 0`, not on the id itself: with the
# ids' own value passed on to the bookings, PostgreSQL priced a plan for the member's figures
# below its generic plan (the same joins) and planned the statement again on every run, 0.35 ms
# of a sessions tab's 4 ms. Through an expression, both plans cost the same, and the generic
# one is kept.
_PLACE, _CANDIDATE = 0, 1
_PLACES = (
    select(literal_column(str(_PLACE)).label("part"), Booking.attendee_id.label("who"),
           Attendance.id.label("place_id"), Attendance.status.label("status"),
           ClassSession.id.label("session_id"), ClassSession.starts_at.label("starts_at"),
           ClassSession.ends_at.label("ends_at"))
    .select_from(Attendee)
    .join(Booking, Booking.attendee_id == Attendee.id + literal_column("0"))
    .join(Attendance, Attendance.booking_id == Booking.id)
    .join(ClassSession, ClassSession.id == Attendance.session_id)
    .where(Attendee.tenant == bindparam("tenant"),
           Attendee.id.in_(bindparam("attendees", expanding=True)),
           Booking.tenant == bindparam("tenant"),
           Attendance.status.in_((*capacity.COUNTING, EXCUSED)),
           ClassSession.cancelled == false(), ClassSession.ends_at > bindparam("now")))
_PLACES_AND_CANDIDATES = {
    bounded: union_all(_PLACES, select(
        literal_column(str(_CANDIDATE)), ClassSession.programme_id, null(), null(),
        ClassSession.id, ClassSession.starts_at, ClassSession.ends_at)
        .where(ClassSession.tenant == bindparam("tenant"),
               ClassSession.programme_id.in_(bindparam("programmes", expanding=True)),
               capacity.open_sessions(), ClassSession.starts_at > bindparam("now"),
               capacity.has_room(bindparam("now")),
               ClassSession.starts_at <= bindparam("latest") if bounded else true()))
    .order_by(literal_column("part"), literal_column("starts_at"), literal_column("session_id"))
    for bounded in (True, False)}


class _Member:
    """One member's places from now on, as every search of that member reads them: the places
    holding each session (excused apart), and those at the time of each candidate session
    (worked out once for all the searches: a sessions tab makes 20)."""

    def __init__(self, places: Sequence = ()):
        self.held: dict[int, list[int]] = {}  # session id -> ids of the places held there
        self.excused: dict[int, list[int]] = {}  # session id -> ids of places excused there
        self.times: list[tuple[int, datetime, datetime]] = []  # held places: id, start, end
        self.clashes: dict[int, list[int]] = {}  # candidate session id -> held places then
        for _, _, place_id, status, session_id, starts, ends in places:
            if status == EXCUSED:
                self.excused.setdefault(session_id, []).append(place_id)
            else:
                self.held.setdefault(session_id, []).append(place_id)
                self.times.append((place_id, starts, ends))

    def clashing(self, session_id: int, starts: datetime, ends: datetime) -> list[int]:
        found = self.clashes.get(session_id)
        if found is None:
            found = self.clashes[session_id] = [
                place_id for place_id, taken_start, taken_end in self.times
                if starts < taken_end and ends > taken_start]
        return found


def _walk(search: Search, member: _Member, candidates: Sequence,
          moving: set[int]) -> tuple[bool, set[int]]:
    """The rules of `_conditions` over rows already read, less the sessions the search
    excludes, for the search as it is and for it moving away from each of the `moving` places
    (`ignore_attendance`: that place then neither holds its session nor takes its time), in
    one walk: whether a candidate is open with nothing in its way, and which of the moving
    places alone stand in the way of one. In the way: a place holding the session, one excused
    from it (for a make-up) or one at its time."""
    alone: set[int] = set()
    if not candidates:
        return False, alone
    skip_excused = search.skip_excused
    opens = {programme_id: search.now + timedelta(hours=hours)
             for programme_id, hours in search.cutoffs.items()}
    until = search.until
    held, excused = member.held, member.excused
    for _, programme_id, _, _, session_id, starts, ends in candidates:
        if until is not None and starts > until:
            break  # soonest first: the rest start later still
        in_way = None  # the one place in the way, if one is
        there = held.get(session_id)
        if there:
            if len(there) > 1 or there[0] not in moving:
                continue  # already booked
            in_way = there[0]
        if skip_excused:
            there = excused.get(session_id)
            if there:
                if len(there) > 1 or there[0] not in moving or in_way not in (None, there[0]):
                    continue  # excused from it: not offered as a make-up
                in_way = there[0]
        opened = opens.get(programme_id)
        if opened is None or starts <= opened:
            continue  # too late to book
        there = member.clashing(session_id, starts, ends)
        if there:
            if len(there) > 1 or there[0] not in moving or in_way not in (None, there[0]):
                continue  # at the time of another place
            in_way = there[0]
        if in_way is None:
            return True, alone
        alone.add(in_way)
    return False, alone
