"""What the provider sync API accepts: one schema per resource, and how it maps to tables.

Each resource is written with the provider's own ids; references to other resources are
fields ending in `_id` that hold the provider's id of the other item.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from typing import Annotated, Any, Callable, Literal, Mapping

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    StrictInt,
    TypeAdapter,
    field_validator,
)

from widget_server.api.offers import (
    ANSWERED_OFFER,
    keep_the_answer,
    tell_withdrawn,
    withdraws_an_open_offer,
)
from widget_server.core import models as m
from widget_server.core.plain_text import REASON, has_control


def _not_dots(value: str) -> str:
    # "." and ".." are path segments that clients and proxies resolve away: such an item
    # could be stored but never read back at its address.
    if value in (".", ".."):
        raise ValueError("an id may not be '.' or '..'")
    return value


ExternalId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:~-]+$"),
                       AfterValidator(_not_dots)]
# Amounts are stored in INTEGER columns: past 2**31 - 1 PostgreSQL refuses them (a 500).
MAX_AMOUNT = 2**31 - 1
Money = Annotated[StrictInt, Field(ge=0, le=MAX_AMOUNT, description="Amount in minor units")]
SignedMoney = Annotated[StrictInt, Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")]
Text = Annotated[str, Field(max_length=200)]
Url = Annotated[str, Field(max_length=1000, pattern=r"^https?://")]
# The same rule for an id in a URL as in a body.
EXTERNAL_ID = TypeAdapter(ExternalId)


def _iso_text(shape: str, what: str) -> Callable[[Any], Any]:
    """Dates and times only as ISO 8601 text: pydantic would also take a number (and a string
    of digits) as seconds since 1970, so `birth_date: 0` became 1 January 1970."""
    pattern = re.compile(shape)

    def check(value: Any) -> Any:
        if isinstance(value, (date, datetime)) or (isinstance(value, str)
                                                   and pattern.match(value)):
            return value
        raise ValueError(f"must be {what}")
    return check


Day = Annotated[date, BeforeValidator(_iso_text(
    r"\d{4}-\d{2}-\d{2}$", "a date written as YYYY-MM-DD, e.g. 2026-01-31"))]
Moment = Annotated[AwareDatetime, BeforeValidator(_iso_text(
    r"\d{4}-\d{2}-\d{2}[Tt ]", "a date and time in ISO 8601, e.g. 2026-01-31T09:00:00Z"))]


class Body(BaseModel):
    """Every object the API takes: unknown fields and control characters are refused."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        """A string (or list of strings) with a control character is refused; free text may
        hold tab and line breaks. Nested objects check their own fields, so that an error
        names the nested field."""
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(text, str) and has_control(text, free_text=True) for text in texts):
            raise ValueError(REASON)
        return value


class Input(Body):
    """Every resource body: unknown fields are refused, `id` may repeat the URL's id."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    id: ExternalId | None = None


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


class SkillIn(Body):
    id: ExternalId = Field(description="The provider's id of the skill, unique within the level")
    name: Annotated[str, Field(min_length=1, max_length=200)]


DEFAULT_SCALE = ["Introduced", "Developing", "Refining", "Achieved"]
ScaleLabel = Annotated[str, Field(min_length=1, max_length=60)]


class LevelIn(Input):
    programme_id: ExternalId
    name: Annotated[str, Field(min_length=1, max_length=200)]
    position: Annotated[StrictInt, Field(ge=0, le=10_000, description=(
        "The level's place among the programme's levels, lowest first"))] = 0
    description: Annotated[str, Field(max_length=5000)] | None = None
    skills: list[SkillIn] = Field(default_factory=list, max_length=100, description=(
        "The skills the level asks for, in the order they are taught; each `id` at most once"))
    scale: list[ScaleLabel] = Field(
        default=DEFAULT_SCALE, min_length=2, max_length=10,
        json_schema_extra={"uniqueItems": True},
        description="Rating labels, lowest first; the last one means the skill is achieved")

    @field_validator("skills")
    @classmethod
    def _skill_ids_unique(cls, skills: list[SkillIn]) -> list[SkillIn]:
        first: dict[str, int] = {}
        for index, skill in enumerate(skills):
            if skill.id in first:
                raise ValueError(f"skill id {skill.id!r} is listed twice (skills.{first[skill.id]}"
                                 f" and skills.{index}); ids must be unique within the level")
            first[skill.id] = index
        return skills

    @field_validator("scale")
    @classmethod
    def _labels_unique(cls, scale: list[str]) -> list[str]:
        repeated = next((label for i, label in enumerate(scale) if label in scale[:i]), None)
        if repeated is not None:
            raise ValueError(f"label {repeated!r} is listed twice; labels must be unique")
        return scale


class AssessmentIn(Input):
    attendee_id: ExternalId
    level_id: ExternalId
    skill: ExternalId = Field(description=(
        "The id of one of the level's skills; an assessment of a skill the level no longer "
        "lists is kept but not shown"))
    rating: Annotated[StrictInt, Field(ge=1, le=10, description=(
        "1 is the level's first scale label, 2 the second...; a rating above the level's scale "
        "counts as its last label (achieved)"))]
    assessed_on: Day
    assessor: Text | None = None
    note: Annotated[str, Field(max_length=2000)] | None = None


class SessionNoteIn(Input):
    attendance_id: ExternalId
    text: Annotated[str, Field(min_length=1, max_length=5000, description=(
        "The instructor's note on the attendee's session; line breaks are kept"))]
    author: Text | None = None
    visibility: Literal["family", "staff"] = Field(default="family", description=(
        "Who may read the note: `family` shows it to the parents; `staff` notes are never "
        "shown to families"))
    written_at: Moment | None = None



class ReportCardIn(Input):
    attendee_id: ExternalId
    level_id: ExternalId | None = Field(default=None, description=(
        "The level the card reports on: its skills and the attendee's latest ratings are shown "
        "with the card, to whoever sees a booking of the level's programme. Without a level "
        "(a term's report) only the attendee's family sees it"))
    term: Annotated[str, Field(max_length=100)] | None = Field(default=None, description=(
        "e.g. `Autumn term 2026`"))
    comment: Annotated[str, Field(max_length=5000)] | None = Field(default=None, description=(
        "The instructor's comment; line breaks are kept"))
    instructor: Text | None = None
    published: StrictBool = Field(default=False, description=(
        "Families see the card once it is published, and are told by e-mail the first time "
        "(if they want progress messages)"))


OFFER_STATUSES = ("open", "accepted", "declined", "expired", "withdrawn")
READ_ONLY = {"readOnly": True}


class OfferOptionIn(Body):
    key: ExternalId = Field(description=(
        "The option's id within the offer, unique in it: the family's choice names it "
        "(`chosen_option`)"))
    label: Text | None = Field(default=None, description=(
        "How the family sees the option, e.g. `Saturdays 9:00, Harbourside`"))
    programme_id: ExternalId = Field(description="The programme (class) the option offers a "
                                                 "place in")
    first_session_id: ExternalId | None = Field(default=None, description=(
        "The place's first session: the programme's sessions from this one on"))
    sessions: Annotated[StrictInt, Field(ge=1, le=1000)] | None = Field(
        default=None, description="How many sessions the place is for")
    price: Money | None = Field(default=None, description=(
        "The price of the place in minor units, before the discount"))
    currency: Currency | None = None
    discount: Money = Field(default=0, description=(
        "Taken off the price, in minor units (at most the price)"))

    @field_validator("discount")
    @classmethod
    def _not_above_price(cls, value: int, info) -> int:
        price = info.data.get("price")
        if price is not None and value > price:
            raise ValueError(f"cannot exceed price ({price})")
        return value


class OfferIn(Input):
    client_id: ExternalId
    attendee_id: ExternalId = Field(description="The family member the place is offered to")
    booking_id: ExternalId | None = Field(default=None, description=(
        "The booking the offer follows (this term's class, the trial); the offer is shown on "
        "its dashboard too"))
    level_id: ExternalId | None = Field(default=None, description=(
        "For `move_up`: the level the offer leads to"))
    kind: Literal["reenrolment", "trial", "move_up"] = Field(description=(
        "`reenrolment`: a place next term; `trial`: a place after a trial session; "
        "`move_up`: a place at the next level"))
    title: Text | None = Field(default=None, description="e.g. `Spring term 2027`")
    message: Annotated[str, Field(max_length=2000)] | None = Field(default=None, description=(
        "The provider's words to the family, shown with the offer; line breaks are kept"))
    deadline: Day = Field(description=(
        "The offer is open until the end of this day in the provider's time zone; then it "
        "expires"))
    hold_places: StrictBool = Field(default=False, description=(
        "The offer keeps a place in each option's sessions until the deadline; otherwise it "
        "competes for the free places when the family accepts"))
    pay_on_accept: StrictBool = Field(default=False, description=(
        "The family pays when accepting (the portal's payment flow follows)"))
    status: Literal["open", "withdrawn"] = Field(default="open", description=(
        "What the provider may set: `withdrawn` takes the offer back (refused with 409 once "
        "the family answered), `open` offers it again. Writing an offer never changes a "
        "family's answer; an expired offer opens again only with a deadline of today or later"))
    options: list[OfferOptionIn] = Field(min_length=1, max_length=10, description=(
        "The classes the family may choose from, in the order shown; each `key` once"))

    @field_validator("options")
    @classmethod
    def _keys_unique(cls, options: list[OfferOptionIn]) -> list[OfferOptionIn]:
        first: dict[str, int] = {}
        for index, option in enumerate(options):
            if option.key in first:
                raise ValueError(f"option key {option.key!r} is listed twice (options."
                                 f"{first[option.key]} and options.{index}); keys must be "
                                 "unique within the offer")
            first[option.key] = index
        return options


class OfferOut(OfferIn):
    """An offer as read back: what the provider wrote, and the family's answer, which only
    the portal writes."""

    status: Literal[OFFER_STATUSES] = Field(description=(
        "`open` (waiting for the family), `accepted` or `declined` (the family's answer, "
        "kept whatever the provider writes), `expired` (the deadline passed unanswered) or "
        "`withdrawn` (by the provider)"))
    chosen_option: ExternalId | None = Field(default=None, json_schema_extra=READ_ONLY,
                                             description="The `key` of the option accepted")
    decline_reason: Annotated[str, Field(max_length=16)] | None = Field(
        default=None, json_schema_extra=READ_ONLY, description=(
            "Why the family declined, if they said: `moving_away`, `schedule`, `cost` or "
            "`other`"))
    decline_note: Annotated[str, Field(max_length=500)] | None = Field(
        default=None, json_schema_extra=READ_ONLY,
        description="The family's own words on declining")
    answered_at: Moment | None = Field(default=None, json_schema_extra=READ_ONLY,
                                       description="When the family answered")
    answered_by: Annotated[str, Field(max_length=320)] | None = Field(
        default=None, json_schema_extra=READ_ONLY, description=(
            "The e-mail address of who answered (a co-parent may)"))


@dataclass(frozen=True)
class Children:
    """A nested list stored in its own table, replaced wholesale on every write."""

    field: str
    model: type
    parent_column: str
    refs: dict[str, type] = field(default_factory=dict)


@dataclass(frozen=True)
class ReplaceRule:
    """What a write may not change of a stored item: `check(stored, columns, today)` sees the
    stored row (locked meanwhile), the new columns and the tenant's date; it may put stored
    values back into the columns, or refuse the write with a Conflict that `conflict` states
    (the PUT's documented 409).

    And who must hear of a write it let through: `news(stored, columns, today)` says whether
    the change is news to the family (an open offer withdrawn), and `tell(session, notices,
    row ids)` tells them in the write's transaction. A write given no `notices` (the demo's
    loader, below the API) tells nobody."""

    check: Callable[[Mapping[str, Any], dict[str, Any], date], None]
    conflict: str
    news: Callable[[Mapping[str, Any], dict[str, Any], date], bool] | None = None
    tell: Callable[[Any, Any, list[int]], None] | None = None

    def is_news(self, notices: Any, stored: Mapping[str, Any] | None,
                columns: dict[str, Any], today: date) -> bool:
        """Whether this write of a stored item must be told, to someone who can be told."""
        return (notices is not None and stored is not None and self.news is not None
                and self.news(stored, columns, today))


@dataclass(frozen=True)
class Resource:
    name: str
    model: type
    schema: type[Input]
    refs: dict[str, type] = field(default_factory=dict)  # API field -> referenced model
    children: Children | None = None
    # Fields whose stored form differs: API name -> (column, to_column, from_column)
    codecs: dict[str, tuple[str, Callable[[Any], Any], Callable[[Any], Any]]] = field(
        default_factory=dict
    )
    # What is read back, when more than the schema: fields only the portal writes.
    output: type[Input] | None = None
    # List filters: column -> the values `?<column>=a,b` may name; an index on
    # (tenant, column, id) serves each page.
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    replace_rule: ReplaceRule | None = None

    @property
    def singular(self) -> str:
        return self.model.__name__

    @property
    def read_schema(self) -> type[Input]:
        """The fields an item is read back with."""
        return self.output or self.schema

    @cached_property
    def read_only(self) -> frozenset[str]:
        """Fields of the written schema only the portal sets: a write may send them back as
        read, and they are left as they are."""
        return frozenset(name for name, spec in self.schema.model_fields.items()
                         if isinstance(spec.json_schema_extra, dict)
                         and spec.json_schema_extra.get("readOnly"))


def _b64decode(value: str | None) -> bytes | None:
    return base64.b64decode(value) if value is not None else None


def _b64encode(value: bytes | None) -> str | None:
    return base64.b64encode(value).decode() if value is not None else None


RESOURCES: dict[str, Resource] = {
    r.name: r
    for r in [
        Resource("clients", m.Client, ClientIn),
        Resource("attendees", m.Attendee, AttendeeIn, {"client_id": m.Client}),
        Resource("programmes", m.Programme, ProgrammeIn),
        Resource("sessions", m.ClassSession, SessionIn, {"programme_id": m.Programme}),
        Resource(
            "bookings",
            m.Booking,
            BookingIn,
            {"client_id": m.Client, "attendee_id": m.Attendee, "programme_id": m.Programme},
        ),
        Resource("attendance", m.Attendance, AttendanceIn,
                 {"booking_id": m.Booking, "session_id": m.ClassSession}),
        Resource(
            "makeup-credits",
            m.MakeupCredit,
            MakeupCreditIn,
            {"client_id": m.Client, "attendee_id": m.Attendee,
             "source_attendance_id": m.Attendance, "used_attendance_id": m.Attendance},
        ),
        Resource("payments", m.Payment, PaymentIn,
                 {"client_id": m.Client, "booking_id": m.Booking, "order_id": m.Order,
                  "offer_id": m.Offer}),
        Resource(
            "invoices",
            m.Invoice,
            InvoiceIn,
            {"client_id": m.Client, "payment_id": m.Payment, "order_id": m.Order},
            codecs={"pdf_base64": ("pdf", _b64decode, _b64encode)},
        ),
        Resource("orders", m.Order, OrderIn, {"client_id": m.Client},
                 children=Children("items", m.OrderItem, "order_id")),
        Resource(
            "entry-passes",
            m.EntryPass,
            EntryPassIn,
            {"client_id": m.Client, "attendee_id": m.Attendee, "order_id": m.Order,
             "programme_id": m.Programme},
            children=Children("uses", m.EntryPassUse, "entry_pass_id",
                              {"session_id": m.ClassSession}),
        ),
        Resource("discounts", m.Discount, DiscountIn,
                 {"client_id": m.Client, "attendee_id": m.Attendee}),
        Resource("credits", m.CreditEntry, CreditIn,
                 {"client_id": m.Client, "booking_id": m.Booking, "order_id": m.Order}),
        Resource("shares", m.BookingShare, ShareIn, {"booking_id": m.Booking}),
        Resource("levels", m.Level, LevelIn, {"programme_id": m.Programme}),
        Resource("assessments", m.Assessment, AssessmentIn,
                 {"attendee_id": m.Attendee, "level_id": m.Level}),
        Resource("session-notes", m.SessionNote, SessionNoteIn,
                 {"attendance_id": m.Attendance}),
        Resource("report-cards", m.ReportCard, ReportCardIn,
                 {"attendee_id": m.Attendee, "level_id": m.Level}),
        Resource(
            "offers",
            m.Offer,
            OfferIn,
            {"client_id": m.Client, "attendee_id": m.Attendee, "booking_id": m.Booking,
             "level_id": m.Level},
            children=Children("options", m.OfferOption, "offer_id",
                              {"programme_id": m.Programme, "first_session_id": m.ClassSession}),
            output=OfferOut,
            filters={"status": OFFER_STATUSES},
            replace_rule=ReplaceRule(keep_the_answer, ANSWERED_OFFER,
                                     news=withdraws_an_open_offer, tell=tell_withdrawn),
        ),
    ]
}

# Which resource owns each model, for messages like "no clients with id 'c-9'".
RESOURCE_OF_MODEL = {r.model: r.name for r in RESOURCES.values()}
