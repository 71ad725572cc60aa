"""Helping a family: find it, see it as staff see it, and open its profile as the family
sees it, read-only ("view as", audited)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, select

from widget_server.console import staff
from widget_server.core.access import Identity
from widget_server.core.errors import NotFound
from widget_server.core.models import Attendee, Booking, BookingShare, Client, Programme
from widget_server.web import web_sessions

FOUND_AT_MOST = 25


def search(db: Session, tenant: str, query: str) -> list[tuple[Any, list[str]]]:
    """Clients whose e-mail, name or child's name contains the words typed (at most 25, by
    name), each with its children's names. A staff search, not a page parents open: it reads
    the tenant's clients, stopping at 25."""
    words = query.strip().lower()
    if len(words) < 2:
        return []
    like = f"%{words.replace('%', '').replace('_', '')}%"
    children = select(Attendee.client_id).where(Attendee.tenant == tenant,
                                                func.lower(Attendee.name).like(like))
    clients = list(db.exec(
        select(Client).where(Client.tenant == tenant, or_(
            func.lower(Client.email).like(like), func.lower(Client.name).like(like),
            Client.id.in_(children)))
        .order_by(Client.name, Client.id).limit(FOUND_AT_MOST)).all())
    names: dict[int, list[str]] = {}
    if clients:
        for client_id, name in db.exec(
                select(Attendee.client_id, Attendee.name)
                .where(Attendee.tenant == tenant,
                       Attendee.client_id.in_([c.id for c in clients]))
                .order_by(Attendee.name)).all():
            names.setdefault(client_id, []).append(name)
    return [(c, names.get(c.id, [])) for c in clients]


@dataclass(frozen=True)
class Family:
    client: Any
    members: list[Any]
    bookings: list[tuple[Any, Any, Any]]  # booking, programme, attendee
    shares: list[Any]


def client_of(db: Session, tenant: str, external_id: str) -> Client:
    """One of the tenant's clients by provider id; NotFound for anyone else's."""
    client = db.exec(select(Client).where(Client.tenant == tenant,
                                          Client.external_id == external_id)).first()
    if client is None:
        raise NotFound("There is no such client.")
    return client


def family(db: Session, tenant: str, external_id: str) -> Family:
    """One of the tenant's clients with its members, bookings and shares; NotFound for
    anyone else's."""
    client = client_of(db, tenant, external_id)
    members = list(db.exec(select(Attendee).where(Attendee.tenant == tenant,
                                                  Attendee.client_id == client.id)
                           .order_by(Attendee.name)).all())
    bookings = list(db.exec(
        select(Booking, Programme, Attendee)
        .join(Programme, Programme.id == Booking.programme_id)
        .join(Attendee, Attendee.id == Booking.attendee_id)
        .where(Booking.tenant == tenant, Booking.client_id == client.id)
        .order_by(Attendee.name, Programme.name)).all())
    shares = list(db.exec(
        select(BookingShare).join(Booking, Booking.id == BookingShare.booking_id)
        .where(Booking.tenant == tenant, Booking.client_id == client.id,
               BookingShare.status != "revoked")).all())
    return Family(client, members, bookings, shares)


def view_as(db: Session, tenant: str, staff_email: str, external_id: str,
            now: datetime) -> str:
    """A read-only widget session showing the family's profile as they see it (an hour
    long); written to the audit log. Returns the session's cookie value."""
    client = client_of(db, tenant, external_id)
    staff.record(db, tenant, staff_email, "view_as", client.id, now)
    return web_sessions.start(db, tenant, Identity(client.email, client.id, client.locale),
                              now, kind=web_sessions.VIEW_AS, viewer=staff_email)
