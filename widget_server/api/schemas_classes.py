"""The sync API's bodies for families and classes: clients, attendees, programmes, sessions,
bookings, attendance, make-up credits and shares."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import EmailStr, Field, StrictBool, StrictInt, field_validator

from widget_server.api.fields import (
    Body,
    Currency,
    Day,
    ExternalId,
    Input,
    Moment,
    Money,
    Text,
    Url,
)


class ClientIn(Input):
    email: EmailStr = Field(max_length=320)
    name: Annotated[str, Field(min_length=1, max_length=200)]
    phone: Annotated[str, Field(max_length=40)] | None = None
    locale: Annotated[str, Field(max_length=16,
                                 pattern=r"^[a-zA-Z]{2,3}([_-][A-Za-z0-9]+)?$")] | None = None
    notify_email: StrictBool = True
    notify_whatsapp: StrictBool = False
    address: Annotated[str, Field(max_length=400, description=(
        "Billing address, printed on the client's invoices"))] | None = None
    company_name: Annotated[str, Field(max_length=200, description=(
        "The company the client's invoices are made out to, if any"))] | None = None
    company_number: Annotated[str, Field(max_length=32, description=(
        "The buyer's company registration number (in Slovakia the IČO)"))] | None = None
    tax_id: Annotated[str, Field(max_length=32, description=(
        "The buyer's tax id where it differs from the VAT id (in Slovakia the DIČ)"))] | None = None
    vat_id: Annotated[str, Field(max_length=32, description=(
        "The buyer's VAT identification number (in Slovakia the IČ DPH)"))] | None = None

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()


class AttendeeIn(Input):
    client_id: ExternalId
    name: Annotated[str, Field(min_length=1, max_length=200)]
    birth_date: Day | None = None


class Addon(Body):
    id: ExternalId
    name: Text
    price: Money


class ProgrammeIn(Input):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=5000)] | None = None
    venue: Text | None = None
    venue_address: Annotated[str, Field(max_length=400)] | None = None
    online: StrictBool = False
    instructor: Text | None = None
    schedule: Text | None = None
    price: Money | None = None
    currency: Currency | None = None
    makeup_policy: Literal["none", "same_programme", "programme_group"] = "none"
    makeup_group: Annotated[str, Field(max_length=64)] | None = None
    switch_policy: Literal["none", "instant", "request"] = Field("none", description=(
        "Whether a family may change this booking's class for the rest of the term to another "
        "programme of the same `makeup_group` with free places in every remaining session: "
        "`instant` moves the remaining sessions at once, `request` asks the provider, who "
        "confirms or declines through `/api/v1/switches`"))
    makeup_validity_days: Annotated[StrictInt, Field(ge=1, le=730)] | None = None
    cancel_cutoff_hours: Annotated[StrictInt, Field(ge=0, le=336)] | None = None
    addons: list[Addon] = Field(default_factory=list, max_length=50)
    min_age: Annotated[StrictInt, Field(ge=0, le=120, description=(
        "The youngest age (in whole years) the programme is for; make-ups from other "
        "programmes are offered only to children this old"))] | None = None
    max_age: Annotated[StrictInt, Field(ge=0, le=120, description=(
        "The oldest age (in whole years, inclusive) the programme is for"))] | None = None

    @field_validator("max_age")
    @classmethod
    def _not_below_min_age(cls, value: int | None, info) -> int | None:
        youngest = info.data.get("min_age")
        if value is not None and youngest is not None and value < youngest:
            raise ValueError("cannot be below min_age")
        return value


class SessionIn(Input):
    programme_id: ExternalId
    starts_at: Moment
    ends_at: Moment
    capacity: Annotated[StrictInt, Field(ge=0, le=100_000)] | None = None
    location: Text | None = None
    livestream_url: Url | None = None
    cancelled: StrictBool = False

    @field_validator("ends_at")
    @classmethod
    def _after_start(cls, value: datetime, info) -> datetime:
        start = info.data.get("starts_at")
        if start and value <= start:
            raise ValueError("must be after starts_at")
        return value


class BookingIn(Input):
    client_id: ExternalId
    attendee_id: ExternalId
    programme_id: ExternalId
    status: Literal["pending", "confirmed", "cancelled", "finished"] = "confirmed"
    price: Money | None = None
    currency: Currency | None = None
    addons: list[ExternalId] = Field(default_factory=list, max_length=50)
    booked_at: Moment | None = None


class AttendanceIn(Input):
    booking_id: ExternalId
    session_id: ExternalId
    status: Literal[
        "expected", "attended", "excused", "missed", "cancelled_by_provider"
    ] = "expected"
    makeup: StrictBool = False


class MakeupCreditIn(Input):
    client_id: ExternalId
    attendee_id: ExternalId
    source_attendance_id: ExternalId | None = None
    expires_at: Moment | None = None
    used_attendance_id: ExternalId | None = None
    used_at: Moment | None = None


class ShareIn(Input):
    booking_id: ExternalId
    email: EmailStr = Field(max_length=320)
    relation: Literal["parent", "grandparent", "older_child", "other"] = "other"
    access: Literal["full", "view"] = "view"
    status: Literal["pending", "active", "revoked"] = "active"

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()
