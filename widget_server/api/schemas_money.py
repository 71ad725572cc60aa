"""The sync API's bodies for money: payments, invoices, orders, entry passes, discounts and
account credit."""

from __future__ import annotations

import base64
import binascii
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictInt, field_validator

from widget_server.api.fields import (
    Body,
    Currency,
    Day,
    ExternalId,
    Input,
    Moment,
    Money,
    SignedMoney,
    Text,
    Url,
)


class PaymentIn(Input):
    client_id: ExternalId
    booking_id: ExternalId | None = None
    order_id: ExternalId | None = None
    description: Text | None = None
    amount: Money
    currency: Currency
    due_date: Day | None = None
    status: Literal["unpaid", "pending", "paid", "refunded", "cancelled"] = "unpaid"
    method: Literal["card", "bank_transfer", "cash", "credit", "other"] | None = None
    bank_reference: Annotated[str, Field(max_length=64)] | None = None
    paid_at: Moment | None = None
    # Read only, but a write may send it back as read (a GET, then a PUT marking it paid).
    offer_id: ExternalId | None = Field(
        default=None, json_schema_extra={"readOnly": True}, description=(
            "The offer (`pay_on_accept`) whose acceptance in the portal asked for this "
            "payment; only the portal sets it, and a write that sends it back changes nothing"))


class InvoiceIn(Input):
    client_id: ExternalId
    payment_id: ExternalId | None = None
    order_id: ExternalId | None = None
    number: Annotated[str, Field(min_length=1, max_length=64)]
    issue_date: Day
    supply_date: Day | None = Field(default=None, description=(
        "When the goods or services were supplied, if not on the issue date"))
    amount: Money | None = None
    currency: Currency | None = None
    pdf_base64: Annotated[str, Field(max_length=10_000_000)] | None = None
    url: Url | None = None

    @field_validator("pdf_base64")
    @classmethod
    def _pdf(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("must be base64") from None
        if not raw.startswith(b"%PDF-"):
            raise ValueError("must be a PDF document (starting with %PDF-)")
        return value


class OrderItemIn(Body):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: Literal["product", "entry_pass", "session", "bundle", "booking", "other"] = "product"
    quantity: Annotated[StrictInt, Field(ge=1, le=10_000)] = 1
    unit_price: Money
    vat_rate: Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)] = Decimal(0)
    vat_amount: Money = 0


class OrderIn(Input):
    client_id: ExternalId
    number: Annotated[str, Field(max_length=64)] | None = None
    ordered_at: Moment
    status: Literal["unpaid", "paid", "cancelled", "refunded"] = "unpaid"
    currency: Currency
    promo_code: Annotated[str, Field(max_length=64)] | None = None
    discount_amount: Money = 0
    items: list[OrderItemIn] = Field(default_factory=list, max_length=500)


class EntryPassUseIn(Body):
    used_at: Moment
    session_id: ExternalId | None = None
    note: Text | None = None


class EntryPassIn(Input):
    client_id: ExternalId
    attendee_id: ExternalId | None = None
    order_id: ExternalId | None = None
    name: Annotated[str, Field(min_length=1, max_length=200)]
    total_entries: Annotated[StrictInt, Field(ge=1, le=10_000)]
    used_entries: Annotated[StrictInt, Field(ge=0, le=10_000)] = 0
    valid_until: Day | None = None
    status: Literal["active", "used_up", "expired", "cancelled"] = "active"
    programme_id: ExternalId | None = Field(
        default=None, description="The programme whose sessions clients may book with the pass "
        "in the portal; without it the pass is shown but books nothing there")
    uses: list[EntryPassUseIn] = Field(default_factory=list, max_length=10_000)

    @field_validator("used_entries")
    @classmethod
    def _not_more_than_total(cls, value: int, info) -> int:
        total = info.data.get("total_entries")
        if total is not None and value > total:
            raise ValueError("cannot exceed total_entries")
        return value


class DiscountIn(Input):
    client_id: ExternalId
    attendee_id: ExternalId | None = Field(
        default=None, description="Leave empty for a family-level discount"
    )
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: Literal["percent", "amount"] = "percent"
    value: Annotated[StrictInt, Field(ge=0, le=10**9)]
    currency: Currency | None = None
    valid_from: Day | None = None
    valid_until: Day | None = None
    used: StrictBool = False


class CreditIn(Input):
    client_id: ExternalId
    amount: SignedMoney = Field(description="Positive when credit is added, negative when spent")
    currency: Currency
    occurred_at: Moment
    description: Text | None = None
    booking_id: ExternalId | None = None
    order_id: ExternalId | None = None
