"""HTTP layer of the provider's webhook deliveries (`/api/v1/webhook-deliveries`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from widget_server.api import webhook_deliveries as deliveries
from widget_server.api.views import authenticate, query_limit
from widget_server.core.db import in_db


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
    item = await in_db(request, lambda s: deliveries.get_delivery(s, tenant.slug, webhook_id))
    return JSONResponse(item)
