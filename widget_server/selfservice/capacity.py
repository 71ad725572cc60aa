"""Places in a session: which ones are taken, and taking one without overbooking.

A place is taken by every attendance that still holds it (expected, attended or missed,
make-ups included), by a place held for a client on the make-up waiting list, and by offers
(`selfservice.offers`): an open offer that holds places, in each of its classes' sessions, and
an accepted one, in its chosen class's sessions until the provider's booking of it arrives.
Excused and provider-cancelled places are free again; a session the provider cancelled offers
none.

Taking the last place must be safe when two families click at the same moment, on SQLite and
on PostgreSQL. Whoever is about to take a place first calls `lock` on the family member and on
the session, and only then counts:

- PostgreSQL: `SELECT ... FOR NO KEY UPDATE` on those rows. A rival waits until the first
  transaction ends; under READ COMMITTED its next statement then sees the first one's new
  attendance. (NO KEY: inserting an attendance that refers to the session takes a KEY SHARE
  lock, which this must not block.)
- SQLite: one writer at a time. A no-op UPDATE makes this transaction that writer, waiting for
  the current one to commit. pysqlite only begins a transaction at the first write, so what was
  read before it may be stale; what is read after it is current until commit.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, false, func, literal_column, or_, true, update
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, select

from widget_server.core.models import (
    Attendance,
    AttendanceOrigin,
    Booking,
    ClassSession,
    MakeupWaitlist,
    Offer,
    OfferOption,
)

# Attendance that holds a place. "missed" still took it: nobody else could have come.
COUNTING = ("expected", "attended", "missed")


def lock(db: Session, model: Any, row_id: int) -> bool:
    """Queue up behind anyone else who locked this row, until this transaction ends."""
    if db.get_bind().dialect.name == "postgresql":
        found = db.exec(select(model.id).where(model.id == row_id)
                        .with_for_update(key_share=True)).first()
        return found is not None
    touched = db.exec(update(model).where(model.id == row_id)
                      .values(updated_at=model.updated_at)
                      .execution_options(synchronize_session=False))
    return touched.rowcount == 1


def attendance_taken(session_id: Any) -> Any:
    """How many attendances hold a place in the session (a scalar subquery, or a count)."""
    return (select(func.count()).select_from(Attendance)
            .where(Attendance.session_id == session_id, Attendance.status.in_(COUNTING))
            .scalar_subquery())


def holds_taken(session_id: Any, now: datetime, except_entry: int | None = None) -> Any:
    """Places held for waiting clients whose hold has not run out."""
    query = (select(func.count()).select_from(MakeupWaitlist)
             .where(MakeupWaitlist.offered_session_id == session_id,
                    MakeupWaitlist.status == "offered", MakeupWaitlist.hold_until > now))
    if except_entry is not None:
        query = query.where(MakeupWaitlist.id != except_entry)
    return query.scalar_subquery()


# The first session of an offer's class, seen from inside a query about another session.
_FIRST, _PLACE, _BOOKING = aliased(ClassSession), aliased(Attendance), aliased(Booking)
_ANY_OPTION = aliased(OfferOption)


def offers_taken(session_id: Any, programme_id: Any, starts_at: Any,
                 except_offer: Any = None) -> Any:
    """Places offers take in a session (of `programme_id`, starting at `starts_at`): open
    offers that hold places, one in each of their classes covering it, and accepted offers, in
    their chosen class, until the child has a place there (the provider's booking arrived)."""
    # Each subquery names what it reads itself; everything else is the enclosing query's.
    first_start = (select(_FIRST.starts_at).where(_FIRST.id == OfferOption.first_session_id)
                   .correlate_except(_FIRST).scalar_subquery())
    booked = (select(_PLACE.id).join(_BOOKING, _BOOKING.id == _PLACE.booking_id)
              .where(_PLACE.session_id == session_id, _BOOKING.attendee_id == Offer.attendee_id,
                     _PLACE.status.in_(COUNTING)).correlate_except(_PLACE, _BOOKING).exists())
    query = (select(func.count()).select_from(OfferOption)
             .join(Offer, Offer.id == OfferOption.offer_id)
             .where(OfferOption.programme_id == programme_id,
                    or_(OfferOption.first_session_id.is_(None), first_start <= starts_at),
                    or_(and_(Offer.status == "open", Offer.hold_places == true()),
                        and_(Offer.status == "accepted", Offer.chosen_option == OfferOption.key,
                             ~booked))))
    if except_offer is not None:
        query = query.where(Offer.id != except_offer)
    # Counted only for a programme with a class offered: most have none most of the year, and
    # one probe of the index costs less than the count (on PostgreSQL, which built a hash of
    # the offers for every session checked: change class's room check 510 -> 417 us).
    offered = (select(_ANY_OPTION.id).where(_ANY_OPTION.programme_id == programme_id)
               .correlate_except(_ANY_OPTION).exists())
    return case((offered, query.correlate_except(OfferOption, Offer).scalar_subquery()),
                else_=literal_column("0"))


def has_room(now: datetime) -> ColumnElement[bool]:
    """The condition for a session with a free place (no capacity set: no limit)."""
    return (ClassSession.capacity.is_(None)
            | (ClassSession.capacity > attendance_taken(ClassSession.id)
               + holds_taken(ClassSession.id, now)
               + offers_taken(ClassSession.id, ClassSession.programme_id,
                              ClassSession.starts_at)))


def open_sessions() -> ColumnElement[bool]:
    return ClassSession.cancelled == false()


def taken(db: Session, session_id: int, now: datetime, *, except_entry: int | None = None,
          except_offer: int | None = None) -> int:
    """Places taken in one session now (call after `lock` to rely on it); `except_entry` /
    `except_offer`: the waiting-list hold or the offer asking, whose own place this is."""
    return db.exec(select(attendance_taken(ClassSession.id)
                          + holds_taken(ClassSession.id, now, except_entry)
                          + offers_taken(ClassSession.id, ClassSession.programme_id,
                                         ClassSession.starts_at, except_offer))
                   .where(ClassSession.id == session_id)).one()


def free_places(session: ClassSession, taken_places: int) -> int | None:
    """Free places left; None when the session has no capacity set."""
    if session.capacity is None:
        return None
    return max(session.capacity - taken_places, 0)


def room_for_one(db: Session, session: ClassSession, now: datetime, *,
                 except_entry: int | None = None, except_offer: int | None = None) -> bool:
    """Whether one more place fits (call after `lock`)."""
    if session.cancelled:
        return False
    free = free_places(session, taken(db, session.id, now, except_entry=except_entry,
                                      except_offer=except_offer))
    return free is None or free > 0


def lock_session(db: Session, session_id: int) -> ClassSession | None:
    """Lock a session for taking a place, and read it afresh (its capacity may have changed)."""
    if not lock(db, ClassSession, session_id):
        return None
    return db.exec(select(ClassSession).where(ClassSession.id == session_id)
                   .execution_options(populate_existing=True)).first()


def take_place(db: Session, booking: Booking, session: ClassSession, now: datetime, *,
               makeup: bool = False) -> Attendance:
    """The booking's place in the session (call after checking there is room): an excused one
    from before comes back, so a booking keeps one row per session; otherwise a new one."""
    place = db.exec(select(Attendance).where(
        Attendance.booking_id == booking.id, Attendance.session_id == session.id,
        Attendance.status.not_in(COUNTING))).first()
    if place is None:
        place = Attendance(tenant=booking.tenant, external_id=new_id("att"),
                           booking_id=booking.id, session_id=session.id, created_at=now)
        db.add(place)
    else:  # taken again: the family's earlier cancellation no longer describes it
        db.exec(update(AttendanceOrigin).where(AttendanceOrigin.attendance_id == place.id)
                .values(cancelled_at=None).execution_options(synchronize_session=False))
    place.status, place.makeup, place.updated_at = "expected", makeup, now
    db.flush()
    return place


def new_id(prefix: str) -> str:
    """A provider-style id for a row the portal creates, e.g. `mc-3f9a0c1b2d4e5f60`."""
    return f"{prefix}-{secrets.token_hex(8)}"
