"""The account tab's changes: name and phone, which messages come by e-mail or WhatsApp, and
asking the provider to delete the account.

Every change is written to the client row the sync API reads (so the provider's next GET sees
it) and pushed to the provider as an `account.updated` webhook naming the changed fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import phonenumbers
from babel import Locale
from babel.core import get_global
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import bindparam
from sqlmodel import Session, select

from widget_server.core.access import Access
from widget_server.core.i18n import gettext as _
from widget_server.core.models import (
    Attendee,
    Booking,
    BookingShare,
    Client,
    EmailChange,
    Programme,
)
from widget_server.core.records import read
from widget_server.core.tenants import Tenant
from widget_server.delivery import webhooks
from widget_server.delivery.notices import Notices
from widget_server.delivery.preferences import KINDS, preferences

MAX_NAME = 200


class InvalidDetails(Exception):
    """Fields that could not be saved, each with a reason: `name` (`missing`, `too_long`),
    `phone` (`invalid`)."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(", ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def update_notifications(db: Session, tenant: Tenant, client: Client,
                         chosen: set[tuple[str, str]], now: datetime) -> dict[str, Any]:
    """Save the ticked (kind, channel) pairs; returns the changes sent to the provider.

    WhatsApp needs the tenant to offer it and a phone number; otherwise it stays as it was."""
    before = preferences(client)
    whatsapp_open = tenant.config.features.whatsapp and bool(client.phone)
    after = {kind: {"email": (kind, "email") in chosen,
                    "whatsapp": (kind, "whatsapp") in chosen if whatsapp_open
                    else before[kind]["whatsapp"]}
             for kind in KINDS}
    changes: dict[str, Any] = {}
    if after != before:
        changes["notifications"] = after
    notify_email = any(v["email"] for v in after.values())
    notify_whatsapp = any(v["whatsapp"] for v in after.values())
    if notify_email != client.notify_email:
        changes["notify_email"] = notify_email
    if notify_whatsapp != client.notify_whatsapp:
        changes["notify_whatsapp"] = notify_whatsapp
    client.notifications = after
    client.notify_email, client.notify_whatsapp = notify_email, notify_whatsapp
    return _changed(db, tenant, client, changes, now)


# --- name, phone and e-mail ---------------------------------------------------------------

def valid_address(raw: str) -> str | None:
    """An e-mail address that looks deliverable, in lower case; None when it does not."""
    try:
        checked = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError:
        return None
    address = checked.normalized.lower()
    return address if len(address) <= 320 else None


def region_of(locale: str) -> str | None:
    """The country a tenant's locale points to: "en-GB" gives GB, "sk" gives SK."""
    try:
        parsed = Locale.parse(locale.replace("-", "_"))
    except (ValueError, LookupError):
        return None
    if parsed.territory:
        return parsed.territory
    likely = get_global("likely_subtags").get(parsed.language, "")
    return likely.split("_")[-1] if "_" in likely else None


def parse_phone(raw: str, tenant_locale: str) -> str | None:
    """A phone number in E.164 (+421905123456), read in the tenant's country unless it starts
    with +; None when left empty. InvalidDetails when it is not a real number."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        number = phonenumbers.parse(raw, region_of(tenant_locale))
    except phonenumbers.NumberParseException:
        raise InvalidDetails({"phone": "invalid"}) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidDetails({"phone": "invalid"})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_example(tenant_locale: str) -> tuple[str, str] | None:
    """A mobile number of the tenant's country that passes `parse_phone`, written the
    national and the international way ("07400 123456", "+44 7400 123456"), for hints; a
    made-up example (like the UK's 07700 900xxx drama numbers) would itself be refused."""
    region = region_of(tenant_locale)
    number = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE) \
        if region else None
    if number is None:
        return None
    return (phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL),
            phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL))


def display_phone(stored: str | None) -> str | None:
    """A stored number as people write it (+44 7700 900123); as stored when unreadable."""
    if not stored:
        return stored
    try:
        number = phonenumbers.parse(stored, None)
    except phonenumbers.NumberParseException:
        return stored
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def update_details(db: Session, tenant: Tenant, client: Client, *, name: str, phone: str,
                   now: datetime) -> dict[str, Any]:
    """Save name and phone; returns the changes sent to the provider (empty if none)."""
    errors: dict[str, str] = {}
    name = " ".join(name.split())
    if not name:
        errors["name"] = "missing"
    elif len(name) > MAX_NAME:
        errors["name"] = "too_long"
    new_phone = client.phone
    # The number the provider gave, sent back unchanged, is kept as it is even if it would
    # not pass the check (the form shows it and the client only changed the name).
    if not _same_number(phone, client.phone):
        try:
            new_phone = parse_phone(phone, tenant.config.locale)
        except InvalidDetails as bad:
            errors.update(bad.errors)
    if errors:
        raise InvalidDetails(errors)
    changes: dict[str, Any] = {}
    if name != client.name:
        changes["name"] = client.name = name
    if new_phone != client.phone:
        changes["phone"] = client.phone = new_phone
    return _changed(db, tenant, client, changes, now)


def _same_number(written: str, stored: str | None) -> bool:
    def digits(value: str) -> str:
        return "".join(ch for ch in value if ch.isdigit() or ch == "+")

    return stored is not None and bool(written.strip()) and digits(written) == digits(stored)


def _changed(db: Session, tenant: Tenant, client: Client, changes: dict[str, Any],
             now: datetime) -> dict[str, Any]:
    if changes:
        client.updated_at = now
        db.add(client)
        webhooks.enqueue_event(db, tenant, webhooks.ACCOUNT_UPDATED, client_id=client.id,
                               at=now, data={"changes": changes})
    return changes


def push_change(db: Session, tenant: Tenant, client: Client, changes: dict[str, Any],
                now: datetime) -> dict[str, Any]:
    """Record a change made elsewhere (the e-mail address) the same way."""
    return _changed(db, tenant, client, changes, now)


# --- deleting the account -----------------------------------------------------------------

def request_deletion(db: Session, tenant: Tenant, client: Client, notices: Notices,
                     now: datetime) -> bool:
    """Ask the provider to delete the account: a webhook and a confirmation e-mail, once.

    Returns False when it was already asked (nothing is sent again)."""
    if client.deletion_requested_at is not None:
        return False
    client.deletion_requested_at = now
    client.updated_at = now
    db.add(client)
    webhooks.enqueue_event(db, tenant, webhooks.ACCOUNT_DELETION_REQUESTED, client_id=client.id,
                           at=now, data={"email": client.email})
    notices.send(db, client.email, "deletion_requested", client.locale,
                 lambda: _("We have asked %(provider)s to delete your account")
                 % {"provider": tenant.name}, client_id=client.id, name=client.name)
    return True


# --- what the account page shows -----------------------------------------------------------

@dataclass(frozen=True)
class SharedWithMe:
    """A booking another family shared with the person."""

    booking_id: str
    share_id: str
    programme: str
    child: str
    owner: str
    access: str


# The account page's statements, built once with bound parameters.
_SHARED_WITH_ME = (
    select(BookingShare.external_id, BookingShare.access, Booking.external_id,
           Programme.name, Attendee.name, Client.name)
    .join(Booking, Booking.id == BookingShare.booking_id)
    .join(Programme, Programme.id == Booking.programme_id)
    .join(Attendee, Attendee.id == Booking.attendee_id)
    .join(Client, Client.id == Booking.client_id)
    .where(BookingShare.tenant == bindparam("tenant"), BookingShare.email == bindparam("email"),
           BookingShare.status == "active", Booking.tenant == bindparam("tenant"))
    .order_by(BookingShare.id))
_PENDING_EMAIL = (
    select(EmailChange.new_email)
    .where(EmailChange.client_id == bindparam("client_id"), EmailChange.ended_at.is_(None),
           EmailChange.expires_at > bindparam("now"))
    .order_by(EmailChange.id.desc()).limit(1))


def shared_with_me(db: Session, access: Access) -> list[SharedWithMe]:
    """The bookings other families share with this person (active shares)."""
    rows = read(db, _SHARED_WITH_ME, {"tenant": access.tenant, "email": access.email})
    return [SharedWithMe(booking, share, programme, child, owner, level)
            for share, level, booking, programme, child, owner in rows]


def page_data(db: Session, access: Access, now: datetime,
              client: Client | None) -> dict[str, Any]:
    """What the account page shows besides the family: settings, a waiting e-mail change,
    and the bookings other families share with this person. `client` is the one the page
    has read (None for an adult a booking is shared with)."""
    pending = None
    if client is not None:
        found = read(db, _PENDING_EMAIL, {"client_id": client.id, "now": now})
        pending = found[0][0] if found else None
    return {"kinds": KINDS, "prefs": preferences(client) if client else None,
            "phone": display_phone(client.phone) if client else None,
            "pending_email": pending, "shared_with_me": shared_with_me(db, access)}
