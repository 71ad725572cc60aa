"""The data model. Every row carries its tenant; providers' own ids live in `external_id`.

Money is always an integer amount in minor units plus an ISO currency code. Datetimes are
timezone-aware
and stored in UTC. Foreign keys are internal integer ids; the sync API translates them to
and from the provider's external ids.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timezone
from decimal import Decimal
from typing import Any, Callable, Optional

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, Numeric, UniqueConstraint
from sqlalchemy.engine.interfaces import Dialect
from sqlmodel import Field, SQLModel
from sqlmodel.sql import sqltypes


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def fk(target: str, *, nullable: bool = False, index: bool = True) -> Any:
    """An integer foreign key that refuses to orphan rows (RESTRICT on delete)."""
    return Field(
        default=None if nullable else ...,
        sa_column=Column(
            Integer, ForeignKey(f"{target}.id", ondelete="RESTRICT"), nullable=nullable, index=index
        ),
    )


class TenantRow(SQLModel):
    """Columns every provider-owned row has."""

    id: Optional[int] = Field(default=None, primary_key=True)
    tenant: str = Field(max_length=64)
    external_id: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


def tenant_keys(table: str) -> tuple:
    """The provider's id is unique per tenant; (tenant, id) serves the API's keyset pages, which
    read only the page they return."""
    return (UniqueConstraint("tenant", "external_id", name=f"uq_{table}_tenant_external_id"),
            Index(f"ix_{table}_tenant_id", "tenant", "id"))


class Client(TenantRow, table=True):
    """The account holder, usually a parent. E-mail is unique per tenant."""

    __tablename__ = "client"
    __table_args__ = tenant_keys("client") + (
        UniqueConstraint("tenant", "email", name="uq_client_tenant_email"),
    )
    email: str = Field(max_length=320)
    name: str = Field(max_length=200)
    phone: Optional[str] = Field(default=None, max_length=40)
    locale: Optional[str] = Field(default=None, max_length=16)
    notify_email: bool = True
    notify_whatsapp: bool = False
    # Per kind of message ("reminders", ...): {"email": bool, "whatsapp": bool}; the portal's
    # own setting, which the provider sees through notify_email/notify_whatsapp and webhooks.
    notifications: Optional[dict] = Field(default=None, sa_column=Column(JSON, nullable=True))
    deletion_requested_at: Optional[datetime] = None
    # Billing details for invoices (EU rules: the buyer's name and address, and a business
    # buyer's registration number and VAT id).
    address: Optional[str] = Field(default=None, max_length=400)
    company_name: Optional[str] = Field(default=None, max_length=200)
    company_number: Optional[str] = Field(default=None, max_length=32)
    tax_id: Optional[str] = Field(default=None, max_length=32)
    vat_id: Optional[str] = Field(default=None, max_length=32)


class Attendee(TenantRow, table=True):
    """A family member who attends: a child, or the client themself."""

    __tablename__ = "attendee"
    # Indexes that lead with the tenant and the owner: pages read a family's rows, never the
    # tenant's (the EXPLAIN test in tests/test_query_plans.py holds every page to it).
    __table_args__ = tenant_keys("attendee") + (
        Index("ix_attendee_tenant_client", "tenant", "client_id"),
    )
    client_id: int = fk("client")
    name: str = Field(max_length=200)
    birth_date: Optional[date] = None


class Programme(TenantRow, table=True):
    """A course or class series."""

    __tablename__ = "programme"
    __table_args__ = tenant_keys("programme") + (
        # The other classes of a make-up group (make-ups, changing class).
        Index("ix_programme_tenant_group", "tenant", "makeup_group"),
        # The longest make-up validity of the tenant's programmes (the scheduler's credits).
        Index("ix_programme_tenant_validity", "tenant", "makeup_validity_days"),
    )
    name: str = Field(max_length=200)
    description: Optional[str] = None
    venue: Optional[str] = Field(default=None, max_length=200)
    venue_address: Optional[str] = Field(default=None, max_length=400)
    online: bool = False
    instructor: Optional[str] = Field(default=None, max_length=200)
    schedule: Optional[str] = Field(default=None, max_length=200)
    price: Optional[int] = None
    currency: Optional[str] = Field(default=None, max_length=3)
    makeup_policy: str = Field(default="none", max_length=32)
    makeup_group: Optional[str] = Field(default=None, max_length=64)
    makeup_validity_days: Optional[int] = None
    cancel_cutoff_hours: Optional[int] = None
    addons: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Ages (whole years, both inclusive) the programme is for; None: no limit that way.
    min_age: Optional[int] = None
    max_age: Optional[int] = None
    # Changing to another class of the same make-up group for the rest of the term: "none",
    # "instant" (the remaining sessions move at once) or "request" (the provider confirms).
    switch_policy: str = Field(default="none", max_length=16)


class ClassSession(TenantRow, table=True):
    """One occurrence of a programme (times in UTC)."""

    __tablename__ = "session"
    __table_args__ = tenant_keys("session") + (
        Index("ix_session_programme_starts", "programme_id", "starts_at"),
        # A class's timetable as change class reads it (sessions held, in order), from the
        # index alone: no row of the table read for whether it was cancelled.
        Index("ix_session_programme_timetable", "programme_id", "cancelled", "starts_at", "id"),
        # A programme's sessions to come within the tenant (make-up and move searches).
        Index("ix_session_tenant_programme_starts", "tenant", "programme_id", "starts_at"),
        Index("ix_session_tenant_starts", "tenant", "starts_at"),  # reminders due soon
        Index("ix_session_starts", "starts_at"),  # which tenants have reminders due at all
    )
    programme_id: int = fk("programme", index=False)
    starts_at: datetime
    ends_at: datetime
    capacity: Optional[int] = None
    location: Optional[str] = Field(default=None, max_length=200)
    livestream_url: Optional[str] = Field(default=None, max_length=1000)
    cancelled: bool = False


class Booking(TenantRow, table=True):
    """A client's booking of a programme for one attendee."""

    __tablename__ = "booking"
    __table_args__ = tenant_keys("booking") + (
        Index("ix_booking_tenant_client", "tenant", "client_id"),
        Index("ix_booking_tenant_attendee", "tenant", "attendee_id"),
    )
    client_id: int = fk("client")
    attendee_id: int = fk("attendee")
    programme_id: int = fk("programme")
    status: str = Field(default="confirmed", max_length=32)
    price: Optional[int] = None
    currency: Optional[str] = Field(default=None, max_length=3)
    addons: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    booked_at: Optional[datetime] = None


class Attendance(TenantRow, table=True):
    """A booking's place in one session, and what became of it."""

    __tablename__ = "attendance"
    __table_args__ = tenant_keys("attendance") + (
        Index("ix_attendance_booking_session", "booking_id", "session_id"),
        Index("ix_attendance_tenant_booking", "tenant", "booking_id", "session_id"),
        Index("ix_attendance_session_status", "session_id", "status"),
    )
    booking_id: int = fk("booking", index=False)
    session_id: int = fk("session", index=False)
    status: str = Field(default="expected", max_length=32)
    makeup: bool = False


class Level(TenantRow, table=True):
    """One level of a programme's curriculum: the skills it asks for and the scale they are
    rated on (lowest first; the last rating means achieved)."""

    __tablename__ = "level"
    __table_args__ = tenant_keys("level") + (
        Index("ix_level_tenant_programme", "tenant", "programme_id", "position"),
    )
    programme_id: int = fk("programme", index=False)
    name: str = Field(max_length=200)
    position: int = 0
    description: Optional[str] = None
    # [{"id": "float", "name": "Floats on back"}], in the order the provider teaches them.
    skills: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # ["Introduced", "Developing", "Refining", "Achieved"]
    scale: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class Assessment(TenantRow, table=True):
    """An attendee's rating on one skill of a level, on a date."""

    __tablename__ = "assessment"
    __table_args__ = tenant_keys("assessment") + (
        Index("ix_assessment_tenant_attendee", "tenant", "attendee_id", "assessed_on"),
        Index("ix_assessment_level", "level_id"),
    )
    attendee_id: int = fk("attendee", index=False)
    level_id: int = fk("level", index=False)
    skill: str = Field(max_length=128)  # the id of one of the level's skills
    rating: int  # 1 = the scale's first label
    assessed_on: date
    assessor: Optional[str] = Field(default=None, max_length=200)
    note: Optional[str] = None


class SessionNote(TenantRow, table=True):
    """An instructor's note on an attendee's session (one attendance row)."""

    __tablename__ = "session_note"
    __table_args__ = tenant_keys("session_note") + (
        # Read through the attendance (the tenant's already): a leading tenant column led
        # SQLite's planner to the tenant's every note.
        Index("ix_session_note_attendance", "attendance_id"),
    )
    attendance_id: int = fk("attendance", index=False)
    text: str
    author: Optional[str] = Field(default=None, max_length=200)
    # "family": shown to the parents; "staff": kept for the provider's own team.
    visibility: str = Field(default="family", max_length=16)
    written_at: Optional[datetime] = None


class ReportCard(TenantRow, table=True):
    """A provider's report on an attendee for a term or a level; families see it once it is
    published (and are told by e-mail then)."""

    __tablename__ = "report_card"
    __table_args__ = tenant_keys("report_card") + (
        Index("ix_report_card_tenant_attendee", "tenant", "attendee_id", "published_at"),
        # Published cards the family has not been told of yet, across tenants (the scheduler).
        Index("ix_report_card_unannounced", "announced_at", "published"),
    )
    attendee_id: int = fk("attendee", index=False)
    level_id: Optional[int] = fk("level", nullable=True)
    term: Optional[str] = Field(default=None, max_length=100)
    comment: Optional[str] = None
    instructor: Optional[str] = Field(default=None, max_length=200)
    published: bool = False
    published_at: Optional[datetime] = None
    # When the family was told (once, the first time it is published).
    announced_at: Optional[datetime] = None


class Document(TenantRow, table=True):
    """A file the provider shares: with one family (client), one child (attendee), everyone
    booked on a programme, or every client of the tenant (audience)."""

    __tablename__ = "document"
    __table_args__ = tenant_keys("document") + (
        Index("ix_document_tenant_client", "tenant", "client_id"),
        Index("ix_document_tenant_attendee", "tenant", "attendee_id"),
        Index("ix_document_tenant_programme", "tenant", "programme_id"),
        Index("ix_document_tenant_audience", "tenant", "audience", "published_at"),
    )
    title: str = Field(max_length=200)
    filename: str = Field(max_length=200)
    content_type: str = Field(max_length=100)
    size: int = 0
    sha256: str = Field(default="", max_length=64)
    audience: str = Field(max_length=16)  # client, attendee, programme, tenant
    client_id: Optional[int] = fk("client", nullable=True, index=False)
    attendee_id: Optional[int] = fk("attendee", nullable=True, index=False)
    programme_id: Optional[int] = fk("programme", nullable=True, index=False)
    published_at: datetime = Field(default_factory=utcnow)
    # Where the bytes are: "db" (document_chunk rows) or "dir" (a file under the files
    # directory, named by `storage_key`).
    storage: str = Field(default="db", max_length=8)
    storage_key: Optional[str] = Field(default=None, max_length=200)


class DocumentChunk(SQLModel, table=True):
    """A document's bytes in the database, in pieces, so a download streams them."""

    __tablename__ = "document_chunk"
    document_id: int = Field(sa_column=Column(
        Integer, ForeignKey("document.id", ondelete="CASCADE"), primary_key=True))
    seq: int = Field(primary_key=True)
    data: bytes


class FirstOpen(SQLModel, table=True):
    """When a person first opened a document or a report card: "new" until then, and the
    provider's `*.viewed` webhook is sent once."""

    __tablename__ = "first_open"
    __table_args__ = (UniqueConstraint("tenant", "email", "kind", "item_id",
                                       name="uq_first_open_person_item"),
                      # An item's opens, dropped with the item (its id may be used again).
                      Index("ix_first_open_item", "tenant", "kind", "item_id"))
    id: Optional[int] = Field(default=None, primary_key=True)
    tenant: str = Field(max_length=64)
    email: str = Field(max_length=320)
    kind: str = Field(max_length=16)  # "document", "report_card"
    item_id: int
    opened_at: datetime = Field(default_factory=utcnow)


class Offer(TenantRow, table=True):
    """A place the provider offers a family member: next term's class (re-enrolment), a class
    after a trial, or the next level (move up), with one or more classes to choose from, open
    until the end of `deadline` in the tenant's time zone."""

    __tablename__ = "offer"
    __table_args__ = tenant_keys("offer") + (
        Index("ix_offer_tenant_attendee", "tenant", "attendee_id", "status"),
        Index("ix_offer_tenant_client", "tenant", "client_id"),
        Index("ix_offer_tenant_booking", "tenant", "booking_id"),
        Index("ix_offer_tenant_status", "tenant", "status", "id"),  # the API's ?status= pages
        # Open offers past their deadline, across tenants (the scheduler).
        Index("ix_offer_status_deadline", "status", "deadline"),
    )
    client_id: int = fk("client", index=False)
    attendee_id: int = fk("attendee", index=False)
    # The booking it follows (shown on that booking's dashboard; an adult it is shared with
    # sees the offer with that share's rights).
    booking_id: Optional[int] = fk("booking", nullable=True, index=False)
    level_id: Optional[int] = fk("level", nullable=True)  # move up: the level it leads to
    kind: str = Field(max_length=16)  # reenrolment, trial, move_up
    title: Optional[str] = Field(default=None, max_length=200)
    message: Optional[str] = None
    deadline: date
    hold_places: bool = False  # the offer keeps a place in each option's sessions till then
    pay_on_accept: bool = False
    status: str = Field(default="open", max_length=16)  # open accepted declined expired withdrawn
    chosen_option: Optional[str] = Field(default=None, max_length=128)
    decline_reason: Optional[str] = Field(default=None, max_length=16)
    decline_note: Optional[str] = Field(default=None, max_length=500)
    answered_at: Optional[datetime] = None
    answered_by: Optional[str] = Field(default=None, max_length=320)


class OfferOption(SQLModel, table=True):
    """One class an offer proposes; replaced wholesale when the offer is pushed again."""

    __tablename__ = "offer_option"
    __table_args__ = (Index("ix_offer_option_programme", "programme_id", "first_session_id"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    offer_id: int = Field(
        sa_column=Column(Integer, ForeignKey("offer.id", ondelete="CASCADE"), index=True,
                         nullable=False)
    )
    position: int = 0
    key: str = Field(max_length=128)  # the option's id within the offer
    label: Optional[str] = Field(default=None, max_length=200)
    programme_id: int = fk("programme", index=False)
    # The class's first session; its place is the programme's sessions from then on.
    first_session_id: Optional[int] = fk("session", nullable=True, index=False)
    sessions: Optional[int] = None
    price: Optional[int] = None
    currency: Optional[str] = Field(default=None, max_length=3)
    discount: int = 0


class BookingSwitch(TenantRow, table=True):
    """A booking's change to another class for the rest of the term: done at once, or asked
    for and waiting for the provider. `moves` lists what moved (or will): attendance, from
    session, to session, as internal ids."""

    __tablename__ = "booking_switch"
    __table_args__ = tenant_keys("booking_switch") + (
        Index("ix_booking_switch_tenant_booking", "tenant", "booking_id", "status"),
        # A booking's latest change (newest first within the booking).
        Index("ix_booking_switch_tenant_booking_id", "tenant", "booking_id", "id"),
        Index("ix_booking_switch_tenant_status", "tenant", "status", "id"),  # the API's pages
    )
    # The change is the booking's history: it goes when the provider deletes the booking (or
    # its client or a programme it names), which it could not otherwise do.
    client_id: int = Field(sa_column=Column(Integer, ForeignKey("client.id", ondelete="CASCADE"),
                                            nullable=False))
    booking_id: int = Field(sa_column=Column(
        Integer, ForeignKey("booking.id", ondelete="CASCADE"), nullable=False))
    from_programme_id: int = Field(sa_column=Column(
        Integer, ForeignKey("programme.id", ondelete="CASCADE"), nullable=False))
    to_programme_id: int = Field(sa_column=Column(
        Integer, ForeignKey("programme.id", ondelete="CASCADE"), nullable=False))
    # The class: the programme, and the weekday and local start of its sessions (a programme
    # may run several weekly groups), e.g. "ballet-8/3/16:30".
    to_class: str = Field(max_length=160)
    status: str = Field(default="requested", max_length=16)  # requested switched declined
    #                                                         cancelled
    moves: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    price_difference: Optional[int] = None  # for the rest of the term; shown, not charged
    currency: Optional[str] = Field(default=None, max_length=3)
    requested_by: Optional[str] = Field(default=None, max_length=320)
    decided_at: Optional[datetime] = None
    message: Optional[str] = Field(default=None, max_length=500)  # the provider's, on decline


class MakeupCredit(TenantRow, table=True):
    """The right to a make-up session, earned by an excused or missed attendance."""

    __tablename__ = "makeup_credit"
    __table_args__ = tenant_keys("makeup_credit") + (
        Index("ix_makeup_credit_expires", "expires_at"),  # expiry reminders, across tenants
        Index("ix_makeup_credit_tenant_expires", "tenant", "expires_at"),  # and per tenant
    )
    client_id: int = fk("client")
    attendee_id: int = fk("attendee")
    source_attendance_id: Optional[int] = fk("attendance", nullable=True)
    expires_at: Optional[datetime] = None
    used_attendance_id: Optional[int] = fk("attendance", nullable=True)
    used_at: Optional[datetime] = None


class Order(TenantRow, table=True):
    """A purchase of products, passes or single sessions."""

    __tablename__ = "order"
    __table_args__ = tenant_keys("order")
    client_id: int = fk("client")
    number: Optional[str] = Field(default=None, max_length=64)
    ordered_at: datetime
    status: str = Field(default="unpaid", max_length=32)
    currency: str = Field(max_length=3)
    promo_code: Optional[str] = Field(default=None, max_length=64)
    discount_amount: int = 0


class OrderItem(SQLModel, table=True):
    """One line of an order; replaced wholesale when the order is pushed again."""

    __tablename__ = "order_item"
    id: Optional[int] = Field(default=None, primary_key=True)
    order_id: int = Field(
        sa_column=Column(Integer, ForeignKey("order.id", ondelete="CASCADE"), index=True,
                         nullable=False)
    )
    position: int = 0
    name: str = Field(max_length=200)
    kind: str = Field(default="product", max_length=32)
    quantity: int = 1
    unit_price: int
    vat_rate: Decimal = Field(default=Decimal("0"), sa_column=Column(Numeric(5, 2), nullable=False))
    vat_amount: int = 0


class Payment(TenantRow, table=True):
    """Money owed or paid for a booking or an order."""

    __tablename__ = "payment"
    __table_args__ = tenant_keys("payment") + (
        Index("ix_payment_client_status", "client_id", "status"),
    )
    client_id: int = fk("client", index=False)
    booking_id: Optional[int] = fk("booking", nullable=True)
    order_id: Optional[int] = fk("order", nullable=True)
    description: Optional[str] = Field(default=None, max_length=200)
    amount: int
    currency: str = Field(max_length=3)
    due_date: Optional[date] = None
    status: str = Field(default="unpaid", max_length=32)
    method: Optional[str] = Field(default=None, max_length=32)
    bank_reference: Optional[str] = Field(default=None, max_length=64)
    paid_at: Optional[datetime] = None
    # When the client said "I have sent the transfer" in the portal (not part of the sync API,
    # so a provider's push leaves it alone).
    transfer_reported_at: Optional[datetime] = None
    # The offer whose acceptance asked for this payment (the portal creates it).
    offer_id: Optional[int] = fk("offer", nullable=True)


class Invoice(TenantRow, table=True):
    """An invoice or receipt: a PDF the provider uploaded, or a link to one."""

    __tablename__ = "invoice"
    __table_args__ = tenant_keys("invoice")
    client_id: int = fk("client")
    payment_id: Optional[int] = fk("payment", nullable=True)
    order_id: Optional[int] = fk("order", nullable=True)
    number: str = Field(max_length=64)
    issue_date: date
    # When the goods or services were supplied, if not on the issue date.
    supply_date: Optional[date] = None
    amount: Optional[int] = None
    currency: Optional[str] = Field(default=None, max_length=3)
    pdf: Optional[bytes] = None
    url: Optional[str] = Field(default=None, max_length=1000)


class EntryPass(TenantRow, table=True):
    """A bundle of entries (e.g. a 10-visit pass)."""

    __tablename__ = "entry_pass"
    __table_args__ = tenant_keys("entry_pass")
    client_id: int = fk("client")
    attendee_id: Optional[int] = fk("attendee", nullable=True)
    order_id: Optional[int] = fk("order", nullable=True)
    name: str = Field(max_length=200)
    total_entries: int
    used_entries: int = 0
    valid_until: Optional[date] = None
    status: str = Field(default="active", max_length=32)
    # The programme whose sessions the pass books in the portal; none: not bookable there.
    # NO ACTION rather than fk()'s RESTRICT: the same refusal, and the only form SQLite can
    # add to an existing table and still read back as written.
    programme_id: Optional[int] = Field(default=None, sa_column=Column(
        Integer, ForeignKey("programme.id"), nullable=True, index=True))


class EntryPassUse(SQLModel, table=True):
    """One entry taken from a pass."""

    __tablename__ = "entry_pass_use"
    id: Optional[int] = Field(default=None, primary_key=True)
    entry_pass_id: int = Field(
        sa_column=Column(Integer, ForeignKey("entry_pass.id", ondelete="CASCADE"), index=True,
                         nullable=False)
    )
    position: int = 0
    used_at: datetime
    session_id: Optional[int] = fk("session", nullable=True)
    note: Optional[str] = Field(default=None, max_length=200)


class Discount(TenantRow, table=True):
    """A discount for one family member, or family-wide when no attendee is set."""

    __tablename__ = "discount"
    __table_args__ = tenant_keys("discount")
    client_id: int = fk("client")
    attendee_id: Optional[int] = fk("attendee", nullable=True)
    name: str = Field(max_length=200)
    kind: str = Field(default="percent", max_length=16)
    value: int
    currency: Optional[str] = Field(default=None, max_length=3)
    valid_from: Optional[date] = None
    valid_until: Optional[date] = None
    used: bool = False


class CreditEntry(TenantRow, table=True):
    """A prepaid-credit ledger entry: positive when added, negative when spent."""

    __tablename__ = "credit_entry"
    __table_args__ = tenant_keys("credit_entry") + (
        Index("ix_credit_entry_client_occurred", "client_id", "occurred_at"),
    )
    client_id: int = fk("client", index=False)
    amount: int
    currency: str = Field(max_length=3)
    occurred_at: datetime
    description: Optional[str] = Field(default=None, max_length=200)
    booking_id: Optional[int] = fk("booking", nullable=True)
    order_id: Optional[int] = fk("order", nullable=True)


class BookingShare(TenantRow, table=True):
    """Access to a booking given to another adult."""

    __tablename__ = "booking_share"
    __table_args__ = tenant_keys("booking_share") + (
        Index("ix_booking_share_tenant_email", "tenant", "email"),
        Index("ix_booking_share_tenant_booking", "tenant", "booking_id"),
    )
    booking_id: int = fk("booking")
    email: str = Field(max_length=320)
    relation: str = Field(default="other", max_length=32)
    access: str = Field(default="view", max_length=16)
    status: str = Field(default="pending", max_length=16)


class EmailChange(SQLModel, table=True):
    """A client's new login e-mail, waiting for the code sent to it (hashed, like login codes)."""

    __tablename__ = "email_change"
    __table_args__ = (Index("ix_email_change_client", "client_id", "created_at"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    tenant: str = Field(max_length=64)
    # CASCADE: a pending change must not stop the provider deleting the client.
    client_id: int = Field(sa_column=Column(Integer, ForeignKey("client.id", ondelete="CASCADE"),
                                            nullable=False))
    new_email: str = Field(max_length=320)
    code_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    attempts: int = 0
    # Set once: confirmed, superseded by a newer request, or burned by wrong codes.
    ended_at: Optional[datetime] = None
    ended_reason: Optional[str] = Field(default=None, max_length=16)


class IdempotencyRecord(SQLModel, table=True):
    """The answer given to a write that carried an Idempotency-Key, replayed on retry."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("tenant", "key", name="uq_idempotency_tenant_key"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    tenant: str = Field(max_length=64)
    key: str = Field(max_length=255)
    fingerprint: str = Field(max_length=64)
    status_code: int
    body: str
    created_at: datetime = Field(default_factory=utcnow, index=True)


class OutboxMessage(SQLModel, table=True):
    """A message (e-mail or webhook) written with the action that caused it, sent later."""

    __tablename__ = "outbox_message"
    # ix_outbox_waiting: the depth and oldest age per channel that /metrics reads each scrape.
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),
                      Index("ix_outbox_waiting", "status", "channel", "created_at"),
                      Index("ix_outbox_tenant_client", "tenant", "client_id", "id"))
    id: Optional[int] = Field(default=None, primary_key=True)
    tenant: str = Field(max_length=64, index=True)
    channel: str = Field(max_length=16)  # "email", "webhook" or "whatsapp"
    # The client the message is about (its delivery log in the provider console); None for
    # messages to no client (a share invitation to a new address, a provider's test).
    client_id: Optional[int] = Field(default=None, sa_column=Column(
        Integer, ForeignKey("client.id", ondelete="SET NULL"), nullable=True))
    payload: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    claimed_until: Optional[datetime] = None
    sent_at: Optional[datetime] = None
    last_error: Optional[str] = None
    created_at: datetime = Field(default_factory=utcnow)


class LoginChallenge(SQLModel, table=True):
    """One login e-mail: its code and its link, either of which logs in once."""

    __tablename__ = "login_challenge"
    __table_args__ = (Index("ix_login_challenge_tenant_email", "tenant", "email", "created_at"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    tenant: str = Field(max_length=64)
    email: str = Field(max_length=320)
    # Who logs in with it: "client" (the widget) or "staff" (the provider console); a code or
    # link of one never opens the other.
    kind: str = Field(default="client", max_length=16)
    code_hash: str = Field(max_length=64)
    link_nonce: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    attempts: int = 0
    # Set once: consumed by a login, superseded by a newer request, or burned by wrong codes.
    ended_at: Optional[datetime] = None
    ended_reason: Optional[str] = Field(default=None, max_length=16)


class WebSession(SQLModel, table=True):
    """A logged-in browser; the cookie holds a random id, the table only its hash."""

    __tablename__ = "web_session"
    __table_args__ = (Index("ix_web_session_tenant_email", "tenant", "email"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    sid_hash: str = Field(max_length=64, unique=True)
    tenant: str = Field(max_length=64)
    email: str = Field(max_length=320)
    client_id: Optional[int] = fk("client", nullable=True)
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    revoked_at: Optional[datetime] = None
    # "client" (a family or an adult a booking is shared with, in the widget), "staff" (the
    # provider console: never a widget session) or "view_as" (staff looking at a family's
    # widget, read-only; `viewer` is the staff member).
    kind: str = Field(default="client", max_length=16)
    viewer: Optional[str] = Field(default=None, max_length=320)
    # The family member last picked on the home page (the attendee's provider id), kept here
    # because a cookie is unreliable in a partitioned iframe whose URL the snippet fixes.
    selected_member: Optional[str] = Field(default=None, max_length=128)


class CalendarFeed(SQLModel, table=True):
    """A secret calendar subscription address of one person; only the token's hash is kept."""

    __tablename__ = "calendar_feed"
    __table_args__ = (Index("ix_calendar_feed_tenant_email", "tenant", "email"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    tenant: str = Field(max_length=64)
    email: str = Field(max_length=320)
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: Optional[datetime] = None


class AuditEntry(SQLModel, table=True):
    """Something a provider's staff member did that touches a family (viewing its profile,
    resending its login e-mail, retrying a webhook): kept for the owner to read."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_tenant_id", "tenant", "id"),
                      Index("ix_audit_entry_tenant_client", "tenant", "client_id", "id"))
    id: Optional[int] = Field(default=None, primary_key=True)
    tenant: str = Field(max_length=64)
    staff_email: str = Field(max_length=320)
    action: str = Field(max_length=32)  # view_as, resend_login, retry_webhook
    client_id: Optional[int] = Field(default=None, sa_column=Column(
        Integer, ForeignKey("client.id", ondelete="SET NULL"), nullable=True))
    detail: Optional[str] = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow)


class ActivityCount(SQLModel, table=True):
    """What families did themselves, counted per tenant, kind and day (the console's
    dashboard reads a few rows, however busy the tenant): logins, cancellations, make-ups,
    online payments (with their total), downloads, shares, answers."""

    __tablename__ = "activity_count"
    __table_args__ = (UniqueConstraint("tenant", "kind", "day", name="uq_activity_count"),
                      Index("ix_activity_count_tenant_day", "tenant", "day"))
    id: Optional[int] = Field(default=None, primary_key=True)
    tenant: str = Field(max_length=64)
    kind: str = Field(max_length=48)  # a webhook event type, or "login", "invoice.downloaded"
    day: date
    count: int = 0
    amount: int = 0  # minor units (payments), in the tenant's currency


class EmbedSighting(SQLModel, table=True):
    """A page the embed snippet reported running on (origin and path, nothing about who looked)
    and whether that origin may frame the tenant's widget, for the console's embed check."""

    __tablename__ = "embed_sighting"
    __table_args__ = (UniqueConstraint("tenant", "origin", "path", name="uq_embed_sighting"),
                      Index("ix_embed_sighting_tenant_last_seen", "tenant", "last_seen"))
    id: Optional[int] = Field(default=None, primary_key=True)
    tenant: str = Field(max_length=64)
    origin: str = Field(max_length=300)
    path: str = Field(max_length=500)
    allowed: bool
    first_seen: datetime = Field(default_factory=utcnow)
    last_seen: datetime = Field(default_factory=utcnow)


class RateLimitCounter(SQLModel, table=True):
    """Hits per key per fixed window, shared by every worker through the database."""

    __tablename__ = "rate_limit_counter"
    __table_args__ = (UniqueConstraint("key", "window_start", name="uq_rate_limit_key_window"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    key: str = Field(max_length=400)
    window_start: datetime = Field(index=True)
    hits: int = 0


class WebhookDelivery(SQLModel, table=True):
    """A webhook event for a provider; its sending state lives in its outbox message."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        # The in-order check: earlier events of the same client, by outbox order.
        Index("ix_webhook_delivery_tenant_client", "tenant", "client_id", "outbox_message_id"),
        Index("ix_webhook_delivery_tenant_id", "tenant", "id"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    outbox_message_id: int = Field(
        sa_column=Column(Integer, ForeignKey("outbox_message.id", ondelete="CASCADE"),
                         unique=True, nullable=False)
    )
    tenant: str = Field(max_length=64)
    webhook_id: str = Field(max_length=64, unique=True)
    event_type: str = Field(max_length=64)
    # No foreign key: the record of what was sent outlives the client it was about.
    client_id: Optional[int] = None
    last_attempt_at: Optional[datetime] = None
    response_status: Optional[int] = None


class PaymentCheckout(SQLModel, table=True):
    """One time a client set out to pay: at an online gateway, or by bank transfer."""

    __tablename__ = "payment_checkout"
    __table_args__ = (
        UniqueConstraint("reference", name="uq_payment_checkout_reference"),
        Index("ix_payment_checkout_payment", "payment_id", "created_at"),
        Index("ix_payment_checkout_gateway_ref", "tenant", "gateway", "gateway_ref"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    tenant: str = Field(max_length=64)
    # An attempt means nothing without its payment: it goes when the provider deletes that.
    payment_id: int = Field(sa_column=Column(
        Integer, ForeignKey("payment.id", ondelete="CASCADE"), nullable=False))
    gateway: str = Field(max_length=32)  # stripe, provider, bank_transfer
    reference: str = Field(max_length=64)  # ours, sent to the gateway
    gateway_ref: Optional[str] = Field(default=None, max_length=255)  # the gateway's, e.g. cs_...
    url: Optional[str] = Field(default=None, max_length=2000)
    amount: int
    currency: str = Field(max_length=3)
    status: str = Field(default="open", max_length=16)  # open, processing, completed, expired
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    completed_at: Optional[datetime] = None


class GatewayEvent(SQLModel, table=True):
    """A gateway notification already handled, so a replay or a duplicate changes nothing."""

    __tablename__ = "gateway_event"
    __table_args__ = (
        UniqueConstraint("gateway", "event_id", name="uq_gateway_event_gateway_event_id"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    tenant: str = Field(max_length=64)
    gateway: str = Field(max_length=32)
    event_id: str = Field(max_length=255)
    event_type: str = Field(max_length=128)
    received_at: datetime = Field(default_factory=utcnow)


class PaymentTransaction(SQLModel, table=True):
    """Money a gateway reported as received for a payment: the record behind `paid`."""

    __tablename__ = "payment_transaction"
    __table_args__ = (Index("ix_payment_transaction_payment", "payment_id"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    tenant: str = Field(max_length=64)
    # Kept (unlinked) if the provider deletes the payment: money was still received.
    payment_id: Optional[int] = Field(default=None, sa_column=Column(
        Integer, ForeignKey("payment.id", ondelete="SET NULL"), nullable=True))
    payment_ref: str = Field(max_length=128)  # the payment's provider id at the time
    checkout_id: Optional[int] = Field(default=None, sa_column=Column(
        Integer, ForeignKey("payment_checkout.id", ondelete="SET NULL"), nullable=True))
    gateway: str = Field(max_length=32)
    event_id: str = Field(max_length=255)
    transaction_ref: Optional[str] = Field(default=None, max_length=255)  # e.g. pi_...
    amount: int
    currency: str = Field(max_length=3)
    occurred_at: datetime
    created_at: datetime = Field(default_factory=utcnow)


def optional_link(target: str) -> Any:
    """A nullable, indexed foreign key that lets go (SET NULL) when its row is deleted: for
    links the portal records, which must not stop the provider deleting what they point at."""
    return Field(default=None, sa_column=Column(
        Integer, ForeignKey(f"{target}.id", ondelete="SET NULL"), nullable=True, index=True))


class AttendanceOrigin(SQLModel, table=True):
    """What the portal did to an attendance the provider owns: moved it from another session
    (a reschedule), or booked it with an entry pass (returned if cancelled in time).

    Kept beside the provider's row, not in it, so a provider's push never erases it."""

    __tablename__ = "attendance_origin"
    attendance_id: int = Field(sa_column=Column(
        Integer, ForeignKey("attendance.id", ondelete="CASCADE"), primary_key=True))
    tenant: str = Field(max_length=64)
    moved_from_session_id: Optional[int] = optional_link("session")
    entry_pass_id: Optional[int] = optional_link("entry_pass")
    entry_pass_use_id: Optional[int] = optional_link("entry_pass_use")
    # When the family cancelled the place here (so the list says "You cancelled", not the
    # provider's "Excused").
    cancelled_at: Optional[datetime] = None
    created_at: datetime = Field(default_factory=utcnow)


class MakeupWaitlist(SQLModel, table=True):
    """A make-up credit waiting for a place: offered the first one that frees up, held a while.

    One row per credit: joining again after leaving puts it back at the end of the queue."""

    __tablename__ = "makeup_waitlist"
    __table_args__ = (
        UniqueConstraint("credit_id", name="uq_makeup_waitlist_credit"),
        Index("ix_makeup_waitlist_tenant_status", "tenant", "status", "joined_at"),
        Index("ix_makeup_waitlist_status_tenant", "status", "tenant"),
        Index("ix_makeup_waitlist_offered", "offered_session_id", "status"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    tenant: str = Field(max_length=64)
    credit_id: int = Field(sa_column=Column(
        Integer, ForeignKey("makeup_credit.id", ondelete="CASCADE"), nullable=False))
    client_id: int = Field(sa_column=Column(
        Integer, ForeignKey("client.id", ondelete="CASCADE"), nullable=False, index=True))
    # waiting, offered (a place is held), taken, lapsed (the hold ran out), left, closed
    status: str = Field(default="waiting", max_length=16)
    joined_at: datetime = Field(default_factory=utcnow)
    offered_session_id: Optional[int] = Field(default=None, sa_column=Column(
        Integer, ForeignKey("session.id", ondelete="SET NULL"), nullable=True))
    offered_at: Optional[datetime] = None
    hold_until: Optional[datetime] = None
    ended_at: Optional[datetime] = None


class SchedulerLease(SQLModel, table=True):
    """Which process runs the scheduler's periodic rounds, until when: one at a time, however
    many `serve` and `worker` processes there are; a holder that dies hands over when it
    lapses."""

    __tablename__ = "scheduler_lease"
    name: str = Field(primary_key=True, max_length=32)
    holder: str = Field(max_length=64)
    expires_at: datetime


class Reminder(SQLModel, table=True):
    """A reminder that went out; its unique key is what stops a second one."""

    __tablename__ = "reminder"
    __table_args__ = (
        UniqueConstraint("tenant", "kind", "subject_id", "moment", name="uq_reminder_once"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    tenant: str = Field(max_length=64)
    kind: str = Field(max_length=32)  # "session", "makeup_expiry" or "offer_deadline"
    # The attendance, make-up credit or offer it is about, and the start, expiry or reminder
    # moment it announces (a moved session or a changed expiry earns a new reminder). No
    # foreign keys: the record of what was sent outlives what it was about.
    subject_id: int
    moment: datetime
    client_id: Optional[int] = None
    created_at: datetime = Field(default_factory=utcnow)


TIMESTAMPTZ = 1184  # PostgreSQL's type id of `timestamp with time zone`


class UTCDateTime(sqltypes.UTCDateTime):
    """sqlmodel's aware-UTC datetime, written to SQLite and read back in one step. Its own
    reading parses SQLite's text and then sets the zone with `datetime.replace` (0.83 us a
    value), and converts PostgreSQL's values with `astimezone` even when they are in UTC
    already (0.5 us): a booking page reads some 400 of them. Values of any other form take
    sqlmodel's way."""

    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        general = super().bind_processor(dialect)
        if dialect.name != "sqlite" or general is None:
            return general

        def to_sqlite(value: Any) -> Any:
            # A moment in UTC, as SQLite stores it (the text `from_sqlite` reads, no offset as
            # `isoformat` adds one): one C call, where the general way converts the zone, then
            # fills a format from seven fields (1.7 us a value against 1.0). A page's "now"
            # is bound a few times in each of several statements.
            if type(value) is datetime and value.tzinfo is UTC:
                return value.isoformat(" ", "microseconds")[:26]
            return general(value)
        return to_sqlite

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], Any] | None:
        general = super().result_processor(dialect, coltype)
        if dialect.name == "sqlite":
            parse = datetime.fromisoformat

            def from_sqlite(value: Any) -> Any:
                # Stored as "YYYY-MM-DD HH:MM:SS.ffffff", always UTC, without an offset.
                if value is None:
                    return None
                try:
                    moment = parse(value + "+00:00")
                except (TypeError, ValueError):
                    moment = None
                if moment is not None and moment.tzinfo is UTC:
                    return moment
                return general(value) if general else value
            return from_sqlite
        if dialect.name == "postgresql" and dialect.driver == "asyncpg" and coltype == TIMESTAMPTZ:
            # asyncpg decodes every `timestamptz` as an aware datetime in UTC, whatever the
            # connection's time zone: nothing to do (a sessions tab reads 270 of them).
            return None
        if dialect.name == "postgresql" and general is not None:
            def from_postgresql(value: Any) -> Any:
                # The connection's time zone is UTC (core.db), so psycopg tags values with it.
                return value if value is None or value.tzinfo is UTC else general(value)
            return from_postgresql
        return general


# Every datetime column reads through it (sqlmodel gives each field its own type).
for _table in SQLModel.metadata.tables.values():
    for _column in _table.columns:
        if type(_column.type) is sqltypes.UTCDateTime:
            _column.type = UTCDateTime()
