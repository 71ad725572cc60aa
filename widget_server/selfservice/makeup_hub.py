"""The "Book a make-up" screen: every make-up the family can still book, where each one stands
(a place held from the waiting list, waiting, ready to choose a session, or with no session to
book right now), and the entry passes that book sessions. A fixed handful of queries, however
big the family.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from widget_server.core import access as scope
from widget_server.core.access import Access
from widget_server.core.formatting import local_today
from widget_server.core.models import (
    Attendance,
    Attendee,
    ClassSession,
    EntryPass,
    MakeupCredit,
    MakeupWaitlist,
    Programme,
)
from widget_server.core.tenants import Tenant
from widget_server.selfservice import makeups, passes, waitlist


@dataclass(frozen=True)
class CreditCard:
    credit: MakeupCredit
    member: Attendee
    earned_in: str | None  # the programme of the session it was earned in
    earned_on: datetime | None
    entry: MakeupWaitlist | None
    offered: ClassSession | None  # the place held for it, if any
    bookable: bool = True  # it has a session to book now

    @property
    def waiting(self) -> bool:
        return self.offered is None and waitlist.waiting(self.entry)


@dataclass(frozen=True)
class PassCard:
    entry_pass: EntryPass
    state: str
    programme: Programme | None

    @property
    def left(self) -> int:
        return max(self.entry_pass.total_entries - self.entry_pass.used_entries, 0)


@dataclass
class Hub:
    credits: list[CreditCard]
    passes: list[PassCard]


# Built once: an alias copies its table's columns, costly per request.
_HUB_ALIASES = aliased(Attendance), aliased(ClassSession), aliased(ClassSession)


# The hub's statements, each built once per kind of visitor (see `scope.prepared`).
def _credits(who: Access) -> Any:
    source, source_session, offered = _HUB_ALIASES
    return (
        select(MakeupCredit, Attendee, Programme.name, source_session.starts_at,
               MakeupWaitlist, offered)
        .join(Attendee, Attendee.id == MakeupCredit.attendee_id)
        .outerjoin(source, source.id == MakeupCredit.source_attendance_id)
        .outerjoin(source_session, source_session.id == source.session_id)
        .outerjoin(Programme, Programme.id == source_session.programme_id)
        .outerjoin(MakeupWaitlist, MakeupWaitlist.credit_id == MakeupCredit.id)
        .outerjoin(offered, offered.id == MakeupWaitlist.offered_session_id)
        .where(scope.actionable_makeups(who), MakeupCredit.used_attendance_id.is_(None),
               (MakeupCredit.expires_at.is_(None))
               | (MakeupCredit.expires_at > bindparam("now")))
        .order_by(MakeupCredit.expires_at.is_(None), MakeupCredit.expires_at, MakeupCredit.id)
    )


def _member_credits(who: Access) -> Any:
    return _credits(who).where(Attendee.external_id == bindparam("member"))


def _passes(who: Access) -> Any:
    return (select(EntryPass, Programme)
            .outerjoin(Programme, Programme.id == EntryPass.programme_id)
            .where(scope.family(EntryPass, who)).order_by(EntryPass.id.desc()))


def load_hub(db: Session, tenant: Tenant, access: Access, now: datetime,
             member: str | None = None) -> Hub:
    """Usable credits, soonest to run out first (of one member, if given); usable passes."""
    if member is None:
        rows = scope.run(db, _credits, access, now=now)
    else:
        rows = scope.run(db, _member_credits, access, now=now, member=member)
    bookable = makeups.with_options(db, tenant, [row[0] for row in rows], now)
    credits = []
    for credit, attendee, programme, earned_on, entry, session in rows:
        held = session if waitlist.holding(entry, now) else None
        credits.append(CreditCard(credit, attendee, programme, earned_on, entry, held,
                                  credit.id in bookable))
    today = local_today(now, tenant.config.timezone)
    cards = []
    for entry_pass, programme in scope.run(db, _passes, access):
        state = passes.state_of(entry_pass, today)
        if state in ("active", "used_up"):
            cards.append(PassCard(entry_pass, state, programme))
    return Hub(credits, cards)
