"""Sharing a booking with another adult: a co-parent with full access, or a grandparent who
looks and gets the booking's e-mails.

A share is a `BookingShare` row addressed to an e-mail. Shares made here are active at once:
nobody sees anything before logging in with that address, which proves it is theirs. Access
is checked on every request through `access`, so revoking ends it at once, in sessions already
logged in too. Only the family that owns the booking shares it or takes a share back; an adult
it is shared with may only leave it. Providers make and end shares through the sync API
(`shares`), which `access` treats the same way.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from widget_server.account.details import valid_address
from widget_server.core import access as scope
from widget_server.core import ratelimit
from widget_server.core.access import Access, BookingView
from widget_server.core.errors import NotFound
from widget_server.core.i18n import gettext as _
from widget_server.core.models import Booking, BookingShare, Client
from widget_server.core.tenants import Tenant
from widget_server.delivery import webhooks
from widget_server.delivery.notices import Notices
from widget_server.delivery.preferences import wants
from widget_server.web.security import Forbidden

RELATIONS = ("parent", "grandparent", "older_child", "other")
LEVELS = (scope.FULL, scope.VIEW)
LIVE = ("pending", "active")  # a share that still counts (revoked ones are kept as history)
MAX_SHARES_PER_BOOKING = 5
INVITES_PER_DAY = 10
DAY = timedelta(days=1)


class ShareRefused(Exception):
    """Why a share was not made: `bad_email`, `bad_choice`, `own_address`, `already_shared`,
    `too_many_shares`, `too_many_invites` (the page words each one)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Sharing:
    """Who can see one booking, as its owner or an adult it is shared with sees it."""

    view: BookingView
    owner_name: str
    shares: list[BookingShare]  # live shares (all for the owner; one's own for a shared adult)

    @property
    def at_limit(self) -> bool:
        """Whether the booking already has as many shares as it may."""
        return len(self.shares) >= MAX_SHARES_PER_BOOKING


def load_sharing(db: Session, access: Access, booking_id: str) -> Sharing:
    """A booking's sharing screen: NotFound unless the person sees the booking."""
    view = scope.get_booking(db, access, booking_id)
    owner = db.exec(select(Client.name).where(Client.id == view.booking.client_id,
                                              Client.tenant == access.tenant)).one()
    query = select(BookingShare).where(BookingShare.tenant == access.tenant,
                                       BookingShare.booking_id == view.booking.id,
                                       BookingShare.status.in_(LIVE))
    if not view.owned:
        query = query.where(BookingShare.email == access.email)
    return Sharing(view, owner, list(db.exec(query.order_by(BookingShare.id)).all()))


def add_share(db: Session, tenant: Tenant, access: Access, booking_id: str, *, email: str,
              relation: str, level: str, notices: Notices, now: datetime) -> BookingShare:
    """Share a booking the person owns; e-mails the invitee and everyone on the booking."""
    view = scope.get_booking(db, access, booking_id)
    if not view.owned:
        raise Forbidden("Only the family that made this booking can share it.")
    if relation not in RELATIONS or level not in LEVELS:
        raise ShareRefused("bad_choice")
    email = valid_address(email) or ""
    if not email:
        raise ShareRefused("bad_email")
    owner = db.exec(select(Client).where(Client.id == view.booking.client_id)).one()
    if email == owner.email:
        raise ShareRefused("own_address")
    live = list(db.exec(select(BookingShare.email).where(
        BookingShare.tenant == tenant.slug, BookingShare.booking_id == view.booking.id,
        BookingShare.status.in_(LIVE))).all())
    if email in live:
        raise ShareRefused("already_shared")
    if len(live) >= MAX_SHARES_PER_BOOKING:
        raise ShareRefused("too_many_shares")
    if not ratelimit.allow(db, f"share-invite:{tenant.slug}:{owner.id}", INVITES_PER_DAY,
                           DAY, now):
        raise ShareRefused("too_many_invites")
    # Everyone who already follows the booking hears of the newcomer (before it is added).
    followers = recipients_for_booking(db, view.booking)
    share = BookingShare(tenant=tenant.slug, external_id=f"cp-share-{secrets.token_hex(8)}",
                         booking_id=view.booking.id, email=email, relation=relation,
                         access=level, status="active", created_at=now, updated_at=now)
    db.add(share)
    db.flush()
    webhooks.enqueue_event(db, tenant, webhooks.SHARE_ADDED, client_id=owner.id, at=now, data={
        "booking_id": view.booking.external_id, "share_id": share.external_id, "email": email,
        "relation": relation, "access": level})
    about = {"owner": owner.name, "child": view.attendee.name,
             "programme": view.programme.name, "invitee": email, "level": level,
             "relation": relation}
    invitee_locale = db.exec(select(Client.locale).where(
        Client.tenant == tenant.slug, Client.email == email)).first()
    notices.send(db, email, "share_invite", invitee_locale or owner.locale,
                 lambda: _("%(owner)s shared %(child)s's booking with you") % about, **about)
    for follower in followers:
        if follower == owner.email:  # they typed the address: it is no news to them
            notices.send(db, follower, "share_added", owner.locale,
                         lambda: _("%(invitee)s can now see %(child)s's booking") % about,
                         **about)
        else:  # one adult's address is never shown to another
            notices.send(db, follower, "share_added", None,
                         lambda: _("One more adult can now see %(child)s's booking") % about,
                         **(about | {"invitee": None}))
    return share


def revoke_share(db: Session, tenant: Tenant, access: Access, booking_id: str,
                 share_id: str, now: datetime) -> BookingShare:
    """End a share: the owner ends any of the booking's, a shared adult only their own."""
    view = scope.get_booking(db, access, booking_id)
    query = select(BookingShare).where(
        BookingShare.tenant == tenant.slug, BookingShare.booking_id == view.booking.id,
        BookingShare.external_id == share_id, BookingShare.status.in_(LIVE))
    if not view.owned:
        query = query.where(BookingShare.email == access.email)
    share = db.exec(query).first()
    if share is None:
        raise NotFound("There is no such share of this booking.")
    share.status = "revoked"
    share.updated_at = now
    db.add(share)
    webhooks.enqueue_event(db, tenant, webhooks.SHARE_REVOKED, client_id=view.booking.client_id,
                           at=now, data={"booking_id": view.booking.external_id,
                                         "share_id": share.external_id, "email": share.email})
    return share


def recipients_for_booking(session: Session, booking: Booking,
                           kind: str | None = None) -> list[str]:
    """Who gets a booking's e-mails: the owner, then every adult with an active share.

    With `kind` (e.g. "reminders"), the owner is left out if they turned that kind of e-mail
    off in their account; shared adults have no such settings and always get them."""
    owner = session.exec(select(Client).where(Client.id == booking.client_id,
                                              Client.tenant == booking.tenant)).one()
    emails = [owner.email] if kind is None or wants(owner, kind, "email") else []
    shared = session.exec(
        select(BookingShare.email).where(
            BookingShare.tenant == booking.tenant, BookingShare.booking_id == booking.id,
            BookingShare.status == "active").order_by(BookingShare.id)).all()
    for email in shared:
        if email not in emails and email != owner.email:
            emails.append(email)
    return emails
