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

# Codes asked for per hour by one client, and by one IP (a family's devices, an office).
REQUESTS_PER_HOUR = 5
REQUESTS_PER_IP_PER_HOUR = 20


class EmailChangeFailed(Exception):
    """Why not: `bad_email`, `same_address`, `too_many`, `expired`, `wrong_code`, or `taken`
    (only on confirming: another client took the new address since the code was sent)."""

    def __init__(self, reason: str, attempts_left: int = 0):
        super().__init__(reason)
        self.reason = reason
        self.attempts_left = attempts_left


def start(db: Session, signer: Signer, tenant: Tenant, client: Client, new_email: str,
          notices: Notices, now: datetime, ip: str) -> EmailChange:
    """E-mail a code to the new address; an earlier unfinished change is superseded.

    The answer is the same whether or not another account uses the address, so this form
    cannot be used to find out who has a profile here: the change waits for its code either
    way. A taken address gets no code (nobody could use one) but a notice that someone tried,
    as sign-up forms of careful products do: its owner, often the same parent with a second
    profile, learns why no code came and what to do, and nobody else learns anything."""
    address = valid_address(new_email)
    if address is None:
        raise EmailChangeFailed("bad_email")
    if address == client.email:
        raise EmailChangeFailed("same_address")
    hour = timedelta(hours=1)
    by_client = ratelimit.allow(db, f"email-change:{tenant.slug}:{client.id}",
                                REQUESTS_PER_HOUR, hour, now)
    by_ip = ratelimit.allow(db, f"email-change-ip:{ip}", REQUESTS_PER_IP_PER_HOUR, hour, now)
    if not (by_client and by_ip):
        raise EmailChangeFailed("too_many")
    codes.supersede(db, EmailChange, now, EmailChange.client_id == client.id)
    change = EmailChange(tenant=tenant.slug, client_id=client.id, new_email=address)
    code = codes.issue(db, signer, EMAIL_CHANGE_CODE, change, now)
    owner = _owner(db, tenant.slug, address, client.id)
    if owner is not None:
        notices.send(db, address, "email_change_taken", owner.locale,
                     lambda: _("Someone tried to use this address at %(provider)s")
                     % {"provider": tenant.name}, client_id=owner.id, name=owner.name)
        return change
    minutes = int(CODE_LIFETIME.total_seconds() // 60)
    notices.send(db, address, "email_change_code", client.locale,
                 lambda: _("Your code to confirm this e-mail address: %(code)s") % {"code": code},
                 client_id=client.id, code=code, minutes=minutes, name=client.name)
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
    if _owner(db, tenant.slug, change.new_email, client.id) is not None:
        # Only whoever reads the new address has the code, so saying it is taken tells them
        # nothing they could not find out by logging in with it. The change ends: it never can.
        codes.use(db, change, now, "taken")
        raise EmailChangeFailed("taken")
    if not codes.use(db, change, now, "confirmed"):  # a second tab confirmed it a moment ago
        raise EmailChangeFailed("expired")
    old, new = client.email, change.new_email
    client.email = new
    _follow(db, tenant.slug, client, old, new, now)
    push_change(db, tenant, client, {"email": new}, now)
    notices.send(db, old, "email_changed", client.locale,
                 lambda: _("Your login e-mail at %(provider)s was changed")
                 % {"provider": tenant.name}, client_id=client.id, name=client.name, old=old,
                 new=new)
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


def _owner(db: Session, tenant: str, address: str, client_id: int | None) -> Client | None:
    """Another client whose login e-mail `address` is, if any."""
    return db.exec(select(Client).where(Client.tenant == tenant, Client.email == address,
                                        Client.id != client_id)).first()
