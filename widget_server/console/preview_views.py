"""The console's theme preview: a page of the widget's screens side by side at phone and
desktop widths with the theme's contrast checks, and each screen itself (framed only by the
console). Thin handlers over `preview`."""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from widget_server.console import preview
from widget_server.console.views import StaffVisit, login_page, staff_page, staff_visit
from widget_server.core.formatting import local_today
from widget_server.core.tenants import contrast_checks
from widget_server.web.visit import Visit, locale_for, render


async def theme_page(request: Request) -> Response:
    """The theme (or the colours tried), its contrast checks, and the screens (each in a
    frame of its own)."""
    def load(db: Session, v: StaffVisit) -> dict[str, Any]:
        tried = preview.trial(v.tenant.config.theme, request.query_params)
        return {"checks": contrast_checks(tried.theme), "screens": preview.SCREENS,
                "tried": tried, "shown": tried.theme, "colours": preview.COLOURS}
    return await staff_page(request, "console/theme.html", load)


async def screen(request: Request) -> Response:
    """One widget screen with the sample family, as the framed widget draws it."""
    v = await staff_visit(request)
    if not v.logged_in:
        return login_page(v)
    name, tenant = preview.known_screen(request.path_params["screen"]), v.tenant
    gateway = request.app.state.gateways.for_tenant(tenant)
    today = local_today(v.now, tenant.config.timezone)

    def work() -> preview.Screen:
        # Closed without a commit: the preview leaves even its sample data as it was.
        with Session(request.app.state.preview_samples.engine(tenant, today)) as db:
            return preview.screen(db, tenant, name, v.now, gateway)

    shown = await to_thread.run_sync(work)
    visit = Visit(request, tenant, "preview", shown.web_session, v.now, shown.context["client"])
    tried = preview.trial(tenant.config.theme, request.query_params)
    return render(visit, shown.template, {
        "section": shown.section, "preview": True, "viewing_as": None, "theme": tried.theme,
        **shown.context,
    }, locale=locale_for(tenant, shown.context["client"].locale))
