"""The demo's payment page: a stand-in for a provider's own payment page (demo mode only).

`widget-server demo` has no Stripe account, so its tenants with online payments send clients
here through the ordinary "provider's own payment page" gateway (`gateways.ProviderPage`).
The page checks the signature and age of what it is sent, shows the amount, and lets the
visitor pay or fail. Paying marks the payment paid the way a provider does, through the sync
API's own upsert, then returns to `success_url`; failing returns to `cancel_url`.

The signing key is the tenant's webhook secret when one is set, else one derived from the
service's secret key, so that the gateway and this page agree without any configuration.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import datetime
from typing import Mapping

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from widget_server.api import sync
from widget_server.core import i18n
from widget_server.core.db import in_db
from widget_server.core.errors import AppError, NotFound
from widget_server.core.settings import Settings
from widget_server.core.tenants import Tenant
from widget_server.delivery.webhooks import signing_keys
from widget_server.money.gateways import ProviderPage, sign_params
from widget_server.web.forms import form_fields

PATH = "/dev/pay"
SIGNED = ("tenant", "payment_id", "reference", "amount", "currency", "description", "email",
          "success_url", "cancel_url", "timestamp")
# Like a real payment page: a link older than this (or from the future) is refused.
MAX_AGE_SECONDS = 3600


class BadRequest(AppError):
    status = 400
    title = "This payment link is not valid"


def page_key(settings: Settings, tenant: Tenant) -> bytes:
    """The key the demo page and its gateway share for one tenant."""
    if tenant.webhook_secret:
        try:
            return signing_keys(tenant.webhook_secret)[0]
        except ValueError:
            pass
    secret = (settings.secret_keys or ("demo-only-key",))[0]
    return hmac.new(secret.encode(), f"demo payment page {tenant.slug}".encode(),
                    hashlib.sha256).digest()


def gateway(settings: Settings, tenant: Tenant) -> ProviderPage:
    """The "provider's own payment page" gateway pointing at this demo page."""
    return ProviderPage(settings.base_url.rstrip("/") + PATH, page_key(settings, tenant))


def checked(settings: Settings, tenant: Tenant | None, params: Mapping[str, str],
            now: float) -> dict[str, str]:
    """The signed parameters, if the signature and age hold; BadRequest otherwise."""
    if tenant is None or any(not isinstance(params.get(k), str) for k in SIGNED):
        raise BadRequest("Something is missing from this payment link.")
    signed = {k: params[k] for k in SIGNED}
    expected = sign_params(page_key(settings, tenant), signed)
    if not hmac.compare_digest(expected, str(params.get("signature", ""))):
        raise BadRequest("The signature of this payment link does not match.")
    try:
        age = now - int(signed["timestamp"])
        amount = int(signed["amount"])
    except ValueError:
        raise BadRequest("This payment link is garbled.") from None
    if not -300 <= age <= MAX_AGE_SECONDS or amount <= 0:
        raise BadRequest("This payment link has expired. Start paying again from the profile.")
    return signed


def mark_paid(db: Session, tenant: Tenant, payment_id: str, amount: int, currency: str,
              paid_at: datetime) -> bool:
    """What the provider's system does after taking the money: `PUT /api/v1/payments/<id>`
    with status paid (the same upsert). False when it is no longer this payment to pay."""
    item = sync.get_one(db, tenant.slug, "payments", payment_id)
    if item["status"] != "unpaid" or (item["amount"], item["currency"]) != (amount, currency):
        return False
    item.update(status="paid", method="card", paid_at=paid_at.isoformat())
    sync.upsert(db, tenant.slug, "payments", payment_id, item)
    return True


def _tenant_and_params(request: Request, params: Mapping[str, str]) -> tuple[Tenant, dict]:
    tenant = request.app.state.tenants.get(str(params.get("tenant", "")))
    found = checked(request.app.state.settings, tenant, params, time.time())
    assert tenant is not None
    return tenant, found


async def pay_page(request: Request) -> Response:
    """The payment page: what is paid, to whom, and Pay or Fail."""
    params = dict(request.query_params)
    tenant, signed = _tenant_and_params(request, params)
    i18n.activate(tenant.config.locale)
    return request.app.state.templates.TemplateResponse(request, "demo/pay.html", {
        "tenant": tenant, "p": signed, "signature": params["signature"],
        "amount": int(signed["amount"]), "lang": tenant.config.locale.split("_")[0]})


async def pay_submit(request: Request) -> Response:
    """Pay (the payment becomes paid, as the provider would mark it) or fail; then back."""
    params = await form_fields(request)
    tenant, signed = _tenant_and_params(request, params)
    if params.get("outcome") != "pay":
        return RedirectResponse(signed["cancel_url"], status_code=303)
    now = request.app.state.clock()

    def pay(db: Session) -> bool:
        return mark_paid(db, tenant, signed["payment_id"], int(signed["amount"]),
                         signed["currency"], now)

    try:
        await in_db(request, pay)
    except NotFound:
        raise BadRequest("This payment no longer exists.") from None
    return RedirectResponse(signed["success_url"], status_code=303)
