"""The family's benefits: make-up credits, discounts, entry passes and prepaid credit.

Answers "do I still have a make-up?", "how many entries are left?" and "where did my credit
go?" in five queries, whatever the family's size. Make-ups belong to a child, so an adult a
child's booking is shared with sees that child's make-ups too (and may book them with full
access); discounts, passes and credit are the family's money and stay with the family.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from widget_server.core import access as scope
from widget_server.core.access import Access
from widget_server.core.formatting import local_today
from widget_server.core.models import (
    Attendance,
    Attendee,
    Booking,
    ClassSession,
    CreditEntry,
    Discount,
    EntryPass,
    EntryPassUse,
    MakeupCredit,
    Order,
    Programme,
)
from widget_server.core.tenants import Tenant
from widget_server.profile.bookings import ACTIVE
from widget_server.selfservice import makeups


@dataclass(frozen=True)
class Makeup:
    credit: MakeupCredit
    member: str
    state: str  # available, used, expired
    earned_on: datetime | None = None  # the session that was missed or excused
    earned_in: str | None = None  # its programme
    used_on: datetime | None = None  # the make-up session it was spent on
    booking_id: str | None = None  # the running booking of the child it is booked for
    bookable: bool = False  # available, and the visitor may spend it


@dataclass(frozen=True)
class DiscountItem:
    discount: Discount
    member: str | None  # None: the whole family
    state: str  # available, upcoming, used, expired


@dataclass(frozen=True)
class PassUse:
    used_at: datetime
    programme: str | None
    note: str | None


@dataclass
class PassItem:
    entry_pass: EntryPass
    member: str | None
    state: str  # active, used_up, expired, cancelled
    uses: list[PassUse] = field(default_factory=list)

    @property
    def remaining(self) -> int:
        return max(self.entry_pass.total_entries - self.entry_pass.used_entries, 0)


@dataclass(frozen=True)
class CreditLine:
    """A credit ledger entry, and where the money went or came from."""

    entry: CreditEntry
    programme: str | None = None  # the booking it paid for
    member: str | None = None
    order: str | None = None  # the order's number


@dataclass
class Benefits:
    makeups: list[Makeup]
    discounts: list[DiscountItem]
    passes: list[PassItem]
    credit_lines: list[CreditLine]

    @property
    def credit(self) -> list[CreditEntry]:
        return [line.entry for line in self.credit_lines]

    @property
    def balances(self) -> list[tuple[str, int]]:
        totals: dict[str, int] = {}
        for entry in self.credit:
            totals[entry.currency] = totals.get(entry.currency, 0) + entry.amount
        return sorted(totals.items())

    def makeups_in(self, state: str) -> list[Makeup]:
        return [m for m in self.makeups if m.state == state]


def load_benefits(db: Session, access: Access, now: datetime, tz: str,
                  tenant: Tenant | None = None) -> Benefits:
    """Everything on the benefits page; with the tenant, a make-up is bookable only when it
    has a session to book now (its rules are the tenant's)."""
    today = local_today(now, tz)
    found = _makeups(db, access, now)
    if tenant is not None:
        ready = makeups.with_options(db, tenant, [m.credit for m in found if m.bookable], now)
        found = [replace(m, bookable=m.bookable and m.credit.id in ready) for m in found]
    return Benefits(found, _discounts(db, access, today), _passes(db, access, today),
                    _credit(db, access))


def _credit(db: Session, access: Access) -> list[CreditLine]:
    rows = scope.run(db, _credit_lines, access)
    return [CreditLine(entry, programme, member, number or order_id)
            for entry, programme, member, number, order_id in rows]


# The page's statements, each built once per kind of visitor (see `scope.prepared`).
def _credit_lines(who: Access) -> Any:
    return (select(CreditEntry, Programme.name, Attendee.name, Order.number, Order.external_id)
            .outerjoin(Booking, Booking.id == CreditEntry.booking_id)
            .outerjoin(Programme, Programme.id == Booking.programme_id)
            .outerjoin(Attendee, Attendee.id == Booking.attendee_id)
            .outerjoin(Order, Order.id == CreditEntry.order_id)
            .where(scope.family(CreditEntry, who))
            .order_by(CreditEntry.occurred_at.desc(), CreditEntry.id.desc()))


def _makeup_lines(who: Access) -> Any:
    source, source_session, used, used_session = _MAKEUP_ALIASES
    return (select(MakeupCredit, Attendee.name, source_session.starts_at, Programme.name,
                   used_session.starts_at, _booking_to_book_from(who, source),
                   scope.actionable_makeups(who))
            .join(Attendee, Attendee.id == MakeupCredit.attendee_id)
            .outerjoin(source, source.id == MakeupCredit.source_attendance_id)
            .outerjoin(source_session, source_session.id == source.session_id)
            .outerjoin(Programme, Programme.id == source_session.programme_id)
            .outerjoin(used, used.id == MakeupCredit.used_attendance_id)
            .outerjoin(used_session, used_session.id == used.session_id)
            .where(scope.visible_makeups(who))
            .order_by(MakeupCredit.id))


def _discount_lines(who: Access) -> Any:
    return (select(Discount, Attendee.name)
            .outerjoin(Attendee, Attendee.id == Discount.attendee_id)
            .where(scope.family(Discount, who))
            .order_by(Discount.valid_until.is_(None), Discount.valid_until, Discount.id))


def _pass_lines(who: Access) -> Any:
    return (select(EntryPass, Attendee.name)
            .outerjoin(Attendee, Attendee.id == EntryPass.attendee_id)
            .where(scope.family(EntryPass, who))
            .order_by(EntryPass.id.desc()))


def _pass_uses(who: Access) -> Any:
    return (select(EntryPassUse, Programme.name)
            .join(EntryPass, EntryPass.id == EntryPassUse.entry_pass_id)
            .outerjoin(ClassSession, ClassSession.id == EntryPassUse.session_id)
            .outerjoin(Programme, Programme.id == ClassSession.programme_id)
            .where(scope.family(EntryPass, who))
            .order_by(EntryPassUse.used_at.desc(), EntryPassUse.id.desc()))


# Built once: an alias copies its table's columns, costly per request.
_MAKEUP_ALIASES = (aliased(Attendance), aliased(ClassSession),
                   aliased(Attendance), aliased(ClassSession))


def _makeups(db: Session, access: Access, now: datetime) -> list[Makeup]:
    rows = scope.run(db, _makeup_lines, access)
    items = []
    for credit, member, earned_on, earned_in, used_on, booking_id, may_spend in rows:
        if credit.used_attendance_id is not None or credit.used_at is not None:
            state = "used"
        elif credit.expires_at is not None and credit.expires_at <= now:
            state = "expired"
        else:
            state = "available"
        bookable = state == "available" and bool(may_spend) and booking_id is not None
        items.append(Makeup(credit, member, state, earned_on, earned_in, used_on, booking_id,
                            bookable))
    # To book first, the soonest to expire first; then the history, the latest first.
    far = datetime.max.replace(tzinfo=now.tzinfo).timestamp()
    items.sort(key=lambda m: (0, _ts(m.credit.expires_at) or far) if m.state == "available"
               else (1, -(_ts(m.used_on or m.credit.used_at or m.credit.expires_at) or 0)))
    return items


def _ts(moment: datetime | None) -> float | None:
    """Seconds since the epoch (SQLite hands datetimes back without their zone)."""
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def _booking_to_book_from(access: Access, source):
    """The provider id of the booking a make-up is booked from: the one whose session earned
    it when that booking is still running, else the child's newest running booking the
    visitor sees."""
    def running(*where):
        return (select(Booking.external_id)
                .where(scope.visible_bookings(access), Booking.status.in_(ACTIVE),
                       Booking.client_id == MakeupCredit.client_id,
                       Booking.attendee_id == MakeupCredit.attendee_id, *where)
                .order_by(Booking.id.desc()).limit(1))

    return func.coalesce(
        running(Booking.id == source.booking_id).correlate(MakeupCredit, source)
        .scalar_subquery(),
        running().correlate(MakeupCredit).scalar_subquery())


def _discounts(db: Session, access: Access, today: date) -> list[DiscountItem]:
    rows = scope.run(db, _discount_lines, access)
    items = []
    for discount, member in rows:
        if discount.used:
            state = "used"
        elif discount.valid_until is not None and discount.valid_until < today:
            state = "expired"
        elif discount.valid_from is not None and discount.valid_from > today:
            state = "upcoming"
        else:
            state = "available"
        items.append(DiscountItem(discount, member, state))
    items.sort(key=lambda d: d.state not in ("available", "upcoming"))
    return items


def _passes(db: Session, access: Access, today: date) -> list[PassItem]:
    rows = scope.run(db, _pass_lines, access)
    passes = {}
    for entry_pass, member in rows:
        state = entry_pass.status
        if state == "active" and entry_pass.valid_until and entry_pass.valid_until < today:
            state = "expired"
        elif state == "active" and entry_pass.used_entries >= entry_pass.total_entries:
            state = "used_up"
        passes[entry_pass.id] = PassItem(entry_pass, member, state)
    uses = scope.run(db, _pass_uses, access)
    for use, programme in uses:
        passes[use.entry_pass_id].uses.append(PassUse(use.used_at, programme, use.note))
    listed = list(passes.values())
    listed.sort(key=lambda p: p.state != "active")
    return listed
