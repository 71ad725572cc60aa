"""The make-up waiting list: when every session a credit could go to is full, the family waits.

The first place that frees up is held for the first credit in the queue for `HOLD` (a held
place counts as taken for everyone else, see `capacity`) and offered by e-mail; one click takes
it. A hold that runs out lapses, and the place goes to the next in line. Places free up in many
ways (a cancellation here, the provider raising capacity or excusing someone through the sync
API, a hold running out), so the scheduler looks every round; a cancellation in the portal
also looks at once. Which places fit a credit is `makeups`' business; this module keeps the
queue: one row per credit, moving waiting -> offered -> taken, or lapsed/left/closed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from widget_server.core.models import MakeupCredit, MakeupWaitlist

HOLD = timedelta(hours=12)
OPEN = ("waiting", "offered")


def entry_of(db: Session, credit_id: int) -> MakeupWaitlist | None:
    """The credit's row on the list (in whatever state), if it ever joined."""
    return db.exec(select(MakeupWaitlist).where(MakeupWaitlist.credit_id == credit_id)
                   .execution_options(populate_existing=True)).first()


def waiting(entry: MakeupWaitlist | None) -> bool:
    return entry is not None and entry.status in OPEN


def holding(entry: MakeupWaitlist | None, now: datetime) -> bool:
    """Whether a place is held for this entry right now."""
    return (entry is not None and entry.status == "offered" and entry.hold_until is not None
            and entry.hold_until > now)


def join(db: Session, credit: MakeupCredit, now: datetime) -> MakeupWaitlist:
    """Put a credit at the end of the queue (again, if it left or lapsed before)."""
    entry = entry_of(db, credit.id)
    if entry is None:
        entry = MakeupWaitlist(tenant=credit.tenant, credit_id=credit.id,
                               client_id=credit.client_id, joined_at=now)
        db.add(entry)
    elif entry.status in OPEN:
        return entry
    entry.status, entry.joined_at, entry.ended_at = "waiting", now, None
    entry.offered_session_id = entry.offered_at = entry.hold_until = None
    db.flush()
    return entry


def end(db: Session, credit_id: int, now: datetime, status: str) -> bool:
    """Take a credit off the list: `left` (the family's choice), `taken` (its held place was
    booked) or `closed` (the credit was used another way or ran out)."""
    ended = db.exec(update(MakeupWaitlist)
                    .where(MakeupWaitlist.credit_id == credit_id,
                           MakeupWaitlist.status.in_(OPEN))
                    .values(status=status, ended_at=now)
                    .execution_options(synchronize_session=False))
    return ended.rowcount == 1


def hold(db: Session, entry: MakeupWaitlist, session_id: int, now: datetime) -> bool:
    """Hold a place for a waiting entry; False if it is no longer waiting (another round
    got there first). Call with the session locked and a free place counted."""
    held = db.exec(update(MakeupWaitlist)
                   .where(MakeupWaitlist.id == entry.id, MakeupWaitlist.status == "waiting")
                   .values(status="offered", offered_session_id=session_id, offered_at=now,
                           hold_until=now + HOLD)
                   .execution_options(synchronize_session=False))
    return held.rowcount == 1


def lapse(db: Session, tenant: str, now: datetime) -> int:
    """Holds that ran out: the entry lapses (the family may join again), the place is free."""
    lapsed = db.exec(update(MakeupWaitlist)
                     .where(MakeupWaitlist.tenant == tenant,
                            MakeupWaitlist.status == "offered",
                            MakeupWaitlist.hold_until <= now)
                     .values(status="lapsed", ended_at=now)
                     .execution_options(synchronize_session=False))
    return lapsed.rowcount


def due_tenants(db: Session) -> set[str]:
    """Tenants with an entry waiting or holding a place (an index read across tenants)."""
    return set(db.exec(select(MakeupWaitlist.tenant).where(
        MakeupWaitlist.status.in_(("waiting", "offered"))).distinct()).all())


def queue(db: Session, tenant: str, limit: int) -> list[MakeupWaitlist]:
    """Entries waiting for a place, first come first served."""
    return list(db.exec(select(MakeupWaitlist)
                        .where(MakeupWaitlist.tenant == tenant,
                               MakeupWaitlist.status == "waiting")
                        .order_by(MakeupWaitlist.joined_at, MakeupWaitlist.id)
                        .limit(limit)).all())
