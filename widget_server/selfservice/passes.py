"""Booking a session with an entry pass: choose a session, confirm; no payment.

A pass books sessions of the programme the provider linked it to (`programme_id`; a pass
without one is shown in Benefits but books nothing here). The place is taken against real
capacity like any other (`capacity`); the entry is taken with a conditional UPDATE, so two
taps never spend one entry twice nor go past the last. The use is recorded on the pass (an
`EntryPassUse`, as the provider's own uses are) and, if the place is cancelled before the
cutoff, both go back. A pass with no entries left, or past its last day, says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import delete, func, update
from sqlmodel import Session, select

from widget_server.core import access as scope
from widget_server.core.access import Access
from widget_server.core.errors import NotFound, Refused
from widget_server.core.formatting import local_today
from widget_server.core.models import (
    AttendanceOrigin,
    Attendee,
    Booking,
    ClassSession,
    EntryPass,
    EntryPassUse,
    Programme,
)
from widget_server.core.tenants import Tenant
from widget_server.delivery import webhooks
from widget_server.profile.bookings import ACTIVE
from widget_server.selfservice import capacity, options, rules


def state_of(entry_pass: EntryPass, today) -> str:
    """active, expired, used_up, cancelled, or not_bookable (no programme linked)."""
    if entry_pass.status in ("cancelled", "expired", "used_up"):
        return entry_pass.status
    if entry_pass.valid_until is not None and entry_pass.valid_until < today:
        return "expired"
    if entry_pass.used_entries >= entry_pass.total_entries:
        return "used_up"
    if entry_pass.programme_id is None:
        return "not_bookable"
    return "active"


def get_pass(db: Session, access: Access, external_id: str) -> EntryPass:
    """One of the family's passes; anyone else's is NotFound."""
    found = db.exec(select(EntryPass).where(scope.family(EntryPass, access),
                                            EntryPass.external_id == external_id)).first()
    if found is None:
        raise NotFound("There is no such entry pass in your profile.")
    return found


def usable_for(db: Session, tenant: Tenant, access: Access, programme_id: int,
               now: datetime) -> EntryPass | None:
    """The family's pass that can book this programme now (the one ending soonest), if any."""
    today = local_today(now, tenant.config.timezone)
    found = db.exec(select(EntryPass).where(
        scope.family(EntryPass, access), EntryPass.programme_id == programme_id,
        EntryPass.status == "active")
        .order_by(EntryPass.valid_until.is_(None), EntryPass.valid_until, EntryPass.id)).all()
    return next((p for p in found if state_of(p, today) == "active"), None)


def members_of(db: Session, access: Access, entry_pass: EntryPass) -> list[Attendee]:
    """Who may use the pass: its named member, or anyone in the family."""
    query = select(Attendee).where(scope.family(Attendee, access))
    if entry_pass.attendee_id is not None:
        query = query.where(Attendee.id == entry_pass.attendee_id)
    return list(db.exec(query.order_by(Attendee.id)).all())


def last_moment(tenant: Tenant, entry_pass: EntryPass) -> datetime | None:
    """The pass is good for sessions starting up to the end of its last local day."""
    if entry_pass.valid_until is None:
        return None
    end = datetime.combine(entry_pass.valid_until + timedelta(days=1), time(0), tenant.zone)
    return end - timedelta(microseconds=1)


def search_for(tenant: Tenant, entry_pass: EntryPass, programme: Programme,
               attendee: Attendee, now: datetime) -> options.Search:
    return options.Search(tenant=tenant.slug, attendee_id=attendee.id, now=now,
                          until=last_moment(tenant, entry_pass),
                          cutoffs={programme.id: rules.cutoff_hours(tenant, programme)})


@dataclass
class PassPage:
    entry_pass: EntryPass
    state: str
    programme: Programme | None
    members: list[Attendee]
    member: Attendee | None
    found: options.Page | None = None
    why_none: str | None = None

    @property
    def left(self) -> int:
        return max(self.entry_pass.total_entries - self.entry_pass.used_entries, 0)


def _member(members: list[Attendee], ref: str | None) -> Attendee | None:
    if ref is None:
        return members[0] if members else None
    found = next((m for m in members if m.external_id == ref), None)
    if found is None:
        raise NotFound("There is no such family member for this pass.")
    return found


def load(db: Session, tenant: Tenant, access: Access, pass_ref: str, member_ref: str | None,
         now: datetime, page: int = 1) -> PassPage:
    entry_pass = get_pass(db, access, pass_ref)
    state = state_of(entry_pass, local_today(now, tenant.config.timezone))
    programme = db.get(Programme, entry_pass.programme_id) if entry_pass.programme_id else None
    members = members_of(db, access, entry_pass)
    view = PassPage(entry_pass, state, programme, members, _member(members, member_ref))
    if state == "active" and view.member is not None and programme is not None:
        search = search_for(tenant, entry_pass, programme, view.member, now)
        view.found, view.why_none = options.find_or_why(db, search, page,
                                                         tenant.config.timezone)
    return view


@dataclass(frozen=True)
class PassBooked:
    entry_pass: EntryPass
    booking: Booking
    session: ClassSession
    attendee: Attendee


def book(db: Session, tenant: Tenant, access: Access, pass_ref: str, session_ref: str,
         member_ref: str | None, now: datetime) -> PassBooked:
    """Take one entry and a place in the session, or raise Refused saying why not."""
    entry_pass = get_pass(db, access, pass_ref)
    attendee = _member(members_of(db, access, entry_pass), member_ref)
    target = db.exec(select(ClassSession).where(ClassSession.tenant == tenant.slug,
                                                ClassSession.external_id == session_ref)).first()
    if attendee is None or target is None:
        raise NotFound("There is no such session.")
    state = state_of(entry_pass, local_today(now, tenant.config.timezone))
    if state != "active":
        raise Refused(f"pass_{state}")
    programme = db.get(Programme, entry_pass.programme_id)
    capacity.lock(db, Attendee, attendee.id)
    target = capacity.lock_session(db, target.id)
    until = last_moment(tenant, entry_pass)
    if until is not None and target.starts_at > until:
        raise Refused("pass_ends_before")
    reason = options.why_not(db, search_for(tenant, entry_pass, programme, attendee, now),
                             target)
    if reason:
        raise Refused(reason)
    taken = db.exec(update(EntryPass)
                    .where(EntryPass.id == entry_pass.id, EntryPass.status == "active",
                           EntryPass.used_entries < EntryPass.total_entries)
                    .values(used_entries=EntryPass.used_entries + 1, updated_at=now)
                    .execution_options(synchronize_session=False))
    if taken.rowcount != 1:
        raise Refused("pass_used_up")
    booking = _booking(db, tenant, entry_pass, attendee, programme, now)
    place = capacity.take_place(db, booking, target, now)
    position = db.exec(select(func.coalesce(func.max(EntryPassUse.position) + 1, 0))
                       .where(EntryPassUse.entry_pass_id == entry_pass.id)).one()
    use = EntryPassUse(entry_pass_id=entry_pass.id, position=position, used_at=now,
                       session_id=target.id, note=attendee.name)
    db.add(use)
    db.flush()
    origin = db.get(AttendanceOrigin, place.id) or AttendanceOrigin(
        attendance_id=place.id, tenant=tenant.slug, created_at=now)
    origin.entry_pass_id, origin.entry_pass_use_id = entry_pass.id, use.id
    db.add(origin)
    entry_pass = db.exec(select(EntryPass).where(EntryPass.id == entry_pass.id)
                         .execution_options(populate_existing=True)).one()
    webhooks.enqueue_event(db, tenant, webhooks.ENTRY_PASS_USED, client_id=entry_pass.client_id,
                           at=now, data={"attendee_id": attendee.external_id,
                                         "entry_pass_id": entry_pass.external_id,
                                         "session_id": target.external_id,
                                         "used_entries": entry_pass.used_entries,
                                         "total_entries": entry_pass.total_entries})
    return PassBooked(entry_pass, booking, target, attendee)


def _booking(db: Session, tenant: Tenant, entry_pass: EntryPass, attendee: Attendee,
             programme: Programme, now: datetime) -> Booking:
    """The member's booking of the pass's programme; a drop-in member gets one, so the
    session shows among their bookings like any other."""
    booking = db.exec(select(Booking).where(
        Booking.tenant == tenant.slug, Booking.client_id == entry_pass.client_id,
        Booking.attendee_id == attendee.id, Booking.programme_id == programme.id,
        Booking.status.in_(ACTIVE)).order_by(Booking.id)).first()
    if booking is None:
        booking = Booking(tenant=tenant.slug, external_id=capacity.new_id("bk"),
                          client_id=entry_pass.client_id, attendee_id=attendee.id,
                          programme_id=programme.id, status="confirmed", booked_at=now,
                          currency=programme.currency, created_at=now, updated_at=now)
        db.add(booking)
        db.flush()
    return booking


def give_back(db: Session, origin: AttendanceOrigin | None, session: ClassSession,
              now: datetime) -> bool:
    """A pass place cancelled in time: its entry and its use go back to the pass."""
    if origin is None or origin.entry_pass_id is None:
        return False
    returned = db.exec(update(EntryPass)
                       .where(EntryPass.id == origin.entry_pass_id, EntryPass.used_entries > 0)
                       .values(used_entries=EntryPass.used_entries - 1, updated_at=now)
                       .execution_options(synchronize_session=False))
    if origin.entry_pass_use_id is not None:
        db.exec(delete(EntryPassUse).where(EntryPassUse.id == origin.entry_pass_use_id))
    origin.entry_pass_id = origin.entry_pass_use_id = None
    db.add(origin)
    return returned.rowcount == 1
