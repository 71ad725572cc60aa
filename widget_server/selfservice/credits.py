"""Earning and giving back make-up credits: a credit for an excused (or, per the tenant, missed)
regular place, at most one per place; a cancelled make-up gives its credit back."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, false, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from widget_server.core.models import (
    Attendance,
    Attendee,
    Booking,
    ClassSession,
    MakeupCredit,
    Programme,
)
from widget_server.core.tenants import Tenant
from widget_server.delivery import webhooks
from widget_server.selfservice import capacity, rules


def event_data(attendee: Attendee, credit: MakeupCredit, session: ClassSession,
           place: Attendance) -> dict:
    """The data of makeup.booked and makeup.cancelled."""
    return {"attendee_id": attendee.external_id, "makeup_credit_id": credit.external_id,
            "session_id": session.external_id, "attendance_id": place.external_id,
            "starts_at": session.starts_at}


def return_credit(db: Session, tenant: Tenant, place: Attendance, session: ClassSession,
                  now: datetime) -> MakeupCredit | None:
    """A cancelled make-up gives its credit back (the caller has already excused the place)."""
    credit = db.exec(select(MakeupCredit).where(MakeupCredit.tenant == tenant.slug,
                                                MakeupCredit.used_attendance_id == place.id)
                     ).first()
    if credit is None:
        return None
    db.exec(update(MakeupCredit).where(MakeupCredit.id == credit.id)
            .values(used_attendance_id=None, used_at=None, updated_at=now)
            .execution_options(synchronize_session=False))
    attendee = db.get(Attendee, credit.attendee_id)
    webhooks.enqueue_event(db, tenant, webhooks.MAKEUP_CANCELLED, client_id=credit.client_id,
                           at=now, data=event_data(attendee, credit, session, place))
    return credit


def issue(db: Session, tenant: Tenant, place: Attendance, booking: Booking,
          session: ClassSession, programme: Programme, now: datetime) -> MakeupCredit | None:
    """A credit for a regular place that was excused (or missed), when the policy allows and
    it would still be usable; at most one per place."""
    if place.makeup or rules.makeup_policy(tenant, programme) == "none":
        return None
    expires = rules.credit_expiry(tenant, programme, session)
    if expires <= now:
        return None
    already = db.exec(select(MakeupCredit.id).where(
        MakeupCredit.tenant == tenant.slug, MakeupCredit.source_attendance_id == place.id)
    ).first()
    if already is not None:
        return None
    credit = MakeupCredit(tenant=tenant.slug, external_id=capacity.new_id("mc"),
                          client_id=booking.client_id, attendee_id=booking.attendee_id,
                          source_attendance_id=place.id, expires_at=expires,
                          created_at=now, updated_at=now)
    db.add(credit)
    db.flush()
    return credit


def issue_for_missed(db: Session, tenant: Tenant, now: datetime, limit: int = 500) -> int:
    """Credits for places the provider marked missed, when the tenant gives them (one round
    of the scheduler). Each place is locked first, so two schedulers never issue twice."""
    if not tenant.config.makeups.from_missed or not tenant.config.features.makeups:
        return 0
    earned = aliased(MakeupCredit)
    oldest = now - _longest_validity(db, tenant)
    rows = db.exec(
        select(Attendance, Booking, ClassSession, Programme)
        .join(Booking, Booking.id == Attendance.booking_id)
        .join(ClassSession, ClassSession.id == Attendance.session_id)
        .join(Programme, Programme.id == ClassSession.programme_id)
        # From the tenant's sessions held within the credits' validity window to their missed
        # places: the window's timetable, however long the tenant's history. (Scoped by the
        # session's tenant: `Attendance.tenant` too led SQLite to walk every place the tenant
        # ever had, each round, to find none left to credit.)
        .where(ClassSession.tenant == tenant.slug, ClassSession.starts_at > oldest,
               ClassSession.starts_at <= now,
               Attendance.status == "missed", Attendance.makeup == false(),
               Programme.makeup_policy != "none",
               ~exists().where(earned.source_attendance_id == Attendance.id))
        .order_by(ClassSession.starts_at, Attendance.id).limit(limit)
    ).all()
    issued = 0
    for place, booking, session, programme in rows:
        if not capacity.lock(db, Attendance, place.id):
            continue
        still = db.exec(select(Attendance.status).where(Attendance.id == place.id)).one()
        if still == "missed" and issue(db, tenant, place, booking, session, programme,
                                       now) is not None:
            issued += 1
    return issued


def _longest_validity(db: Session, tenant: Tenant) -> timedelta:
    # The largest only, from the end of the tenant's part of (tenant, makeup_validity_days),
    # rather than every programme of the tenant.
    longest = db.exec(select(Programme.makeup_validity_days).where(
        Programme.tenant == tenant.slug, Programme.makeup_validity_days.is_not(None))
        .order_by(Programme.makeup_validity_days.desc()).limit(1)).first()
    return timedelta(days=max(tenant.config.makeups.validity_days, longest or 0) + 1)
