"""Paying on acceptance: an offer with `pay_on_accept` whose chosen class has a price asks for
it as an unpaid payment of the family, due today, made in the transaction that accepts the
offer; the family then pays it like any other (the payment's screen: online or by bank
transfer, as the tenant takes money).

The payment follows the offer's booking (this term's class, the trial), so an adult it is
shared with at full access, who may accept the offer, may also pay it; the provider sees it in
the sync API's payments with its `offer_id`, and hears of it in `offer.accepted`.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from widget_server.core.formatting import local_today
from widget_server.core.models import Payment
from widget_server.core.tenants import Tenant
from widget_server.selfservice import capacity

PREFIX = "offer-"
MAX_ID = 128  # a provider id's length
MAX_DESCRIPTION = 200


def ask(db: Session, tenant: Tenant, offer: Any, child: str, choice: Any,
        now: datetime) -> Payment | None:
    """The payment accepting `offer` with `choice` asks for (the price after the discount), or
    None when the offer is not paid on acceptance or the class has no price."""
    if not offer.pay_on_accept or not choice.to_pay:
        return None
    external_id = payment_id(db, tenant.slug, offer.external_id)
    words = [f"{choice.programme.name} – {child}", *([offer.title] if offer.title else [])]
    payment = Payment(
        tenant=tenant.slug, external_id=external_id, client_id=offer.client_id,
        booking_id=offer.booking_id, offer_id=offer.id,
        description=", ".join(words)[:MAX_DESCRIPTION], amount=choice.to_pay,
        currency=choice.currency or tenant.config.currency,
        due_date=local_today(now, tenant.config.timezone), status="unpaid",
        created_at=now, updated_at=now)
    db.add(payment)
    db.flush()
    return payment


def payment_id(db: Session, tenant: str, offer_id: str) -> str:
    """`offer-<the offer's id>`: the provider tells it from its own payments at a glance. Too
    long, it is shortened with a hash; taken (the provider used it), it gets a random end."""
    wanted = PREFIX + offer_id
    if len(wanted) > MAX_ID:
        wanted = PREFIX + hashlib.sha256(offer_id.encode()).hexdigest()[:32]
    taken = db.exec(select(Payment.id).where(Payment.tenant == tenant,
                                             Payment.external_id == wanted)).first()
    return wanted if taken is None else capacity.new_id(wanted[:MAX_ID - 17])


def of_offer(db: Session, offer_id: int) -> Payment | None:
    """The payment an accepted offer asked for, if any (by the offer's row id: its visibility
    is the offer's, checked by the caller)."""
    return db.exec(select(Payment).where(Payment.offer_id == offer_id)
                   .order_by(Payment.id.desc()).limit(1)).first()
