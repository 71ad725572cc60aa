"""One-time codes sent by e-mail, for logging in and for confirming a new login e-mail.

A code is six digits, stored only as a keyed hash bound to its row, lives 15 minutes, and
five wrong tries burn it; a newer code supersedes the older ones of the same owner. Using a
code is one conditional UPDATE, so two simultaneous tries of one code cannot both win.

The rows are `LoginChallenge` or `EmailChange` (both have code_hash, created_at, expires_at,
attempts, ended_at and ended_reason); whose code it is stays the caller's business.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import case, update
from sqlmodel import Session, select

from widget_server.core.models import EmailChange, LoginChallenge
from widget_server.core.signing import Signer

CODE_LIFETIME = timedelta(minutes=15)
MAX_ATTEMPTS = 5
# Why a code ended, as stored in ended_reason (besides the caller's own word for "used").
SUPERSEDED = "superseded"
BURNED = "burned"

CodeRow = TypeVar("CodeRow", LoginChallenge, EmailChange)


def supersede(session: Session, model: type[CodeRow], now: datetime, *owner: Any) -> None:
    """End every open code of `model` matching the `owner` conditions: only the newest works."""
    session.exec(update(model).where(*owner, model.ended_at.is_(None))
                 .values(ended_at=now, ended_reason=SUPERSEDED))


def issue(session: Session, signer: Signer, purpose: str, row: CodeRow, now: datetime) -> str:
    """Store `row` with a new code and its expiry; returns the code, which is kept only hashed."""
    code = f"{secrets.randbelow(10**6):06d}"
    row.code_hash, row.created_at, row.expires_at = "", now, now + CODE_LIFETIME
    session.add(row)
    session.flush()  # the hash includes the row's id, so a code is no use on any other row
    row.code_hash = signer.mac(purpose, f"{row.id}:{code}")
    return code


def expired(row: CodeRow, now: datetime) -> bool:
    """Whether the code's 15 minutes are over."""
    return row.expires_at <= now


def matches(signer: Signer, purpose: str, row: CodeRow, typed: str) -> bool:
    """Whether `typed` is this row's code; anything but digits (spaces, dashes) is ignored."""
    digits = "".join(ch for ch in typed if ch.isdigit())
    return signer.mac_matches(purpose, f"{row.id}:{digits}", row.code_hash)


def count_wrong_try(session: Session, row: CodeRow, now: datetime) -> int:
    """Count a wrong code, burning it on the fifth; returns the tries left (0 once burned)."""
    model = type(row)
    # One UPDATE counts and burns, so simultaneous wrong tries cannot slip past the limit.
    burn = model.attempts + 1 >= MAX_ATTEMPTS
    session.exec(update(model).where(model.id == row.id, model.ended_at.is_(None))
                 .values(attempts=model.attempts + 1,
                         ended_at=case((burn, now), else_=None),
                         ended_reason=case((burn, BURNED), else_=None)))
    attempts = session.exec(select(model.attempts).where(model.id == row.id)).one()
    return max(MAX_ATTEMPTS - attempts, 0)


def use(session: Session, row: CodeRow, now: datetime, reason: str) -> bool:
    """End the code as used (`reason`); True only for the one request whose UPDATE changed it."""
    model = type(row)
    result = session.exec(update(model)
                          .where(model.id == row.id, model.ended_at.is_(None),
                                 model.expires_at > now, model.attempts < MAX_ATTEMPTS)
                          .values(ended_at=now, ended_reason=reason))
    return result.rowcount == 1
