"""The school's webhooks in the console: what went to its booking system, what is waiting
and why, and "Retry now" for an event its server missed (audited)."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from datetime import timedelta

import pytest
from console_support import COACH, staff_browser
from payment_support import PROVIDER_SECRET, tenants_copy
from profile_support import SARAH, browser, demo_app, section, text_of
from sqlmodel import Session, select

from widget_server.core.models import OutboxMessage, WebhookDelivery, utcnow
from widget_server.delivery.outbox import drain_once
from widget_server.delivery.webhooks import WEBHOOK, WebhookSender


@pytest.fixture
def hooked(settings, tmp_path, receiver):
    """The demo, with Splash Swim's webhooks going to its booking system (the receiver)."""
    tenants = tenants_copy(tmp_path / "tenants", demo={"webhook_url": receiver.url})
    environ = dict(settings.environ) | {"WIDGET_WEBHOOK_SECRET_DEMO": PROVIDER_SECRET}
    with demo_app(replace(settings, tenants_dir=tenants, environ=environ)) as app:
        yield app


def the_webhook(app) -> tuple[WebhookDelivery, OutboxMessage]:
    with Session(app.state.engine) as db:
        return db.exec(select(WebhookDelivery, OutboxMessage).join(
            OutboxMessage, OutboxMessage.id == WebhookDelivery.outbox_message_id)).one()


def eventually(check, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
    return found


def test_a_webhook_the_booking_system_missed_all_weekend_is_retried_from_the_console(
        hooked, mailbox, receiver):
    receiver.stop()  # the booking system's server is down
    sarah = browser(hooked, mailbox, SARAH)
    sarah.open("account")
    assert sarah.post("account/details", {"name": "Sarah Thompson", "phone": "07911 123456"}) \
        .status_code == 303
    eventually(lambda: the_webhook(hooked)[1].attempts == 1)  # tried at once, and refused

    coach = staff_browser(hooked, mailbox, COACH)
    page = text_of(coach.open("webhooks").text)
    assert f"sent to {receiver.url}" in page
    assert "account.updated Sarah Thompson" in page and "Retrying" in page
    assert "Last error:" in page and "next attempt" in page and "Retry now" in page

    # Three days on, still down: the outbox gives the event up, and keeps it.
    sender = WebhookSender(hooked.state.tenants)
    asyncio.run(drain_once(hooked.state.engine, sender, channel=WEBHOOK,
                           now=utcnow() + timedelta(days=3, minutes=1)))
    delivery, message = the_webhook(hooked)
    assert (message.status, message.attempts) == ("failed", 2)
    page = text_of(coach.open("webhooks").text)
    assert "Failed" in page and "No more tries. Last error:" in page and "Retry now" in page

    receiver.start()  # back up; the coach presses "Retry now"
    answer = coach.post(f"webhooks/{delivery.webhook_id}/retry")
    assert answer.status_code == 303 and answer.headers["location"].endswith("?retried=1")
    assert "The webhook is being sent again now." in text_of(coach.open("webhooks?retried=1")
                                                             .text)
    [request] = receiver.wait_for(1)
    event = json.loads(request.body)
    assert event["type"] == "account.updated" and event["data"]["client_id"] == "cl-1001"
    assert request.headers["webhook-id"] == delivery.webhook_id  # the same event, not a copy

    eventually(lambda: the_webhook(hooked)[1].status == "sent")
    page = text_of(coach.open("webhooks").text)
    assert "Sent" in page and "3 attempts" in page and "the receiver answered 200" in page
    assert "Retry now" not in page
    log = section(coach.open("families/cl-1001").text, "log-title")
    assert "Webhook · account.updated" in log and "3 attempts" in log

    audit = text_of(staff_browser(hooked, mailbox).open("audit").text)
    assert f"Retried a webhook {COACH}" in audit and "Sarah Thompson" in audit
    assert f"account.updated · {delivery.webhook_id}" in audit


def test_retry_now_on_a_webhook_that_already_went_out_changes_nothing(hooked, mailbox,
                                                                      receiver):
    sarah = browser(hooked, mailbox, SARAH)
    sarah.open("account")
    sarah.post("account/details", {"name": "Sarah Thompson", "phone": "07911 123456"})
    receiver.wait_for(1)
    delivery, _message = eventually(lambda: (row := the_webhook(hooked))[1].status == "sent"
                                    and row)
    coach = staff_browser(hooked, mailbox, COACH)
    coach.open("webhooks")  # a page opened before it went out, its button pressed late
    answer = coach.post(f"webhooks/{delivery.webhook_id}/retry")
    assert answer.headers["location"].endswith("?retried=0")
    assert "it may have gone out a moment ago" in text_of(coach.open("webhooks?retried=0").text)
    time.sleep(0.2)
    assert len(receiver.requests) == 1
    assert the_webhook(hooked)[1].status == "sent"
    assert "Retried a webhook" not in text_of(staff_browser(hooked, mailbox).open("audit").text)
