"""Provider webhooks: what clients do in the portal, POSTed to the provider's `webhook_url`.

An event is written to the outbox (channel "webhook") in the transaction of the action that
caused it, then sent signed per Standard Webhooks (https://www.standardwebhooks.com) and
retried with backoff for three days. A client's events arrive in the order they happened: one
is not tried while an earlier one of the same client is still waiting, so a receiver that was
down gets them all, in order, once it is back. Delivery is at least once; the `webhook-id`
header stays the same across retries, so a receiver drops a duplicate by that id.

Every event's body is `{"type": ..., "timestamp": ..., "data": {...}}`; `data` carries the
provider's own ids (`client_id`, `booking_id`, ... as in the sync API) and exactly the keys
listed for its type in `EVENT_TYPES`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import ssl
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, Callable, Sequence

import certifi
import httpx
from sqlalchemy import exists, update
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, select

from widget_server.core import activity
from widget_server.core import models as m
from widget_server.core.models import OutboxMessage, WebhookDelivery, utcnow
from widget_server.core.tenants import Tenant, TenantRegistry, env_name
from widget_server.core.wire import jsonable
from widget_server.delivery.outbox import Attempt, Channel, DeliveryError, RetryPolicy

SESSION_CANCELLED = "session.cancelled"
MAKEUP_BOOKED = "makeup.booked"
MAKEUP_CANCELLED = "makeup.cancelled"
ENTRY_PASS_USED = "entry_pass.used"
SESSION_RESCHEDULED = "session.rescheduled"
ADDON_ADDED = "addon.added"
PAYMENT_STARTED = "payment.started"
PAYMENT_PAID = "payment.paid"
SHARE_ADDED = "share.added"
SHARE_REVOKED = "share.revoked"
ACCOUNT_UPDATED = "account.updated"
ACCOUNT_DELETION_REQUESTED = "account.deletion_requested"
REPORT_CARD_VIEWED = "report_card.viewed"
DOCUMENT_VIEWED = "document.viewed"
OFFER_ACCEPTED = "offer.accepted"
OFFER_DECLINED = "offer.declined"
OFFER_EXPIRED = "offer.expired"
BOOKING_SWITCH_REQUESTED = "booking.switch_requested"
BOOKING_SWITCHED = "booking.switched"
# A class change's keys (both booking.switch_* events).
SWITCH_FIELDS = ("client_id", "switch_id", "status", "booking_id", "attendee_id",
                 "from_programme_id", "to_programme_id", "sessions", "price_difference",
                 "currency", "requested_by", "requested_at", "decided_at", "message")


@dataclass(frozen=True)
class EventType:
    """An event a provider receives: when it happens, and the keys of its `data`."""

    name: str
    when: str
    fields: tuple[str, ...]


EVENT_TYPES: dict[str, EventType] = {event.name: event for event in (
    EventType(SESSION_CANCELLED, "a client cancelled an attendee's place in one session",
              ("client_id", "attendee_id", "booking_id", "session_id", "attendance_id",
               "starts_at", "makeup_credit_id")),
    EventType(MAKEUP_BOOKED, "a client booked a make-up session with a make-up credit",
              ("client_id", "attendee_id", "makeup_credit_id", "session_id", "attendance_id",
               "starts_at")),
    EventType(MAKEUP_CANCELLED, "a client cancelled a booked make-up; the credit is free again",
              ("client_id", "attendee_id", "makeup_credit_id", "session_id", "attendance_id",
               "starts_at")),
    EventType(ENTRY_PASS_USED, "an entry was taken from an entry pass in the portal",
              ("client_id", "attendee_id", "entry_pass_id", "session_id", "used_entries",
               "total_entries")),
    EventType(SESSION_RESCHEDULED, "a client moved an attendee's place to another session",
              ("client_id", "attendee_id", "booking_id", "attendance_id", "from_session_id",
               "session_id", "starts_at")),
    EventType(ADDON_ADDED, "a client added one of the programme's add-ons to a booking",
              ("client_id", "booking_id", "addon_id", "payment_id", "amount", "currency")),
    EventType(PAYMENT_STARTED, "a client started paying (online, or chose bank transfer)",
              ("client_id", "payment_id", "amount", "currency", "method")),
    EventType(PAYMENT_PAID, "a payment made in the portal succeeded",
              ("client_id", "payment_id", "amount", "currency", "method", "paid_at")),
    EventType(SHARE_ADDED, "a client shared a booking with another adult",
              ("client_id", "booking_id", "share_id", "email", "relation", "access")),
    EventType(SHARE_REVOKED, "a client took back a booking's share",
              ("client_id", "booking_id", "share_id", "email")),
    EventType(ACCOUNT_UPDATED, "a client changed their contact details or notice settings",
              ("client_id", "changes")),
    EventType(ACCOUNT_DELETION_REQUESTED, "a client asked for their account to be deleted",
              ("client_id", "email")),
    # Sent once per person (`client_id` is None for an adult a booking is shared with).
    EventType(REPORT_CARD_VIEWED, "a person opened a published report card for the first time",
              ("client_id", "attendee_id", "report_card_id", "email", "opened_at")),
    EventType(DOCUMENT_VIEWED, "a person opened a shared document for the first time",
              ("client_id", "attendee_id", "document_id", "email", "opened_at")),
    # `client_id` is the offer's family; `email` who answered (a co-parent may); `payment_id`
    # the unpaid payment an offer paid on acceptance asked for, or None.
    EventType(OFFER_ACCEPTED, "a family kept the place an offer proposed (create the booking)",
              ("client_id", "attendee_id", "offer_id", "option", "programme_id",
               "first_session_id", "email", "accepted_at", "payment_id")),
    EventType(OFFER_DECLINED, "a family said no to an offer",
              ("client_id", "attendee_id", "offer_id", "reason", "note", "email",
               "declined_at")),
    EventType(OFFER_EXPIRED, "an offer's deadline passed unanswered; a held place is free",
              ("client_id", "attendee_id", "offer_id", "deadline")),
    # `sessions`: [{attendance_id, from_session_id, to_session_id}], the places that move.
    EventType(BOOKING_SWITCH_REQUESTED, "a family asked to change a booking's class for the "
              "rest of the term (confirm or decline it at /api/v1/switches/<switch_id>)",
              SWITCH_FIELDS),
    EventType(BOOKING_SWITCHED, "a booking's remaining places moved to another class (at once, "
              "or when the provider confirmed the request)", SWITCH_FIELDS),
)}

# The provider's id for each `<name>_id` key, looked up by `provider_ids`.
REFERENCES: dict[str, type] = {
    "client": m.Client, "attendee": m.Attendee, "programme": m.Programme,
    "session": m.ClassSession, "booking": m.Booking, "attendance": m.Attendance,
    "makeup_credit": m.MakeupCredit, "order": m.Order, "payment": m.Payment,
    "entry_pass": m.EntryPass, "share": m.BookingShare, "report_card": m.ReportCard,
    "document": m.Document, "offer": m.Offer,
}

SECRET_ENV_PREFIX = "WIDGET_WEBHOOK_SECRET_"
SECRET_PREFIX = "whsec_"
TIMEOUT_SECONDS = 10.0
USER_AGENT = "ClientProfile-Webhooks/1"
MAX_RESPONSE_CHARS = 200


def provider_ids(session: Session, tenant: str, **row_ids: int | None) -> dict[str, str | None]:
    """The provider's ids of rows given by row id: `booking=7` gives {"booking_id": "b-1"}."""
    out: dict[str, str | None] = {}
    for name, row_id in row_ids.items():
        model = REFERENCES[name]
        if row_id is None:
            out[f"{name}_id"] = None
            continue
        external_id = session.exec(
            select(model.external_id).where(model.id == row_id, model.tenant == tenant)
        ).first()
        if external_id is None:
            raise LookupError(f"no {name} with row id {row_id} in tenant {tenant!r}")
        out[f"{name}_id"] = external_id
    return out


def client_ref(session: Session, tenant: str, client_id: int) -> str:
    """The provider's id of a client."""
    return str(provider_ids(session, tenant, client=client_id)["client_id"])


def _json_default(value: Any) -> Any:
    converted = jsonable(value)
    if converted is value:
        raise TypeError(f"{type(value).__name__} cannot go into a webhook")
    return converted


def enqueue_event(
    session: Session,
    tenant: Tenant,
    event_type: str,
    *,
    client_id: int | None,
    data: dict[str, Any],
    at: datetime | None = None,
) -> WebhookDelivery | None:
    """Queue a webhook in the caller's transaction; None when the tenant has no webhook_url.

    `client_id` is the client's row id (its provider id goes into `data` as `client_id`);
    `data` holds the event's other keys, with provider ids. Raises ValueError on a bad event.
    """
    event = EVENT_TYPES.get(event_type)
    if event is None:
        raise ValueError(f"unknown webhook event {event_type!r}; known: {', '.join(EVENT_TYPES)}")
    if "client_id" in data:
        raise ValueError("pass the client's row id as client_id=, not in data")
    keys, expected = set(data) | {"client_id"}, set(event.fields)
    if keys != expected:
        raise ValueError(f"{event_type} data: missing {sorted(expected - keys)}, "
                         f"unknown {sorted(keys - expected)}")
    # What families did, for the console's dashboard: counted whether or not it is sent.
    activity.count(session, tenant.slug, event_type, at or utcnow(),
                   activity.amount_of(data) if event_type == PAYMENT_PAID else 0)
    url = tenant.config.webhook_url
    if not url:
        return None
    body_data = {"client_id": None if client_id is None
                 else client_ref(session, tenant.slug, client_id)} | data
    webhook_id = "msg_" + secrets.token_hex(12)
    body = json.dumps(
        {"type": event_type, "timestamp": jsonable(at or utcnow()), "data": body_data},
        default=_json_default, ensure_ascii=False, separators=(",", ":"),
    )
    message = OutboxMessage(
        tenant=tenant.slug,
        channel=WEBHOOK.name,
        client_id=client_id,
        payload={"tenant": tenant.slug, "url": url, "webhook_id": webhook_id, "body": body},
    )
    session.add(message)
    session.flush()  # the delivery row needs the message's id
    delivery = WebhookDelivery(
        outbox_message_id=message.id, tenant=tenant.slug, webhook_id=webhook_id,
        event_type=event_type, client_id=client_id,
    )
    session.add(delivery)
    return delivery


def secret_env(slug: str) -> str:
    """`WIDGET_WEBHOOK_SECRET_DEMO_SK` for slug `demo-sk`."""
    return env_name(SECRET_ENV_PREFIX, slug)


def signing_keys(secret: str) -> list[bytes]:
    """The keys in a secret setting: one `whsec_<base64>`, or several, space-separated, while
    rotating (the receiver accepts a request when any signature matches)."""
    keys = []
    for part in secret.split():
        if not part.startswith(SECRET_PREFIX):
            raise ValueError(f"must start with {SECRET_PREFIX!r}")
        encoded = part.removeprefix(SECRET_PREFIX)
        try:
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except binascii.Error:
            raise ValueError(f"must be {SECRET_PREFIX!r} followed by base64") from None
        if len(key) < 16:
            raise ValueError("the key must be at least 16 bytes (24 base64 characters)")
        keys.append(key)
    if not keys:
        raise ValueError("is empty")
    return keys


def sign(keys: Sequence[bytes], webhook_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header: `v1,<base64 HMAC-SHA256>` per key, space-separated."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        for key in keys
    )


class WebhookRejected(DeliveryError):
    """The receiver answered, but not with 2xx."""

    def __init__(self, status: int, text: str):
        super().__init__(f"HTTP {status}: {text[:MAX_RESPONSE_CHARS]}".rstrip(": "))
        self.status = status


class WebhookSender:
    """POSTs one webhook signed with its tenant's current secret; raises unless answered 2xx."""

    def __init__(self, tenants: TenantRegistry, *, clock: Callable[[], float] = time.time,
                 timeout: float = TIMEOUT_SECONDS):
        self.tenants = tenants
        self.clock = clock
        self.timeout = timeout

    @cached_property
    def _tls(self) -> ssl.SSLContext:
        # Built once, on first use: loading the CA bundle takes a good part of a second.
        return ssl.create_default_context(cafile=certifi.where())

    def _keys(self, slug: str) -> list[bytes]:
        tenant = self.tenants.get(slug)
        if tenant is None:
            raise DeliveryError(f"tenant {slug!r} is no longer configured")
        if not tenant.webhook_secret:
            raise DeliveryError(f"{secret_env(slug)} is not set: set it to the tenant's "
                                f"signing secret ({SECRET_PREFIX}<base64>) to send webhooks")
        try:
            return signing_keys(tenant.webhook_secret)
        except ValueError as exc:
            raise DeliveryError(f"{secret_env(slug)} is not a valid secret: {exc}") from None

    async def send(self, payload: dict[str, Any]) -> int:
        """Deliver one webhook; returns the receiver's HTTP status."""
        keys = self._keys(payload["tenant"])
        body = payload["body"].encode()
        # The time of this attempt, not of the event: receivers refuse stale timestamps.
        timestamp = int(self.clock())
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": payload["webhook_id"],
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(keys, payload["webhook_id"], timestamp, body),
        }
        async with httpx.AsyncClient(timeout=self.timeout, verify=self._tls,
                                     follow_redirects=False) as http:
            response = await http.post(payload["url"], content=body, headers=headers)
        if not 200 <= response.status_code < 300:
            raise WebhookRejected(response.status_code, response.text.strip())
        return response.status_code

    def __repr__(self) -> str:
        return f"WebhookSender(timeout={self.timeout})"


def _in_order() -> ColumnElement[bool]:
    """No earlier event of the same tenant and client is still waiting or being sent."""
    mine = aliased(WebhookDelivery)
    earlier = aliased(WebhookDelivery)
    earlier_message = aliased(OutboxMessage)
    # Events without a client (client_id NULL) never match, so they wait for nothing.
    return ~exists().where(
        mine.outbox_message_id == OutboxMessage.id,
        earlier.tenant == mine.tenant,
        earlier.client_id == mine.client_id,
        earlier.outbox_message_id < mine.outbox_message_id,
        earlier_message.id == earlier.outbox_message_id,
        earlier_message.status.in_(("pending", "sending")),
    )


def _record(session: Session, message: OutboxMessage, attempt: Attempt) -> None:
    """Keep when the attempt was made and the receiver's status (None: no answer)."""
    answer = attempt.result if attempt.error is None else getattr(attempt.error, "status", None)
    session.exec(
        update(WebhookDelivery)
        .where(WebhookDelivery.outbox_message_id == message.id)
        .values(last_attempt_at=attempt.at,
                response_status=answer if isinstance(answer, int) else None)
        .execution_options(synchronize_session=False)
    )


# Tried after 30 s, 1 min, 2 min ... then hourly, for three days from the event: a receiver
# that is down over a weekend still gets everything.
WEBHOOK = Channel(
    "webhook",
    RetryPolicy(first_retry=timedelta(seconds=30), max_backoff=timedelta(hours=1),
                give_up_after=timedelta(days=3)),
    ready=_in_order(),
    record=_record,
)
