"""Documents the provider shares with families, written through the sync API: a file and what
it is for (a title, and who sees it: one client's family, one attendee, everyone booked on a
programme, or every client of the tenant).

Unlike the other resources a document is written as the file itself, never as JSON, and is
neither imported nor exported; its metadata reads back like any item, references as the
provider's ids. Plain functions that take a database session; the HTTP layer is
`api.document_views`, the bytes live in `core.storage`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, BinaryIO, Literal, Mapping

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import delete
from sqlmodel import Session, select

from widget_server.api.fields import ExternalId, Input, Moment
from widget_server.api.resources import RESOURCE_OF_MODEL
from widget_server.api.sync import RefResolver, decode_cursor, encode_cursor
from widget_server.core.errors import NotFound, ValidationFailed, field_error, pydantic_errors
from widget_server.core.models import Attendee, Client, Document, FirstOpen, Programme
from widget_server.core.storage import Files, clean_filename
from widget_server.core.wire import jsonable

NAME = "documents"  # the resource's name in addresses and messages
KIND = "document"  # in first_open
AUDIENCES = ("client", "attendee", "programme", "tenant")
# The reference each audience needs; the others stay empty.
REFERENCES: dict[str, type] = {"client_id": Client, "attendee_id": Attendee,
                               "programme_id": Programme}
NEEDS = {"client": "client_id", "attendee": "attendee_id", "programme": "programme_id",
         "tenant": None}
FIELDS = ("title", "filename", "audience", *REFERENCES, "published_at")


class DocumentIn(Input):
    """What a document is for; sent as multipart form fields, or as query parameters next to
    a raw body."""

    title: Annotated[str, Field(min_length=1, max_length=200, description=(
        "What families see in their list, e.g. `Spring term letter`"))]
    filename: Annotated[str, Field(min_length=1, max_length=200, description=(
        "The name it downloads as; by default the multipart file's name, else the title. "
        "Folders are dropped and the ending follows the content (a PNG named `a.pdf` is "
        "`a.png`)"))] | None = None
    audience: Literal["client", "attendee", "programme", "tenant"] = Field(description=(
        "Who sees it: `client` (that client's family, with `client_id`), `attendee` (that "
        "attendee's family and adults one of the attendee's bookings is shared with, with "
        "`attendee_id`), `programme` (everyone who sees a booking of it, with `programme_id`), "
        "`tenant` (every client); only the audience's own reference may be given"))
    client_id: ExternalId | None = None
    attendee_id: ExternalId | None = None
    programme_id: ExternalId | None = None
    published_at: Moment | None = Field(default=None, description=(
        "The date families see; the time of the first upload if not given"))


class DocumentOut(BaseModel):
    """A document as the API reads it back."""

    id: ExternalId
    title: str
    filename: str
    content_type: Literal["application/pdf", "image/png", "image/jpeg", "image/webp",
                          "text/plain"] = Field(description="What the content was found to be")
    size: int = Field(description="Bytes")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    audience: Literal["client", "attendee", "programme", "tenant"]
    client_id: ExternalId | None
    attendee_id: ExternalId | None
    programme_id: ExternalId | None
    published_at: datetime


def parse_meta(values: Mapping[str, Any], external_id: str) -> DocumentIn:
    """The metadata from form fields or query parameters (text; an empty optional field is
    left out), checked, with the audience's reference required and the others refused."""
    given = {name: value for name, value in values.items()
             if not (value == "" and name not in ("title", "audience"))}
    try:
        meta = DocumentIn.model_validate(given)
    except ValidationError as exc:
        raise ValidationFailed(f"Invalid {NAME} item.", errors=pydantic_errors(exc)) from None
    errors = []
    if meta.id is not None and meta.id != external_id:
        errors.append(field_error(["id"], f"is {meta.id!r} but the URL says {external_id!r}"))
    for name in REFERENCES:
        if name == NEEDS[meta.audience] and getattr(meta, name) is None:
            errors.append(field_error([name], f"required when audience is {meta.audience!r}"))
        elif name != NEEDS[meta.audience] and getattr(meta, name) is not None:
            errors.append(field_error([name], f"must be empty when audience is "
                                              f"{meta.audience!r}"))
    if errors:
        raise ValidationFailed(f"Invalid {NAME} item.", errors=errors)
    return meta


def put_document(db: Session, tenant: str, external_id: str, meta: DocumentIn,
                 source: BinaryIO, *, files: Files, limit: int, now: datetime,
                 upload_name: str | None = None) -> tuple[dict[str, Any], bool]:
    """Create or replace a document with the bytes of `source`; returns (item, created?).
    Its references must be the tenant's; its content one of the allowed types, within `limit`
    bytes (else the transaction rolls back and nothing is kept)."""
    resolver, columns, errors = RefResolver(db, tenant), {}, []
    for name, model in REFERENCES.items():
        value = getattr(meta, name)
        columns[name] = None if value is None else resolver.resolve(model, value)
        if value is not None and columns[name] is None:
            errors.append(field_error([name], f"no {RESOURCE_OF_MODEL[model]} item with id "
                                              f"{value!r}"))
    if errors:
        raise ValidationFailed(f"Invalid {NAME} item.", errors=errors)
    row = _find(db, tenant, external_id)
    created = row is None
    if row is None:
        row = Document(tenant=tenant, external_id=external_id, title=meta.title, filename="",
                       content_type="", audience=meta.audience, published_at=now)
        db.add(row)
        db.flush()
    else:  # the old bytes go when the new ones are kept
        files.of(row.storage).delete(db, row)
    storage = files.default
    saved = storage.save(db, row.id, source, limit)
    row.title, row.audience = meta.title, meta.audience
    for name, value in columns.items():
        setattr(row, name, value)
    row.filename = clean_filename(meta.filename or upload_name or meta.title,
                                  saved.content_type, fallback=external_id)
    row.content_type, row.size, row.sha256 = saved.content_type, saved.size, saved.sha256
    row.storage, row.storage_key = storage.kind, saved.key
    row.published_at = meta.published_at or row.published_at
    row.updated_at = now
    db.flush()
    return _items(db, [row])[0], created


def get_document(db: Session, tenant: str, external_id: str) -> dict[str, Any]:
    row = _find(db, tenant, external_id)
    if row is None:
        raise NotFound(f"No {NAME} item with id {external_id!r}.")
    return _items(db, [row])[0]


def list_documents(db: Session, tenant: str, *, limit: int,
                   cursor: str | None = None) -> dict[str, Any]:
    """One page of the tenant's documents in a stable order, and the next page's cursor."""
    rows = db.exec(select(Document)
                   .where(Document.tenant == tenant, Document.id > decode_cursor(cursor))
                   .order_by(Document.id).limit(limit + 1)).all()
    page = rows[:limit]
    return {"items": _items(db, list(page)),
            "next_cursor": encode_cursor(page[-1].id) if len(rows) > limit else None}


def delete_document(db: Session, tenant: str, external_id: str, files: Files) -> None:
    """Delete a document, its bytes and the record of who opened it."""
    row = _find(db, tenant, external_id)
    if row is None:
        raise NotFound(f"No {NAME} item with id {external_id!r}.")
    files.of(row.storage).delete(db, row)
    db.exec(delete(FirstOpen).where(FirstOpen.tenant == tenant, FirstOpen.kind == KIND,
                                    FirstOpen.item_id == row.id))
    db.delete(row)
    db.flush()


def _find(db: Session, tenant: str, external_id: str) -> Document | None:
    return db.exec(select(Document).where(Document.tenant == tenant,
                                          Document.external_id == external_id)).first()


def _items(db: Session, rows: list[Document]) -> list[dict[str, Any]]:
    """Rows as the API shows them, references as the provider's ids (one query per kind of
    reference, whatever the number of rows)."""
    external: dict[str, dict[int, str]] = {}
    for name, model in REFERENCES.items():
        ids = {getattr(r, name) for r in rows if getattr(r, name) is not None}
        external[name] = dict(db.exec(select(model.id, model.external_id)
                                      .where(model.id.in_(ids))).all()) if ids else {}
    return [{"id": r.external_id, "title": r.title, "filename": r.filename,
             "content_type": r.content_type, "size": r.size, "sha256": r.sha256,
             "audience": r.audience,
             **{name: external[name].get(getattr(r, name)) for name in REFERENCES},
             "published_at": jsonable(r.published_at)} for r in rows]
