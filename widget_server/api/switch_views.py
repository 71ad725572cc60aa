"""HTTP layer of class changes (`/api/v1/switches`): the provider follows families' changes of
class and confirms or declines those waiting for it. A change is the portal's, so there is no
PUT: `confirm` moves the places (against capacity now), `decline` leaves them."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from widget_server.api.sync import decode_cursor, encode_cursor
from widget_server.api.views import (
    authenticate,
    idempotent_write,
    parse_json,
    query_limit,
    read_body,
)
from widget_server.core.db import in_db
from widget_server.core.errors import Conflict, Refused, ValidationFailed, field_error
from widget_server.core.wire import jsonable
from widget_server.delivery.notices import Notices
from widget_server.selfservice import switching

STATUSES = (switching.REQUESTED, switching.SWITCHED, switching.DECLINED, switching.CANCELLED)
SWITCH_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
MAX_BODY = 16_384
WHY = {
    "switch_full": "The class has no free place left in every session the booking would move "
                   "to; nothing moved. Raise the class's capacity and confirm again, or decline.",
    "switch_too_few": "The class has fewer sessions left than the booking has to move; "
                      "nothing moved.",
    "switch_changed": "The booking changed since the family asked (another class, or its "
                      "places changed); nothing moved. Decline the request.",
}


def _id(request: Request) -> str:
    value = request.path_params["switch_id"]
    if not SWITCH_ID.fullmatch(value):
        raise ValidationFailed("Invalid id in the URL.", errors=[field_error(
            ["id"], "1 to 128 letters, digits or . _ : -")])
    return value


def _out(change: dict[str, Any]) -> dict[str, Any]:
    return {key: jsonable(value) for key, value in change.items()}


def _answer(refused: Refused) -> Conflict:
    reason = refused.reason or ""
    if reason in WHY:
        return Conflict(WHY[reason])
    return Conflict(f"The change was already {reason.removeprefix('switch_')}.")


async def list_switches(request: Request) -> Response:
    """The tenant's class changes, oldest first, `?status=requested` for those to answer."""
    tenant = authenticate(request)
    limit, cursor = query_limit(request), request.query_params.get("cursor")
    status = request.query_params.get("status")
    if status is not None and status not in STATUSES:
        raise ValidationFailed("Invalid status.", errors=[field_error(
            ["status"], f"one of {', '.join(STATUSES)}")])
    after = decode_cursor(cursor) if cursor else None

    def page(db: Any) -> dict[str, Any]:
        rows, more = switching.list_changes(db, tenant.slug, status, limit, after)
        return {"items": [_out(item) for item in switching.as_json_many(db, rows)],
                "next_cursor": encode_cursor(rows[-1].id) if more else None}
    return JSONResponse(await in_db(request, page))


async def get_switch(request: Request) -> Response:
    tenant = authenticate(request)
    external_id = _id(request)
    return JSONResponse(await in_db(request, lambda db: _out(switching.as_json(
        db, switching.one(db, tenant.slug, external_id)))))


async def confirm_switch(request: Request) -> Response:
    """Move the places now; 409 with the reason when it cannot be done."""
    tenant = authenticate(request)
    external_id = _id(request)
    body = await read_body(request, MAX_BODY)
    notices = Notices.of(request.app, tenant)

    def action(db: Any) -> tuple[int, Any]:
        try:
            change = switching.confirm(db, tenant, external_id, request.app.state.clock(),
                                       notices)
        except Refused as refused:
            raise _answer(refused) from None
        return 200, _out(switching.as_json(db, change))
    return await idempotent_write(request, tenant, body, action)


async def decline_switch(request: Request) -> Response:
    """Say no, with an optional `message` for the family (up to 500 characters)."""
    tenant = authenticate(request)
    external_id = _id(request)
    body = await read_body(request, MAX_BODY)
    parsed = parse_json(body) if body.strip() else {}
    if not isinstance(parsed, dict) or set(parsed) - {"message"} or not isinstance(
            parsed.get("message", ""), (str, type(None))) or len(parsed.get("message") or "") > 500:
        raise ValidationFailed("Invalid body.", errors=[field_error(
            ["message"], "an optional text of up to 500 characters; no other field")])
    notices = Notices.of(request.app, tenant)

    def action(db: Any) -> tuple[int, Any]:
        try:
            change = switching.decline(db, tenant, external_id, parsed.get("message"),
                                       request.app.state.clock(), notices)
        except Refused as refused:
            raise _answer(refused) from None
        return 200, _out(switching.as_json(db, change))
    return await idempotent_write(request, tenant, body, action)
