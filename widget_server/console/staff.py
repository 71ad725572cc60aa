"""Who may use a tenant's console (`[console] staff` in the tenant file), and the audit log of
what staff did that touches a family: kept, and read by the tenant's owners."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from widget_server.auth.login import Identify, normalise_email
from widget_server.core.access import Identity
from widget_server.core.models import AuditEntry, Client
from widget_server.core.tenants import Tenant

OWNER = "owner"
AUDIT_PAGE = 50


def identify(tenant: Tenant) -> Identify:
    """The console's login lookup: a listed staff member, else nobody (no e-mail goes)."""
    def staff_member(db: Session, slug: str, email: str) -> Identity | None:
        listed = tenant.config.console.role_of(normalise_email(email))
        return Identity(normalise_email(email), None) if listed else None
    return staff_member


def role_of(tenant: Tenant, email: str) -> str | None:
    """The staff member's role now (removing them from the tenant file ends their access)."""
    return tenant.config.console.role_of(email)


def record(db: Session, tenant: str, staff_email: str, action: str, client_id: int | None,
           now: datetime, detail: str | None = None) -> None:
    db.add(AuditEntry(tenant=tenant, staff_email=staff_email, action=action,
                      client_id=client_id, detail=(detail or None) and detail[:500],
                      created_at=now))


def audit_log(db: Session, tenant: str, before: int | None = None,
              limit: int = AUDIT_PAGE) -> tuple[list[tuple[Any, Any]], int | None]:
    """A page of the tenant's audit log, newest first, with each entry's client; and the id
    to read the next page from (None on the last)."""
    query = (select(AuditEntry, Client).outerjoin(Client, Client.id == AuditEntry.client_id)
             .where(AuditEntry.tenant == tenant))
    if before is not None:
        query = query.where(AuditEntry.id < before)
    rows = list(db.exec(query.order_by(AuditEntry.id.desc()).limit(limit + 1)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, rows[-1][0].id if more else None
