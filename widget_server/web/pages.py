"""Pages that are not the widget: health, the favicon, the root of a custom domain."""

from __future__ import annotations

from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from widget_server.core.errors import NotFound


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


async def root(request: Request) -> Response:
    """A tenant's custom domain opens its profile; else nothing (the demo shows its index)."""
    tenant = request.app.state.tenants.by_host(request.url.hostname or "")
    if tenant is not None:
        return RedirectResponse(request.url_for("home", tenant=tenant.slug), status_code=303)
    raise NotFound("Nothing here. The client profile lives at /t/<provider>/.")
