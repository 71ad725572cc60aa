"""Changing the login e-mail: a 6-digit code goes to the NEW address, and only that code
makes the change, so nobody can move an account to an address they do not read.

The code is kept as a keyed hash, lives 15 minutes, and five wrong tries burn it: the same
one-time codes as logging in (`auth.codes`). On the change the old address is told, stops
logging in (its unused login codes are ended), and everything that followed it moves to the
new one: this client's sessions, calendar link, and bookings other families shared with it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from widget_server.account.details import push_change, valid_address
from widget_server.auth import codes
from widget_server.auth.codes import CODE_LIFETIME  # account views show it in minutes
from widget_server.core import ratelimit
from widget_server.core.i18n import gettext as _
from widget_server.core.models import (
    BookingShare,
    CalendarFeed,
    Client,
    EmailChange,
    LoginChallenge,
    WebSession,
)
from widget_server.core.signing import EMAIL_CHANGE_CODE, Signer
from widget_server.core.tenants import Tenant
from widget_server.delivery.notices import Notices

REQUESTS_PER_HOUR = 5


class EmailChangeFailed(Exception):
    """Why not: `bad_email`, `same_address`, `taken`, `too_many`, `expired`, `wrong_code`."""

    def __init__(self, reason: str, attempts_left: int = 0):
        super().__init__(reason)
        self.reason = reason
        self.attempts_left = attempts_left


def start(db: Session, signer: Signer, tenant: Tenant, client: Client, new_email: str,
          notices: Notices, now: datetime) -> EmailChange:
    """E-mail a code to the new address; an earlier unfinished change is superseded."""
    address = valid_address(new_email)
    if address is None:
        raise EmailChangeFailed("bad_email")
    if address == client.email:
        raise EmailChangeFailed("same_address")
    if _taken(db, tenant.slug, address, client.id):
        raise EmailChangeFailed("taken")
    if not ratelimit.allow(db, f"email-change:{tenant.slug}:{client.id}", REQUESTS_PER_HOUR,
                           timedelta(hours=1), now):
        raise EmailChangeFailed("too_many")
    codes.supersede(db, EmailChange, now, EmailChange.client_id == client.id)
    change = EmailChange(tenant=tenant.slug, client_id=client.id, new_email=address)
    code = codes.issue(db, signer, EMAIL_CHANGE_CODE, change, now)
    minutes = int(CODE_LIFETIME.total_seconds() // 60)
    notices.send(db, address, "email_change_code", client.locale,
                 lambda: _("Your code to confirm this e-mail address: %(code)s") % {"code": code},
                 code=code, minutes=minutes, name=client.name)
    return change


def pending(db: Session, client: Client, now: datetime) -> EmailChange | None:
    """The change waiting for its code, if any."""
    return db.exec(select(EmailChange).where(
        EmailChange.client_id == client.id, EmailChange.ended_at.is_(None),
        EmailChange.expires_at > now).order_by(EmailChange.id.desc())).first()


def confirm(db: Session, signer: Signer, tenant: Tenant, client: Client, code: str,
            notices: Notices, now: datetime) -> str:
    """Check the code and change the address; returns the old one.

    A wrong code counts an attempt in the caller's transaction, so catch EmailChangeFailed
    inside it (and let it commit) rather than letting it roll the count back."""
    change = pending(db, client, now)
    if change is None:
        raise EmailChangeFailed("expired")
    if not codes.matches(signer, EMAIL_CHANGE_CODE, change, code):
        left = codes.count_wrong_try(db, change, now)
        raise EmailChangeFailed("wrong_code" if left else "expired", left)
    if _taken(db, tenant.slug, change.new_email, client.id):
        raise EmailChangeFailed("taken")
    if not codes.use(db, change, now, "confirmed"):  # a second tab confirmed it a moment ago
        raise EmailChangeFailed("expired")
    old, new = client.email, change.new_email
    client.email = new
    _follow(db, tenant.slug, client, old, new, now)
    push_change(db, tenant, client, {"email": new}, now)
    notices.send(db, old, "email_changed", client.locale,
                 lambda: _("Your login e-mail at %(provider)s was changed")
                 % {"provider": tenant.name}, name=client.name, old=old, new=new)
    return old


def _follow(db: Session, tenant: str, client: Client, old: str, new: str,
            now: datetime) -> None:
    """Move what belonged to the old address to the new one; the old one stops logging in."""
    db.add(client)
    db.flush()  # the unique (tenant, email) index checks the new address here
    db.exec(update(WebSession).where(WebSession.tenant == tenant,
                                     WebSession.client_id == client.id).values(email=new))
    db.exec(update(CalendarFeed).where(CalendarFeed.tenant == tenant, CalendarFeed.email == old)
            .values(email=new))
    db.exec(update(BookingShare).where(BookingShare.tenant == tenant, BookingShare.email == old,
                                       BookingShare.status != "revoked")
            .values(email=new, updated_at=now))
    codes.supersede(db, LoginChallenge, now,
                    LoginChallenge.tenant == tenant, LoginChallenge.email == old)


def _taken(db: Session, tenant: str, address: str, client_id: int | None) -> bool:
    return db.exec(select(Client.id).where(Client.tenant == tenant, Client.email == address,
                                           Client.id != client_id)).first() is not None
