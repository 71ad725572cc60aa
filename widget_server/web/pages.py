"""Pages that are not the widget: health, API document, the demo's index."""

from __future__ import annotations

from sqlalchemy import func, text
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

from widget_server.api.openapi import document
from widget_server.api.resources import RESOURCES
from widget_server.core.errors import NotFound
from widget_server.demo.data import demo_logins


async def healthz(request: Request) -> Response:
    """200 once the database answers."""
    def ping() -> None:
        with request.app.state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    try:
        await run_in_threadpool(ping)
    except Exception as exc:  # the database is down: say so, do not crash
        return PlainTextResponse(f"database unavailable: {exc.__class__.__name__}", 503)
    return PlainTextResponse("ok")


async def no_favicon(request: Request) -> Response:
    return Response(status_code=204, headers={"Cache-Control": "public, max-age=86400"})


async def openapi_json(request: Request) -> Response:
    return JSONResponse(document())


def tenant_counts(session: Session, tenant: str) -> dict[str, int]:
    """How many items of each resource a tenant has (for the demo index)."""
    return {
        name: session.exec(
            select(func.count()).select_from(r.model).where(r.model.tenant == tenant)
        ).one()
        for name, r in RESOURCES.items()
    }


async def root(request: Request) -> Response:
    """A tenant's custom domain opens its profile; the demo shows its index; else nothing."""
    tenant = request.app.state.tenants.by_host(request.url.hostname or "")
    if tenant is not None:
        return RedirectResponse(request.url_for("home", tenant=tenant.slug), status_code=303)
    if request.app.state.settings.demo:
        return await demo_index(request)
    raise NotFound("Nothing here. The client profile lives at /t/<provider>/.")


async def demo_index(request: Request) -> Response:
    state = request.app.state

    def counts() -> dict[str, dict[str, int]]:
        with Session(state.engine) as session:
            return {t.slug: tenant_counts(session, t.slug) for t in state.tenants}

    # The provider pages are served on the other loopback name, so they frame the widget from
    # a different site, as a real provider's page would.
    base = state.settings.base_url.rstrip("/")
    return state.templates.TemplateResponse(request, "demo/index.html", {
        "tenants": list(state.tenants),
        "counts": await run_in_threadpool(counts),
        "base_url": base,
        "provider_base": base.replace("//localhost", "//127.0.0.1", 1),
        "logins": demo_logins(),
    })


async def demo_provider_page(request: Request) -> Response:
    """A fictional provider website that embeds the widget with the two-line snippet."""
    state = request.app.state
    tenant = state.tenants.get(request.path_params["tenant"])
    if tenant is None:
        raise NotFound("No such demo provider.")
    widget = state.settings.base_url
    return state.templates.TemplateResponse(
        request, "demo/provider.html", {"tenant": tenant, "widget_origin": widget},
        headers={"Content-Security-Policy": f"default-src 'self'; script-src {widget}; "
                 f"frame-src {widget}; style-src 'unsafe-inline'; frame-ancestors 'none'"})
