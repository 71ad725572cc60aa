"""Documents the provider shares, as a family sees them: a list, newest first, each "new" until
this person opened it, and one document to download.

Who sees a document follows its audience and the person's access (`core.access`):
- `client`: that client's family;
- `attendee`: the attendee's family, and adults a booking of that attendee is shared with;
- `programme`: whoever sees a booking of that programme (the family, and its shares);
- `tenant`: every client of the tenant (an adult who only has a share is not one).
An adult with a view-only share therefore sees the shared child's documents and those of the
shared booking's programme, nothing else; anyone else's document is a NotFound.

The list is one statement whatever the number of documents: the ids of each audience the
person is in, each read by an index that leads with the tenant and the owner (an OR of them
would read the tenant's every document), then the rows by id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, literal_column, or_, union_all
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from widget_server.core import access as scope
from widget_server.core.access import Access
from widget_server.core.errors import NotFound
from widget_server.core.i18n import gettext as _
from widget_server.core.models import Attendee, Booking, Document, FirstOpen, Programme
from widget_server.core.records import Shape
from widget_server.core.storage import IMAGES, JPEG, PDF, PNG, TEXT, WEBP
from widget_server.core.tenants import Tenant
from widget_server.delivery.webhooks import DOCUMENT_VIEWED, enqueue_event
from widget_server.profile.opened import first_open

KIND = "document"  # in first_open
# What a type is called in the list (the formats' own names need no translation).
TYPE_NAMES = {PDF: "PDF", PNG: "PNG", JPEG: "JPEG", WEBP: "WebP"}


@dataclass(frozen=True)
class Shared:
    """A document in the list."""

    external_id: str
    title: str
    content_type: str
    size: int
    published_at: datetime
    new: bool  # this person has not opened it yet
    about: str | None  # the child's or the programme's name, for documents of one of them

    @property
    def image(self) -> bool:
        return self.content_type in IMAGES

    @property
    def type_name(self) -> str:
        return TYPE_NAMES.get(self.content_type) or (_("Text") if self.content_type == TEXT
                                                     else self.content_type)


def load_documents(db: Session, access: Access) -> list[Shared]:
    """Every document this person may see, newest first."""
    return [Shared(doc.external_id, doc.title, doc.content_type, doc.size, doc.published_at,
                   opened is None, child or programme)
            for doc, child, programme, opened in _LISTED.rows(
                db, scope.prepared(_listed, access), access.parameters())]


def open_document(db: Session, tenant: Tenant, access: Access, external_id: str,
                  now: datetime, *, record: bool = True) -> Any:
    """A document this person may see (a read-only record), NotFound otherwise. Its first
    opening by this person is recorded (no longer "new") and told to the provider."""
    found = _ONE.first(db, scope.prepared(_one, access),
                       access.parameters() | {"document": external_id})
    if found is None:
        raise NotFound("There is no such document in your profile.")
    doc, attendee = found
    if record and first_open(db, access, KIND, doc.id, now):
        enqueue_event(db, tenant, DOCUMENT_VIEWED, client_id=access.client_id, at=now, data={
            "attendee_id": attendee, "document_id": doc.external_id, "email": access.email,
            "opened_at": now})
    return doc


def _audiences(who: Access, doc: Any) -> list[ColumnElement[bool]]:
    """For each audience the person is in, what makes a document (`doc`) theirs. A document
    holds only its audience's own reference (`api.documents` refuses any other), so the
    reference says the audience, and each condition is one index's (tenant, owner): naming
    the audience too led SQLite to (tenant, audience), every child's documents."""
    members = select(Attendee.id).where(scope.visible_members(who))
    programmes = select(Booking.programme_id).where(scope.visible_bookings(who))
    reach = [doc.attendee_id.in_(members), doc.programme_id.in_(programmes)]
    if who.client_id is not None:
        # "tenant" written into the SQL, not bound: in PostgreSQL's generic plan a bound
        # audience counted for a third of the tenant's documents (the client ones too), the
        # plan looked dearer than one made for the values, and the statement was planned
        # again on every run (0.9 ms of planning for 0.25 ms of work).
        reach += [doc.client_id == who.client_id, doc.audience == literal_column("'tenant'")]
    return reach


# Built once (see core.access): the documents read by id in the list's subquery, and the
# names shown next to them (aliases, so that the subqueries' own tables stay their own).
_VISIBLE, _CHILD, _PROGRAMME = aliased(Document), aliased(Attendee), aliased(Programme)
_LISTED = Shape(Document, _CHILD.name, _PROGRAMME.name, FirstOpen.id)


def _listed(who: Access):
    ids = union_all(*(select(_VISIBLE.id).where(_VISIBLE.tenant == who.tenant, reach)
                      for reach in _audiences(who, _VISIBLE)))
    return (_LISTED.select()
            .outerjoin(_CHILD, _CHILD.id == Document.attendee_id)
            .outerjoin(_PROGRAMME, _PROGRAMME.id == Document.programme_id)
            .outerjoin(FirstOpen, and_(FirstOpen.tenant == who.tenant,
                                       FirstOpen.email == who.email, FirstOpen.kind == KIND,
                                       FirstOpen.item_id == Document.id))
            .where(Document.id.in_(ids))
            .order_by(Document.published_at.desc(), Document.id.desc()))


_ONE = Shape(Document, _CHILD.external_id)


def _one(who: Access):
    return (_ONE.select()
            .outerjoin(_CHILD, _CHILD.id == Document.attendee_id)
            .where(Document.tenant == who.tenant, Document.external_id == bindparam("document"),
                   or_(*_audiences(who, Document))))
