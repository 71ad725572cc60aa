"""HTTP layer of the provider's documents (`/api/v1/documents`): an upload is the file itself,
as a multipart form (a `file` part, the fields in the form or the query) or as the raw body
(the fields in the query).

The body is received into a temporary file (in memory up to 1 MB) within the size limit before
the database is touched: a slow upload must not hold a transaction, which on SQLite would hold
every other writer back. Then one transaction keeps the bytes and the row, or neither.
"""

from __future__ import annotations

import hashlib
import json
from tempfile import SpooledTemporaryFile
from typing import Any, AsyncIterator

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from widget_server.api import documents
from widget_server.api.documents import DocumentIn
from widget_server.api.views import authenticate, idempotent_write, query_limit, url_id
from widget_server.core.db import in_db
from widget_server.core.errors import (
    BadRequest,
    UnsupportedMediaType,
    ValidationFailed,
    field_error,
)
from widget_server.core.storage import too_large

# A multipart body's form fields and boundaries, on top of the file itself.
FORM_ALLOWANCE = 64 * 1024
IN_MEMORY = 1024 * 1024  # of an upload; the rest goes to a temporary file
HOW = ("Send the file itself: as multipart/form-data with a part named `file` and the fields "
       "(title, audience, ...), or as the raw body with its Content-Type and the fields in the "
       "query (?title=...&audience=...).")


async def put_document(request: Request) -> Response:
    """Create or replace a document: 201 created, 200 replaced, with its metadata."""
    tenant = authenticate(request)
    external_id = url_id(request)
    limit = request.app.state.settings.max_document_bytes
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "multipart/form-data":
        fields, upload = await _multipart(request, limit)
        try:
            meta = documents.parse_meta(_merged(_query(request), fields), external_id)
        except BaseException:
            await upload.close()
            raise
    elif media_type == "application/json" or media_type.endswith("+json"):
        raise UnsupportedMediaType(f"A document is not written as JSON. {HOW}")
    else:
        meta = documents.parse_meta(_query(request), external_id)  # before reading the body
        upload = await _spool(request.stream(), limit, request.headers.get("content-length"))
    files, clock = request.app.state.files, request.app.state.clock

    def action(db: Session) -> tuple[int, Any]:
        item, created = documents.put_document(
            db, tenant.slug, external_id, meta, upload.file, files=files, limit=limit,
            now=clock(), upload_name=upload.filename)
        return (201 if created else 200), item

    try:
        return await idempotent_write(request, tenant, await _what_was_sent(request, meta,
                                                                             upload), action)
    finally:
        await upload.close()


async def get_document(request: Request) -> Response:
    tenant = authenticate(request)
    external_id = url_id(request)
    return JSONResponse(await in_db(request, lambda db: documents.get_document(
        db, tenant.slug, external_id)))


async def list_documents(request: Request) -> Response:
    tenant = authenticate(request)
    limit, cursor = query_limit(request), request.query_params.get("cursor")
    return JSONResponse(await in_db(request, lambda db: documents.list_documents(
        db, tenant.slug, limit=limit, cursor=cursor)))


async def delete_document(request: Request) -> Response:
    """Delete a document and its bytes: 204."""
    tenant = authenticate(request)
    external_id = url_id(request)
    files = request.app.state.files

    def action(db: Session) -> tuple[int, Any]:
        documents.delete_document(db, tenant.slug, external_id, files)
        return 204, None

    return await idempotent_write(request, tenant, b"", action)


def _merged(query: dict[str, str], form: dict[str, Any]) -> dict[str, Any]:
    """A multipart upload's fields, from its form or its query, not both."""
    twice = sorted(set(query) & set(form))
    if twice:
        raise ValidationFailed(f"Invalid {documents.NAME} item.", errors=[
            field_error([name], "given both in the query and in the form") for name in twice])
    return query | form


def _query(request: Request) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name in fields:
            raise ValidationFailed(f"Invalid {documents.NAME} item.", errors=[
                field_error([name], "given more than once")])
        fields[name] = value
    return fields


async def _spool(stream: AsyncIterator[bytes], limit: int, declared: str | None) -> UploadFile:
    """The raw body in a temporary file; 413 as soon as it passes `limit` bytes."""
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    upload = UploadFile(SpooledTemporaryFile(max_size=IN_MEMORY), size=0)  # type: ignore[arg-type]
    try:
        async for chunk in stream:
            if (upload.size or 0) + len(chunk) > limit:
                raise too_large(limit)
            await upload.write(chunk)
    except BaseException:
        await upload.close()
        raise
    return upload


async def _multipart(request: Request, limit: int) -> tuple[dict[str, Any], UploadFile]:
    """The form's fields and its one file, received within the limit (413 as soon as the body
    passes it with room for the fields)."""
    allowed = limit + FORM_ALLOWANCE
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > allowed:
        raise too_large(limit)

    async def within_limit() -> AsyncIterator[bytes]:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > allowed:
                raise too_large(limit)
            yield chunk

    parser = MultiPartParser(request.headers, within_limit(), max_files=1,
                             max_fields=20, max_part_size=16 * 1024)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise BadRequest(f"The multipart body could not be read: {exc.message} {HOW}") from None
    fields: dict[str, Any] = {}
    upload, errors = None, []
    for name, value in form.multi_items():
        if isinstance(value, UploadFile) and name == "file":
            upload = value
        elif isinstance(value, UploadFile) or name == "file":
            errors.append(field_error([name], "only the part named `file` holds the file, "
                                              "with a filename"))
        elif name in fields:
            errors.append(field_error([name], "given more than once"))
        else:
            fields[name] = value
    if upload is None and not any(e["field"] == "file" for e in errors):
        errors.append(field_error(["file"], "required: the file, as a part named `file`"))
    if errors or (upload is not None and (upload.size or 0) > limit):
        for value in form.values():
            if isinstance(value, UploadFile):
                await value.close()
        if errors:
            raise ValidationFailed(f"Invalid {documents.NAME} item.", errors=errors)
        raise too_large(limit)
    assert upload is not None
    return fields, upload


async def _what_was_sent(request: Request, meta: DocumentIn, upload: UploadFile) -> bytes:
    """What an Idempotency-Key's retry must send again: the fields and the file's bytes (not
    the multipart boundary, which every retry draws anew)."""
    if not request.headers.get("idempotency-key"):
        return b""
    digest = await run_in_threadpool(_sha256, upload.file)
    return json.dumps({"fields": meta.model_dump(mode="json"), "filename": upload.filename,
                       "sha256": digest}, sort_keys=True).encode()


def _sha256(file: Any) -> str:
    file.seek(0)
    digest = hashlib.sha256()
    while piece := file.read(1024 * 1024):
        digest.update(piece)
    return digest.hexdigest()
