"""Providers receive signed webhooks for what clients do: every event arrives, once, in order
per client, even after the provider's server was down; and the provider can see each delivery.

Signatures are checked with `standardwebhooks`, the reference library receivers use.
"""

from __future__ import annotations

import asyncio
import base64
import re
import shutil
import time
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.concurrency import run_in_threadpool
from starlette.testclient import TestClient
from tenant_support import TENANTS

from widget_server import cli
from widget_server.app import create_app
from widget_server.core.db import make_engine, session_scope
from widget_server.core.models import Client, OutboxMessage, WebhookDelivery, utcnow
from widget_server.core.settings import Settings
from widget_server.core.tenants import Tenant, TenantRegistry
from widget_server.delivery import outbox, webhooks
from widget_server.delivery.outbox import drain_once, run_worker
from widget_server.delivery.webhooks import (
    ACCOUNT_UPDATED,
    EVENT_TYPES,
    SESSION_CANCELLED,
    WEBHOOK,
    WebhookSender,
    enqueue_event,
)
from widget_server.demo import TENANTS_DIR as DEMO_TENANTS

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
OLD_SECRET = "whsec_" + base64.b64encode(b"an older signing key, 32 bytes!!").decode()
PROJECT_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The API tests drain by hand, so no drainer runs inside the app."""
    return replace(settings, send_in_process=False)


def tenant(slug: str = "demo", *, url: str | None, secret: str | None = SECRET) -> Tenant:
    """A demo tenant whose webhooks go to `url`, signed with `secret`."""
    base = TENANTS.get(slug)
    return replace(base, config=base.config.model_copy(update={"webhook_url": url}),
                   webhook_secret=secret)


def add_clients(engine: Engine, slug: str = "demo", *external_ids: str) -> dict[str, int]:
    """Clients as the provider pushed them; returns their row ids by provider id."""
    with session_scope(engine) as session:
        clients = [Client(tenant=slug, external_id=e, email=f"{e}@example.com", name=e)
                   for e in external_ids]
        session.add_all(clients)
        session.flush()
        return {c.external_id: c.id for c in clients}


def cancel(engine: Engine, who: Tenant, client_id: int, n: int) -> str:
    """A client cancels session n (as the portal's cancel action will); returns the webhook-id."""
    with session_scope(engine) as session:
        delivery = enqueue_event(session, who, SESSION_CANCELLED, client_id=client_id, data={
            "attendee_id": "a-1", "booking_id": "b-1", "session_id": f"s-{n}",
            "attendance_id": f"at-{n}", "starts_at": datetime(2025, 3, n + 1, 16, 30,
                                                              tzinfo=utcnow().tzinfo),
            "makeup_credit_id": None,
        })
        assert delivery is not None
        return delivery.webhook_id


def deliver(engine: Engine, sender: WebhookSender, now: datetime | None = None) -> int:
    """Drain rounds until nothing more goes out, as the drainer does; returns how many went."""
    total = 0
    while sent := asyncio.run(drain_once(engine, sender, now=now, channel=WEBHOOK)):
        total += sent
    return total


def deliveries(engine: Engine) -> list[tuple[WebhookDelivery, OutboxMessage]]:
    with Session(engine) as session:
        return list(session.exec(
            select(WebhookDelivery, OutboxMessage)
            .join(OutboxMessage, OutboxMessage.id == WebhookDelivery.outbox_message_id)
            .order_by(WebhookDelivery.id)).all())


def verified(request: Any, secret: str = SECRET) -> dict[str, Any]:
    return Webhook(secret).verify(request.body, request.headers)


def sessions_by_client(received: list) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for request in received:
        data = verified(request)["data"]
        out.setdefault(data["client_id"], []).append(data["session_id"])
    return out


def test_an_event_arrives_signed_per_standard_webhooks(engine, receiver):
    who = tenant(url=receiver.url)
    ids = add_clients(engine, "demo", "c-1001")
    webhook_id = cancel(engine, who, ids["c-1001"], 1)

    assert deliver(engine, WebhookSender(TenantRegistry([who]))) == 1

    [request] = receiver.requests
    assert request.path == "/hooks/client-profile"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == webhook_id
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 5
    assert request.headers["webhook-signature"].startswith("v1,")
    event = verified(request)
    assert event["type"] == "session.cancelled"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", event["timestamp"])
    assert event["data"] == {
        "client_id": "c-1001", "attendee_id": "a-1", "booking_id": "b-1", "session_id": "s-1",
        "attendance_id": "at-1", "starts_at": "2025-03-02T16:30:00Z", "makeup_credit_id": None,
    }
    [(delivery, message)] = deliveries(engine)
    assert request.body == message.payload["body"].encode()
    assert (message.status, message.attempts, delivery.response_status) == ("sent", 0, 200)
    assert delivery.last_attempt_at is not None and message.sent_at is not None


def test_a_tampered_body_or_another_secret_fails_verification(engine, receiver):
    who = tenant(url=receiver.url)
    cancel(engine, who, add_clients(engine, "demo", "c-1")["c-1"], 1)
    deliver(engine, WebhookSender(TenantRegistry([who])))
    [request] = receiver.requests

    tampered = replace(request, body=request.body.replace(b'"s-1"', b'"s-2"'))
    with pytest.raises(WebhookVerificationError):
        verified(tampered)
    with pytest.raises(WebhookVerificationError):
        verified(request, secret=OLD_SECRET)
    replayed = replace(request, headers=request.headers | {"webhook-id": "msg_other"})
    with pytest.raises(WebhookVerificationError):
        verified(replayed)


def test_while_rotating_secrets_both_the_new_and_the_old_one_verify(engine, receiver):
    who = tenant(url=receiver.url, secret=f"{SECRET} {OLD_SECRET}")
    cancel(engine, who, add_clients(engine, "demo", "c-1")["c-1"], 1)
    deliver(engine, WebhookSender(TenantRegistry([who])))
    [request] = receiver.requests
    assert verified(request, SECRET) == verified(request, OLD_SECRET)
    assert len(request.headers["webhook-signature"].split(" ")) == 2


def test_a_receiver_down_for_a_while_then_gets_every_event_once_in_order(engine, receiver):
    who = tenant(url=receiver.url)
    ids = add_clients(engine, "demo", "c-A", "c-B")
    sender = WebhookSender(TenantRegistry([who]))
    receiver.stop()  # the provider's server is down: connections are refused
    sent = [cancel(engine, who, ids[client], n)
            for n, client in enumerate(["c-A", "c-B", "c-A", "c-A", "c-B"], start=1)]
    now = utcnow()

    assert deliver(engine, sender, now) == 0
    attempts = [message.attempts for _, message in deliveries(engine)]
    assert attempts == [1, 1, 0, 0, 0], "only each client's first event is tried"
    assert "ConnectError" in deliveries(engine)[0][1].last_error

    receiver.start()
    receiver.answer = 503  # back, but still failing
    assert deliver(engine, sender, now) == 0, "tried again before its backoff ran out"
    now += timedelta(hours=1)
    assert deliver(engine, sender, now) == 0
    assert [r.status for r in receiver.requests] == [503, 503]
    assert {d.response_status for d, _ in deliveries(engine)[:2]} == {503}
    assert deliveries(engine)[0][1].last_error == "HTTP 503"

    receiver.answer = 200
    now += timedelta(hours=1)
    assert deliver(engine, sender, now) == 5
    assert deliver(engine, sender, now + timedelta(days=4)) == 0

    received = receiver.accepted
    assert Counter(r.headers["webhook-id"] for r in received) == Counter(sent)
    assert sessions_by_client(received) == {"c-A": ["s-1", "s-3", "s-4"], "c-B": ["s-2", "s-5"]}
    retried = [r for r in receiver.requests if r.headers["webhook-id"] == sent[0]]
    assert [r.status for r in retried] == [503, 200]
    assert retried[0].body == retried[1].body, "a retry sends the same event"
    assert {message.status for _, message in deliveries(engine)} == {"sent"}


def test_one_clients_failing_events_do_not_hold_up_another_clients(engine, receiver):
    who = tenant(url=receiver.url)
    ids = add_clients(engine, "demo", "c-A", "c-B")
    sender = WebhookSender(TenantRegistry([who]))
    # The provider's handler breaks on client A's records only.
    receiver.answer = lambda event: 500 if event["data"]["client_id"] == "c-A" else 204
    for n, client in enumerate(["c-A", "c-B", "c-A", "c-B", "c-B"], start=1):
        cancel(engine, who, ids[client], n)
    now = utcnow()

    assert deliver(engine, sender, now) == 3
    assert sessions_by_client(receiver.accepted) == {"c-B": ["s-2", "s-4", "s-5"]}
    assert [r.event["data"]["session_id"] for r in receiver.requests if not r.accepted] == ["s-1"]

    receiver.answer = 204
    assert deliver(engine, sender, now + timedelta(minutes=1)) == 2
    assert sessions_by_client(receiver.accepted)["c-A"] == ["s-1", "s-3"]
    assert [d.response_status for d, _ in deliveries(engine)] == [204] * 5


def test_several_workers_deliver_each_event_once_and_in_order(engine, receiver, database_url):
    who = tenant(url=receiver.url)
    ids = add_clients(engine, "demo", "c-A", "c-B", "c-C")
    clients = ["c-A", "c-B", "c-C"] * 8
    sent = [cancel(engine, who, ids[client], n) for n, client in enumerate(clients, start=1)]
    sender = WebhookSender(TenantRegistry([who]))
    receiver.delay = 0.005

    def worker() -> int:
        # Each worker has its own thread, event loop and connection pool, like a process.
        own_engine = make_engine(database_url)
        try:
            total, deadline = 0, time.monotonic() + 30
            while len(receiver.accepted) < len(sent) and time.monotonic() < deadline:
                total += asyncio.run(drain_once(own_engine, sender, channel=WEBHOOK))
            return total
        finally:
            own_engine.dispose()

    async def three_workers() -> list[int]:
        return await asyncio.gather(*(run_in_threadpool(worker) for _ in range(3)))

    counts = asyncio.run(three_workers())

    assert sum(counts) == len(sent)
    assert sum(1 for count in counts if count) >= 2, f"workers did not overlap: {counts}"
    assert Counter(r.headers["webhook-id"] for r in receiver.requests) == Counter(sent)
    expected: dict[str, list[str]] = {}
    for n, client in enumerate(clients, start=1):
        expected.setdefault(client, []).append(f"s-{n}")
    assert sessions_by_client(receiver.accepted) == expected


def test_retries_go_on_for_days_and_then_the_event_is_kept_as_failed(engine, receiver):
    who = tenant(url=receiver.url)
    ids = add_clients(engine, "demo", "c-A")
    sender = WebhookSender(TenantRegistry([who]))
    receiver.answer = 503
    cancel(engine, who, ids["c-A"], 1)
    [(_, created)] = deliveries(engine)
    now, waits = created.next_attempt_at, []
    while True:
        deliver(engine, sender, now)
        [(delivery, message)] = deliveries(engine)
        if message.status == "failed":
            break
        assert message.status == "pending"
        waits.append(message.next_attempt_at - now)
        deliver(engine, sender, message.next_attempt_at - timedelta(seconds=1))
        assert deliveries(engine)[0][1].attempts == message.attempts, "tried before its time"
        now = message.next_attempt_at

    assert waits[:4] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert waits == sorted(waits) and waits[-1] == timedelta(hours=1)
    age = now - created.created_at
    assert timedelta(days=3) <= age < timedelta(days=3, hours=1), "gave up after three days"
    assert message.attempts == len(receiver.requests) > 70
    assert (message.last_error, delivery.response_status) == ("HTTP 503", 503)

    # Given up, but kept; and the client's later events are no longer held back.
    assert deliver(engine, sender, now + timedelta(days=30)) == 0
    receiver.answer = 200
    cancel(engine, who, ids["c-A"], 2)
    assert deliver(engine, sender) == 1
    assert [r.event["data"]["session_id"] for r in receiver.accepted] == ["s-2"]


def test_without_a_secret_the_event_waits_with_an_error_naming_the_variable(engine, receiver):
    unsigned = tenant("demo-sk", url=receiver.url, secret=None)
    ids = add_clients(engine, "demo-sk", "k-1")
    cancel(engine, unsigned, ids["k-1"], 1)
    now = utcnow()

    assert deliver(engine, WebhookSender(TenantRegistry([unsigned])), now) == 0
    [(delivery, message)] = deliveries(engine)
    assert receiver.requests == []
    assert message.status == "pending"
    assert message.last_error.startswith("WIDGET_WEBHOOK_SECRET_DEMO_SK is not set")
    assert delivery.response_status is None

    configured = TenantRegistry([tenant("demo-sk", url=receiver.url)])
    assert deliver(engine, WebhookSender(configured), now + timedelta(minutes=1)) == 1
    verified(receiver.accepted[0])


def test_a_malformed_secret_is_named_in_the_error(engine, receiver):
    bad = tenant(url=receiver.url, secret="not-a-whsec-secret")
    cancel(engine, bad, add_clients(engine, "demo", "c-1")["c-1"], 1)
    deliver(engine, WebhookSender(TenantRegistry([bad])))
    [(_, message)] = deliveries(engine)
    assert message.last_error == ("WIDGET_WEBHOOK_SECRET_DEMO is not a valid secret: "
                                  "must start with 'whsec_'")


def test_a_tenant_without_webhook_url_records_nothing(engine):
    ids = add_clients(engine, "demo", "c-1")
    with session_scope(engine) as session:
        assert enqueue_event(session, tenant(url=None), ACCOUNT_UPDATED, client_id=ids["c-1"],
                             data={"changes": {"phone": "+44 7700 900123"}}) is None
    assert deliveries(engine) == []
    with Session(engine) as session:
        assert session.exec(select(OutboxMessage)).all() == []


def test_an_event_queued_by_an_action_that_fails_is_never_sent(engine, receiver):
    ids = add_clients(engine, "demo", "c-1")
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        enqueue_event(session, tenant(url=receiver.url), ACCOUNT_UPDATED, client_id=ids["c-1"],
                      data={"changes": {"name": "Sarah T."}})
        raise RuntimeError("the update failed")
    assert deliveries(engine) == []


@pytest.mark.parametrize("event_type,data,message", [
    ("session.deleted", {}, "unknown webhook event"),
    (SESSION_CANCELLED, {"session_id": "s-1"}, "missing ['attendance_id'"),
    (ACCOUNT_UPDATED, {"changes": {}, "extra": 1}, "unknown ['extra']"),
    (ACCOUNT_UPDATED, {"changes": {}, "client_id": "c-1"}, "not in data"),
])
def test_events_must_match_their_documented_data(engine, event_type, data, message):
    ids = add_clients(engine, "demo", "c-1")
    with pytest.raises(ValueError, match=re.escape(message)), Session(engine) as session:
        enqueue_event(session, tenant(url="http://127.0.0.1:9/"), event_type,
                      client_id=ids["c-1"], data=data)


def test_provider_ids_are_looked_up_within_the_tenant(engine):
    ids = add_clients(engine, "demo", "c-1")
    with Session(engine) as session:
        assert webhooks.provider_ids(session, "demo", client=ids["c-1"], booking=None) == {
            "client_id": "c-1", "booking_id": None}
        with pytest.raises(LookupError):
            webhooks.provider_ids(session, "demo-sk", client=ids["c-1"])


def test_every_event_type_is_documented_with_its_data_keys():
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \| [^|]+ \| ([^|]+) \|$", readme, re.MULTILINE)
    documented = {name: tuple(re.findall(r"`([a-z_]+)`", keys)) for name, keys in rows}
    assert documented == {name: event.fields for name, event in EVENT_TYPES.items()}


def load_events(app, *, slug: str, count: int) -> list[str]:
    """Events of one of the app's tenants, straight into its database."""
    who = app.state.tenants.get(slug)
    engine = app.state.engine
    ids = add_clients(engine, slug, *(f"{slug}-c{n}" for n in range(count)))
    with session_scope(engine) as session:
        return [enqueue_event(session, who, ACCOUNT_UPDATED, client_id=client_id,
                              data={"changes": {"phone": f"+44 7700 90012{n}"}}).webhook_id
                for n, client_id in enumerate(ids.values())]


def test_the_provider_lists_its_own_deliveries_newest_first(app, api):
    ours = load_events(app, slug="demo", count=3)
    theirs = load_events(app, slug="demo-sk", count=1)

    first = api.get("webhook-deliveries", limit=2)
    assert first.status_code == 200
    page = first.json()
    assert [item["id"] for item in page["items"]] == [ours[2], ours[1]]
    rest = api.get("webhook-deliveries", limit=2, cursor=page["next_cursor"]).json()
    assert [item["id"] for item in rest["items"]] == [ours[0]]
    assert rest["next_cursor"] is None

    item = page["items"][0]
    assert item["type"] == "account.updated" and item["status"] == "pending"
    assert item["attempts"] == 0 and item["response_status"] is None
    assert item["url"] == "https://booking.splashswim.example/hooks/client-profile"
    assert item["created_at"].endswith("Z") and item["next_attempt_at"].endswith("Z")
    assert item["last_attempt_at"] is None and item["delivered_at"] is None
    assert item["last_error"] is None
    assert item["payload"]["type"] == "account.updated"
    assert item["payload"]["data"] == {"client_id": "demo-c2",
                                       "changes": {"phone": "+44 7700 900122"}}
    assert api.get("webhook-deliveries", ours[2]).json() == item

    other = api.as_tenant("demo-sk")
    assert [i["id"] for i in other.get("webhook-deliveries").json()["items"]] == theirs
    assert other.get("webhook-deliveries", ours[0]).status_code == 404
    assert api.get("webhook-deliveries", theirs[0]).status_code == 404
    assert api.get("webhook-deliveries", "msg_nope").json()["title"] == "Not found"


def test_the_deliveries_api_needs_the_key_and_a_valid_page(client, api):
    assert client.get("/api/v1/webhook-deliveries").status_code == 401
    assert client.get("/api/v1/webhook-deliveries/msg_x").status_code == 401
    assert api.get("webhook-deliveries", cursor="garbage!").status_code == 422
    assert api.get("webhook-deliveries", limit=0).status_code == 422
    assert api.get("webhook-deliveries").json() == {"items": [], "next_cursor": None}


@pytest.fixture
def receiving_tenants(tmp_path, receiver):
    """The demo tenant files, with the demo provider's webhooks going to the receiver."""
    directory = tmp_path / "tenants"
    shutil.copytree(DEMO_TENANTS, directory)
    path = directory / "demo.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r'(?m)^webhook_url = ".*"$', f'webhook_url = "{receiver.url}"', text),
                    encoding="utf-8")
    return directory


def test_the_running_service_delivers_webhooks_and_shows_them_delivered(
    settings, receiving_tenants, receiver
):
    environ = dict(settings.environ) | {"WIDGET_WEBHOOK_SECRET_DEMO": SECRET}
    app = create_app(replace(settings, tenants_dir=receiving_tenants, environ=environ,
                             send_in_process=True))
    try:
        with TestClient(app) as client:
            [webhook_id] = load_events(app, slug="demo", count=1)
            app.state.webhook_drainer.wake()
            [request] = receiver.wait_for(1)
            assert verified(request)["data"]["client_id"] == "demo-c0"

            headers = {"Authorization": "Bearer test-key-demo"}
            for _ in range(100):  # the delivery is recorded just after the answer
                item = client.get(f"/api/v1/webhook-deliveries/{webhook_id}",
                                  headers=headers).json()
                if item["status"] == "delivered":
                    break
                time.sleep(0.02)
            assert item["status"] == "delivered"
            assert (item["attempts"], item["response_status"]) == (1, 200)
            assert item["delivered_at"] and item["last_attempt_at"]
            assert item["next_attempt_at"] is None
    finally:
        app.state.engine.dispose()


def test_the_worker_command_delivers_webhooks_too(engine, receiver, settings):
    who = tenant(url=receiver.url)
    cancel(engine, who, add_clients(engine, "demo", "c-1")["c-1"], 1)

    async def scenario() -> None:
        stop = asyncio.Event()
        senders = [(WEBHOOK, WebhookSender(TenantRegistry([who])))]
        worker = asyncio.create_task(run_worker(settings, interval=0.05, stop_event=stop,
                                                senders=senders))
        await asyncio.to_thread(receiver.wait_for, 1, 5)
        stop.set()
        await asyncio.wait_for(worker, 5)

    asyncio.run(scenario())
    assert [message.status for _, message in deliveries(engine)] == ["sent"]


def test_the_worker_command_drains_both_e_mail_and_webhooks(monkeypatch):
    drained: list[str] = []

    async def fake_run_worker(settings: Settings, **kwargs: Any) -> None:
        drained.extend(channel.name for channel, _ in kwargs["senders"])

    monkeypatch.setattr(outbox, "run_worker", fake_run_worker)
    monkeypatch.setenv("WIDGET_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("WIDGET_SCHEDULER_INTERVAL", "0")  # the timed jobs: test_scheduler.py
    assert cli.main(["worker"]) == 0
    assert drained == ["email", "webhook", "whatsapp"]
