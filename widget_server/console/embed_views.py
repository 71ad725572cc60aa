"""Setting up the embed: the snippet's report of the page it runs on (a public POST from any
site, without cookies) and the console's Get started page (the snippet, WIDGET_PROFILE_URL,
the allowed origins, and where the widget was seen). Thin handlers over `embed_check`."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from widget_server.console import embed_check
from widget_server.console.views import StaffVisit, staff_page
from widget_server.core.db import in_db
from widget_server.core.errors import AppError, PayloadTooLarge
from widget_server.core.profile_url import embedding_page, hosted_url
from widget_server.web.visit import tenant_of

# Any site's page may send the report and read the answer; it carries no cookie and sets none.
OPEN = {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"}


def _refused(error: AppError) -> Response:
    """A short plain-text answer the snippet's page can read (not the widget's error page)."""
    return PlainTextResponse(error.detail, status_code=error.status, headers=OPEN)


async def seen(request: Request) -> Response:
    """`POST /embed/seen/<tenant>`, body `location.origin + location.pathname`: 204, written
    at most once per page every few minutes; a clear 4xx for anything else."""
    try:
        tenant = tenant_of(request)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > embed_check.MAX_BODY:
                raise PayloadTooLarge(f"A report is at most {embed_check.MAX_BODY} bytes.")
        page = embed_check.read_page(body, request.headers.get("origin"))
    except AppError as error:
        return _refused(error)
    settings = request.app.state.settings
    allowed = page.origin in embed_check.framing_origins(settings, tenant)
    now = request.app.state.clock()
    if request.app.state.embed_memo.due(tenant.slug, page, allowed, now):
        await in_db(request, lambda db: embed_check.record(db, tenant.slug, page, allowed, now))
    return Response(status_code=204, headers=OPEN)


async def start(request: Request) -> Response:
    """Get started: everything a provider needs to put the profile on its site."""
    settings = request.app.state.settings

    def load(db: Session, v: StaffVisit) -> dict[str, Any]:
        found = embed_check.sightings(db, v.tenant, settings, v.now)
        script_url, link_url = embed_check.snippet_urls(settings, v.tenant)
        return {
            "script_url": script_url, "link_url": link_url,
            "api_url": f"{settings.base_url}/api/v1/profile-url",
            "profile_page": embedding_page(settings, v.tenant) or hosted_url(settings, v.tenant),
            "allowed_origins": v.tenant.config.allowed_origins,
            "also_allowed": [o for o in settings.frame_origins
                             if o not in v.tenant.config.allowed_origins],
            "refused": embed_check.refused_origins(found),
            "working": [s for s in found if s.allowed],
        }
    return await staff_page(request, "console/start.html", load)
