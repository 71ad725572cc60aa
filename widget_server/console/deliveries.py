"""What was sent about a family, and the tenant's webhooks: the delivery log staff read when a
parent says "I never got the e-mail", and "retry now" for a webhook the provider's own server
missed. Read straight from the outbox, whose rows are kept once sent or given up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_
from sqlmodel import Session, select

from widget_server.api.webhook_deliveries import find_delivery
from widget_server.console import staff
from widget_server.core.models import Client, OutboxMessage, WebhookDelivery
from widget_server.delivery import outbox

PAGE = 50
# Statuses in the words the console shows (see `status_of`).
QUEUED, SENDING, RETRYING, SENT, FAILED = "queued", "sending", "retrying", "sent", "failed"
# E-mails whose subject holds a login or confirmation code: staff see what they were, never
# the code, which would let them log in as the family.
SECRET_SUBJECTS = {"login", "email_change_code"}


@dataclass(frozen=True)
class Delivery:
    """One message as the console lists it."""

    id: int  # the outbox message's
    channel: str  # "email", "whatsapp" or "webhook"
    kind: str | None  # the e-mail's or WhatsApp template's name, the webhook's event type
    subject: str | None  # an e-mail's subject, unless it holds a code
    to: str | None  # the e-mail address or phone number it went to
    status: str  # QUEUED, SENDING, RETRYING, SENT or FAILED
    attempts: int  # tries made, the successful one included
    queued_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime | None  # while retrying
    last_error: str | None
    response_status: int | None = None  # a webhook receiver's last answer
    webhook_id: str | None = None
    client: Any = None  # on the tenant's webhooks page: the client the event is about

    @property
    def retryable(self) -> bool:
        """Whether "retry now" applies: given up, or waiting for its next try."""
        return self.status in (RETRYING, FAILED)


def status_of(status: str, attempts: int) -> str:
    """The outbox's status in the console's words: a pending message that failed before is
    retrying, one never tried is queued."""
    if status in ("sent", "failed"):
        return SENT if status == "sent" else FAILED
    if attempts:
        return RETRYING
    return SENDING if status == "sending" else QUEUED


def _columns() -> tuple[Any, ...]:
    payload = OutboxMessage.payload
    # Just these keys of the payload, not the e-mail's bodies: a page reads 50 small rows.
    return (OutboxMessage.id, OutboxMessage.channel, OutboxMessage.status,
            OutboxMessage.attempts, OutboxMessage.created_at, OutboxMessage.sent_at,
            OutboxMessage.next_attempt_at, OutboxMessage.last_error,
            payload["kind"].as_string(), payload["subject"].as_string(),
            payload["to"].as_string(), payload[("message", "to")].as_string())


def _delivery(row: Any, event_type: str | None, response_status: int | None,
              webhook_id: str | None, client: Any = None) -> Delivery:
    (message_id, channel, status, attempts, created_at, sent_at, next_attempt_at, last_error,
     kind, subject, email_to, phone_to) = row
    words = status_of(status, attempts)
    return Delivery(
        id=message_id, channel=channel, kind=event_type or kind,
        subject=None if kind in SECRET_SUBJECTS else subject,
        to=email_to or phone_to, status=words, attempts=attempts + (1 if words == SENT else 0),
        queued_at=created_at, sent_at=sent_at,
        next_attempt_at=next_attempt_at if words == RETRYING else None,
        last_error=None if words == SENT else last_error,
        response_status=response_status, webhook_id=webhook_id, client=client)


def family_log(db: Session, tenant: str, client_id: int, before: int | None = None,
               limit: int = PAGE) -> tuple[list[Delivery], int | None]:
    """Every e-mail, WhatsApp message and webhook about one client, newest first: a page, and
    the id to read the next (older) page from (None on the last). One query, by the
    (tenant, client_id, id) index."""
    query = (select(*_columns(), WebhookDelivery.event_type, WebhookDelivery.response_status,
                    WebhookDelivery.webhook_id)
             .outerjoin(WebhookDelivery, WebhookDelivery.outbox_message_id == OutboxMessage.id)
             .where(OutboxMessage.tenant == tenant, OutboxMessage.client_id == client_id))
    if before is not None:
        query = query.where(OutboxMessage.id < before)
    rows = list(db.exec(query.order_by(OutboxMessage.id.desc()).limit(limit + 1)).all())
    log = [_delivery(row[:12], *row[12:]) for row in rows[:limit]]
    return log, log[-1].id if len(rows) > limit else None


def webhooks(db: Session, tenant: str, before: int | None = None,
             limit: int = PAGE) -> tuple[list[Delivery], int | None]:
    """The tenant's webhook deliveries, newest first, each with the client it is about: a
    page, and the delivery id to read the next page from (None on the last)."""
    query = (select(*_columns(), WebhookDelivery, Client)
             .join(WebhookDelivery, WebhookDelivery.outbox_message_id == OutboxMessage.id)
             .outerjoin(Client, and_(Client.id == WebhookDelivery.client_id,
                                     Client.tenant == tenant))
             .where(WebhookDelivery.tenant == tenant))
    if before is not None:
        query = query.where(WebhookDelivery.id < before)
    rows = list(db.exec(query.order_by(WebhookDelivery.id.desc()).limit(limit + 1)).all())
    page = [_delivery(row[:12], row[12].event_type, row[12].response_status,
                      row[12].webhook_id, row[13]) for row in rows[:limit]]
    return page, rows[limit - 1][12].id if len(rows) > limit else None


def retry_webhook(db: Session, tenant: str, staff_email: str, webhook_id: str,
                  now: datetime) -> bool:
    """"Retry now": the tenant's failed or retrying webhook becomes due at once, its attempts
    kept, and the audit log says who did it. False (nothing done, nothing written) when it
    was not waiting for a retry, e.g. it went out a moment ago. NotFound for anyone else's."""
    delivery, message = find_delivery(db, tenant, webhook_id)
    if not outbox.retry_now(db, message.id, now):
        return False
    # The delivery outlives its client (no foreign key there); the audit entry names it
    # only while it exists.
    client_id = delivery.client_id and db.exec(select(Client.id).where(
        Client.id == delivery.client_id, Client.tenant == tenant)).first()
    staff.record(db, tenant, staff_email, "retry_webhook", client_id, now,
                 f"{delivery.event_type} · {webhook_id}")
    return True
