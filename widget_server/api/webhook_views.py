"""HTTP layer of the provider's webhook deliveries (`/api/v1/webhook-deliveries`)."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from widget_server.api import webhook_deliveries as deliveries
from widget_server.api.views import authenticate, query_limit
from widget_server.core.db import in_db
from widget_server.core.errors import ValidationFailed, field_error

# The webhook-ids we give are "msg_" and 24 hex digits, kept in a 64-character column.
WEBHOOK_ID = re.compile(r"[A-Za-z0-9_]{1,64}")


async def list_deliveries(request: Request) -> Response:
    """The tenant's webhook deliveries, newest first: `{"items": [...], "next_cursor": ...}`."""
    tenant = authenticate(request)
    limit, cursor = query_limit(request), request.query_params.get("cursor")
    page = await in_db(request, lambda s: deliveries.list_deliveries(s, tenant.slug,
                                                                      limit=limit, cursor=cursor))
    return JSONResponse(page)


async def get_delivery(request: Request) -> Response:
    """One delivery by its webhook-id; another tenant's answers 404."""
    tenant = authenticate(request)
    webhook_id = request.path_params["webhook_id"]
    if not WEBHOOK_ID.fullmatch(webhook_id):
        raise ValidationFailed("Invalid webhook-id in the URL.", errors=[field_error(
            ["webhook_id"], "1 to 64 letters, digits or _, as in the webhook-id header")])
    item = await in_db(request, lambda s: deliveries.get_delivery(s, tenant.slug, webhook_id))
    return JSONResponse(item)
