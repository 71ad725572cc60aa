"""The home page: the family members, the chosen member's bookings, and the family's totals.

The chosen member is remembered on the server-side session row, not in a cookie (unreliable in
a partitioned iframe) nor only in the URL (the snippet reopens the iframe at the bare profile
address after every reload of the provider's page, so a URL-only choice would be forgotten).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import (
    and_,
    bindparam,
    case,
    false,
    func,
    literal_column,
    null,
    or_,
    union_all,
    update,
)
from sqlmodel import Session, select

from widget_server.core import access as scope
from widget_server.core.access import Access, BookingView
from widget_server.core.errors import NotFound
from widget_server.core.formatting import local_today
from widget_server.core.models import (
    Attendee,
    Booking,
    CreditEntry,
    Discount,
    Offer,
    Order,
    Payment,
    Programme,
    WebSession,
)
from widget_server.core.records import Shape, read
from widget_server.money.orders import awaiting_report_since, report_stands_since
from widget_server.profile.bookings import (
    ACTIVE,
    NEXT_SESSION,
    SessionRow,
    next_session,
    with_next_session,
)


@dataclass(frozen=True)
class Member:
    """A family member the visitor can switch to."""

    external_id: str
    name: str

    @property
    def initials(self) -> str:
        parts = [p for p in self.name.split() if p[:1].isalpha()]
        return "".join(p[0] for p in (parts[:1] + parts[1:][-1:])).upper() or "?"

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.split() else self.name


@dataclass(frozen=True)
class BookingCard:
    view: BookingView
    next: SessionRow | None


@dataclass(frozen=True)
class Due:
    """What the family owes in one currency."""

    currency: str
    amount: int
    payments: int
    overdue: int


class FamilyDiscount(NamedTuple):
    """A discount for the whole family, as home's tile shows it."""

    name: str
    kind: str  # percent, or an amount in `currency`
    value: int
    currency: str | None


@dataclass
class Home:
    members: list[Member]
    selected: Member | None
    active: list[BookingCard] = field(default_factory=list)
    past: list[BookingCard] = field(default_factory=list)
    due: list[Due] = field(default_factory=list)
    makeups_available: int = 0
    unpaid_orders: int = 0
    family_discounts: list[FamilyDiscount] = field(default_factory=list)
    credit: list[tuple[str, int]] = field(default_factory=list)
    # Whether any offer is made to the chosen member: most have none, and home then reads no
    # offers (`selfservice.offers.for_member` reads those the person may see).
    has_offers: bool = True

    @property
    def next_up(self) -> BookingCard | None:
        """The chosen member's booking whose next session is the soonest."""
        coming = [c for c in self.active if c.next is not None]
        return min(coming, key=lambda c: c.next.starts_at) if coming else None


def members_of(db: Session, access: Access,
               own: list[tuple[str, str]] | None = None) -> list[Member]:
    """Own family first (in the provider's order), then children of shared bookings. `own`:
    the family's own members, read with the visitor's session (`Visit.family`), which are
    all there is for a family with no shares."""
    rows = own if own is not None and access.family_only else read(
        db, scope.prepared(_members, access), access.parameters())
    return [Member(external_id, name) for external_id, name in rows]


def _members(who: Access):
    # Own family first; a family with no shares has no one else (and reads in index order).
    own_first = [Attendee.client_id != who.client_id] if who.client_id is not None \
        and not who.family_only else []
    return (select(Attendee.external_id, Attendee.name).where(scope.visible_members(who))
            .order_by(*own_first, Attendee.id))


def choose(members: list[Member], requested: str | None, remembered: str | None) -> Member | None:
    """The member asked for (NotFound if not the visitor's), else the remembered, else the
    first."""
    by_id = {m.external_id: m for m in members}
    if requested is not None:
        if requested not in by_id:
            raise NotFound("There is no such family member in your profile.")
        return by_id[requested]
    return by_id.get(remembered or "") or (members[0] if members else None)


def remember(db: Session, web_session: WebSession, member: Member) -> None:
    if web_session.selected_member != member.external_id:
        db.exec(update(WebSession).where(WebSession.id == web_session.id)
                .values(selected_member=member.external_id))


def load_home(db: Session, access: Access, web_session: WebSession, requested: str | None,
              now: datetime, tz: str, own: list[tuple[str, str]] | None = None) -> Home:
    """Everything the home page shows, in a fixed number of queries, each built once (with
    bound parameters) for every visitor of the same shape (`own`: see `members_of`)."""
    members = members_of(db, access, own)
    selected = choose(members, requested, web_session.selected_member)
    if requested is not None and selected is not None:
        remember(db, web_session, selected)
    home = Home(members, selected)
    today = local_today(now, tz)
    values = access.parameters() | {
        "member": selected.external_id if selected else "", "now": now, "today": today,
        "stands_since": report_stands_since(today)}
    home.active, home.past = _bookings(db, access, values, now)
    # By kind, then a discount's id (its `count`) or the currency.
    totals = sorted(read(db, scope.prepared(_totals, access), values), key=lambda row: (
        (row[0], row[3]) if row[0] == "discount" else (row[0], row[1] or "")))
    home.due = [Due(currency, int(amount), int(count), int(overdue or 0))
                for kind, currency, amount, count, overdue, _, _ in totals if kind == "due"]
    # makeups_available: filled in by the caller (`makeups.ready_for_member`), which knows
    # the tenant's rules for which make-ups have a session to book.
    home.unpaid_orders = next(int(count) for kind, _, _, count, *_ in totals if kind == "orders")
    home.family_discounts = [FamilyDiscount(name, detail, int(amount), currency)
                             for kind, currency, amount, _, _, name, detail in totals
                             if kind == "discount"]
    home.credit = [(currency, int(amount))
                   for kind, currency, amount, *_ in totals if kind == "credit"]
    home.has_offers = next(int(count) for kind, _, _, count, *_ in totals if kind == "offers") > 0
    return home


def _bookings(db: Session, access: Access, values: dict,
              now: datetime) -> tuple[list[BookingCard], list[BookingCard]]:
    """The member's bookings (active, then past) with each one's next session: one query."""
    rows = _CARD.rows(db, scope.prepared(_member_bookings, access), values)
    cards = [BookingCard(BookingView(b, p, a, access.owns(b)), next_session(*upcoming, now))
             for b, p, a, *upcoming in rows]
    active = [c for c in cards if c.view.booking.status in ACTIVE]
    active.sort(key=lambda c: (c.next is None, c.next.starts_at if c.next else now))
    return active, [c for c in cards if c.view.booking.status not in ACTIVE]


def _of_member(who: Access):
    return and_(scope.visible_bookings(who), Attendee.external_id == bindparam("member"))


# A booking card's rows: the booking, its programme and child, as records (core.records),
# and its next session.
_CARD = Shape(Booking, Programme, Attendee, *NEXT_SESSION)


def _member_bookings(who: Access):
    return with_next_session(
        _CARD.select()
        .join(Programme, Programme.id == Booking.programme_id)
        .join(Attendee, Attendee.id == Booking.attendee_id), who.tenant, bindparam("now")
    ).where(_of_member(who)).order_by(Booking.booked_at.is_(None), Booking.booked_at.desc(),
                                      Booking.id.desc())


def _totals(who: Access):
    """Home's totals and family discounts in one statement (on PostgreSQL each statement is a
    round trip): what is due per currency (how many payments, how many overdue), the unpaid
    orders, the family's credit per currency, the family's discounts in use now, and how many
    offers are made to the chosen member (any: the offers' own statement, run only when there
    are some, keeps to those the person may see; most members have none). Rows:
    kind, currency, amount, count, overdue, name, detail (a discount: its value as the amount,
    its id as the count, its name, and its kind as the detail)."""
    zero, today = literal_column("0"), bindparam("today")
    due = (select(literal_column("'due'"), Payment.currency, func.sum(Payment.amount),
                  func.count(), func.sum(case((Payment.due_date < today, 1), else_=0)),
                  null(), null())
           .where(scope.visible_payments(who), Payment.status == "unpaid",
                  awaiting_report_since(bindparam("stands_since")))
           .group_by(Payment.currency))
    orders = (select(literal_column("'orders'"), null(), zero, func.count(), zero, null(),
                     null())
              .select_from(Order).where(scope.family(Order, who), Order.status == "unpaid"))
    credit = (select(literal_column("'credit'"), CreditEntry.currency,
                     func.sum(CreditEntry.amount), zero, zero, null(), null())
              .where(scope.family(CreditEntry, who)).group_by(CreditEntry.currency))
    discounts = (select(literal_column("'discount'"), Discount.currency, Discount.value,
                        Discount.id, zero, Discount.name, Discount.kind)
                 .where(scope.family(Discount, who), Discount.attendee_id.is_(None),
                        Discount.used == false(),
                        or_(Discount.valid_until.is_(None), Discount.valid_until >= today),
                        or_(Discount.valid_from.is_(None), Discount.valid_from <= today)))
    offered = (select(literal_column("'offers'"), null(), zero, func.count(), zero, null(),
                      null())
               .select_from(Offer)
               .where(Offer.tenant == who.tenant, Offer.attendee_id.in_(
                   select(Attendee.id).where(Attendee.tenant == who.tenant,
                                             Attendee.external_id == bindparam("member")))))
    return union_all(due, orders, credit, discounts, offered)

