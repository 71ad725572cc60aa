"""Paying: one payment's page, starting a checkout, and what gateways report back.

A client pays a payment of their own family online (a `PaymentCheckout` at the tenant's
gateway) or by bank transfer. The gateway's signed notification marks the payment paid,
records the money as a `PaymentTransaction` and tells the provider (`payment.paid`); each
notification is handled once, by its event id, so replays and duplicates change nothing.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, select

from widget_server.core import access as scope
from widget_server.core import i18n
from widget_server.core.access import Access
from widget_server.core.errors import AppError, NotFound, ReadOnly
from widget_server.core.models import (
    Attendee,
    Booking,
    GatewayEvent,
    Invoice,
    Order,
    Payment,
    PaymentCheckout,
    PaymentTransaction,
    Programme,
    WebSession,
)
from widget_server.core.tenants import Tenant
from widget_server.delivery import webhooks
from widget_server.money.gateways import CheckoutRequest, Notice, Redirect
from widget_server.money.orders import TRANSFER_REPORT_STANDS, is_overdue, transfer_reported

log = logging.getLogger("widget_server.money.payments")

TO_PAY = ("unpaid", "pending")
# Stripe lets a Checkout Session live 30 minutes to 24 hours; an hour covers a slow payer.
CHECKOUT_LIFETIME = timedelta(hours=1)
# A second click within this long of the first opens the same checkout, not a new one.
REUSE_WITHIN = timedelta(minutes=15)
BANK_TRANSFER = "bank_transfer"


class NotPayable(AppError):
    status = 409
    title = "Nothing to pay"


@dataclass
class PaymentDetail:
    """One payment and everything its page shows."""

    payment: Payment
    today: date
    booking_id: str | None = None  # provider ids, for links
    programme: str | None = None
    member: str | None = None
    order_id: str | None = None
    order_number: str | None = None
    invoices: list[Invoice] = field(default_factory=list)
    checkout: PaymentCheckout | None = None  # the latest attempt
    # False for a payment of a booking shared with the person (a co-parent): they may pay
    # it, but the family's orders and documents stay the family's.
    owned: bool = True

    @property
    def payable(self) -> bool:
        return self.payment.status == "unpaid"

    @property
    def overdue(self) -> bool:
        return is_overdue(self.payment, self.today)

    @property
    def transfer_reported(self) -> bool:
        """The client said they sent a bank transfer that has not been confirmed yet."""
        return transfer_reported(self.payment, self.today)

    @property
    def what_for(self) -> str:
        if self.payment.description:
            return self.payment.description
        if self.programme:
            return f"{self.programme} · {self.member}" if self.member else self.programme
        return self.order_number or self.payment.external_id

    def waiting(self, now: datetime) -> bool:
        """Whether the client is paying online right now (so the page watches for the end)."""
        c = self.checkout
        return (self.payment.status in TO_PAY and c is not None and c.gateway != BANK_TRANSFER
                and c.status in ("new", "open", "processing") and _aware(c.expires_at) > now)



def load_payment(db: Session, who: Access, external_id: str, today: date, *,
                 read_only: bool = False) -> PaymentDetail:
    """A payment of the person's family, or of a booking shared with them at full access, by
    its provider id; NotFound for anyone else's. `read_only` (a page that shows it): records
    read past the ORM (see core.records), which cannot be changed."""
    found = _read(db, _payment_of, who, read_only, external_id=external_id)
    if not found:
        raise NotFound("There is no such payment in your profile.")
    payment, booking_id, programme, member, order_id, order_number = found[0]
    owned = payment.client_id == who.client_id
    if not owned:
        order_id = order_number = None
    detail = PaymentDetail(payment, today, booking_id, programme, member, order_id,
                           order_number or order_id, owned=owned)
    detail.invoices = _read(db, _invoices_of, who, read_only, payment_id=payment.id)
    latest = _read(db, _latest_checkout, who, read_only, payment_id=payment.id)
    detail.checkout = latest[0] if latest else None
    return detail


def _read(db: Session, build: Any, who: Access, read_only: bool, **values: Any) -> list:
    """The rows of `build`'s statement (built once, see `scope.prepared`): records for a page,
    ORM objects for code that changes them."""
    if read_only:
        return scope.run(db, build, who, **values)
    return list(db.exec(scope.prepared(build, who), params=who.parameters() | values).all())


# The payment page's statements, built once per shape of access (see `scope.prepared`).
def _payment_of(who: Access) -> Any:
    return (select(Payment, Booking.external_id, Programme.name, Attendee.name,
                   Order.external_id, Order.number)
            .outerjoin(Booking, Booking.id == Payment.booking_id)
            .outerjoin(Programme, Programme.id == Booking.programme_id)
            .outerjoin(Attendee, Attendee.id == Booking.attendee_id)
            .outerjoin(Order, Order.id == Payment.order_id)
            .where(scope.visible_payments(who),
                   Payment.external_id == bindparam("external_id")))


def _invoices_of(who: Access) -> Any:
    return (select(Invoice)
            .where(scope.family(Invoice, who), Invoice.payment_id == bindparam("payment_id"))
            .order_by(Invoice.issue_date, Invoice.id))


def _latest_checkout(who: Access) -> Any:
    return (select(PaymentCheckout)
            .where(PaymentCheckout.payment_id == bindparam("payment_id"))
            .order_by(PaymentCheckout.created_at.desc(), PaymentCheckout.id.desc()).limit(1))


def _aware(moment: datetime) -> datetime:
    """SQLite hands datetimes back without a zone; every stored one is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- starting to pay --------------------------------------------------------------------------

@dataclass(frozen=True)
class Started:
    """A checkout to send the client to: `request` is set when the gateway must be asked."""

    checkout_id: int
    url: str | None
    request: CheckoutRequest | None


class LoggedOut(Exception):
    """The pay token's login session has ended (logged out, expired)."""


def begin_with_pay_token(db: Session, tenant: Tenant, web_session_id: Any, external_id: str,
                         gateway: str, now: datetime,
                         urls: tuple[str, str]) -> tuple[Started | None, str]:
    """"Pay online" in a new tab: the login session the pay token names, then the checkout
    (None when there is nothing to pay) and the client's language for the pages that follow."""
    web_session = db.exec(select(WebSession).where(
        WebSession.id == web_session_id, WebSession.tenant == tenant.slug,
        WebSession.revoked_at.is_(None), WebSession.expires_at > now)).first()
    if web_session is None:
        raise LoggedOut
    if web_session.kind != "client":  # staff looking at the family's profile pay nothing
        raise ReadOnly("This profile is open read-only from the provider console.")
    who = Access.of(web_session)
    client = scope.client_of(db, who)
    locale = i18n.normalise(client.locale if client else None, tenant.config.locale)
    try:
        return begin_checkout(db, tenant, who, external_id, gateway, now, urls, locale), locale
    except NotPayable:
        return None, locale


def begin_checkout(db: Session, tenant: Tenant, who: Access, external_id: str, gateway: str,
                   now: datetime, urls: tuple[str, str], locale: str) -> Started:
    """Reuse the client's fresh open checkout of this payment, or make a new one to ask the
    gateway for. Raises NotPayable when the payment is not (or no longer) to pay."""
    detail = load_payment(db, who, external_id, now.date())
    payment = detail.payment
    if not detail.payable:
        raise NotPayable("This payment is already paid or on its way.")
    recent = detail.checkout
    if (recent is not None and recent.gateway == gateway and recent.status == "open"
            and recent.url and recent.amount == payment.amount
            and _aware(recent.created_at) > now - REUSE_WITHIN):
        return Started(recent.id, recent.url, None)
    checkout = PaymentCheckout(
        tenant=tenant.slug, payment_id=payment.id, gateway=gateway,
        reference="chk_" + secrets.token_hex(12), amount=payment.amount,
        currency=payment.currency, status="new", created_at=now,
        expires_at=now + CHECKOUT_LIFETIME)
    db.add(checkout)
    db.flush()
    success, cancel = urls
    return Started(checkout.id, None, CheckoutRequest(
        reference=checkout.reference, tenant=tenant.slug, payment_id=payment.external_id,
        amount=payment.amount, currency=payment.currency, description=detail.what_for,
        # Whoever pays: the parent, or a co-parent the booking is shared with.
        email=who.email, locale=locale, success_url=success, cancel_url=cancel,
        expires_at=checkout.expires_at))


def checkout_opened(db: Session, tenant: Tenant, checkout_id: int, redirect: Redirect,
                    method: str) -> None:
    """The gateway made the checkout: keep its address and tell the provider."""
    checkout = _checkout(db, tenant, checkout_id)
    checkout.url, checkout.gateway_ref, checkout.status = redirect.url, redirect.gateway_ref, "open"
    db.add(checkout)
    _started(db, tenant, checkout, method)


def checkout_failed(db: Session, tenant: Tenant, checkout_id: int) -> None:
    checkout = _checkout(db, tenant, checkout_id)
    checkout.status = "failed"
    db.add(checkout)


def announce_bank_transfer(db: Session, tenant: Tenant, who: Access, external_id: str,
                           now: datetime) -> bool:
    """The client says they sent the money by bank transfer: the payment shows as reported,
    awaiting the provider's confirmation, and the provider hears of it (once). Returns
    False when there was nothing to report (already paid, or already reported)."""
    detail = load_payment(db, who, external_id, now.date())
    if not detail.payable or detail.transfer_reported:
        return False
    payment = detail.payment
    payment.transfer_reported_at = now
    db.add(payment)
    checkout = PaymentCheckout(
        tenant=tenant.slug, payment_id=payment.id, gateway=BANK_TRANSFER,
        reference="bt_" + secrets.token_hex(12), amount=payment.amount,
        currency=payment.currency, status="open", created_at=now,
        # Transfers take days; after a fortnight the page stops saying it is on its way.
        expires_at=now + TRANSFER_REPORT_STANDS)
    db.add(checkout)
    _started(db, tenant, checkout, BANK_TRANSFER)
    return True


def _checkout(db: Session, tenant: Tenant, checkout_id: int) -> PaymentCheckout:
    checkout = db.exec(select(PaymentCheckout).where(
        PaymentCheckout.id == checkout_id, PaymentCheckout.tenant == tenant.slug)).one()
    return checkout


def _started(db: Session, tenant: Tenant, checkout: PaymentCheckout, method: str) -> None:
    payment = db.exec(select(Payment).where(Payment.id == checkout.payment_id)).one()
    webhooks.enqueue_event(db, tenant, webhooks.PAYMENT_STARTED, client_id=payment.client_id,
                           data={"payment_id": payment.external_id, "amount": checkout.amount,
                                 "currency": checkout.currency, "method": method})


# --- what the gateway reports -----------------------------------------------------------------

def apply_notice(db: Session, tenant: Tenant, gateway: str, method: str, notice: Notice,
                 now: datetime) -> str:
    """Act on one verified gateway notification, once; returns what came of it
    (`duplicate`, `ignored`, `unknown`, or the notice's outcome)."""
    if notice.tenant is not None and notice.tenant != tenant.slug:
        # One gateway account shared by several tenants sends every event to every endpoint.
        return "ignored"
    seen = db.exec(select(GatewayEvent.id).where(GatewayEvent.gateway == gateway,
                                                 GatewayEvent.event_id == notice.event_id)).first()
    if seen is not None:
        return "duplicate"
    db.add(GatewayEvent(tenant=tenant.slug, gateway=gateway, event_id=notice.event_id,
                        event_type=notice.event_type, received_at=now))
    db.flush()  # a concurrent duplicate fails here, on the unique event id
    if notice.outcome == "ignored":
        return "ignored"
    checkout = _checkout_of(db, tenant, gateway, notice)
    if checkout is None:
        log.warning("%s: %s event %s is about no checkout of ours (%s)", tenant.slug, gateway,
                    notice.event_id, notice.gateway_ref)
        return "unknown"
    payment = db.exec(select(Payment).where(Payment.id == checkout.payment_id,
                                            Payment.tenant == tenant.slug)).one()
    if notice.outcome == "paid":
        _paid(db, tenant, gateway, method, notice, checkout, payment, now)
    elif notice.outcome == "processing":
        checkout.status = "processing"
        if payment.status == "unpaid":
            _set_status(payment, "pending", now)
    elif notice.outcome == "failed":
        checkout.status = "failed"
        if payment.status == "pending":
            _set_status(payment, "unpaid", now)
    elif notice.outcome == "expired" and checkout.status in ("new", "open"):
        checkout.status = "expired"
    db.add(checkout)
    db.add(payment)
    return notice.outcome


def _checkout_of(db: Session, tenant: Tenant, gateway: str,
                 notice: Notice) -> PaymentCheckout | None:
    query = select(PaymentCheckout).where(PaymentCheckout.tenant == tenant.slug,
                                          PaymentCheckout.gateway == gateway)
    if notice.gateway_ref:
        found = db.exec(query.where(PaymentCheckout.gateway_ref == notice.gateway_ref)).first()
        if found is not None:
            return found
    if notice.reference:
        return db.exec(query.where(PaymentCheckout.reference == notice.reference)).first()
    return None


def _paid(db: Session, tenant: Tenant, gateway: str, method: str, notice: Notice,
          checkout: PaymentCheckout, payment: Payment, now: datetime) -> None:
    if checkout.status == "completed":
        return  # another event about the same money (e.g. completed, then async succeeded)
    amount = notice.amount if notice.amount is not None else checkout.amount
    currency = notice.currency or checkout.currency
    checkout.status, checkout.completed_at = "completed", notice.occurred_at
    db.add(PaymentTransaction(
        tenant=tenant.slug, payment_id=payment.id, payment_ref=payment.external_id,
        checkout_id=checkout.id, gateway=gateway, event_id=notice.event_id,
        transaction_ref=notice.transaction_ref, amount=amount, currency=currency,
        occurred_at=notice.occurred_at, created_at=now))
    if payment.status not in TO_PAY:
        log.warning("%s: payment %s was %s when %s reported it paid again (%s)", tenant.slug,
                    payment.external_id, payment.status, gateway, notice.event_id)
        return
    if currency != payment.currency or amount < payment.amount:
        # The provider changed the amount while the client was paying: the money is recorded,
        # and the payment stays open for the provider to settle.
        log.warning("%s: payment %s is %s %s but %s took %s %s", tenant.slug,
                    payment.external_id, payment.amount, payment.currency, gateway, amount,
                    currency)
        return
    _set_status(payment, "paid", now)
    payment.method, payment.paid_at = method, notice.occurred_at
    webhooks.enqueue_event(db, tenant, webhooks.PAYMENT_PAID, client_id=payment.client_id,
                           data={"payment_id": payment.external_id, "amount": amount,
                                 "currency": currency, "method": method,
                                 "paid_at": notice.occurred_at}, at=now)


def _set_status(payment: Payment, status: str, now: datetime) -> None:
    payment.status, payment.updated_at = status, now
