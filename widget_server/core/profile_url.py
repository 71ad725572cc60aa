"""WIDGET_PROFILE_URL: the one place that knows where a client's profile lives.

A tenant with a website embeds the profile on `profile_page_url`; our e-mails and the
provider's own mail system link there, with the widget's parameters in the URL *fragment*
(`#cp-login=...`), so the provider's server never sees a login token in its logs. The snippet
hands them to the iframe and removes them from the address bar. Tenants without a website get
the hosted profile on this service, the login token in the fragment as well (`#token=...`).
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

from widget_server.core.settings import Settings
from widget_server.core.signing import LOGIN_HINT, Signer
from widget_server.core.tenants import Tenant


def embedding_page(settings: Settings, tenant: Tenant) -> str | None:
    """The provider page that embeds the widget (the demo's own provider page in demo mode)."""
    if settings.demo and settings.frame_origins:
        return f"{settings.frame_origins[0]}/demo/{tenant.slug}"
    return tenant.config.profile_page_url


def hosted_url(settings: Settings, tenant: Tenant, path: str = "") -> str:
    return f"{settings.base_url}/t/{tenant.slug}/{path.lstrip('/')}"


def _with_fragment(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    fragment = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, fragment))


def profile_url(settings: Settings, signer: Signer, tenant: Tenant, *,
                email: str | None = None, login_token: str | None = None) -> str:
    """The client profile URL for this tenant; with a login token it logs in once (by POST),
    with an e-mail it carries a signed hint that only pre-fills the login form."""
    params: dict[str, str] = {}
    if login_token:
        params["cp-login"] = login_token
    elif email:
        params["cp-hint"] = signer.sign(LOGIN_HINT, {"t": tenant.slug, "e": email.lower()})
    page = embedding_page(settings, tenant)
    if page:
        return _with_fragment(page, params) if params else page
    if login_token:
        # In the fragment here too: the page's script hands it to the Continue form, and no
        # server or proxy log ever holds it.
        return _with_fragment(hosted_url(settings, tenant, "login/link"), {"token": login_token})
    if email:
        return hosted_url(settings, tenant, f"login?hint={quote(params['cp-hint'], safe='')}")
    return hosted_url(settings, tenant)


def screen_url(settings: Settings, tenant: Tenant, path: str) -> str:
    """The profile opened at one screen (e.g. `payments/p-1`): on the provider's page through
    the snippet's `#cp-path=`, else on the hosted profile. Where a payment gateway sends the
    client back to."""
    page = embedding_page(settings, tenant)
    if page:
        return _with_fragment(page, {"cp-path": "/" + path.lstrip("/")})
    return hosted_url(settings, tenant, path)


def hinted_email(signer: Signer, tenant: Tenant, hint: str | None) -> str:
    """The e-mail a signed hint carries, or '' (never a login by itself)."""
    payload = signer.check(LOGIN_HINT, hint) if hint else None
    if isinstance(payload, dict) and payload.get("t") == tenant.slug:
        return str(payload.get("e", ""))
    return ""
