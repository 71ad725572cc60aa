"""Calendar subscriptions: the family's sessions as an iCalendar feed at a secret address.

Calendar apps cannot log in, so the address itself is the key: a random token of which only
the SHA-256 hash is stored. Getting a new address revokes the old one at once. A feed shows
what an e-mail address may see in the profile (its family's and its shared bookings), from
a month ago onwards, so a class does not vanish from the calendar the moment it is over.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from icalendar import Calendar, Event
from sqlalchemy import bindparam, update
from sqlmodel import Session, select

from widget_server.core import access as scope
from widget_server.core.access import Access
from widget_server.core.i18n import gettext as _
from widget_server.core.models import (
    Attendance,
    Attendee,
    Booking,
    CalendarFeed,
    ClassSession,
    Programme,
)
from widget_server.core.records import Shape
from widget_server.profile.bookings import ACTIVE, display_status

KEEP_PAST = timedelta(days=30)
REFRESH = timedelta(hours=1)
NOT_HAPPENING = ("excused", "cancelled")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def current(db: Session, tenant: str, email: str) -> CalendarFeed | None:
    """The person's working calendar address, if they have one (a read-only record)."""
    found = _FEED.first(db, _CURRENT, {"tenant": tenant, "email": email})
    return found[0] if found else None


# The account page reads it on every visit: built once, read as a record (core.records).
_FEED = Shape(CalendarFeed)
_CURRENT = (_FEED.select()
            .where(CalendarFeed.tenant == bindparam("tenant"),
                   CalendarFeed.email == bindparam("email"), CalendarFeed.revoked_at.is_(None))
            .order_by(CalendarFeed.id.desc()).limit(1))


def revoke(db: Session, tenant: str, email: str, now: datetime) -> int:
    """Stop every calendar address of this person; returns how many were working."""
    return db.exec(update(CalendarFeed).where(
        CalendarFeed.tenant == tenant, CalendarFeed.email == email,
        CalendarFeed.revoked_at.is_(None)).values(revoked_at=now)).rowcount


def issue(db: Session, tenant: str, email: str, now: datetime) -> str:
    """A new secret address (the old one stops working); returns the token, shown once."""
    revoke(db, tenant, email, now)
    token = secrets.token_urlsafe(24)
    db.add(CalendarFeed(token_hash=_hash(token), tenant=tenant, email=email, created_at=now))
    return token


def access_for_token(db: Session, tenant: str, token: str) -> Access | None:
    """Whose feed a token opens at this tenant; None when unknown or revoked."""
    email = db.exec(select(CalendarFeed.email).where(
        CalendarFeed.token_hash == _hash(token), CalendarFeed.tenant == tenant,
        CalendarFeed.revoked_at.is_(None))).first()
    return None if email is None else scope.for_email(db, tenant, email)


@dataclass(frozen=True)
class Entry:
    """One attendee in one session."""

    attendance_id: str
    booking_id: str
    session: ClassSession
    programme: Programme
    attendee: str
    status: str
    makeup: bool
    changed_at: datetime


def entries(db: Session, access: Access, now: datetime) -> list[Entry]:
    """Sessions of the person's active bookings, from a month ago on (one query)."""
    rows = db.exec(
        select(Attendance, ClassSession, Programme, Attendee.name, Booking.external_id)
        .join(ClassSession, ClassSession.id == Attendance.session_id)
        .join(Booking, Booking.id == Attendance.booking_id)
        .join(Programme, Programme.id == ClassSession.programme_id)
        .join(Attendee, Attendee.id == Booking.attendee_id)
        .where(scope.visible_bookings(access), Booking.status.in_(ACTIVE),
               Attendance.tenant == access.tenant, ClassSession.ends_at > now - KEEP_PAST)
        .order_by(ClassSession.starts_at, Attendance.id)
    ).all()
    return [Entry(a.external_id, booking, s, p, name, display_status(a.status, s, now),
                  a.makeup, max(a.updated_at, s.updated_at))
            for a, s, p, name, booking in rows]


def event(entry: Entry, *, tenant: str, domain: str, now: datetime,
          link: Callable[[str], str]) -> Event:
    """One session as a VEVENT; the UID stays the same across refreshes."""
    s, p = entry.session, entry.programme
    first_name = entry.attendee.split()[0] if entry.attendee.split() else entry.attendee
    summary = f"{p.name} – {first_name}"
    if entry.makeup:
        summary = _("Make-up: %(summary)s") % {"summary": summary}
    if entry.status in NOT_HAPPENING:
        summary = _("Cancelled: %(summary)s") % {"summary": summary}
    place = [part for part in (s.location, p.venue if not p.online else None,
                               p.venue_address) if part]
    lines = [_("%(name)s attends this session.") % {"name": entry.attendee}]
    if p.instructor:
        lines.append(_("Instructor: %(name)s") % {"name": p.instructor})
    if s.livestream_url:
        lines.append(_("Join online: %(url)s") % {"url": s.livestream_url})
    lines.append(_("Details: %(url)s") % {"url": link(entry.booking_id)})
    item = Event()
    item.add("uid", f"{tenant}.{entry.attendance_id}@{domain}")
    item.add("dtstamp", now)
    item.add("last-modified", entry.changed_at)
    item.add("dtstart", s.starts_at)
    item.add("dtend", s.ends_at)
    item.add("summary", summary)
    item.add("status", "CANCELLED" if entry.status in NOT_HAPPENING else "CONFIRMED")
    if place:
        item.add("location", ", ".join(dict.fromkeys(place)))
    elif p.online:
        item.add("location", s.livestream_url or _("Online"))
    item.add("description", "\n".join(lines))
    item.add("url", s.livestream_url or link(entry.booking_id))
    return item


def calendar(name: str, events: list[Event]) -> bytes:
    """A published calendar that asks apps to refresh hourly."""
    cal = Calendar()
    cal.add("prodid", "-//Client Profile//Sessions//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", REFRESH)
    for item in events:
        cal.add_component(item)
    return cal.to_ical()
