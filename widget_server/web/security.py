"""Headers every response carries, CSRF tokens, and refusing cross-site form posts."""

from __future__ import annotations

import hashlib

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from widget_server.core.errors import AppError
from widget_server.core.signing import FORM, Signer

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
ASSET_POLICY = ("default-src 'self'; img-src 'self' data: https:; "
                "style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; "
                "form-action 'self'; base-uri 'none'; object-src 'none'")


class Forbidden(AppError):
    status = 403
    title = "This request was refused"


class SecurityHeaders:
    """Widget pages may be framed only by their tenant's origins; everything else by nobody."""

    def __init__(self, app: ASGIApp, tenants, extra_origins: tuple[str, ...] = ()):
        self.app = app
        self.tenants = tenants
        self.extra = extra_origins

    def frame_ancestors(self, path: str) -> str:
        parts = path.split("/")
        if len(parts) > 2 and parts[1] == "t":
            tenant = self.tenants.get(parts[2])
            if tenant is not None:
                origins = list(dict.fromkeys([*tenant.config.allowed_origins, *self.extra]))
                return " ".join(["'self'", *origins])
        return "'none'"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if (scope["method"] in UNSAFE and not scope["path"].startswith("/api/")
                and _header(scope, b"sec-fetch-site") == b"cross-site"):
            response = PlainTextResponse("Cross-site form posts are refused.", status_code=403)
            await response(scope, receive, send)
            return
        ancestors = self.frame_ancestors(scope["path"])
        # Pages carry a family's data, pay tokens and the secret calendar address: no shared
        # or browser cache keeps them. Assets say how long they keep; the static files keep
        # their validators.
        private = not scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy",
                                   f"{ASSET_POLICY}; frame-ancestors {ancestors}")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("X-Content-Type-Options", "nosniff")
                if private:
                    headers.setdefault("Cache-Control", "private, no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


def _binding(tenant: str, sid: str | None) -> str:
    """Ties a form token to its tenant and to the session (or to no session, before login)."""
    return hashlib.sha256(f"{tenant}:{sid or 'anonymous'}".encode()).hexdigest()[:32]


def csrf_token(signer: Signer, tenant: str, sid: str | None) -> str:
    return signer.sign(FORM, _binding(tenant, sid))


def check_csrf(signer: Signer, tenant: str, sid: str | None, token: str | None) -> None:
    if not token or signer.check(FORM, token) != _binding(tenant, sid):
        raise Forbidden("This form has expired or did not come from this page. "
                        "Please go back, reload the page and try again.")


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"
