"""What a logged-in person may see: the one place that scopes profile queries.

A person is an e-mail address at one tenant. They see their own family's bookings (when the
address belongs to a client) and the bookings shared with that address through an *active*
share of the same tenant. Family-level records (orders, payments, benefits, credit) belong to
the client alone: an adult a booking is shared with sees the booking, not the family's money.
A share's access level decides what else: "view" only looks (and gets the booking's e-mails);
"full" (a co-parent) also sees the booking's payments and may act on it (`can_act`).
Every profile query takes its WHERE clause from here; anything else is a NotFound.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, false, func, null, union_all
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from widget_server.core.errors import NotFound
from widget_server.core.models import (
    Attendee,
    Booking,
    BookingShare,
    Client,
    MakeupCredit,
    Payment,
    Programme,
    WebSession,
)
from widget_server.core.records import Shape

FULL, VIEW = "full", "view"

# Who is looking, as bound parameters: a statement built once with these in place of a
# person's values serves every person of the same shape (a client, or someone who only has
# shares). Building a statement costs several times more than running it from SQLAlchemy's
# cache, and a page runs a dozen.
_TENANT, _EMAIL, _CLIENT_ID = (bindparam("who_tenant"), bindparam("who_email"),
                               bindparam("who_client"))


@dataclass(frozen=True)
class Identity:
    """Who is logging in: a client of the tenant, or an adult a booking is shared with."""

    email: str
    client_id: int | None
    locale: str | None = None


@dataclass(frozen=True)
class Access:
    """Who is looking: the tenant, their e-mail, and their client id if they are a client."""

    tenant: str
    email: str
    client_id: int | None
    # Staff looking through the console ("view as"): sees what the family sees, and leaves
    # no trace of its own (no "opened" marks, no webhooks).
    read_only: bool = False
    # Whether any booking may be shared with this person: True unless the statement that
    # found them said none is (`web_sessions.load_with_client`). A client without shares,
    # most families, is then scoped by their client id alone: no share subquery in each of a
    # page's statements.
    shares: bool = True

    @classmethod
    def of(cls, web_session: WebSession, shares: bool = True) -> "Access":
        return cls(web_session.tenant, web_session.email, web_session.client_id,
                   web_session.kind == "view_as", shares)

    @property
    def family_only(self) -> bool:
        """A client with no booking shared with them: they see their own family's rows only."""
        return self.client_id is not None and not self.shares

    def as_parameters(self) -> "Access":
        """This person's shape, with bound parameters for values: what `prepared` builds
        statements with."""
        return Access(_TENANT, _EMAIL, _CLIENT_ID if self.client_id is not None else None,  # type: ignore[arg-type]
                      shares=self.shares)

    def shape(self) -> tuple[bool, bool]:
        """What `prepared` builds a statement once for: a client or not, shares or not."""
        return self.client_id is None, self.shares

    def parameters(self) -> dict[str, Any]:
        """The values of `as_parameters`' bound parameters."""
        return {"who_tenant": self.tenant, "who_email": self.email,
                "who_client": self.client_id}

    def owns(self, booking: Booking) -> bool:
        return self.client_id is not None and booking.client_id == self.client_id


def for_email(session: Session, tenant: str, email: str) -> Access:
    """The access of an e-mail address (for requests without a login, like calendar feeds)."""
    client_id = session.exec(
        select(Client.id).where(Client.tenant == tenant, Client.email == email)).first()
    return Access(tenant, email, client_id)


def shared_with(access: Access, level: str | None = None):
    """The ids of bookings shared with this person (active shares only; of one level if given)."""
    query = select(BookingShare.booking_id).where(
        BookingShare.tenant == access.tenant, BookingShare.email == access.email,
        BookingShare.status == "active")
    return query.where(BookingShare.access == level) if level else query


# Aliases for the subqueries below, built once: building an alias of a table copies all its
# columns, which cost more than the rest of a page's queries together when done per request.
_MY_BOOKING = aliased(Booking)
_PAYMENT_ALIASES = aliased(Payment), aliased(Payment), aliased(Booking)
_MEMBER_ALIASES = aliased(Attendee), aliased(Booking)
_MAKEUP_ALIASES = aliased(MakeupCredit), aliased(MakeupCredit), aliased(Booking)


def visible_bookings(access: Access) -> ColumnElement[bool]:
    """Bookings of the person's family, and bookings shared with them: one id list, each half
    read by an index that leads with the tenant and the owner (the family's by client, the
    shared ones by e-mail). An OR of the two reads the tenant's every booking; both halves are
    the tenant's, so it is not named again (SQLite's planner would take the tenant's whole
    index instead of these ids)."""
    if access.client_id is None:
        return Booking.id.in_(shared_with(access))
    if access.family_only:  # by the (tenant, client) index
        return and_(Booking.tenant == access.tenant, Booking.client_id == access.client_id)
    mine = _MY_BOOKING
    return Booking.id.in_(union_all(
        select(mine.id).where(mine.tenant == access.tenant, mine.client_id == access.client_id),
        shared_with(access)))


def family(model: Any, access: Access) -> ColumnElement[bool]:
    """Rows of a family-level table (orders, payments, credits...) that are the person's."""
    if access.client_id is None:
        return false()
    return and_(model.tenant == access.tenant, model.client_id == access.client_id)


def visible_payments(access: Access) -> ColumnElement[bool]:
    """Payments the person sees and may pay: the family's, and those of a booking shared with
    them at full access (a co-parent pays the booking's fees, not the family's other money)."""
    # One list of ids, each half read by an index (the family's by client, the shared ones by
    # booking): an OR of the two reads the tenant's every payment. Aliases keep the
    # subquery its own when the outer query joins these tables too.
    mine, theirs, booking = _PAYMENT_ALIASES
    own = select(mine.id).where(mine.tenant == access.tenant, mine.client_id == access.client_id)
    if access.family_only:  # the family's ids alone, as a list: no (tenant, client) index
        return Payment.id.in_(own)
    shared = (select(theirs.id)
              .join(booking, booking.id == theirs.booking_id)
              .where(theirs.booking_id.in_(shared_with(access, FULL)),  # the tenant's shares
                     booking.client_id == theirs.client_id))
    ids = shared if access.client_id is None else union_all(own, shared)
    # Both halves are the tenant's already (its client, its shares); naming the tenant again
    # would lead SQLite's planner to the tenant's whole index instead of these ids.
    return Payment.id.in_(ids)


def visible_members(access: Access) -> ColumnElement[bool]:
    """Family members the person may switch between: their own, and those of shared bookings."""
    if access.family_only:  # by the (tenant, client) index
        return and_(Attendee.tenant == access.tenant, Attendee.client_id == access.client_id)
    own, booked = _MEMBER_ALIASES
    shared = select(booked.attendee_id).where(booked.id.in_(shared_with(access)))
    ids = shared if access.client_id is None else union_all(
        select(own.id).where(own.tenant == access.tenant, own.client_id == access.client_id),
        shared)
    return Attendee.id.in_(ids)


def visible_makeups(access: Access) -> ColumnElement[bool]:
    """Make-up credits the person sees: the family's, and those of a child whose booking is
    shared with them (the owner's credits for that child)."""
    return _makeups(access)


def actionable_makeups(access: Access) -> ColumnElement[bool]:
    """Make-up credits the person may spend: the family's, and those of a child shared with
    them at full access."""
    return _makeups(access, FULL)


def _makeups(access: Access, level: str | None = None) -> ColumnElement[bool]:
    # As `visible_payments`: one id list, each half read by an index, not an OR that reads
    # the tenant's every credit; both halves are the tenant's (its client, its shares).
    mine, theirs, booking = _MAKEUP_ALIASES
    own = select(mine.id).where(mine.tenant == access.tenant, mine.client_id == access.client_id)
    if access.family_only:  # the family's ids alone, as a list: no (tenant, client) index
        return MakeupCredit.id.in_(own)
    shared = (select(theirs.id)
              .join(booking, and_(booking.client_id == theirs.client_id,
                                  booking.attendee_id == theirs.attendee_id))
              .where(booking.id.in_(shared_with(access, level))))
    ids = shared if access.client_id is None else union_all(own, shared)
    return MakeupCredit.id.in_(ids)


@dataclass(frozen=True)
class BookingView:
    """A booking with what every booking page shows about it."""

    booking: Booking
    programme: Programme
    attendee: Attendee
    owned: bool
    # How a booking someone else owns reaches this person: "full" or "view" (None if owned,
    # or when the loader did not ask).
    share_access: str | None = None

    @property
    def price(self) -> int | None:
        return self.booking.price if self.booking.price is not None else self.programme.price

    def currency(self, fallback: str) -> str:
        return self.booking.currency or self.programme.currency or fallback

    @property
    def addons(self) -> list[dict]:
        """The booked add-ons, named and priced from the programme's list."""
        offered = {a.get("id"): a for a in self.programme.addons or []}
        return [offered[i] for i in self.booking.addons or [] if i in offered]


def get_booking(session: Session, access: Access, external_id: str) -> BookingView:
    """A booking the person may see, by its provider id (read-only records); NotFound for
    anything else."""
    return booking_view(access, _BOOKING_VIEW.first(
        session, prepared(_booking_of, access), access.parameters() | {"booking": external_id}))


def booking_view(access: Access, row: tuple | None) -> BookingView:
    """The view of a row of `booking_statement` (its first four groups); NotFound for None."""
    if row is None:
        raise NotFound("There is no such booking in your profile.")
    booking, programme, attendee, level = row[:4]
    owned = access.owns(booking)
    return BookingView(booking, programme, attendee, owned, None if owned else level or VIEW)


# How `booking_statement`'s rows read back: a booking, its programme and child as records
# (every booking page reads one), and the share's level (the expression depends on the person).
BOOKING_VIEW = (Booking, Programme, Attendee, func.min(BookingShare.access))
_BOOKING_VIEW = Shape(*BOOKING_VIEW)


def booking_statement(who: Access, *columns: Any) -> Any:
    """The statement of a booking the person may see, by its provider id (the parameter
    "booking"), as `BOOKING_VIEW` reads it, and any other `columns` after it (a page that
    joins more to the booking's row: its statement built once, with `prepared`)."""
    # A family with no shares owns every booking it sees: no share to look up.
    level = null() if who.family_only else _share_level(who)
    return (Shape(Booking, Programme, Attendee, level, *columns).select()
            .join(Programme, Programme.id == Booking.programme_id)
            .join(Attendee, Attendee.id == Booking.attendee_id)
            .where(visible_bookings(who), Booking.external_id == bindparam("booking")))


def _booking_of(who: Access):
    return booking_statement(who)


def _share_level(access: Access):
    """The best level among the person's active shares of the booking: "full" sorts before
    "view", so MIN picks full when the provider set up more than one share."""
    return (select(func.min(BookingShare.access))
            .where(BookingShare.booking_id == Booking.id, BookingShare.tenant == access.tenant,
                   BookingShare.email == access.email, BookingShare.status == "active")
            .correlate(Booking).scalar_subquery())


def can_act(access: Access, booking: BookingView | Booking,
            session: Session | None = None) -> bool:
    """Whether the person may act on a booking they can see (cancel a session, book a make-up,
    pay): its family, or an adult it is shared with at full access; view-only shares look.

    A `BookingView` from `get_booking` already knows; a plain `Booking` needs `session`."""
    if isinstance(booking, BookingView):
        if booking.owned:
            return True
        if booking.share_access is not None:
            return booking.share_access == FULL
        booking = booking.booking
    if access.owns(booking):
        return True
    if session is None:
        raise ValueError("can_act needs a database session to check a plain Booking's shares")
    return session.exec(
        shared_with(access, FULL).where(BookingShare.booking_id == booking.id)).first() is not None


def client_of(session: Session, access: Access) -> Client | None:
    """The family's client row, to change it; None for an adult a booking is shared with."""
    if access.client_id is None:
        return None
    return session.exec(_CLIENT, params=access.parameters()).first()


def client_record(session: Session, access: Access) -> Client | None:
    """The same client as a read-only record, for pages (see core.records)."""
    if access.client_id is None:
        return None
    found = _CLIENT_RECORD.first(session, _CLIENT_READ, access.parameters())
    return found[0] if found else None


# Every page reads its client: built once (see `prepared`).
_CLIENT = select(Client).where(Client.tenant == _TENANT, Client.id == _CLIENT_ID)
_CLIENT_RECORD = Shape(Client)
_CLIENT_READ = _CLIENT_RECORD.select().where(Client.tenant == _TENANT, Client.id == _CLIENT_ID)


_PREPARED: dict[tuple[Any, bool, bool], Any] = {}


def prepared(build: Any, access: Access) -> Any:
    """The statement `build(who)` makes for `access`'s shape, built once per shape. `build`
    must take every value from `who` (the person, as bound parameters) or from bound
    parameters of its own, given at execution with `access.parameters()`; and be a function
    defined once (a module's), as it is the cache's key."""
    key = (build, *access.shape())
    statement = _PREPARED.get(key)
    if statement is None:
        statement = _PREPARED[key] = build(access.as_parameters())
    return statement


def run(db: Session, build: Any, access: Access, **values: Any) -> list[Any]:
    """The rows of `build`'s statement for `access` (see `prepared`) with these values too,
    read past the ORM (see core.records): each row a tuple of records and values, or the one
    record or value when the statement selects one thing, as `Session.exec` gives them. For
    pages, which only read."""
    key = (build, *access.shape())
    found = _READS.get(key)
    if found is None:
        statement = prepared(build, access)
        shape = Shape(*(column["expr"] for column in statement.column_descriptions))
        found = _READS[key] = (
            statement.with_only_columns(*shape.columns, maintain_column_froms=True), shape)
    statement, shape = found
    rows = shape.rows(db, statement, access.parameters() | values)
    return rows if shape.width > 1 else [row[0] for row in rows]


_READS: dict[tuple[Any, bool, bool], tuple[Any, Shape]] = {}
