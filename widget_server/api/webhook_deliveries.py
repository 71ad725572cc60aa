"""The provider's view of its webhook deliveries (`/api/v1/webhook-deliveries`): each event's
status, attempts and the receiver's last answer, newest first."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, select

from widget_server.api.sync import decode_cursor, encode_cursor
from widget_server.core.errors import NotFound
from widget_server.core.models import OutboxMessage, WebhookDelivery
from widget_server.core.wire import jsonable

STATUS_NAMES = {"sent": "delivered"}


def delivery_json(delivery: WebhookDelivery, message: OutboxMessage) -> dict[str, Any]:
    """A delivery as the provider API shows it."""
    delivered = message.status == "sent"
    return {
        "id": delivery.webhook_id,
        "type": delivery.event_type,
        "status": STATUS_NAMES.get(message.status, message.status),
        "attempts": message.attempts + (1 if delivered else 0),
        "url": message.payload.get("url"),
        "created_at": jsonable(message.created_at),
        "last_attempt_at": jsonable(delivery.last_attempt_at),
        "next_attempt_at": jsonable(message.next_attempt_at)
        if message.status == "pending" else None,
        "delivered_at": jsonable(message.sent_at),
        "response_status": delivery.response_status,
        "last_error": message.last_error,
        "payload": json.loads(message.payload["body"]),
    }


def list_deliveries(session: Session, tenant: str, *, limit: int,
                    cursor: str | None = None) -> dict[str, Any]:
    """One page of the tenant's deliveries, newest first, and the cursor of the next page."""
    query = (
        select(WebhookDelivery, OutboxMessage)
        .join(OutboxMessage, OutboxMessage.id == WebhookDelivery.outbox_message_id)
        .where(WebhookDelivery.tenant == tenant)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit + 1)
    )
    if cursor:
        query = query.where(WebhookDelivery.id < decode_cursor(cursor))
    rows = list(session.exec(query).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [delivery_json(delivery, message) for delivery, message in rows],
        "next_cursor": encode_cursor(rows[-1][0].id) if more else None,
    }


def find_delivery(session: Session, tenant: str,
                  webhook_id: str) -> tuple[WebhookDelivery, OutboxMessage]:
    """One of the tenant's deliveries by its webhook-id, with its outbox message; NotFound
    for anyone else's (the API's and the provider console's lookup)."""
    row = session.exec(
        select(WebhookDelivery, OutboxMessage)
        .join(OutboxMessage, OutboxMessage.id == WebhookDelivery.outbox_message_id)
        .where(WebhookDelivery.tenant == tenant, WebhookDelivery.webhook_id == webhook_id)
    ).first()
    if row is None:
        raise NotFound(f"No webhook delivery {webhook_id!r}.")
    return row[0], row[1]


def get_delivery(session: Session, tenant: str, webhook_id: str) -> dict[str, Any]:
    """One of the tenant's deliveries by its webhook-id; NotFound for anyone else's."""
    return delivery_json(*find_delivery(session, tenant, webhook_id))
