"""A booking's dashboard and its sessions: what is next, what happened, what is owed.

Each loader is a fixed handful of set-based queries, however many sessions a booking has.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import String, and_, bindparam, case, exists, false, func, literal, or_, true
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from widget_server.core import access as scope
from widget_server.core.access import Access, BookingView
from widget_server.core.errors import NotFound
from widget_server.core.models import (
    Attendance,
    AttendanceOrigin,
    Booking,
    BookingSwitch,
    ClassSession,
    EntryPass,
    MakeupCredit,
    Offer,
    Payment,
    SessionNote,
)
from widget_server.core.records import Shape, Some, dialect_function
from widget_server.money.orders import transfer_reported

# Online sessions show their join link from shortly before the start until the end.
LIVESTREAM_OPENS = timedelta(minutes=15)
ACTIVE = ("pending", "confirmed")
# The visibility of instructors' notes that families see; "staff" notes stay with the provider.
FAMILY_NOTES = "family"


class SessionRow(NamedTuple):
    """One session of a booking, as the family sees it (a named tuple: a sessions tab makes
    dozens)."""

    attendance_id: str
    booking_id: int
    session: ClassSession
    status: str  # scheduled, attended, excused, missed, cancelled, unrecorded
    makeup: bool
    by_family: bool = False  # excused because the family cancelled it here

    @property
    def label(self) -> str:
        """The status in the family's words: a place they cancelled is "you cancelled"."""
        return "you_cancelled" if self.status == "excused" and self.by_family else self.status

    @property
    def starts_at(self) -> datetime:
        return self.session.starts_at

    def upcoming(self, now: datetime) -> bool:
        return self.session.ends_at > now

    def livestream_open(self, now: datetime) -> bool:
        """Whether the join link is shown now (15 minutes before the start until the end)."""
        return (self.status == "scheduled" and bool(self.session.livestream_url)
                and self.session.starts_at - LIVESTREAM_OPENS <= now < self.session.ends_at)

    def in_progress(self, now: datetime) -> bool:
        return self.session.starts_at <= now < self.session.ends_at


def display_status(recorded: str, session: ClassSession, now: datetime) -> str:
    """What to call an attendance: a provider cancellation wins; an unmarked past one says so."""
    if session.cancelled or recorded == "cancelled_by_provider":
        return "cancelled"
    if recorded == "expected":
        return "scheduled" if session.ends_at > now else "unrecorded"
    return recorded


def _row(external_id: str, booking_id: int, status: str, makeup: bool, session: ClassSession,
         now: datetime, cancelled_at: datetime | None = None) -> SessionRow:
    """A session row from its place's columns (as `_ATTENDANCE` reads them) and its session."""
    return SessionRow(external_id, booking_id, session, display_status(status, session, now),
                      makeup, cancelled_at is not None)


class Origin(NamedTuple):
    """A place's row id, and where it came from: an entry pass, another session it moved
    from (the sessions tab's actions and badges)."""

    place_id: int
    entry_pass_id: int | None
    moved_from_session_id: int | None


@dataclass
class BookingRows:
    """What the sessions tab reads of a booking in one statement (`rows_of_booking`)."""

    rows: list[SessionRow]  # in time order
    past_total: int
    origins: dict[str, Origin]  # by the place's provider id
    notes: dict[str, list[Note]]  # the instructors' notes for the family, by the same id


def rows_of_booking(db: Session, booking: Booking, now: datetime,
                    past_shown: int | None = None) -> BookingRows:
    """A booking's sessions to come and its latest `past_shown` past ones (all of them for
    None), in time order, how many past ones it has, and each place's origin and notes: one
    query, whose rows are only those shown (a booking running for years had every session of
    its history read and built, and every note of it). A place with two notes comes twice,
    once with each."""
    shape, statement = _SHOWN_ROWS_OF_BOOKING.get(db.get_bind().dialect.name, _SHOWN_DEFAULT)
    shown = _ALL if past_shown is None else past_shown
    found = shape.rows(db, statement, {
        "tenant": booking.tenant, "booking_id": booking.id, "now": now, "family": FAMILY_NOTES,
        "shown": shown, "skipped": shown - 1})  # the last shown: by rank, and by offset
    rows: list[SessionRow] = []
    origins: dict[str, Origin] = {}
    notes: dict[str, list[Note]] = {}
    for *place, session, cancelled, place_id, entry_pass, moved_from, text, author, _ in found:
        ref = place[0]
        if ref not in origins:
            origins[ref] = Origin(place_id, entry_pass, moved_from)
            rows.append(_row(*place, session, now, cancelled))
        if text is not None:
            notes.setdefault(ref, []).append(Note(text, author))
    past = [r for r in rows if not r.upcoming(now)]
    if past_shown is not None and len(past) > past_shown:  # ties at the oldest one's start
        rows = past[len(past) - past_shown:] + [r for r in rows if r.upcoming(now)]
    return BookingRows(rows, found[0][-1] if found else 0, origins, notes)


# A session row as pages read it: the attendance's columns and the session as a record (see
# core.records): an ORM object per row cost more than the rest of the query.
_ATTENDANCE = (Attendance.external_id, Attendance.booking_id, Attendance.status,
               Attendance.makeup)


def _places_of_booking(shape: Shape) -> Any:
    """A booking's places with their sessions and origins, in time order, as `shape` reads
    them."""
    return (shape.select()
            .join(ClassSession, ClassSession.id == Attendance.session_id)
            .outerjoin(AttendanceOrigin, AttendanceOrigin.attendance_id == Attendance.id)
            .where(Attendance.tenant == bindparam("tenant"),
                   Attendance.booking_id == bindparam("booking_id"))
            .order_by(ClassSession.starts_at, ClassSession.id))


# Statements every booking page runs, built once with bound parameters (see `scope.prepared`).
# The sessions tab's: each session to come, and the `shown` latest past ones (with any past
# one at the same start as the last of them: the caller keeps `shown`), with how many past ones
# there are, picked and counted in the database. The places' origins and the family's notes
# come with them: the tab's actions need the first, its rows show the second (each was a
# statement of its own, the notes over the booking's whole history). A note is found through
# its place's index. Two forms of the same rows, each the cheaper on its database (compared
# row for row by the tests, which run on both).
_PAST = ClassSession.ends_at <= bindparam("now")
_ORIGIN = (AttendanceOrigin.entry_pass_id, AttendanceOrigin.moved_from_session_id)
_NOTE = (SessionNote.text, SessionNote.author)
# Of each session, what the tab and its actions use: not its tenant, nor when the provider
# created and last changed it (two time stamps a row, each converted, for nothing).
_SESSION_COLUMNS = ("id external_id programme_id starts_at ends_at capacity location "
                    "livestream_url cancelled")
# SQLite's: the count and the oldest start to show as two scalar subqueries over the booking's
# places. Each reads every place and its session again, which SQLite does from its indexes for
# less than it takes to rank them (a window cost its sessions tab 11 % more instructions).
_PAST_OF_BOOKING = (select(ClassSession.starts_at)
                    .join(Attendance, Attendance.session_id == ClassSession.id)
                    .where(Attendance.tenant == bindparam("tenant"),
                           Attendance.booking_id == bindparam("booking_id"), _PAST))
_OLDEST_SHOWN = (_PAST_OF_BOOKING.order_by(ClassSession.starts_at.desc())
                 .limit(1).offset(bindparam("skipped")).scalar_subquery())
_PAST_TOTAL = (select(func.count()).select_from(_PAST_OF_BOOKING.subquery())
               .scalar_subquery())
_SHOWN_SHAPE = Shape(*_ATTENDANCE, Some(ClassSession, _SESSION_COLUMNS),
                     AttendanceOrigin.cancelled_at, Attendance.id, *_ORIGIN, *_NOTE, _PAST_TOTAL)
_SHOWN_BY_SUBQUERIES = (
    _places_of_booking(_SHOWN_SHAPE)
    .outerjoin(SessionNote, and_(SessionNote.attendance_id == Attendance.id,
                                 SessionNote.visibility == bindparam("family")))
    .where(or_(ClassSession.ends_at > bindparam("now"),
               ClassSession.starts_at >= func.coalesce(_OLDEST_SHOWN, ClassSession.starts_at)))
    .order_by(SessionNote.written_at, SessionNote.id))
# PostgreSQL's: one pass over the booking's places, each ranked among the past (or the
# upcoming) ones, latest first, and the past ones counted across them all; the rows kept are
# the upcoming ones and those ranked within `shown` (ties share a rank). The two scalar
# subqueries were half of the statement's work there (best of 8 x 200 runs: 604 -> 521 us).
_RANKED = (
    select(Attendance.id.label("place_id"), *_ATTENDANCE,
           *(getattr(ClassSession, name).label(f"session_{name}")
             for name in _SESSION_COLUMNS.split()),
           func.rank().over(partition_by=_PAST, order_by=ClassSession.starts_at.desc())
           .label("newest"),
           func.count().filter(_PAST).over().label("past_total"))
    .join(ClassSession, ClassSession.id == Attendance.session_id)
    .where(Attendance.tenant == bindparam("tenant"),
           Attendance.booking_id == bindparam("booking_id"))
    .subquery("ranked"))
_RANKED_PLACE = aliased(Attendance, _RANKED)
_RANKED_SESSION = aliased(ClassSession, _RANKED)
_RANKED_SHAPE = Shape(*(getattr(_RANKED_PLACE, c.key) for c in _ATTENDANCE),
                      Some(_RANKED_SESSION, _SESSION_COLUMNS), AttendanceOrigin.cancelled_at,
                      _RANKED_PLACE.id, *_ORIGIN, *_NOTE, _RANKED.c.past_total)
_SHOWN_BY_RANK = (
    _RANKED_SHAPE.select().select_from(_RANKED)
    .outerjoin(AttendanceOrigin, AttendanceOrigin.attendance_id == _RANKED_PLACE.id)
    .outerjoin(SessionNote, and_(SessionNote.attendance_id == _RANKED_PLACE.id,
                                 SessionNote.visibility == bindparam("family")))
    .where(or_(_RANKED_SESSION.ends_at > bindparam("now"),
               _RANKED.c.newest <= bindparam("shown")))
    .order_by(_RANKED_SESSION.starts_at, _RANKED_SESSION.id, SessionNote.written_at,
              SessionNote.id))
# By dialect: the shape reading it, and the statement.
_SHOWN_ROWS_OF_BOOKING = {"postgresql": (_RANKED_SHAPE, _SHOWN_BY_RANK)}
_SHOWN_DEFAULT = (_SHOWN_SHAPE, _SHOWN_BY_SUBQUERIES)
_ALL = 2**31 - 1  # no past session skipped: every one shown
# `display_status` in SQL, to count a booking's sessions without reading them.
_SHOWN = case(
    (or_(ClassSession.cancelled == true(), Attendance.status == "cancelled_by_provider"),
     literal("cancelled")),
    (Attendance.status == "expected",
     case((ClassSession.ends_at > bindparam("now"), literal("scheduled")),
          else_=literal("unrecorded"))),
    else_=Attendance.status).label("shown")


# A group's strings joined by commas, on SQLite and PostgreSQL alike (SQLAlchemy's
# `aggregate_strings` binds its separator: see `dialect_function`).
_Joined = dialect_function("joined", String(), "group_concat({}, ',')", "string_agg({}, ',')")


def _shown_of_booking(tenant: Any) -> Any:
    """How each of a booking's sessions shows (`_SHOWN`), joined in one string, as a column of
    the booking's row: counted in Python (at most a few dozen words) instead of a GROUP BY
    statement of its own, a round trip on PostgreSQL."""
    return (select(_Joined(_SHOWN))
            .select_from(Attendance)
            .join(ClassSession, ClassSession.id == Attendance.session_id)
            .where(Attendance.tenant == tenant, Attendance.booking_id == Booking.id)
            .correlate(Booking).scalar_subquery())


_PAYMENT = Shape(Payment)
_BOOKING_PAYMENTS = {
    acts: _PAYMENT.select().where(Payment.tenant == bindparam("tenant"),
                                  Payment.client_id == bindparam("client_id"),
                                  Payment.booking_id == bindparam("booking_id"),
                                  true() if acts else false())
    .order_by(Payment.due_date, Payment.id) for acts in (True, False)}


# A booking's next session, joined to the booking's row (`with_next_session`): the place that
# is first among its sessions to come, found by a subquery per booking through the booking's
# index. It was a statement of its own (a window over the bookings' places), a round trip on
# PostgreSQL: home 6.24 -> 6.00 M instructions a page on SQLite, 5.97 -> 5.81 M on PostgreSQL
# in process, besides the round trip's system calls and the server's work.
_NEXT_PLACE = aliased(Attendance, name="next_place")
_NEXT_SESSION = aliased(ClassSession, name="next_session")
# What a booking's row selects for it, read back by `next_session`.
NEXT_SESSION = (*(getattr(_NEXT_PLACE, column.key) for column in _ATTENDANCE), _NEXT_SESSION)
# A booking's latest change of class, joined to the booking's row (`with_latest_switch`): the
# booking's dashboard and its change-class page each read it in a statement of its own, a
# round trip on PostgreSQL.
LATEST_SWITCH = aliased(BookingSwitch, name="latest_switch")


def with_next_session(statement: Any, tenant: Any, now: Any) -> Any:
    """`statement`, which selects from `booking`, joined to each booking's next session (the
    first shown as "scheduled": expected, not cancelled, not over by `now`), for its
    `NEXT_SESSION` columns; NULL when there is none."""
    first = (select(Attendance.id)
             .join(ClassSession, ClassSession.id == Attendance.session_id)
             .where(Attendance.tenant == tenant, Attendance.booking_id == Booking.id,
                    Attendance.status == "expected", ClassSession.cancelled == false(),
                    ClassSession.ends_at > now)
             .order_by(ClassSession.starts_at, ClassSession.id)
             .limit(1).correlate(Booking).scalar_subquery())
    return (statement.outerjoin(_NEXT_PLACE, _NEXT_PLACE.id == first)
            .outerjoin(_NEXT_SESSION, _NEXT_SESSION.id == _NEXT_PLACE.session_id))


def with_latest_switch(statement: Any, tenant: Any) -> Any:
    """`statement`, which selects from `booking`, joined to the booking's latest change of
    class (by `ix_booking_switch_tenant_booking_id`), for its `LATEST_SWITCH` columns; NULL
    when it has none."""
    latest = (select(BookingSwitch.id)
              .where(BookingSwitch.tenant == tenant, BookingSwitch.booking_id == Booking.id)
              .order_by(BookingSwitch.id.desc())
              .limit(1).correlate(Booking).scalar_subquery())
    return statement.outerjoin(LATEST_SWITCH, LATEST_SWITCH.id == latest)


def next_session(external_id: str | None, booking_id: int | None, status: str | None,
                 makeup: bool | None, session: ClassSession | None,
                 now: datetime) -> SessionRow | None:
    """A booking's next session from its `NEXT_SESSION` columns, or None."""
    return None if session is None else _row(external_id, booking_id, status, makeup, session,
                                              now)


@dataclass
class Dashboard:
    """The programme dashboard of one booking."""

    view: BookingView
    next: SessionRow | None
    counts: Counter = field(default_factory=Counter)
    total: int = 0
    payments: list[Payment] = field(default_factory=list)
    makeups_available: int = 0
    reported: set[int] = field(default_factory=set)  # payments with a transfer on its way
    entry_pass: EntryPass | None = None  # nothing booked: the family's pass for this programme
    can_switch: bool = False  # "Change class" leads somewhere for this person
    switch_pending: Any | None = None  # a change of class waiting for the provider
    latest_switch: Any | None = None  # the booking's latest change of class (a record)
    # Whether any offer follows the booking: most have none, and their dashboard then reads
    # no offers (`selfservice.offers.for_booking` reads those the person may see).
    has_offers: bool = True
    # Whether the child has a make-up credit not yet used (expired or not): most have none,
    # and their dashboard then reads no credits (`selfservice.places.dashboard`).
    has_credits: bool = True

    @property
    def past_total(self) -> int:
        return sum(self.counts[s] for s in ("attended", "missed", "excused", "unrecorded"))


def dashboard(db: Session, access: Access, external_id: str, now: datetime) -> Dashboard:
    # The booking with its next session and its sessions counted by what the family sees
    # them as: not every session of the booking read (a term's 40 rows cost a sixth of the
    # page).
    row = _BOARD.first(db, scope.prepared(_board_of, access),
                       access.parameters() | {"booking": external_id, "now": now})
    view = scope.booking_view(access, row)
    *place, session, cancelled, latest_switch, shown, has_offers, has_credits = \
        row[len(scope.BOOKING_VIEW):]
    counts = Counter(shown.split(",") if shown else ())
    # The booking's money is the family's, and a co-parent's (full share); view-only shares
    # see neither payments nor a make-up count to spend.
    payments = [p for p, in _PAYMENT.rows(db, _BOOKING_PAYMENTS[scope.can_act(access, view)], {
        "tenant": access.tenant, "client_id": view.booking.client_id,
        "booking_id": view.booking.id})]
    makeups = 0  # those with a session to book: counted by `self_service.dashboard`
    reported = {p.id for p in payments if transfer_reported(p, now.date())}
    return Dashboard(view, None if session is None else _row(*place, session, now, cancelled),
                     counts, counts.total(), payments, makeups, reported,
                     latest_switch=latest_switch, has_offers=bool(has_offers),
                     has_credits=bool(has_credits))


# The dashboard's booking, its next session and whether the family had cancelled that place
# once (`_row`), and its latest change of class: the next session was a statement of its own, a
# round trip on PostgreSQL (the page 6.26 -> 6.13 M instructions there in process, besides the
# round trip's system calls and the server's work; 6.38 -> 6.35 M on SQLite).
_NEXT_ORIGIN = aliased(AttendanceOrigin, name="next_origin")
# Whether any offer follows the booking (by the offers' (tenant, booking) index), and whether
# the child has a make-up credit not used yet (by the credits' client index): the offers' and
# the credits' statements were each a round trip on PostgreSQL on the dashboard of every
# booking, most with neither.
_HAS_OFFERS = exists().where(Offer.tenant == Booking.tenant, Offer.booking_id == Booking.id)
_HAS_CREDITS = exists().where(MakeupCredit.client_id == Booking.client_id,
                              MakeupCredit.tenant == Booking.tenant,
                              MakeupCredit.attendee_id == Booking.attendee_id,
                              MakeupCredit.used_attendance_id.is_(None))
_BOARD = Shape(*scope.BOOKING_VIEW, *NEXT_SESSION, _NEXT_ORIGIN.cancelled_at, LATEST_SWITCH,
               _shown_of_booking(None), _HAS_OFFERS, _HAS_CREDITS)  # see `_board_of`


def _board_of(who: Access):
    return with_latest_switch(with_next_session(
        scope.booking_statement(who, *NEXT_SESSION, _NEXT_ORIGIN.cancelled_at, LATEST_SWITCH,
                                _shown_of_booking(who.tenant), _HAS_OFFERS, _HAS_CREDITS),
        who.tenant, bindparam("now")).outerjoin(
            _NEXT_ORIGIN, _NEXT_ORIGIN.attendance_id == _NEXT_PLACE.id), who.tenant)


# Past sessions listed before "Show all": the latest are what a parent checks (was she marked
# present last week?), and a long booking's whole history made the tab long on a phone.
PAST_SHOWN = 10


@dataclass
class Sessions:
    """The sessions tab: upcoming first (soonest first), then past (latest first): the latest
    `PAST_SHOWN` of `past_total` unless all were asked for."""

    view: BookingView
    upcoming: list[SessionRow]
    past: list[SessionRow]
    past_total: int = 0
    # Instructors' notes for the family, by the place's (attendance's) provider id.
    notes: dict[str, list[Note]] = field(default_factory=dict)
    # Where each place came from, by the same id.
    origins: dict[str, Origin] = field(default_factory=dict)
    # Whether the child has a make-up credit not used yet (see `Dashboard.has_credits`).
    has_credits: bool = True


@dataclass(frozen=True)
class Note:
    """An instructor's note on one session, as the sessions tab shows it."""

    text: str
    author: str | None


def sessions(db: Session, access: Access, external_id: str, now: datetime,
             all_past: bool = False) -> Sessions:
    row = _TAB.first(db, scope.prepared(_tab_of, access),
                     access.parameters() | {"booking": external_id})
    view = scope.booking_view(access, row)
    found = rows_of_booking(db, view.booking, now, None if all_past else PAST_SHOWN)
    rows = found.rows
    return Sessions(view, [r for r in rows if r.upcoming(now)],
                    [r for r in reversed(rows) if not r.upcoming(now)], found.past_total,
                    found.notes, found.origins, bool(row[len(scope.BOOKING_VIEW)]))


# The sessions tab's booking, with whether the child has a make-up credit to read.
_TAB = Shape(*scope.BOOKING_VIEW, _HAS_CREDITS)


def _tab_of(who: Access):
    return scope.booking_statement(who, _HAS_CREDITS)


def one_session(db: Session, access: Access, booking_id: str, session_id: str,
                now: datetime) -> tuple[BookingView, SessionRow]:
    """One session of a visible booking, by the session's provider id."""
    view = scope.get_booking(db, access, booking_id)
    found = db.exec(
        select(Attendance, ClassSession)
        .join(ClassSession, ClassSession.id == Attendance.session_id)
        .where(Attendance.tenant == access.tenant, Attendance.booking_id == view.booking.id,
               ClassSession.external_id == session_id)
    ).first()
    if found is None:
        raise NotFound("There is no such session in this booking.")
    place, session = found
    return view, _row(place.external_id, place.booking_id, place.status, place.makeup, session,
                      now)
