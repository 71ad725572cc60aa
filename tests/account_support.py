"""Helpers for the sharing and account stories: reading the e-mails sent and the webhooks the
provider would receive, and asking for a login code that should not come."""

from __future__ import annotations

import json
import time
from email.message import EmailMessage

from smtp import MAIL_WAIT
from sqlmodel import Session, select
from starlette.testclient import TestClient
from visitor import Visitor

from widget_server.core.models import OutboxMessage, WebhookDelivery


def mail_to(mailbox, address: str, count: int = 1, timeout: float = 5.0) -> list[EmailMessage]:
    """The e-mails to `address`, waiting until there are at least `count`."""
    deadline = time.monotonic() + timeout
    while True:
        found = mailbox.to(address)
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"expected {count} e-mail(s) to {address}, got {len(found)}: "
                                 f"{[m['Subject'] for m in found]}")
        time.sleep(0.02)


def body(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def subjects(mailbox, address: str, wait_for: str | None = None) -> list[str]:
    """The subjects of the e-mails to `address`, waiting (up to MAIL_WAIT) for one if given."""
    deadline = time.monotonic() + MAIL_WAIT
    while True:
        found = [m["Subject"] for m in mailbox.to(address)]
        if wait_for is None or wait_for in found or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def no_login_mail(app, mailbox, email: str, tenant: str = "demo") -> bool:
    """Ask for a login code for `email`; True when none was sent (an unknown address)."""
    visitor = Visitor(TestClient(app), tenant)
    before, queued = len(mailbox.to(email)), len(queued_mail(app, email))
    assert visitor.request_code(email).status_code == 200
    time.sleep(0.3)  # time enough for the outbox to send one, had it been queued
    return len(mailbox.to(email)) == before and len(queued_mail(app, email)) == queued


def queued_mail(app, address: str) -> list[dict]:
    """E-mails to `address` written to the outbox (sent or not)."""
    with Session(app.state.engine) as db:
        rows = db.exec(select(OutboxMessage).where(OutboxMessage.channel == "email")
                       .order_by(OutboxMessage.id)).all()
    return [r.payload for r in rows if r.payload["to"] == address]


def events(app, event_type: str | None = None) -> list[dict]:
    """The bodies of the webhooks queued for providers, oldest first."""
    with Session(app.state.engine) as db:
        rows = db.exec(select(WebhookDelivery, OutboxMessage)
                       .join(OutboxMessage, OutboxMessage.id == WebhookDelivery.outbox_message_id)
                       .order_by(WebhookDelivery.id)).all()
    found = [json.loads(message.payload["body"]) for _, message in rows]
    return [e for e in found if event_type is None or e["type"] == event_type]
