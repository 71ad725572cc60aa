"""E-mails about sessions and make-ups: a booked make-up, a place held from the waiting list,
and the reminders (a session tomorrow, a make-up credit about to run out).

Each is queued through `Notices` in the transaction of what it tells about, in the family's
language, and links to the screen it is about. Confirmations always go; offers and reminders
follow the family's choices (`account.wants`).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from widget_server.core.formatting import a_date, a_time, short_day
from widget_server.core.i18n import active_locale
from widget_server.core.i18n import gettext as _
from widget_server.core.models import (
    Attendee,
    ClassSession,
    Client,
    MakeupCredit,
    OutboxMessage,
    Programme,
)
from widget_server.core.profile_url import screen_url
from widget_server.delivery import preferences
from widget_server.delivery.notices import Notices


def _when(notices: Notices, moment: datetime) -> str:
    """`Mon 23 Nov, 09:00` where the provider is, in the reader's language (once active)."""
    tz, locale = notices.tenant.config.timezone, active_locale()
    return f"{short_day(moment, tz, locale)}, {a_time(moment, tz, locale)}"


def _link(notices: Notices, path: str) -> str:
    return screen_url(notices.settings, notices.tenant, path)


def makeup_booked(db: Session, notices: Notices, client: Client, attendee: Attendee,
                  session: ClassSession, programme: Programme,
                  booking_ref: str) -> OutboxMessage:
    """The confirmation of a booked make-up."""
    return notices.send(
        db, client.email, "makeup_booked", client.locale,
        lambda: _("Make-up booked: %(name)s, %(programme)s") % {
            "name": attendee.name, "programme": programme.name},
        client_id=client.id, attendee=attendee, session=session, programme=programme,
        WIDGET_PROFILE_URL=_link(notices, f"bookings/{booking_ref}/sessions"))


def waitlist_offer(db: Session, notices: Notices, client: Client, credit: MakeupCredit,
                   attendee: Attendee, session: ClassSession, programme: Programme,
                   hold_until: datetime) -> OutboxMessage | None:
    """A place from the waiting list, held for the family until `hold_until`."""
    if not preferences.wants(client, "makeup_offers", "email"):
        return None
    return notices.send(
        db, client.email, "makeup_offer", client.locale,
        lambda: _("A make-up place is free for %(name)s") % {"name": attendee.name},
        client_id=client.id, attendee=attendee, session=session, programme=programme,
        hold_until=hold_until,
        WIDGET_PROFILE_URL=_link(notices, f"makeups/{credit.external_id}"))


def session_reminder(db: Session, notices: Notices, client: Client, attendee: Attendee,
                     session: ClassSession, programme: Programme,
                     booking_ref: str) -> OutboxMessage:
    return notices.send(
        db, client.email, "session_reminder", client.locale,
        lambda: _("Reminder: %(programme)s, %(when)s") % {
            "programme": programme.name,
            "when": _when(notices, session.starts_at)},
        client_id=client.id, attendee=attendee, session=session, programme=programme,
        WIDGET_PROFILE_URL=_link(notices, f"bookings/{booking_ref}/sessions"))


def makeup_expiring(db: Session, notices: Notices, client: Client, attendee: Attendee,
                    credit: MakeupCredit) -> OutboxMessage:
    return notices.send(
        db, client.email, "makeup_expiring", client.locale,
        lambda: _("%(name)s's make-up runs out on %(date)s") % {
            "name": attendee.name,
            "date": a_date(credit.expires_at, notices.tenant.config.timezone,
                           active_locale())},
        client_id=client.id, attendee=attendee, credit=credit,
        WIDGET_PROFILE_URL=_link(notices, f"makeups/{credit.external_id}"))
