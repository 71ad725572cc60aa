"""The demo's own pages: its index and a fictional provider website that embeds the widget."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from widget_server.api.resources import RESOURCES
from widget_server.core.errors import NotFound
from widget_server.core.models import Document
from widget_server.demo.data import demo_logins
from widget_server.web import pages


def tenant_counts(session: Session, tenant: str) -> dict[str, int]:
    """How many items of each resource a tenant has (for the demo index)."""
    models = {name: r.model for name, r in RESOURCES.items()} | {"documents": Document}
    return {
        name: session.exec(
            select(func.count()).select_from(model).where(model.tenant == tenant)
        ).one()
        for name, model in models.items()
    }



async def index(request: Request) -> Response:
    """The demo's index: every demo tenant, its data and its logins (a custom domain still
    opens its tenant's profile)."""
    state = request.app.state
    if state.tenants.by_host(request.url.hostname or "") is not None:
        return await pages.root(request)

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


async def provider_page(request: Request) -> Response:
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
