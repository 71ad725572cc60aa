"""HTTP layer of the provider sync API (`/api/v1`): authentication, bodies, idempotency."""

from __future__ import annotations

import json
from datetime import date
from typing import Any, Callable

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from widget_server.api import idempotency, sync
from widget_server.api.bulk_import import import_lines
from widget_server.api.fields import EXTERNAL_ID
from widget_server.api.openapi import document
from widget_server.api.resources import RESOURCES
from widget_server.auth.login import find_identity
from widget_server.core.db import in_db
from widget_server.core.errors import (
    BadRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    ValidationFailed,
    field_error,
    pydantic_errors,
)
from widget_server.core.profile_url import profile_url
from widget_server.core.tenants import Tenant
from widget_server.core.wire import read_json
from widget_server.delivery.notices import Notices


def authenticate(request: Request) -> Tenant:
    """The tenant whose API key is presented as a Bearer token."""
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("Send the provider API key as 'Authorization: Bearer <key>'.")
    tenant = request.app.state.tenants.by_api_key(key.strip())
    if tenant is None:
        raise Unauthorized("The API key is not valid.")
    request.state.tenant = tenant.slug  # for the request's log line
    return tenant


def tenant_today(request: Request, tenant: Tenant) -> date:
    """The date now where the provider is (the app's clock, in the tenant's time zone)."""
    return request.app.state.clock().astimezone(tenant.zone).date()


def resource_name(request: Request) -> str:
    name = request.path_params["resource"]
    if name == "import" and "external_id" not in request.path_params:
        raise MethodNotAllowed("The import takes POST only.", headers={"Allow": "POST"})
    if name not in RESOURCES:
        raise NotFound(f"No resource {name!r}. Resources: {', '.join(RESOURCES)}.")
    return name


def url_id(request: Request) -> str:
    """The provider's id in the URL, held to the rule for an id in a body."""
    try:
        return EXTERNAL_ID.validate_python(request.path_params["external_id"])
    except ValidationError as exc:
        raise ValidationFailed("Invalid id in the URL.",
                               errors=pydantic_errors(exc, prefix=("id",))) from None


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it grows past the limit."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes) -> Any:
    try:
        return read_json(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"The body is not valid JSON: {exc}.") from None


async def idempotent_write(request: Request, tenant: Tenant, body: bytes,
                           action: Callable[[Session], tuple[int, Any]]) -> Response:
    """Perform a write; with an Idempotency-Key, a retry of the request gets the same answer."""
    key = request.headers.get("idempotency-key")
    if key is not None and not (0 < len(key) <= 255):
        raise ValidationFailed("Invalid Idempotency-Key.",
                               errors=[field_error(["Idempotency-Key"], "1 to 255 characters")])
    print_ = idempotency.fingerprint(request.method, request.url.path, body)

    def work(session: Session) -> tuple[int, Any]:
        if key:
            replay = idempotency.find(session, tenant.slug, key, print_)
            if replay:
                return replay.status_code, json.loads(replay.body)
        status, payload = action(session)
        if key:
            idempotency.remember(session, tenant.slug, key, print_, status, payload)
        return status, payload

    try:
        status, payload = await in_db(request, work)
    except IntegrityError:
        if not key:
            raise
        # A concurrent request with the same key won; answer what it answered.
        status, payload = await in_db(request, work)
    if status == 204:
        return Response(status_code=204)
    return JSONResponse(payload, status_code=status)


def query_limit(request: Request) -> int:
    raw = request.query_params.get("limit", str(sync.DEFAULT_LIMIT))
    if not raw.isdigit() or not 1 <= int(raw) <= sync.MAX_LIMIT:
        raise ValidationFailed("Invalid limit.", errors=[
            field_error(["limit"], f"must be a whole number from 1 to {sync.MAX_LIMIT}")])
    return int(raw)


async def list_items(request: Request) -> Response:
    tenant = authenticate(request)
    name = resource_name(request)
    limit, cursor = query_limit(request), request.query_params.get("cursor")
    filters = {key: request.query_params.getlist(key) for key in RESOURCES[name].filters
               if key in request.query_params}
    page = await in_db(request, lambda s: sync.list_items(s, tenant.slug, name, limit=limit,
                                                           cursor=cursor, filters=filters))
    return JSONResponse(page)


async def get_item(request: Request) -> Response:
    tenant = authenticate(request)
    name = resource_name(request)
    external_id = url_id(request)
    item = await in_db(request, lambda s: sync.get_one(s, tenant.slug, name, external_id))
    return JSONResponse(item)


async def put_item(request: Request) -> Response:
    tenant = authenticate(request)
    name = resource_name(request)
    external_id = url_id(request)
    body = await read_body(request, request.app.state.settings.max_body_bytes)
    data = parse_json(body)
    today = tenant_today(request, tenant)
    notices = Notices.of(request.app, tenant)

    def action(session: Session) -> tuple[int, Any]:
        item, created = sync.upsert(session, tenant.slug, name, external_id, data, today=today,
                                    notices=notices)
        return (201 if created else 200), item

    return await idempotent_write(request, tenant, body, action)


async def delete_item(request: Request) -> Response:
    tenant = authenticate(request)
    name = resource_name(request)
    external_id = url_id(request)

    def action(session: Session) -> tuple[int, Any]:
        sync.delete_one(session, tenant.slug, name, external_id)
        return 204, None

    return await idempotent_write(request, tenant, b"", action)


async def profile_url_for(request: Request) -> Response:
    """WIDGET_PROFILE_URL for the provider's own e-mails: `?email=` of a client."""
    tenant = authenticate(request)
    email = request.query_params.get("email", "").strip().lower()
    if "@" not in email:
        raise ValidationFailed("Give the client's e-mail address.",
                               errors=[field_error(["email"], "required, an e-mail address")])
    settings, signer = request.app.state.settings, request.app.state.signer
    known = await in_db(request, lambda s: find_identity(s, tenant.slug, email) is not None)
    if not known:
        raise NotFound(f"No client or shared booking with the e-mail {email!r}.")
    return JSONResponse({"email": email,
                         "url": profile_url(settings, signer, tenant, email=email)})


async def bulk_import(request: Request) -> Response:
    tenant = authenticate(request)
    body = await read_body(request, request.app.state.settings.max_import_bytes)
    if not body.strip():
        raise BadRequest("The body is empty: send one JSON object per line, "
                         '{"resource": ..., "item": {...}}.')
    today, notices = tenant_today(request, tenant), Notices.of(request.app, tenant)
    report = await in_db(request, lambda s: import_lines(s, tenant.slug, body.splitlines(),
                                                         today=today, notices=notices))
    return JSONResponse(report, status_code=200)


async def openapi_json(request: Request) -> Response:
    return JSONResponse(document())
