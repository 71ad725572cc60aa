"""'Download all my data': everything the profile holds about a family, as one JSON document.

Items are written as the provider sync API writes them (the same field names and provider
ids), so the file reads like the provider's own records of the family. Invoice PDFs are left
out (the file says which invoices have one; they download from the Orders tab).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import true
from sqlmodel import Session, select

from widget_server.account import details as account
from widget_server.api.resources import RESOURCES
from widget_server.api.sync import jsonable, serialize
from widget_server.core.access import Access
from widget_server.core.models import (
    Assessment,
    Attendance,
    Attendee,
    Booking,
    BookingShare,
    ClassSession,
    Client,
    CreditEntry,
    Discount,
    EntryPass,
    Invoice,
    MakeupCredit,
    Order,
    Payment,
    Programme,
    ReportCard,
    SessionNote,
)
from widget_server.core.tenants import Tenant
from widget_server.delivery import preferences
from widget_server.profile.documents import load_documents

# Family-level resources: every row whose client_id is the family's.
FAMILY = (("attendees", Attendee), ("bookings", Booking), ("makeup_credits", MakeupCredit),
          ("payments", Payment), ("invoices", Invoice), ("orders", Order),
          ("entry_passes", EntryPass), ("discounts", Discount), ("credits", CreditEntry))


def by_id(rows) -> list:
    """The family's rows in a stable order, sorted here: an ORDER BY id would tempt SQLite's
    planner into the tenant's (tenant, id) index instead of the family's own."""
    return sorted(rows, key=lambda row: row.id)


def _items(db: Session, resource: str, rows: list) -> list[dict[str, Any]]:
    return serialize(db, RESOURCES[resource], rows)


def export(db: Session, tenant: Tenant, access: Access, now: datetime) -> dict[str, Any]:
    """The person's data: their family's records, and what other families share with them."""
    client = db.exec(select(Client).where(Client.tenant == access.tenant,
                                          Client.id == access.client_id)).first() \
        if access.client_id is not None else None
    document: dict[str, Any] = {
        "exported_at": jsonable(now),
        "provider": {"name": tenant.name, "address": tenant.config.address},
        "login_email": access.email,
        "shared_with_me": [asdict(s) for s in account.shared_with_me(db, access)],
    }
    if client is None:
        return document
    document["client"] = _items(db, "clients", [client])[0]
    document["settings"] = {
        "notifications": preferences.preferences(client),
        "deletion_requested_at": jsonable(client.deletion_requested_at),
    }
    bookings = select(Booking.id).where(Booking.tenant == access.tenant,
                                        Booking.client_id == client.id)
    for key, model in FAMILY:
        rows = by_id(db.exec(select(model).where(model.tenant == access.tenant,
                                                 model.client_id == client.id)).all())
        document[key] = _items(db, key.replace("_", "-"), rows)
    for invoice in document["invoices"]:
        invoice["has_pdf"] = invoice.pop("pdf_base64") is not None
    attendance = by_id(db.exec(select(Attendance).where(Attendance.tenant == access.tenant,
                                                        Attendance.booking_id.in_(bookings))
                               ).all())
    document["attendance"] = _items(db, "attendance", attendance)
    document["programmes"] = _items(db, "programmes", list(db.exec(
        select(Programme).where(Programme.tenant == access.tenant, Programme.id.in_(
            select(Booking.programme_id).where(Booking.id.in_(bookings))))
        .order_by(Programme.id)).all()))
    document["sessions"] = _items(db, "sessions", list(db.exec(
        # The family's own sessions, by the bookings' places (the tenant's already): naming the
        # tenant again would send SQLite's planner through the tenant's every session.
        select(ClassSession).where(ClassSession.id.in_(
            select(Attendance.session_id).where(Attendance.tenant == access.tenant,
                                                Attendance.booking_id.in_(bookings))))
        .order_by(ClassSession.starts_at, ClassSession.id)).all()))
    # The children's progress as the family sees it: every assessment, the notes written for
    # the family (not the provider's staff notes) and the published report cards.
    children = select(Attendee.id).where(Attendee.tenant == access.tenant,
                                         Attendee.client_id == client.id)
    document["assessments"] = _items(db, "assessments", by_id(db.exec(
        select(Assessment).where(Assessment.tenant == access.tenant,
                                 Assessment.attendee_id.in_(children))).all()))
    document["session_notes"] = _items(db, "session-notes", by_id(db.exec(
        select(SessionNote).join(Attendance, Attendance.id == SessionNote.attendance_id)
        .where(Attendance.tenant == access.tenant, Attendance.booking_id.in_(bookings),
               SessionNote.visibility == "family")).all()))
    document["report_cards"] = _items(db, "report-cards", by_id(db.exec(
        select(ReportCard).where(ReportCard.tenant == access.tenant,
                                 ReportCard.attendee_id.in_(children),
                                 ReportCard.published == true())).all()))
    # What the provider shared with the family (the files themselves download from the
    # Documents screen).
    document["documents"] = [
        {"id": d.external_id, "title": d.title, "content_type": d.content_type, "size": d.size,
         "published_at": jsonable(d.published_at)} for d in load_documents(db, access)]
    document["shares"] = _items(db, "shares", by_id(db.exec(
        select(BookingShare).where(BookingShare.tenant == access.tenant,
                                   BookingShare.booking_id.in_(bookings))).all()))
    return document
