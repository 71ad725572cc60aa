"""What the provider sync API accepts: one schema per resource (in `schemas_*`, made of the
types in `fields`), and how each maps to tables.

Each resource is written with the provider's own ids; references to other resources are
fields ending in `_id` that hold the provider's id of the other item.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any, Callable, Mapping

from widget_server.api.fields import Input
from widget_server.api.offers import (
    ANSWERED_OFFER,
    keep_the_answer,
    tell_withdrawn,
    withdraws_an_open_offer,
)
from widget_server.api.schemas_classes import (
    AttendanceIn,
    AttendeeIn,
    BookingIn,
    ClientIn,
    MakeupCreditIn,
    ProgrammeIn,
    SessionIn,
    ShareIn,
)
from widget_server.api.schemas_money import (
    CreditIn,
    DiscountIn,
    EntryPassIn,
    InvoiceIn,
    OrderIn,
    PaymentIn,
)
from widget_server.api.schemas_offers import OFFER_STATUSES, OfferIn, OfferOut
from widget_server.api.schemas_progress import (
    AssessmentIn,
    LevelIn,
    ReportCardIn,
    SessionNoteIn,
)
from widget_server.core import models as m


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
