"""Idempotency-Key support for API writes: a retry gets the first answer back."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlmodel import Session, select

from widget_server.core.errors import ValidationFailed, field_error
from widget_server.core.models import IdempotencyRecord


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: str


def fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), b"\0", path.encode(), b"\0", body):
        digest.update(part)
    return digest.hexdigest()


def find(session: Session, tenant: str, key: str, print_: str) -> Replay | None:
    """The stored answer for this key, or None; the same key with another request is refused."""
    record = session.exec(
        select(IdempotencyRecord).where(IdempotencyRecord.tenant == tenant,
                                        IdempotencyRecord.key == key)
    ).first()
    if record is None:
        return None
    if record.fingerprint != print_:
        raise ValidationFailed(
            "This Idempotency-Key was already used with a different request.",
            errors=[field_error(["Idempotency-Key"],
                                "reused with a different method, path or body")],
        )
    return Replay(record.status_code, record.body)


def remember(session: Session, tenant: str, key: str, print_: str, status_code: int,
             body: object) -> None:
    session.add(IdempotencyRecord(tenant=tenant, key=key, fingerprint=print_,
                                  status_code=status_code, body=json.dumps(body)))
