"""Online payment gateways: where a client is sent to pay, and what a gateway reports back.

A tenant with `features.online_payments` gets one of two gateways:

- **Stripe Checkout**, when `WIDGET_STRIPE_SECRET_KEY_<SLUG>` is set: a Checkout Session made
  with the official `stripe` library. Stripe reports the outcome to `POST /hooks/stripe/<slug>`,
  signed with `WIDGET_STRIPE_WEBHOOK_SECRET_<SLUG>` and checked by
  `stripe.Webhook.construct_event`. `WIDGET_STRIPE_API_BASE` points the library at another
  API address (the tests' local fake Stripe).
- **The provider's own payment page** (`payment_page_url` in the tenant file): the client is
  sent there with the payment's id, amount and our reference, signed with the tenant's webhook
  secret so the provider can trust them; the provider then marks the payment paid through the
  sync API, like any other payment.

Payment pages refuse to be framed, so both open top-level, in a new tab.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Callable, Mapping, Protocol
from urllib.parse import quote, urlencode, urlsplit

import stripe

from widget_server.core.tenants import Tenant, TenantRegistry, env_name
from widget_server.delivery.webhooks import signing_keys

log = logging.getLogger("widget_server.money.gateways")

STRIPE_KEY_PREFIX = "WIDGET_STRIPE_SECRET_KEY_"
STRIPE_HOOK_PREFIX = "WIDGET_STRIPE_WEBHOOK_SECRET_"
STRIPE_API_BASE = "WIDGET_STRIPE_API_BASE"
# Stripe's own default: a signed event older than this is refused, so a captured one cannot
# be replayed later.
STRIPE_TOLERANCE_SECONDS = 300
# The languages Stripe Checkout speaks that our tenants use; anything else is "auto".
STRIPE_LOCALES = {"en_GB": "en-GB", "en": "en", "sk": "sk", "cs": "cs", "de": "de", "hu": "hu",
                  "pl": "pl", "fr": "fr", "es": "es", "it": "it", "nl": "nl"}


class GatewayError(Exception):
    """The gateway could not start a checkout; the message is safe to log, not to show."""


class BadSignature(Exception):
    """A notification that is not signed by the gateway (forged, stale, or garbled)."""


@dataclass(frozen=True)
class CheckoutRequest:
    """One payment to collect, as every gateway needs it."""

    reference: str  # ours, unique per attempt
    tenant: str
    payment_id: str  # the provider's id
    amount: int  # minor units
    currency: str
    description: str
    email: str
    locale: str
    success_url: str
    cancel_url: str
    expires_at: datetime


@dataclass(frozen=True)
class Redirect:
    """Where to send the client, and the gateway's own id of the checkout."""

    url: str
    gateway_ref: str


@dataclass(frozen=True)
class Notice:
    """What a gateway reported about one checkout, in our words.

    `outcome` is `paid`, `processing` (accepted, money not yet confirmed, e.g. a bank debit),
    `failed`, `expired`, or `ignored` (an event we do not act on)."""

    event_id: str
    event_type: str
    outcome: str
    occurred_at: datetime
    tenant: str | None = None
    reference: str | None = None
    gateway_ref: str | None = None
    transaction_ref: str | None = None
    amount: int | None = None
    currency: str | None = None


class Gateway(Protocol):
    """Starts checkouts; `method` is what the provider's webhooks call the payment."""

    name: str
    method: str

    def start(self, request: CheckoutRequest) -> Redirect: ...


# --- Stripe Checkout -------------------------------------------------------------------------

STRIPE_OUTCOMES = {
    "checkout.session.async_payment_succeeded": "paid",
    "checkout.session.async_payment_failed": "failed",
    "checkout.session.expired": "expired",
}


class StripeCheckout:
    """Stripe Checkout Sessions (https://docs.stripe.com/api/checkout/sessions)."""

    name = "stripe"
    method = "card"

    def __init__(self, secret_key: str, webhook_secret: str | None, *,
                 api_base: str | None = None, tolerance: int = STRIPE_TOLERANCE_SECONDS):
        self.webhook_secret = webhook_secret
        self.tolerance = tolerance
        self._client = stripe.StripeClient(
            secret_key, base_addresses={"api": api_base} if api_base else None,
            max_network_retries=2)

    def start(self, request: CheckoutRequest) -> Redirect:
        metadata = {"tenant": request.tenant, "payment_id": request.payment_id,
                    "reference": request.reference}
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [{"quantity": 1, "price_data": {
                "currency": request.currency.lower(), "unit_amount": request.amount,
                "product_data": {"name": request.description[:250]}}}],
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "client_reference_id": request.reference,
            "customer_email": request.email,
            "locale": STRIPE_LOCALES.get(request.locale, STRIPE_LOCALES.get(
                request.locale.split("_")[0], "auto")),
            "expires_at": int(request.expires_at.timestamp()),
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
        }
        try:
            # The idempotency key makes the library's retries safe: one attempt, one session.
            session = self._client.v1.checkout.sessions.create(
                params=params, options={"idempotency_key": request.reference})  # type: ignore[arg-type]
        except stripe.StripeError as exc:
            raise GatewayError(f"Stripe refused the checkout: {exc}") from None
        if not session.url:
            raise GatewayError(f"Stripe gave checkout {session.id} no URL")
        return Redirect(url=session.url, gateway_ref=session.id)

    def notice(self, body: bytes, signature: str | None) -> Notice:
        """Verify a webhook delivery (signature and age) and say what it means."""
        if not self.webhook_secret:
            raise BadSignature("no webhook secret is configured")
        try:
            event = stripe.Webhook.construct_event(body, signature, self.webhook_secret,
                                                   tolerance=self.tolerance)
        except stripe.SignatureVerificationError as exc:
            raise BadSignature(str(exc).split(". ")[0]) from None
        except ValueError:
            raise BadSignature("the body is not a Stripe event") from None
        return stripe_notice(event.to_dict())


def stripe_notice(event: Mapping[str, Any]) -> Notice:
    """A verified Stripe event as a Notice."""
    kind = str(event.get("type", ""))
    session = (event.get("data") or {}).get("object") or {}
    occurred = datetime.fromtimestamp(int(event.get("created") or time.time()), UTC)
    if session.get("object") != "checkout.session":
        return Notice(str(event.get("id")), kind, "ignored", occurred)
    if kind == "checkout.session.completed":
        outcome = "paid" if session.get("payment_status") in ("paid", "no_payment_required") \
            else "processing"
    else:
        outcome = STRIPE_OUTCOMES.get(kind, "ignored")
    metadata = session.get("metadata") or {}
    intent = session.get("payment_intent")
    return Notice(
        event_id=str(event.get("id")), event_type=kind, outcome=outcome, occurred_at=occurred,
        tenant=metadata.get("tenant"), reference=session.get("client_reference_id"),
        gateway_ref=session.get("id"),
        transaction_ref=intent.get("id") if isinstance(intent, dict) else intent,
        amount=session.get("amount_total"),
        currency=str(session["currency"]).upper() if session.get("currency") else None,
    )


# --- the provider's payment page -------------------------------------------------------------

class ProviderPage:
    """Sends the client to the provider's payment page with signed parameters.

    The provider checks `signature` (`v1,` + base64 HMAC-SHA256, keyed like its webhooks, over
    the other parameters sorted by name and URL-encoded as `k=v&...`) and `timestamp`, takes
    the payment, sends the client to `success_url`, and marks the payment paid through the
    sync API."""

    name = "provider"
    method = "card"

    def __init__(self, page_url: str, signing_key: bytes,
                 clock: Callable[[], float] = time.time):
        self.page_url = page_url
        self.key = signing_key
        self.clock = clock

    def start(self, request: CheckoutRequest) -> Redirect:
        params = {
            "tenant": request.tenant, "payment_id": request.payment_id,
            "reference": request.reference, "amount": str(request.amount),
            "currency": request.currency, "description": request.description,
            "email": request.email, "success_url": request.success_url,
            "cancel_url": request.cancel_url, "timestamp": str(int(self.clock())),
        }
        params["signature"] = sign_params(self.key, params)
        separator = "&" if urlsplit(self.page_url).query else "?"
        return Redirect(f"{self.page_url}{separator}{urlencode(params, quote_via=quote)}",
                        request.reference)


def canonical(params: Mapping[str, str]) -> str:
    """The signed form of the parameters: sorted by name, URL-encoded, signature left out."""
    return urlencode(sorted((k, v) for k, v in params.items() if k != "signature"),
                     quote_via=quote)


def sign_params(key: bytes, params: Mapping[str, str]) -> str:
    digest = hmac.new(key, canonical(params).encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


# --- which tenant uses which -----------------------------------------------------------------

class Gateways:
    """Each tenant's gateway (when online payments are on) and its Stripe webhook checker."""

    def __init__(self, gateways: dict[str, Gateway]):
        self._gateways = gateways

    def for_tenant(self, tenant: Tenant) -> Gateway | None:
        """The gateway clients of this tenant pay through, or None (no online payment)."""
        if not tenant.config.features.online_payments:
            return None
        return self._gateways.get(tenant.slug)

    def stripe(self, slug: str) -> StripeCheckout | None:
        """The tenant's Stripe, even with online payments since switched off: money that
        was already on its way must still be recorded."""
        gateway = self._gateways.get(slug)
        return gateway if isinstance(gateway, StripeCheckout) else None


def from_environ(tenants: TenantRegistry, environ: Mapping[str, str],
                 fallback: Callable[[Tenant], Gateway] | None = None) -> Gateways:
    """Build every tenant's gateway from its file and the environment; `fallback` gives one
    to a tenant with online payments that has none (the demo's own payment page)."""
    api_base = environ.get(STRIPE_API_BASE) or None
    found: dict[str, Gateway] = {}
    for tenant in tenants:
        key = environ.get(env_name(STRIPE_KEY_PREFIX, tenant.slug))
        if key:
            found[tenant.slug] = StripeCheckout(
                key, environ.get(env_name(STRIPE_HOOK_PREFIX, tenant.slug)) or None,
                api_base=api_base)
        elif tenant.config.payment_page_url and _signing_key(tenant):
            found[tenant.slug] = ProviderPage(tenant.config.payment_page_url,
                                              _signing_key(tenant) or b"")
        elif tenant.config.features.online_payments and fallback is not None:
            found[tenant.slug] = fallback(tenant)
        elif tenant.config.features.online_payments:
            log.warning("%s: online_payments is on but there is no gateway: set %s, or "
                        "payment_page_url and %s", tenant.slug,
                        env_name(STRIPE_KEY_PREFIX, tenant.slug),
                        env_name("WIDGET_WEBHOOK_SECRET_", tenant.slug))
    return Gateways(found)


def _signing_key(tenant: Tenant) -> bytes | None:
    """The newest key of the tenant's webhook secret (a bad secret is reported by webhooks)."""
    try:
        return signing_keys(tenant.webhook_secret)[0] if tenant.webhook_secret else None
    except ValueError:
        return None
