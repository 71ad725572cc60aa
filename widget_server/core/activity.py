"""What families did themselves, counted per tenant, kind and day: the console's dashboard of
the support requests the profile saved the provider. Counted where it happens, in the same
transaction (one upsert of a per-day row), so the dashboard reads a few rows per kind."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from widget_server.core.models import ActivityCount

LOGIN, INVOICE_DOWNLOADED = "login", "invoice.downloaded"


def count(db: Session, tenant: str, kind: str, at: datetime, amount: int = 0) -> None:
    """One more `kind` on `at`'s day (UTC), adding `amount` (a payment's, in minor units)."""
    insert = (postgresql_insert if db.get_bind().dialect.name == "postgresql"
              else sqlite_insert)(ActivityCount)
    statement = insert.values(tenant=tenant, kind=kind, day=at.date(), count=1,
                              amount=amount or 0)
    db.execute(statement.on_conflict_do_update(
        index_elements=["tenant", "kind", "day"],
        set_={"count": ActivityCount.count + 1,
              "amount": ActivityCount.amount + statement.excluded.amount}))


def totals(db: Session, tenant: str, since: date) -> dict[str, tuple[int, int]]:
    """Per kind, how many since `since` (included) and their amount."""
    rows = db.exec(select(ActivityCount.kind, func.sum(ActivityCount.count),
                          func.sum(ActivityCount.amount))
                   .where(ActivityCount.tenant == tenant, ActivityCount.day >= since)
                   .group_by(ActivityCount.kind)).all()
    return {kind: (int(n or 0), int(amount or 0)) for kind, n, amount in rows}


def amount_of(data: dict[str, Any]) -> int:
    value = data.get("amount")
    return value if isinstance(value, int) else 0
