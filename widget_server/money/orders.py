"""The family's orders and payments: what was bought, what is paid, what is still to pay."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_
from sqlmodel import Session, select

from widget_server.core import access as scope
from widget_server.core.access import Access
from widget_server.core.errors import NotFound
from widget_server.core.formatting import local_today
from widget_server.core.models import (
    Attendee,
    Booking,
    ClassSession,
    CreditEntry,
    EntryPass,
    EntryPassUse,
    Invoice,
    Order,
    OrderItem,
    Payment,
    Programme,
)
from widget_server.money import vat

TO_PAY = ("unpaid", "pending")
# How long "I have sent the transfer" stands without the money arriving: bank transfers take
# a few working days; after this the payment shows as to pay (or overdue) again.
TRANSFER_REPORT_STANDS = timedelta(days=14)


def transfer_reported(payment: Payment, today: date) -> bool:
    """Whether the client reported a bank transfer of this payment that has not arrived yet."""
    reported = payment.transfer_reported_at
    return (payment.status == "unpaid" and reported is not None
            and reported.date() + TRANSFER_REPORT_STANDS >= today)


def awaiting_report(today: date) -> ColumnElement[bool]:
    """SQL for `not transfer_reported(...)`: payments still waiting for the client's money."""
    return awaiting_report_since(report_stands_since(today))


def report_stands_since(today: date) -> datetime:
    """Reports made before this moment no longer stand."""
    return datetime.combine(today - TRANSFER_REPORT_STANDS, time.min, UTC)


def awaiting_report_since(stands_since: Any) -> ColumnElement[bool]:
    """`awaiting_report` with the moment given (a value, or a bound parameter)."""
    return or_(Payment.transfer_reported_at.is_(None),
               Payment.transfer_reported_at < stands_since)


def is_overdue(payment: Payment, today: date) -> bool:
    """Unpaid after its due date (a reported transfer on its way is not overdue)."""
    return (payment.status == "unpaid" and payment.due_date is not None
            and payment.due_date < today and not transfer_reported(payment, today))


@dataclass(frozen=True)
class PassEntry:
    """One entry taken from a pass an order bought: when, in which programme, for whom."""

    used_at: datetime
    programme: str | None
    note: str | None


@dataclass
class PaymentView:
    payment: Payment
    booking_id: str | None = None  # the provider id, for a link to the booking
    programme: str | None = None
    member: str | None = None
    order_number: str | None = None
    invoices: list[Invoice] = field(default_factory=list)
    overdue: bool = False
    # Another family's payment, of a booking shared with the person at full access.
    shared: bool = False
    # The client said they sent a bank transfer that has not been confirmed yet.
    reported: bool = False
    # The order an order's payment is for, held weakly: the order lists its payments, and the
    # two referring to each other made every orders page leave a cycle (11 objects) for
    # Python's collector to find. The order lives as long as the `Orders` that holds both.
    _order: Callable[[], OrderView | None] = field(default=lambda: None, repr=False,
                                                   compare=False)

    @property
    def order(self) -> OrderView | None:
        """What an order's payment bought."""
        return self._order()

    def pays_for(self, order: OrderView) -> None:
        self._order = weakref.ref(order)

    @property
    def kind(self) -> str:
        """What it was for: booking, entry_pass, bundle, session, product (or other)."""
        if self.booking_id:
            return "booking"
        kinds = {i.kind for i in self.order.items} if self.order else set()
        return kinds.pop() if len(kinds) == 1 else ("order" if kinds else "other")


@dataclass
class OrderView:
    order: Order
    items: list[OrderItem] = field(default_factory=list)
    payments: list[PaymentView] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)
    passes: list[EntryPass] = field(default_factory=list)
    entries: dict[int, list[PassEntry]] = field(default_factory=dict)  # per pass, if loaded
    credit: int = 0  # prepaid credit the family spent on it

    @property
    def subtotal(self) -> int:
        return sum(i.quantity * i.unit_price for i in self.items)

    @property
    def discount(self) -> int:
        """The order's discount, never more than its items are worth."""
        return min(self.order.discount_amount, self.subtotal)

    @property
    def total(self) -> int:
        return self.subtotal - self.discount

    @property
    def vat_rows(self) -> list[vat.VatRow]:
        """VAT per rate on what was charged (the discount spread over the items)."""
        charged = vat.charged([i.quantity * i.unit_price for i in self.items], self.discount)
        return vat.recap([(amount, item.vat_rate)
                          for amount, item in zip(charged, self.items, strict=True)])

    @property
    def vat(self) -> int:
        return sum(row.vat for row in self.vat_rows)

    @property
    def credit_applied(self) -> int:
        return max(0, min(self.credit, self.total))

    @property
    def after_credit(self) -> int:
        return self.total - self.credit_applied

    @property
    def number(self) -> str:
        return self.order.number or self.order.external_id


@dataclass
class Orders:
    orders: list[OrderView]
    payments: list[PaymentView]
    today: date
    credit: list[tuple[str, int]] = field(default_factory=list)  # balance per currency

    @property
    def unpaid_orders(self) -> list[OrderView]:
        return [o for o in self.orders if o.order.status in TO_PAY]

    @property
    def paid_orders(self) -> list[OrderView]:
        return [o for o in self.orders if o.order.status not in TO_PAY]

    @property
    def to_pay(self) -> list[PaymentView]:
        """Due soonest first (those without a due date last)."""
        due = [p for p in self.payments if p.payment.status in TO_PAY]
        return sorted(due, key=lambda p: (p.payment.due_date or date.max, p.payment.id))

    @property
    def history(self) -> list[PaymentView]:
        """Newest first, by when paid (or when it was due)."""
        done = [p for p in self.payments if p.payment.status not in TO_PAY]
        return sorted(done, reverse=True, key=lambda p: (
            p.payment.paid_at.date() if p.payment.paid_at else p.payment.due_date or date.min,
            p.payment.id))


def load_orders(db: Session, access: Access, now: datetime, tz: str) -> Orders:
    """Orders with their items, passes and invoices, every payment, and the prepaid credit
    balance: six queries."""
    today = local_today(now, tz)
    orders = {o.id: OrderView(o) for o in scope.run(db, _orders, access)}
    for item in scope.run(db, _order_items, access):
        orders[item.order_id].items.append(item)
    for entry_pass in scope.run(db, _order_passes, access):
        if entry_pass.order_id in orders:
            orders[entry_pass.order_id].passes.append(entry_pass)
    rows = scope.run(db, _payments, access)
    payments = {}
    for payment, booking_id, programme, member, order_number, order_id in rows:
        shared = payment.client_id != access.client_id
        reported = transfer_reported(payment, today)
        view = PaymentView(payment, booking_id, programme, member,
                           None if shared else order_number or order_id,
                           overdue=is_overdue(payment, today),
                           shared=shared, reported=reported)
        payments[payment.id] = view
        if payment.order_id in orders and not shared:
            orders[payment.order_id].payments.append(view)
            view.pays_for(orders[payment.order_id])
    for invoice in scope.run(db, _invoices, access):
        if invoice.payment_id in payments:
            payments[invoice.payment_id].invoices.append(invoice)
        elif invoice.order_id in orders:
            orders[invoice.order_id].invoices.append(invoice)
    # The balance per currency, and what was spent on each order, in one query.
    balance: dict[str, int] = {}
    for currency, order_id, amount in scope.run(db, _credit_by_order, access):
        balance[currency] = balance.get(currency, 0) + int(amount)
        if order_id in orders and amount < 0:
            orders[order_id].credit = -int(amount)
    return Orders(list(orders.values()), list(payments.values()), today,
                  sorted(balance.items()))


# The orders page's statements, each built once per kind of visitor (see `scope.prepared`).
def _orders(who: Access):
    return (select(Order).where(scope.family(Order, who))
            .order_by(Order.ordered_at.desc(), Order.id.desc()))


def _order_items(who: Access):
    family_orders = select(Order.id).where(scope.family(Order, who))
    return (select(OrderItem).where(OrderItem.order_id.in_(family_orders))
            .order_by(OrderItem.order_id, OrderItem.position, OrderItem.id))


def _order_passes(who: Access):
    return select(EntryPass).where(scope.family(EntryPass, who), EntryPass.order_id.is_not(None))


def _payments(who: Access):
    return (select(Payment, Booking.external_id, Programme.name, Attendee.name, Order.number,
                   Order.external_id)
            .outerjoin(Booking, Booking.id == Payment.booking_id)
            .outerjoin(Programme, Programme.id == Booking.programme_id)
            .outerjoin(Attendee, Attendee.id == Booking.attendee_id)
            .outerjoin(Order, Order.id == Payment.order_id)
            .where(scope.visible_payments(who))
            .order_by(Payment.id))


def _invoices(who: Access):
    return (select(Invoice).where(scope.family(Invoice, who))
            .order_by(Invoice.issue_date, Invoice.id))


def _credit_by_order(who: Access):
    return (select(CreditEntry.currency, CreditEntry.order_id, func.sum(CreditEntry.amount))
            .where(scope.family(CreditEntry, who))
            .group_by(CreditEntry.currency, CreditEntry.order_id))


def load_order(db: Session, access: Access, external_id: str, now: datetime,
               tz: str) -> tuple[Orders, OrderView]:
    """One order of the family, with when each entry of the passes it bought was used."""
    orders = load_orders(db, access, now, tz)
    found = next((o for o in orders.orders if o.order.external_id == external_id), None)
    if found is None:
        raise NotFound("There is no such order in your profile.")
    if found.passes:
        uses = db.exec(
            select(EntryPassUse, Programme.name)
            .outerjoin(ClassSession, ClassSession.id == EntryPassUse.session_id)
            .outerjoin(Programme, Programme.id == ClassSession.programme_id)
            .where(EntryPassUse.entry_pass_id.in_([p.id for p in found.passes]))
            .order_by(EntryPassUse.used_at.desc(), EntryPassUse.id.desc())).all()
        for use, programme in uses:
            found.entries.setdefault(use.entry_pass_id, []).append(
                PassEntry(use.used_at, programme, use.note))
    return orders, found
