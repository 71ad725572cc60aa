"""Reminders: a session starting within a day, and a make-up credit running out within a week,
by e-mail and, where the tenant offers WhatsApp and the family chose it, by WhatsApp.

Each reminder is a `Reminder` row whose unique key (tenant, kind, the place or credit, and the
start or expiry it announces) is inserted with ON CONFLICT DO NOTHING in the transaction that
queues its messages. However many schedulers run, and however often, only the one whose insert
went in sends anything, so a reminder never goes twice. A session moved to another time, or a
credit whose expiry changed, announces a new moment and gets its own reminder.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, false
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from widget_server.core.formatting import a_date, a_time, short_day
from widget_server.core.i18n import normalise
from widget_server.core.models import (
    Attendance,
    Attendee,
    Booking,
    ClassSession,
    Client,
    MakeupCredit,
    Programme,
    Reminder,
)
from widget_server.core.tenants import Tenant
from widget_server.delivery import preferences, whatsapp
from widget_server.delivery.notices import Notices
from widget_server.profile.bookings import ACTIVE
from widget_server.selfservice import session_mail

SESSION_AHEAD = timedelta(hours=24)
MAKEUP_AHEAD = timedelta(days=7)
BATCH = 500


def claim(db: Session, tenant: str, kind: str, subject_id: int, moment: datetime,
          client_id: int | None, now: datetime) -> bool:
    """Record that this reminder goes; False if it already went (or is going elsewhere)."""
    return bool(claim_many(db, tenant, kind, [(subject_id, moment, client_id)], now))


def claim_many(db: Session, tenant: str, kind: str,
               reminders: list[tuple[int, datetime, int | None]], now: datetime) -> set[int]:
    """Record that these reminders (subject, moment, client) go, in one go; returns the
    subjects whose reminder went in (not those that already went, or are going elsewhere).
    One INSERT per reminder, each built again and flushing the message before it, cost a
    round of 500 reminders about a second of a serving process; a statement of 500 rows of
    values, compiled for its length, 50 ms; this one, compiled once and sent by SQLAlchemy
    as multi-row INSERTs ("insertmanyvalues"), 6 ms on SQLite, 16 ms on PostgreSQL."""
    if not reminders:
        return set()
    # In one order (by subject) whoever inserts: two schedulers meeting on the same keys
    # then wait for each other in turn, never in a circle.
    values = [{"tenant": tenant, "kind": kind, "subject_id": subject_id, "moment": moment,
               "client_id": client_id, "created_at": now}
              for subject_id, moment, client_id in sorted(reminders, key=lambda r: r[0])]
    connection = db.connection()  # the session's transaction, which queues the messages
    insert = _CLAIM["postgresql" if connection.dialect.name == "postgresql" else "sqlite"]
    # RETURNING, not rowcount: a row skipped by ON CONFLICT DO NOTHING returns nothing.
    return {row[0] for row in connection.execute(insert, values)}


_REMINDERS = Reminder.__table__
_CLAIM = {
    "sqlite": sqlite_insert(_REMINDERS).on_conflict_do_nothing().returning(
        _REMINDERS.c.subject_id),
    "postgresql": postgresql_insert(_REMINDERS).on_conflict_do_nothing(
        constraint="uq_reminder_once").returning(_REMINDERS.c.subject_id),
}


def _not_reminded(tenant: str, kind: str, subject, moment):
    # The tenant leads `uq_reminder_once`: without it each row scanned every reminder sent.
    return ~exists().where(Reminder.tenant == tenant, Reminder.kind == kind,
                           Reminder.subject_id == subject, Reminder.moment == moment)


def due_tenants(db: Session, now: datetime) -> set[str]:
    """Tenants with a session starting within a day or a credit running out within a week
    (two indexed range reads across tenants: their cost is what is due, not the tables)."""
    sessions = select(ClassSession.tenant).where(
        ClassSession.starts_at > now, ClassSession.starts_at <= now + SESSION_AHEAD,
        ClassSession.cancelled == false()).distinct()
    credits = select(MakeupCredit.tenant).where(
        MakeupCredit.expires_at > now, MakeupCredit.expires_at <= now + MAKEUP_AHEAD,
        MakeupCredit.used_attendance_id.is_(None)).distinct()
    return set(db.exec(sessions).all()) | set(db.exec(credits).all())


def schedule_reminders(db: Session, tenant: Tenant, notices: Notices, now: datetime) -> int:
    """Queue every reminder now due for one tenant; returns how many reminders went."""
    return _sessions(db, tenant, notices, now) + _makeups(db, tenant, notices, now)


def _sessions(db: Session, tenant: Tenant, notices: Notices, now: datetime) -> int:
    rows = db.exec(
        select(Attendance, ClassSession, Programme, Booking, Attendee, Client)
        .join(ClassSession, ClassSession.id == Attendance.session_id)
        .join(Programme, Programme.id == ClassSession.programme_id)
        .join(Booking, Booking.id == Attendance.booking_id)
        .join(Attendee, Attendee.id == Booking.attendee_id)
        .join(Client, Client.id == Booking.client_id)
        .where(ClassSession.tenant == tenant.slug, ClassSession.starts_at > now,
               ClassSession.starts_at <= now + SESSION_AHEAD,
               ClassSession.cancelled == false(), Attendance.status == "expected",
               Booking.status.in_(ACTIVE),
               _not_reminded(tenant.slug, "session", Attendance.id, ClassSession.starts_at))
        .order_by(ClassSession.starts_at, Attendance.id).limit(BATCH)
    ).all()
    sent = 0
    going = claim_many(db, tenant.slug, "session", [
        (place.id, session.starts_at, client.id) for place, session, *_, client in rows], now)
    for place, session, programme, booking, attendee, client in rows:
        if place.id not in going:
            continue
        sent += 1
        if preferences.wants(client, "reminders", "email"):
            session_mail.session_reminder(db, notices, client, attendee, session, programme,
                                          booking.external_id)
        locale = normalise(client.locale, tenant.config.locale)
        whatsapp_copy(db, tenant, client, "session_reminder", locale, [
            attendee.name, programme.name,
            f"{short_day(session.starts_at, tenant.config.timezone, locale)} "
            f"{a_time(session.starts_at, tenant.config.timezone, locale)}"])
    return sent


def _makeups(db: Session, tenant: Tenant, notices: Notices, now: datetime) -> int:
    rows = db.exec(
        select(MakeupCredit, Attendee, Client)
        .join(Attendee, Attendee.id == MakeupCredit.attendee_id)
        .join(Client, Client.id == MakeupCredit.client_id)
        .where(MakeupCredit.tenant == tenant.slug, MakeupCredit.used_attendance_id.is_(None),
               MakeupCredit.expires_at > now, MakeupCredit.expires_at <= now + MAKEUP_AHEAD,
               _not_reminded(tenant.slug, "makeup_expiry", MakeupCredit.id,
                             MakeupCredit.expires_at))
        .order_by(MakeupCredit.expires_at, MakeupCredit.id).limit(BATCH)
    ).all()
    sent = 0
    going = claim_many(db, tenant.slug, "makeup_expiry", [
        (credit.id, credit.expires_at, client.id) for credit, _, client in rows], now)
    for credit, attendee, client in rows:
        if credit.id not in going:
            continue
        sent += 1
        if preferences.wants(client, "reminders", "email"):
            session_mail.makeup_expiring(db, notices, client, attendee, credit)
        locale = normalise(client.locale, tenant.config.locale)
        whatsapp_copy(db, tenant, client, "makeup_expiring", locale, [
            attendee.name, a_date(credit.expires_at, tenant.config.timezone, locale)])
    return sent


def whatsapp_copy(db: Session, tenant: Tenant, client: Client, template: str, locale: str,
                  parameters: list[str], preference: str = "reminders") -> None:
    """The WhatsApp copy, if the tenant offers it and the family wants messages of this kind
    (`preference`, see `preferences.KINDS`) there, on a usable number."""
    phone = whatsapp.phone_number(client.phone)
    if tenant.config.features.whatsapp and phone and preferences.wants(client, preference,
                                                                    "whatsapp"):
        whatsapp.enqueue(db, tenant, phone=phone, template=template, locale=locale,
                         parameters=parameters, kind=template, client_id=client.id)
