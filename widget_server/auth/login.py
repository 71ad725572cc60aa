"""Passwordless login: one e-mail with a one-time code and a signed link, either logs in once.

Each login e-mail is backed by a `LoginChallenge` row, its code handled by `auth.codes`.
Logging in consumes it with one conditional UPDATE, so two simultaneous attempts with the same
code or link cannot both win.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from sqlmodel import Session, select

from widget_server.auth import codes
from widget_server.core import metrics, ratelimit
from widget_server.core.access import Identity
from widget_server.core.models import Booking, BookingShare, Client, LoginChallenge
from widget_server.core.signing import LOGIN_CODE, LOGIN_LINK, Signer

# The window of a tenant's ceiling on wrong codes (`Settings.wrong_codes_per_tenant`).
WRONG_CODES_WINDOW = timedelta(hours=1)
# Who a login is for: a family in the widget, or the provider's staff in the console. Each
# has its own codes and links (a challenge's `kind`, a link's "a"): one never opens the other.
CLIENT, STAFF = "client", "staff"
# Who an address is at a tenant, for an audience (None: nobody, and no e-mail goes).
Identify = Callable[[Session, str, str], "Identity | None"]


@dataclass(frozen=True)
class LoginMail:
    """What goes into the login e-mail."""

    email: str
    code: str
    link_token: str
    client_id: int | None
    locale: str | None


class LoginFailed(Exception):
    """Why a code or link did not log in, each told to the person in its own words:
    `wrong_code` (tries left), `used_up` (five wrong codes burned it), `expired` (15 minutes
    passed), `used` (it already logged in), `superseded` (a newer e-mail was sent), `ended`
    (a code that is used or expired), `invalid` (a link that was cut off or changed) or
    `too_many` (the tenant took too many wrong codes this hour; codes are not checked)."""

    def __init__(self, reason: str, *, email: str | None = None, attempts_left: int = 0):
        super().__init__(reason)
        self.reason = reason
        self.email = email
        self.attempts_left = attempts_left


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_identity(session: Session, tenant: str, email: str) -> Identity | None:
    """A client with this e-mail, or someone a booking is shared with (still active)."""
    client = session.exec(
        select(Client.id, Client.locale).where(Client.tenant == tenant, Client.email == email)
    ).first()
    if client is not None:
        return Identity(email, client[0], client[1])
    shared = session.exec(
        select(BookingShare.id)
        .join(Booking, Booking.id == BookingShare.booking_id)
        .where(BookingShare.tenant == tenant, BookingShare.email == email,
               BookingShare.status.in_(["pending", "active"]), Booking.tenant == tenant)
    ).first()
    return Identity(email, None) if shared is not None else None


def request_login(session: Session, signer: Signer, tenant: str, email: str,
                  now: datetime, *, audience: str = CLIENT,
                  identify: Identify = find_identity) -> LoginMail | None:
    """Start a login: supersede older codes, store a new one; None when nobody has this e-mail.

    A challenge row is written for unknown addresses too, so both cases do the same work."""
    email = normalise_email(email)
    codes.supersede(session, LoginChallenge, now, LoginChallenge.tenant == tenant,
                    LoginChallenge.email == email, LoginChallenge.kind == audience)
    nonce = secrets.token_urlsafe(16)
    challenge = LoginChallenge(tenant=tenant, email=email, link_nonce=_digest(nonce),
                               kind=audience)
    code = codes.issue(session, signer, LOGIN_CODE, challenge, now)
    identity = identify(session, tenant, email)
    if identity is None:
        return None
    payload = {"t": tenant, "c": challenge.id, "n": nonce}
    token = signer.sign(LOGIN_LINK, payload if audience == CLIENT else payload | {"a": audience})
    return LoginMail(email=email, code=code, link_token=token, client_id=identity.client_id,
                     locale=identity.locale)


def login_with_code(session: Session, signer: Signer, tenant: str, email: str, code: str,
                    now: datetime, wrong_codes_per_tenant: int, *, audience: str = CLIENT,
                    identify: Identify = find_identity) -> Identity:
    """Check a code; a wrong one counts an attempt, and the fifth burns the code.

    Wrong codes also count towards the tenant's hourly ceiling: the per-code and per-IP limits
    do not stop a guesser spread over many addresses and IPs, this does. Once it is reached
    no code is compared at all (so a lucky guess cannot land either) until the hour is over."""
    email = normalise_email(email)
    ceiling = f"wrong-codes:{tenant}"
    if ratelimit.count(session, ceiling, WRONG_CODES_WINDOW, now) >= wrong_codes_per_tenant:
        metrics.RATE_LIMITED.labels("wrong-codes").inc()
        raise LoginFailed("too_many", email=email)
    challenge = session.exec(
        select(LoginChallenge)
        .where(LoginChallenge.tenant == tenant, LoginChallenge.email == email,
               LoginChallenge.kind == audience, LoginChallenge.ended_at.is_(None))
        .order_by(LoginChallenge.created_at.desc(), LoginChallenge.id.desc())
    ).first()
    if challenge is None:
        raise LoginFailed(_why_none_open(session, tenant, email, audience), email=email)
    if codes.expired(challenge, now):
        raise LoginFailed("expired", email=email)
    if not codes.matches(signer, LOGIN_CODE, challenge, code):
        ratelimit.hit(session, ceiling, WRONG_CODES_WINDOW, now)
        left = codes.count_wrong_try(session, challenge, now)
        raise LoginFailed("wrong_code" if left else "used_up", email=email, attempts_left=left)
    return _consume(session, tenant, challenge, now, identify)


def _why_none_open(session: Session, tenant: str, email: str, audience: str) -> str:
    """Why an address has no code to try: "used_up" when its newest code was burned by wrong
    tries, else "ended" (used, run out or never sent, not told apart: "already used" would
    tell anyone who types an address that its owner logged in; unknown addresses burn alike)."""
    newest = session.exec(
        select(LoginChallenge.ended_reason)
        .where(LoginChallenge.tenant == tenant, LoginChallenge.email == email,
               LoginChallenge.kind == audience)
        .order_by(LoginChallenge.created_at.desc(), LoginChallenge.id.desc())
    ).first()
    return "used_up" if newest == codes.BURNED else "ended"


def _ended(challenge: LoginChallenge, now: datetime) -> str | None:
    """Why a login e-mail's link no longer works, or None if it still does."""
    if challenge.ended_at is not None:
        return {codes.BURNED: "used_up", codes.SUPERSEDED: "superseded"}.get(
            challenge.ended_reason or "", "used")
    return "expired" if codes.expired(challenge, now) else None


def peek_link(session: Session, signer: Signer, tenant: str, token: str,
              now: datetime, *, audience: str = CLIENT) -> tuple[str | None, str | None]:
    """Why a link would not log in (a `LoginFailed` reason; None if it would), and its
    e-mail; changes nothing (safe for GET/HEAD)."""
    challenge = _challenge_of_link(session, signer, tenant, token, audience)
    if challenge is None:
        return "invalid", None
    return _ended(challenge, now), challenge.email


def login_with_link(session: Session, signer: Signer, tenant: str, token: str,
                    now: datetime, *, audience: str = CLIENT,
                    identify: Identify = find_identity) -> Identity:
    challenge = _challenge_of_link(session, signer, tenant, token, audience)
    if challenge is None:
        raise LoginFailed("invalid")
    problem = _ended(challenge, now)
    if problem:
        raise LoginFailed(problem, email=challenge.email)
    return _consume(session, tenant, challenge, now, identify)


def _challenge_of_link(session: Session, signer: Signer, tenant: str, token: str,
                       audience: str) -> LoginChallenge | None:
    payload = signer.check(LOGIN_LINK, token)
    if not isinstance(payload, dict) or payload.get("t") != tenant \
            or payload.get("a", CLIENT) != audience:
        return None
    challenge = session.exec(
        select(LoginChallenge).where(LoginChallenge.id == payload.get("c"),
                                     LoginChallenge.tenant == tenant,
                                     LoginChallenge.kind == audience)
    ).first()
    if challenge is None or challenge.link_nonce != _digest(str(payload.get("n"))):
        return None
    return challenge


def _consume(session: Session, tenant: str, challenge: LoginChallenge, now: datetime,
             identify: Identify) -> Identity:
    """Mark the challenge used; only the request whose UPDATE changes the row logs in."""
    if not codes.use(session, challenge, now, "consumed"):
        raise LoginFailed("used", email=challenge.email)
    identity = identify(session, tenant, challenge.email)
    if identity is None:  # the client was deleted since the e-mail went out
        raise LoginFailed("invalid", email=challenge.email)
    return identity


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
