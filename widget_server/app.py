"""The application factory."""

from __future__ import annotations

import contextlib
import logging
from typing import Any, AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp

from widget_server import scheduler
from widget_server.console import embed_check, preview
from widget_server.core.db import (
    make_engine,
    pages_served_here,
    release_kept,
    release_page_engine,
)
from widget_server.core.errors import AppError
from widget_server.core.models import utcnow
from widget_server.core.settings import Settings
from widget_server.core.signing import Signer
from widget_server.core.storage import Files
from widget_server.core.tenants import load_tenants
from widget_server.delivery.mailer import LocalViewerDelivery, make_transport
from widget_server.delivery.outbox import OutboxDrainer
from widget_server.delivery.webhooks import WEBHOOK, WebhookSender
from widget_server.delivery.whatsapp import WHATSAPP, WhatsAppSender
from widget_server.demo import pay_views as demo_pay
from widget_server.money import gateways
from widget_server.routes import build_routes
from widget_server.web import assets
from widget_server.web.compression import Compression
from widget_server.web.error_pages import widget_error
from widget_server.web.input_guard import InputGuard
from widget_server.web.metrics import RequestMetrics
from widget_server.web.request_log import RequestLog
from widget_server.web.routing import IndexedRouter
from widget_server.web.security import SecurityHeaders
from widget_server.web.templating import make_templates

log = logging.getLogger("widget_server")


def create_app(settings: Settings) -> Starlette:
    """Build the service from explicit settings; tenant files are checked here, before serving."""
    settings.require_secret()
    tenants = load_tenants(settings.tenants_dir, settings.environ, demo=settings.demo)
    engine = make_engine(settings.database_url)
    # Built here so a missing SMTP setting stops start-up, not the first worker's lifespan.
    transport = make_transport(settings) if settings.send_in_process else None

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if transport is not None:
            app.state.drainer = OutboxDrainer(engine, transport)
            app.state.drainer.start()
            webhooks: Any = WebhookSender(tenants)
            whatsapp: Any = WhatsAppSender(tenants, settings.environ,
                                           api_url=settings.whatsapp_api_url)
            if settings.demo:
                webhooks = LocalViewerDelivery("Webhook", 200)
                whatsapp = LocalViewerDelivery("WhatsApp message", "demo")
            app.state.webhook_drainer = OutboxDrainer(engine, webhooks, channel=WEBHOOK)
            app.state.webhook_drainer.start()
            app.state.whatsapp_drainer = OutboxDrainer(engine, whatsapp, channel=WHATSAPP)
            app.state.whatsapp_drainer.start()
            if settings.scheduler_interval > 0:
                app.state.scheduler = scheduler.for_app(app)
                app.state.scheduler.start()
        async with pages_served_here(app.state):  # this loop serves the requests
            yield
        if app.state.scheduler is not None:
            await app.state.scheduler.stop()
        for drainer in (app.state.drainer, app.state.webhook_drainer, app.state.whatsapp_drainer):
            if drainer is not None:
                await drainer.stop()
        release_kept(app.state)
        await release_page_engine(app.state)
        engine.dispose()

    app = WidgetApp(
        security={"tenants": tenants, "extra_origins": settings.frame_origins,
                  "base_url": settings.base_url},
        routes=build_routes(settings),
        middleware=[Middleware(InputGuard, refuse=handle_app_error,
                               max_form_bytes=settings.max_form_bytes,
                               max_body_bytes=settings.max_body_bytes),
                    # zstd or gzip (web.compression). PDFs are compressed inside already: sent
                    # as they are, with their size.
                    Middleware(Compression, minimum_size=500,
                               exclude_content_types=(*DEFAULT_EXCLUDED_CONTENT_TYPES,
                                                      "application/pdf"))],
        lifespan=lifespan,
        exception_handlers={AppError: handle_app_error, HTTPException: handle_http_error,
                            Exception: handle_unexpected},
    )
    app.state.settings = settings
    app.state.tenants = tenants
    # The demo takes "Pay online" on its own page where no Stripe key or provider page is set.
    app.state.gateways = gateways.from_environ(
        tenants, settings.environ,
        fallback=(lambda tenant: demo_pay.gateway(settings, tenant)) if settings.demo else None)
    app.state.engine = engine
    app.state.files = Files(settings.files_dir)
    app.state.templates = make_templates(settings.templates_dir, settings.tenants_dir)
    app.state.assets = assets.build()
    app.state.clock = utcnow
    app.state.signer = Signer(settings.secret_keys or ("demo-only-key",),
                              clock=lambda: app.state.clock())
    app.state.drainer = None
    app.state.webhook_drainer = None
    app.state.whatsapp_drainer = None
    app.state.scheduler = None
    # The console's per-process memories: pages the embed check wrote lately, and the theme
    # preview's sample databases (made on the first preview).
    app.state.embed_memo = embed_check.Memo()
    app.state.preview_samples = preview.Samples()
    # Outermost of ours (each goes first): every request gets its id, then is counted and timed.
    app.add_middleware(RequestMetrics)
    app.add_middleware(RequestLog, tenants=tenants, log_requests=settings.log_format == "json")
    return app


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


class WidgetApp(Starlette):
    """Starlette with the security headers outermost, around its server-error middleware too,
    so that every answer carries them: a 500 page and a refused cross-site post included."""

    def __init__(self, *, security: dict[str, Any], **kwargs: Any):
        self.security = security
        super().__init__(**kwargs)
        self.router = IndexedRouter(self.router.routes, lifespan=kwargs.get("lifespan"))

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack(), **self.security)


async def handle_app_error(request: Request, exc: AppError) -> Response:
    if wants_json(request):
        response = JSONResponse(exc.as_json(), status_code=exc.status,
                                media_type="application/problem+json")
    else:
        response = render_error(request, exc.status, exc.title, exc.detail,
                                getattr(exc, "reason", None))
    response.headers.update(exc.headers)  # WWW-Authenticate on a 401, Allow on a 405
    return response


async def handle_http_error(request: Request, exc: HTTPException) -> Response:
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        methods = allowed_methods(request.app.router.routes, request.scope)
        headers["Allow"] = ", ".join(sorted(methods)) or headers.get("Allow", "")
    return await handle_app_error(request, AppError(exc.detail, status=exc.status_code,
                                                    title=_titles.get(exc.status_code, "Error"),
                                                    headers=headers))


def allowed_methods(routes: list, scope: dict) -> set[str]:
    """The methods of every route declared with the path of the first route that matched.
    Starlette's 405 names only that first route's, and an API item's address is declared once
    per method (GET, PUT, DELETE)."""
    declared = [route for route in routes if isinstance(route, Route)]
    first = next((route for route in declared if route.matches(scope)[0] is not Match.NONE), None)
    if first is None:
        return set()
    return {method for route in declared if route.path == first.path
            for method in route.methods or ()}


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    # The route's template, not the path: a path can carry a secret (the calendar feed's).
    log.exception("Unhandled error on %s %s", request.method,
                  getattr(request.scope.get("route"), "path", "(no route)"))
    return await handle_app_error(request, AppError("Please try again in a moment."))


_titles = {404: "Not found", 405: "Method not allowed", 400: "Bad request"}


def render_error(request: Request, status: int, title: str, detail: str,
                 reason: str | None = None) -> Response:
    themed = widget_error(request, status, reason)
    if themed is not None:
        return themed
    templates = request.app.state.templates
    return templates.TemplateResponse(
        request, "errors/error.html",
        {"status": status, "title": title, "detail": detail},
        status_code=status,
    )
