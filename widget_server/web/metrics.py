"""`GET /metrics` for the operators' Prometheus, and the middleware that times every request."""

from __future__ import annotations

import ipaddress
import time
from typing import Iterable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from widget_server.core import metrics
from widget_server.core.db import in_db
from widget_server.web.security import client_ip

UNMATCHED = "unmatched"
# Anything else a client sends as its method is one label, not a series of its choosing.
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def route_name(scope: Scope) -> str:
    """The name of the route that answered (`home`, `api_get`...); `unmatched` when the router
    chose none: an unknown address, or a request refused before routing."""
    return getattr(scope.get("route"), "name", None) or UNMATCHED


def route_path(scope: Scope) -> str | None:
    """The route's path template (`/t/{tenant}/bookings/{booking}`), never the raw path."""
    return getattr(scope.get("route"), "path", None)


def method_label(scope: Scope) -> str:
    method = scope.get("method", "")
    return method if method in METHODS else "other"


class RequestMetrics:
    """Counts and times each HTTP request by route name, method and status class."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers when the app raises before responding

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            route, method = route_name(scope), method_label(scope)
            metrics.REQUESTS.labels(route, method, metrics.status_class(status)).inc()
            metrics.LATENCY.labels(route, method).observe(time.perf_counter() - started)


def allowed(address: str, networks: Iterable[str]) -> bool:
    """Whether a client address is in one of the allowed addresses or networks."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    candidates = [ip]
    if ip.version == 6 and ip.ipv4_mapped is not None:
        candidates.append(ip.ipv4_mapped)
    return any(candidate in ipaddress.ip_network(network)
               for network in networks for candidate in candidates)


async def metrics_page(request: Request) -> Response:
    """The Prometheus text format, for `WIDGET_METRICS_ALLOW` only; others get the same 404 as
    any unknown address, so the endpoint is not advertised."""
    if not allowed(client_ip(request), request.app.state.settings.metrics_allow):
        raise HTTPException(404)
    now = request.app.state.clock()
    body = await in_db(request, lambda session: metrics.exposition(
        metrics.outbox_waiting(session, now)))
    return Response(body, media_type=metrics.CONTENT_TYPE)
