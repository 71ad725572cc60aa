"""WhatsApp messages through the WhatsApp Business Cloud API, sent from the outbox.

Reminders go out as *template* messages: outside a conversation the client started, WhatsApp
delivers only templates the provider had approved in WhatsApp Manager, so each tenant
registers these (in the languages its clients read):

    session_reminder   body {{1}} attendee, {{2}} programme, {{3}} local date and time
    makeup_expiring    body {{1}} attendee, {{2}} the local date the make-up runs out
    offer_deadline     body {{1}} attendee, {{2}} the classes offered, {{3}} the offer's deadline

A tenant sends from its own WhatsApp Business number: `WIDGET_WHATSAPP_TOKEN_<SLUG>` holds a
(system user's) access token, `WIDGET_WHATSAPP_PHONE_ID_<SLUG>` the number's phone-number id.
While either is missing, messages wait in the outbox with a `last_error` naming it, as webhooks
without a secret do. The "whatsapp" outbox channel retries with backoff for 12 hours (a
reminder later than that is no reminder) and sends one message at a time.
"""

from __future__ import annotations

import re
import ssl
from datetime import timedelta
from functools import cached_property
from typing import Any, Mapping

import certifi
import httpx
from sqlmodel import Session

from widget_server.core.models import OutboxMessage
from widget_server.core.tenants import Tenant, TenantRegistry, env_name
from widget_server.delivery.outbox import Channel, DeliveryError, RetryPolicy

GRAPH_VERSION = "v21.0"
DEFAULT_API_URL = "https://graph.facebook.com"
TOKEN_ENV_PREFIX = "WIDGET_WHATSAPP_TOKEN_"
PHONE_ID_ENV_PREFIX = "WIDGET_WHATSAPP_PHONE_ID_"
TIMEOUT_SECONDS = 10.0
MAX_ERROR_CHARS = 300

WHATSAPP = Channel("whatsapp", RetryPolicy(timedelta(seconds=30), timedelta(minutes=30),
                                           give_up_after=timedelta(hours=12)))


def phone_number(raw: str | None) -> str | None:
    """The number as the Cloud API wants it (country code and digits, no +), or None when it
    is not written internationally (+421 905 123 456, 00421...), which guessing would risk."""
    if not raw:
        return None
    text = raw.strip()
    digits = re.sub(r"\D", "", text)
    if text.startswith("00"):
        digits = digits[2:]
    elif not text.startswith("+"):
        return None
    return digits if 8 <= len(digits) <= 15 else None


def language(locale: str) -> str:
    """A WhatsApp template language code: `en_GB`, `sk`, `pt_BR`... (Babel's names match)."""
    return locale.replace("-", "_")


def enqueue(db: Session, tenant: Tenant, *, phone: str, template: str, locale: str,
            parameters: list[str], kind: str, client_id: int | None = None) -> OutboxMessage:
    """Queue a template message in the caller's transaction (`client_id`: the client it is
    for, whose delivery log shows it)."""
    payload = {
        "tenant": tenant.slug, "kind": kind,
        "message": {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": phone,
            "type": "template",
            "template": {
                "name": template,
                "language": {"code": language(locale)},
                "components": [{"type": "body", "parameters": [
                    {"type": "text", "text": value} for value in parameters]}],
            },
        },
    }
    message = OutboxMessage(tenant=tenant.slug, channel=WHATSAPP.name, client_id=client_id,
                            payload=payload)
    db.add(message)
    return message


class WhatsAppRejected(DeliveryError):
    """The Cloud API answered, but not with 2xx (its error message is kept)."""

    def __init__(self, status: int, detail: str):
        super().__init__(f"HTTP {status}: {detail[:MAX_ERROR_CHARS]}".rstrip(": "))
        self.status = status


class WhatsAppSender:
    """POSTs one message to `<api_url>/v21.0/<phone-number-id>/messages`; raises unless 2xx."""

    def __init__(self, tenants: TenantRegistry, environ: Mapping[str, str], *,
                 api_url: str = DEFAULT_API_URL, timeout: float = TIMEOUT_SECONDS):
        self.tenants = tenants
        self.environ = environ
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout

    @cached_property
    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=certifi.where())

    def _credentials(self, slug: str) -> tuple[str, str]:
        if self.tenants.get(slug) is None:
            raise DeliveryError(f"tenant {slug!r} is no longer configured")
        token = self.environ.get(env_name(TOKEN_ENV_PREFIX, slug), "").strip()
        phone_id = self.environ.get(env_name(PHONE_ID_ENV_PREFIX, slug), "").strip()
        missing = [env_name(prefix, slug) for prefix, value in (
            (TOKEN_ENV_PREFIX, token), (PHONE_ID_ENV_PREFIX, phone_id)) if not value]
        if missing:
            raise DeliveryError(f"{' and '.join(missing)} not set: the tenant's WhatsApp "
                                "Business access token and phone-number id")
        return token, phone_id

    async def send(self, payload: dict[str, Any]) -> str:
        """Deliver one message; returns WhatsApp's message id (wamid...)."""
        token, phone_id = self._credentials(payload["tenant"])
        url = f"{self.api_url}/{GRAPH_VERSION}/{phone_id}/messages"
        verify: ssl.SSLContext | bool = self._tls if url.startswith("https:") else False
        async with httpx.AsyncClient(timeout=self.timeout, verify=verify,
                                     follow_redirects=False) as http:
            response = await http.post(url, json=payload["message"],
                                       headers={"Authorization": f"Bearer {token}"})
        if not 200 <= response.status_code < 300:
            raise WhatsAppRejected(response.status_code, _error_text(response))
        try:
            return str(response.json()["messages"][0]["id"])
        except (ValueError, KeyError, IndexError, TypeError):
            return ""

    def __repr__(self) -> str:
        return f"WhatsAppSender({self.api_url})"


def _error_text(response: httpx.Response) -> str:
    """The Cloud API's `{"error": {"message": ..., "code": ...}}`, or the raw text."""
    try:
        error = response.json()["error"]
        return f"{error.get('message', '')} (code {error.get('code')})"
    except (ValueError, KeyError, TypeError):
        return response.text.strip()
