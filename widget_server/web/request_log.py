"""A request id for every request (echoed as `X-Request-ID`), and in JSON log mode one log line
per request: its route, never its URL, so no token in a query string reaches a log."""

from __future__ import annotations

import logging
import re
import secrets
import time

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from widget_server.core import logs
from widget_server.core.tenants import TenantRegistry
from widget_server.web.metrics import method_label, route_name, route_path

log = logging.getLogger("widget_server.request")
# A proxy's or a caller's id is kept when it is a short plain token; anything else could forge
# log lines or carry data, so it is replaced.
SANE_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")


def incoming_id(scope: Scope) -> str | None:
    for key, value in scope["headers"]:
        if key == b"x-request-id":
            return value.decode("ascii") if SANE_ID.fullmatch(value) else None
    return None


def tenant_slug(scope: Scope, tenants: TenantRegistry) -> str | None:
    """The tenant a request was for: the API's authenticated one, a known slug in the path,
    or a custom domain's. An unknown slug is not logged: it is whatever the client typed."""
    state = scope.get("state") or {}
    if state.get("tenant"):
        return state["tenant"]
    tenant = tenants.get(scope.get("path_params", {}).get("tenant", ""))
    if tenant is None:
        for key, value in scope["headers"]:
            if key == b"host":
                tenant = tenants.by_host(value.decode("latin-1"))
                break
    return tenant.slug if tenant is not None else None


class RequestLog:
    """Sets the request id for everything logged while a request is served."""

    def __init__(self, app: ASGIApp, tenants: TenantRegistry, log_requests: bool = False):
        self.app = app
        self.tenants = tenants
        self.log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = incoming_id(scope) or secrets.token_hex(8)
        # Not reset afterwards: each request runs in its own task (its own context), and the
        # server-error handler outside this middleware logs with it too.
        logs.request_id.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if self.log_requests:
                self._log(scope, status, time.perf_counter() - started)

    def _log(self, scope: Scope, status: int, seconds: float) -> None:
        route, path, method = route_name(scope), route_path(scope), method_label(scope)
        log.log(logging.WARNING if status >= 500 else logging.INFO,
                "%s %s %s", method, path or route, status,
                extra={"tenant": tenant_slug(scope, self.tenants), "route": route,
                       "path": path, "method": method, "status": status,
                       "duration_ms": round(seconds * 1000, 1)})
