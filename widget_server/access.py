"""What a logged-in person may see: the one place that scopes profile queries.

A person is an e-mail address at one tenant. They see their own family's bookings (when the
address belongs to a client) and the bookings shared with that address through an *active*
share of the same tenant. Family-level records (orders, payments, benefits, credit) belong to
the client alone: an adult a booking is shared with sees the booking, not the family's money.
Every profile query takes its WHERE clause from here; anything else is a NotFound.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_
from sqlmodel import Session, select

from widget_server.errors import NotFound
from widget_server.models import Attendee, Booking, BookingShare, Client, Programme, WebSession


@dataclass(frozen=True)
class Access:
    """Who is looking: the tenant, their e-mail, and their client id if they are a client."""

    tenant: str
    email: str
    client_id: int | None

    @classmethod
    def of(cls, web_session: WebSession) -> "Access":
        return cls(web_session.tenant, web_session.email, web_session.client_id)

    def owns(self, booking: Booking) -> bool:
        return self.client_id is not None and booking.client_id == self.client_id


def for_email(session: Session, tenant: str, email: str) -> Access:
    """The access of an e-mail address (for requests without a login, like calendar feeds)."""
    client_id = session.exec(
        select(Client.id).where(Client.tenant == tenant, Client.email == email)).first()
    return Access(tenant, email, client_id)


def shared_with(access: Access):
    """The ids of bookings shared with this person (active shares only)."""
    return select(BookingShare.booking_id).where(
        BookingShare.tenant == access.tenant, BookingShare.email == access.email,
        BookingShare.status == "active")


def visible_bookings(access: Access) -> ColumnElement[bool]:
    """Bookings of the person's family, and bookings shared with them."""
    own = Booking.client_id == access.client_id if access.client_id is not None else false()
    return and_(Booking.tenant == access.tenant,
                or_(own, Booking.id.in_(shared_with(access))))


def family(model: Any, access: Access) -> ColumnElement[bool]:
    """Rows of a family-level table (orders, payments, credits...) that are the person's."""
    if access.client_id is None:
        return false()
    return and_(model.tenant == access.tenant, model.client_id == access.client_id)


def visible_members(access: Access) -> ColumnElement[bool]:
    """Family members the person may switch between: their own, and those of shared bookings."""
    booked = select(Booking.attendee_id).where(visible_bookings(access))
    own = Attendee.client_id == access.client_id if access.client_id is not None else false()
    return and_(Attendee.tenant == access.tenant, or_(own, Attendee.id.in_(booked)))


@dataclass(frozen=True)
class BookingView:
    """A booking with what every booking page shows about it."""

    booking: Booking
    programme: Programme
    attendee: Attendee
    owned: bool

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
    """A booking the person may see, by its provider id; NotFound for anything else."""
    row = session.exec(
        select(Booking, Programme, Attendee)
        .join(Programme, Programme.id == Booking.programme_id)
        .join(Attendee, Attendee.id == Booking.attendee_id)
        .where(visible_bookings(access), Booking.external_id == external_id)
    ).first()
    if row is None:
        raise NotFound("There is no such booking in your profile.")
    booking, programme, attendee = row
    return BookingView(booking, programme, attendee, access.owns(booking))


def client_of(session: Session, access: Access) -> Client | None:
    if access.client_id is None:
        return None
    return session.exec(select(Client).where(Client.tenant == access.tenant,
                                             Client.id == access.client_id)).first()
