"""When a person first opened something the provider shared (a report card, a document): it is
"new" until then, and the provider is told once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from widget_server.core.access import Access
from widget_server.core.models import FirstOpen


def first_open(db: Session, access: Access, kind: str, item_id: int, now: datetime) -> bool:
    """Record this person's opening of an item; True only the first time (safe to race: the
    unique key keeps one row). Staff viewing the profile open nothing for the family."""
    if access.read_only:
        return False
    insert = (postgresql_insert if db.get_bind().dialect.name == "postgresql"
              else sqlite_insert)(FirstOpen)
    # RETURNING, not rowcount: it says the same on both databases.
    return db.execute(insert.values(tenant=access.tenant, email=access.email, kind=kind,
                                    item_id=item_id, opened_at=now)
                      .on_conflict_do_nothing().returning(FirstOpen.id)).first() is not None
