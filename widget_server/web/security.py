"""Headers every response carries, CSRF tokens, and refusing cross-site form posts."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

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

    def __init__(self, app: ASGIApp, tenants, extra_origins: tuple[str, ...] = (),
                 base_url: str = ""):
        self.app = app
        self.tenants = tenants
        self.extra = extra_origins
        self.own = _origin_of(base_url.encode()) if base_url else None

    def frame_ancestors(self, path: str) -> str:
        parts = path.split("/")
        if len(parts) > 2 and parts[1] == "t":
            tenant = self.tenants.get(parts[2])
            if tenant is not None:
                origins = list(dict.fromkeys([*tenant.config.allowed_origins, *self.extra]))
                return " ".join(["'self'", *origins])
        # The console's theme preview frames the widget's screens on its own page.
        if len(parts) == 5 and parts[1] == "console" and parts[3] == "theme" and parts[4]:
            return "'self'"
        return "'none'"

    def foreign_origin(self, scope: Scope) -> bool:
        """A form posted from another site, told by its Origin (for browsers without Fetch
        Metadata). Our own forms may say `null`: pages sent with `Referrer-Policy: no-referrer`
        post with `Origin: null`, so only a named foreign origin is refused."""
        origin = _header(scope, b"origin")
        if origin is None or origin == b"null":
            return False
        origin = _origin_of(origin)
        host = _header(scope, b"host") or b""
        here = f"{scope.get('scheme', 'http')}://{host.decode('latin-1')}".lower()
        return origin not in (_origin_of(here.encode()), self.own)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
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

        # The API authenticates by key, and the embed check's report is meant to come from
        # any site: it reads no cookie and touches nobody's data.
        if (scope["method"] in UNSAFE and not scope["path"].startswith(("/api/", "/embed/seen/"))
                and (_header(scope, b"sec-fetch-site") == b"cross-site"
                     or self.foreign_origin(scope))):
            response = PlainTextResponse("Cross-site form posts are refused.", status_code=403)
            await response(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


def _origin_of(value: bytes) -> str:
    """`scheme://host[:port]`, lower case, default ports dropped."""
    parts = urlsplit(value.decode("latin-1").strip().lower())
    default = {"http": 80, "https": 443}.get(parts.scheme)
    try:
        port = parts.port
    except ValueError:
        return "invalid"
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def _binding(tenant: str, sid: str | None, probe: str | None) -> str:
    """Ties a form token to its tenant and to the session; before login, to the visitor's
    probe cookie, so a token taken from one browser is worth nothing in another."""
    who = sid if sid else f"anonymous:{probe or ''}"
    return hashlib.sha256(f"{tenant}:{who}".encode()).hexdigest()[:32]


def csrf_token(signer: Signer, tenant: str, sid: str | None, probe: str | None = None) -> str:
    return signer.sign_again(FORM, _binding(tenant, sid, probe))


def check_csrf(signer: Signer, tenant: str, sid: str | None, token: str | None,
               probe: str | None = None) -> None:
    if not token or signer.check(FORM, token) != _binding(tenant, sid, probe):
        raise Forbidden("This form has expired or did not come from this page. "
                        "Please go back, reload the page and try again.")


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"
