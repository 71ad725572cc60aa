"""Sessions a family member could be booked into: the rules every self-service booking shares.

A session is an option when it belongs to one of the allowed programmes, is not cancelled, is
still before its booking cutoff, starts before the credit or pass runs out, is not one the
member already has a place in, does not overlap another of the member's sessions, and has a
real free place (see `capacity`). When nothing qualifies, `why_none` says which rule left
nothing, in that order, so the page can say why instead of showing an empty list; `why_not`
checks one session by the same rules (the re-check made under the lock when booking).

Options are listed soonest first, a page at a time, never silently cut short: the page knows
how many there are in all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, false, func, or_, true
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, select

from widget_server import capacity
from widget_server.formatting import local
from widget_server.models import Attendance, Booking, Programme
from widget_server.models import Session as ClassSession

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


def _busy(db: Session, search: Search) -> tuple[set[int], list[tuple[datetime, datetime]]]:
    """The member's own places from now on: sessions already booked and times taken."""
    conditions = [Attendance.tenant == search.tenant, Booking.attendee_id == search.attendee_id,
                  Attendance.status.in_(capacity.COUNTING), ClassSession.cancelled == false(),
                  ClassSession.ends_at > search.now]
    if search.until is not None:
        conditions.append(ClassSession.starts_at <= search.until + timedelta(days=1))
    if search.ignore_attendance is not None:
        conditions.append(Attendance.id != search.ignore_attendance)
    rows = db.exec(
        select(ClassSession.id, ClassSession.starts_at, ClassSession.ends_at)
        .join(Attendance, Attendance.session_id == ClassSession.id)
        .join(Booking, Booking.id == Attendance.booking_id)
        .where(*conditions)
    ).all()
    return {r[0] for r in rows}, [(r[1], r[2]) for r in rows]


def _conditions(db: Session, search: Search) -> dict[str, ColumnElement[bool]]:
    """Each rule as a condition on ClassSession, keyed by the reason it gives when it fails."""
    booked, times = _busy(db, search)
    scheduled = [ClassSession.tenant == search.tenant,
                 ClassSession.programme_id.in_(list(search.cutoffs) or [-1]),
                 capacity.open_sessions(), ClassSession.starts_at > search.now]
    if search.until is not None:
        scheduled.append(ClassSession.starts_at <= search.until)
    if search.exclude:
        scheduled.append(ClassSession.id.not_in(search.exclude))
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
    conditions = [Attendance.tenant == search.tenant, Booking.attendee_id == search.attendee_id,
                  Attendance.status.in_(capacity.COUNTING), ClassSession.cancelled == false(),
                  ClassSession.starts_at < session.ends_at,
                  ClassSession.ends_at > session.starts_at]
    if search.ignore_attendance is not None:
        conditions.append(Attendance.id != search.ignore_attendance)
    overlapping = set(db.exec(
        select(ClassSession.id)
        .join(Attendance, Attendance.session_id == ClassSession.id)
        .join(Booking, Booking.id == Attendance.booking_id)
        .where(*conditions)).all())
    if session.id in overlapping:
        return "already_booked"
    if overlapping:
        return "clash"
    return None if capacity.room_for_one(db, session, search.now) else "full"
