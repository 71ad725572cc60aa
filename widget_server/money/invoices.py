"""Invoices and receipts a client downloads: the provider's own PDF or link, or one we make.

The provider's invoice wins: the PDF it uploaded (`Invoice.pdf`) or its link (`Invoice.url`).
An invoice the provider recorded without either, and a receipt for any paid payment, are made
from our data (`invoices_pdf`): the tenant's name, address and VAT id, the items with VAT per
rate on what was charged (the discount spread over the items, see `vat`), the promo code and
discount, prepaid credit used, and how it was paid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import Session, select

from widget_server.core import access as scope
from widget_server.core import activity
from widget_server.core.access import Access
from widget_server.core.errors import NotFound
from widget_server.core.formatting import local
from widget_server.core.models import (
    Attendee,
    Booking,
    Client,
    CreditEntry,
    Invoice,
    Order,
    OrderItem,
    Payment,
    Programme,
)
from widget_server.core.tenants import Tenant
from widget_server.money import vat
from widget_server.money.vat import VatRow


@dataclass(frozen=True)
class Line:
    """One line of a document; prices include VAT, as the provider sends them."""

    name: str
    quantity: int
    unit_price: int
    vat_rate: Decimal | None = None  # None: the provider did not say
    vat_amount: int = 0

    @property
    def total(self) -> int:
        return self.quantity * self.unit_price


@dataclass
class Document:
    """An invoice or a receipt, ready to be rendered."""

    kind: str  # "invoice" or "receipt"
    number: str
    issued: date
    seller: str
    seller_address: str | None
    seller_vat_id: str | None
    buyer: str
    buyer_email: str
    currency: str
    supplied: date | None = None  # the date of supply, when it is known
    seller_legal_name: str | None = None  # the company behind the school's name
    seller_company_number: str | None = None
    seller_tax_id: str | None = None
    seller_registration: str | None = None
    buyer_company: str | None = None
    buyer_address: str | None = None
    buyer_company_number: str | None = None
    buyer_tax_id: str | None = None
    buyer_vat_id: str | None = None
    lines: list[Line] = field(default_factory=list)
    discount: int = 0
    promo_code: str | None = None
    order_number: str | None = None
    status: str = "unpaid"
    paid_amount: int | None = None
    paid_at: datetime | None = None
    method: str | None = None
    due_date: date | None = None
    # The provider's total, for a document of one payment without items (an order's total
    # is always its items less the discount, so that the VAT recap adds up to it).
    amount: int | None = None
    credit: int = 0  # prepaid credit used to pay the order

    @property
    def subtotal(self) -> int:
        return sum(line.total for line in self.lines)

    @property
    def discount_applied(self) -> int:
        """The discount, never more than the items are worth."""
        return min(self.discount, self.subtotal)

    @property
    def total(self) -> int:
        if self.amount is not None and self.order_number is None:
            return self.amount
        return self.subtotal - self.discount_applied

    @property
    def credit_applied(self) -> int:
        """Prepaid credit used, never more than the total."""
        return max(0, min(self.credit, self.total))

    @property
    def after_credit(self) -> int:
        """What was (or is) to be paid otherwise than with prepaid credit."""
        return self.total - self.credit_applied

    @property
    def vat_rows(self) -> list[VatRow]:
        """VAT per rate on what was charged; empty unless the provider gave every line's rate
        (a recap of some lines only would not add up to the total)."""
        if not self.lines or any(line.vat_rate is None for line in self.lines):
            return []
        charged = vat.charged([line.total for line in self.lines], self.discount_applied)
        return vat.recap([(amount, line.vat_rate or Decimal(0))
                          for amount, line in zip(charged, self.lines, strict=True)])

    @property
    def vat_total(self) -> int:
        return sum(row.vat for row in self.vat_rows)

    @property
    def filename(self) -> str:
        return filename(self.kind, self.number)

    @property
    def supply_date(self) -> date | None:
        """The date of supply, shown only when it is not the issue date."""
        return self.supplied if self.supplied not in (None, self.issued) else None


def filename(kind: str, number: str) -> str:
    """`invoice-INV-2026-0041.pdf`: the number, with anything odd in a file name replaced."""
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in number)
    return f"{kind}-{safe}.pdf"


@dataclass(frozen=True)
class Stored:
    """The provider's own invoice: its PDF bytes, or where it lives."""

    filename: str
    pdf: bytes | None = None
    url: str | None = None


def invoice(db: Session, who: Access, tenant: Tenant, external_id: str,
            now: datetime) -> Stored | Document:
    """An invoice of the person's family: the provider's file or link, else one we make
    (counted as downloaded by the family, unless staff are looking)."""
    row = db.exec(select(Invoice).where(scope.family(Invoice, who),
                                        Invoice.external_id == external_id)).first()
    if row is None:
        raise NotFound("There is no such invoice in your profile.")
    if not who.read_only:
        activity.count(db, tenant.slug, activity.INVOICE_DOWNLOADED, now)
    if row.pdf:
        return Stored(filename("invoice", row.number), pdf=row.pdf)
    if row.url:
        return Stored("", url=row.url)
    payment = db.exec(select(Payment).where(scope.family(Payment, who),
                                            Payment.id == row.payment_id)).first() \
        if row.payment_id else None
    doc = _document(db, who, tenant, "invoice", row.number, row.issue_date, payment,
                    row.order_id or (payment.order_id if payment else None))
    doc.supplied = row.supply_date or doc.supplied
    if row.amount is not None:
        doc.amount = row.amount
    return doc


def receipt(db: Session, who: Access, tenant: Tenant, payment_id: str) -> Document:
    """A receipt for a paid payment of the person's family."""
    payment = db.exec(select(Payment).where(scope.family(Payment, who),
                                            Payment.external_id == payment_id)).first()
    if payment is None or payment.status != "paid":
        raise NotFound("There is no receipt for this payment.")
    issued = (payment.paid_at or payment.updated_at).date()
    doc = _document(db, who, tenant, "receipt", f"R-{payment.external_id}", issued, payment,
                    payment.order_id)
    if payment.order_id is None:
        doc.amount = payment.amount
    return doc


def _document(db: Session, who: Access, tenant: Tenant, kind: str, number: str, issued: date,
              payment: Payment | None, order_id: int | None) -> Document:
    client = db.exec(select(Client).where(Client.tenant == who.tenant,
                                          Client.id == who.client_id)).one()
    config = tenant.config
    doc = Document(kind=kind, number=number, issued=issued, seller=config.name,
                   seller_address=config.address, seller_vat_id=config.vat_id,
                   buyer=client.name, buyer_email=client.email,
                   currency=payment.currency if payment else config.currency,
                   seller_legal_name=config.legal_name if config.legal_name != config.name
                   else None, seller_company_number=config.company_number,
                   seller_tax_id=config.tax_id, seller_registration=config.registration,
                   buyer_company=client.company_name, buyer_address=client.address,
                   buyer_company_number=client.company_number, buyer_tax_id=client.tax_id,
                   buyer_vat_id=client.vat_id)
    order = db.exec(select(Order).where(scope.family(Order, who), Order.id == order_id)).first() \
        if order_id else None
    if order is not None:
        items = db.exec(select(OrderItem).where(OrderItem.order_id == order.id)
                        .order_by(OrderItem.position, OrderItem.id)).all()
        doc.currency = order.currency
        doc.lines = [Line(i.name, i.quantity, i.unit_price, i.vat_rate, i.vat_amount)
                     for i in items]
        doc.discount, doc.promo_code = order.discount_amount, order.promo_code
        doc.order_number = order.number or order.external_id
        doc.status = order.status
        doc.credit = credit_used(db, who, order.id)
        ordered = order.ordered_at  # SQLite hands it back without its (UTC) zone
        doc.supplied = local(ordered if ordered.tzinfo else ordered.replace(tzinfo=UTC),
                             tenant.config.timezone).date()
    elif payment is not None:
        doc.lines = [Line(_paid_for(db, payment), 1, payment.amount)]
    if payment is not None:
        doc.status = payment.status
        doc.due_date = payment.due_date
        if payment.status == "paid":
            doc.paid_amount, doc.paid_at, doc.method = payment.amount, payment.paid_at, \
                payment.method
    return doc


def _paid_for(db: Session, payment: Payment) -> str:
    if payment.description:
        return payment.description
    if payment.booking_id is not None:
        row = db.exec(select(Programme.name, Attendee.name)
                      .join(Booking, Booking.programme_id == Programme.id)
                      .join(Attendee, Attendee.id == Booking.attendee_id)
                      .where(Booking.id == payment.booking_id)).first()
        if row is not None:
            return f"{row[0]} – {row[1]}"
    return payment.external_id


def credit_used(db: Session, who: Access, order_id: int) -> int:
    """Prepaid credit the family spent on one order (its ledger entries are negative)."""
    spent = db.exec(select(func.sum(CreditEntry.amount)).where(
        scope.family(CreditEntry, who), CreditEntry.order_id == order_id)).one()
    return max(0, -int(spent or 0))
