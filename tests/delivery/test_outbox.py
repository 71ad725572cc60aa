"""E-mail goes through the outbox: queued with the action that caused it, sent by a drainer,
delayed but never lost when SMTP is down, and sent once even with several workers."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from smtp import Mailbox
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool
from tenant_support import TENANTS

from widget_server.core.db import make_engine, session_scope
from widget_server.core.models import OutboxMessage, utcnow
from widget_server.core.settings import Settings, SettingsError
from widget_server.delivery import outbox
from widget_server.delivery.mailer import LocalViewerTransport, SmtpTransport, make_transport
from widget_server.delivery.outbox import (
    MAX_ATTEMPTS,
    OutboxDrainer,
    drain_once,
    enqueue_email,
    run_worker,
)


@pytest.fixture
def smtp_settings(settings: Settings, mailbox: Mailbox) -> Settings:
    return replace(settings, smtp_host="127.0.0.1", smtp_port=mailbox.port, smtp_tls="none")


class Recorder:
    """A transport that remembers what it sent and, like SMTP, takes a moment (or fails)."""

    def __init__(self, delay: float = 0.0, fail: Exception | None = None):
        self.delay = delay
        self.fail = fail
        self.sent: list[dict[str, Any]] = []

    async def send(self, payload: dict[str, Any]) -> None:
        await asyncio.sleep(self.delay)
        if self.fail:
            raise self.fail
        self.sent.append(payload)


def queue(engine: Engine, count: int = 1, tenant: str = "demo") -> list[int]:
    """Queue sign-in e-mails and commit, as a portal action would."""
    with session_scope(engine) as session:
        messages = [
            enqueue_email(session, TENANTS.get(tenant), to=f"parent{n}@example.com",
                          subject=f"Your sign-in link #{n}", text=f"Hello {n}")
            for n in range(count)
        ]
        session.flush()
        return [message.id for message in messages]


def rows(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def test_a_queued_email_is_delivered_with_its_headers_and_both_parts(
    engine, mailbox, smtp_settings
):
    with session_scope(engine) as session:
        queued = enqueue_email(
            session, TENANTS.get("demo-sk"), to="jana@example.com",
            subject="Prihlásenie do profilu", text="Dobrý deň, tu je váš odkaz.",
            html="<p>Dobrý deň, tu je <a href='https://x.example'>váš odkaz</a>.</p>",
        )

    assert asyncio.run(drain_once(engine, SmtpTransport(smtp_settings))) == 1

    [message] = mailbox.wait_for(1)
    assert message["From"] == "Tanečná škola Piruetka <info@piruetka.example>"
    assert message["To"] == "jana@example.com"
    assert message["Reply-To"] == "info@piruetka.example"
    assert message["Subject"] == "Prihlásenie do profilu"
    assert message["Date"]
    assert message["Message-ID"] == queued.payload["message_id"]
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("plain",)).get_content().strip() == "Dobrý deň, tu je váš odkaz."
    assert "<a href='https://x.example'>váš odkaz</a>" in message.get_body(("html",)).get_content()
    assert mailbox.envelopes == [("info@piruetka.example", ["jana@example.com"])]
    [row] = rows(engine)
    assert (row.status, row.attempts, row.tenant) == ("sent", 0, "demo-sk")
    assert row.sent_at is not None


def test_an_email_queued_by_an_action_that_fails_is_never_sent(engine):
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        enqueue_email(session, TENANTS.get("demo"), to="a@example.com", subject="Booked",
                      text="You are booked.", kind="booking")
        raise RuntimeError("the booking failed")
    assert rows(engine) == []


def test_mail_queued_during_an_smtp_outage_arrives_exactly_once_when_it_is_back(
    engine, mailbox, smtp_settings
):
    queue(engine, 5)
    transport = SmtpTransport(smtp_settings)
    mailbox.stop()
    now = utcnow()

    assert asyncio.run(drain_once(engine, transport, now=now)) == 0
    waiting = rows(engine)
    assert len(waiting) == 5
    for row in waiting:
        assert (row.status, row.attempts) == ("pending", 1)
        assert row.next_attempt_at > now
        assert row.last_error

    mailbox.start()
    assert asyncio.run(drain_once(engine, transport, now=now)) == 0, "retried before its time"
    later = now + timedelta(hours=1)
    assert asyncio.run(drain_once(engine, transport, now=later)) == 5
    assert asyncio.run(drain_once(engine, transport, now=later + timedelta(days=1))) == 0

    subjects = sorted(message["Subject"] for message in mailbox.wait_for(5))
    assert subjects == [f"Your sign-in link #{n}" for n in range(5)]
    assert {row.status for row in rows(engine)} == {"sent"}


def test_a_server_refusing_mail_for_now_counts_as_a_failed_attempt(
    engine, mailbox, smtp_settings
):
    queue(engine)
    transport = SmtpTransport(smtp_settings)
    mailbox.reject_with = "451 4.3.0 Try again later"
    now = utcnow()
    assert asyncio.run(drain_once(engine, transport, now=now)) == 0
    [row] = rows(engine)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "Try again later" in row.last_error

    mailbox.reject_with = None
    assert asyncio.run(drain_once(engine, transport, now=row.next_attempt_at)) == 1
    assert len(mailbox.wait_for(1)) == 1


def test_a_claim_abandoned_by_a_crashed_worker_is_taken_over(engine):
    abandoned, live = queue(engine, 2)
    with session_scope(engine) as session:
        for message_id, claimed_until in ((abandoned, utcnow() - timedelta(minutes=1)),
                                          (live, utcnow() + timedelta(minutes=4))):
            row = session.get(OutboxMessage, message_id)
            row.status, row.claimed_until = "sending", claimed_until

    recorder = Recorder()
    assert asyncio.run(drain_once(engine, recorder)) == 1
    assert [payload["subject"] for payload in recorder.sent] == ["Your sign-in link #0"]
    assert {row.id: row.status for row in rows(engine)} == {abandoned: "sent", live: "sending"}


def test_workers_draining_one_outbox_together_send_each_message_once(engine, database_url):
    queue(engine, 40)
    recorder = Recorder(delay=0.005)

    def worker() -> int:
        # Each worker has its own thread, event loop and connection pool, like a process.
        own_engine = make_engine(database_url)
        try:
            return asyncio.run(drain_once(own_engine, recorder, limit=100))
        finally:
            own_engine.dispose()

    async def three_workers() -> list[int]:
        return await asyncio.gather(*(run_in_threadpool(worker) for _ in range(3)))

    counts = asyncio.run(three_workers())

    subjects = sorted(payload["subject"] for payload in recorder.sent)
    assert subjects == sorted(f"Your sign-in link #{n}" for n in range(40))
    assert sum(counts) == 40
    assert sum(1 for count in counts if count) >= 2, f"workers did not overlap: {counts}"
    assert {row.status for row in rows(engine)} == {"sent"}


def test_retries_back_off_and_a_message_that_never_goes_through_ends_failed_but_kept(engine):
    queue(engine)
    broken = Recorder(fail=ConnectionRefusedError("SMTP is down"))
    now = utcnow()
    waits = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert asyncio.run(drain_once(engine, broken, now=now)) == 0
        [row] = rows(engine)
        assert row.attempts == attempt
        if attempt == MAX_ATTEMPTS:
            break
        assert row.status == "pending"
        waits.append(row.next_attempt_at - now)
        asyncio.run(drain_once(engine, broken, now=row.next_attempt_at - timedelta(seconds=1)))
        assert rows(engine)[0].attempts == attempt, "tried again before the backoff ran out"
        now = row.next_attempt_at

    assert waits[:4] == [timedelta(seconds=s) for s in (5, 10, 20, 40)]
    assert waits == sorted(waits)
    assert waits[-1] == timedelta(hours=1)
    [row] = rows(engine)
    assert row.status == "failed"
    assert "SMTP is down" in row.last_error
    assert asyncio.run(drain_once(engine, broken, now=now + timedelta(days=30))) == 0
    assert rows(engine)[0].attempts == MAX_ATTEMPTS


def test_in_the_demo_mail_is_logged_and_stays_readable_in_the_outbox(engine, caplog):
    queue(engine)
    with caplog.at_level(logging.INFO, logger="widget_server.delivery.mailer"):
        assert asyncio.run(drain_once(engine, LocalViewerTransport())) == 1
    [line] = [r.getMessage() for r in caplog.records if r.name == "widget_server.delivery.mailer"]
    assert "parent0@example.com" in line and "Your sign-in link #0" in line
    [row] = rows(engine)
    assert row.payload["text"] == "Hello 0"


def test_the_drainer_sends_fresh_mail_at_once_when_woken(engine, mailbox, smtp_settings):
    async def scenario() -> None:
        drainer = OutboxDrainer(engine, SmtpTransport(smtp_settings), interval=60)
        drainer.start()
        queue(engine)
        drainer.wake()
        await asyncio.to_thread(mailbox.wait_for, 1, 5)

        def sync_handler() -> None:  # a sync endpoint wakes it from a worker thread
            queue(engine)
            drainer.wake()

        await run_in_threadpool(sync_handler)
        await asyncio.to_thread(mailbox.wait_for, 2, 5)
        await drainer.stop()

    asyncio.run(scenario())
    assert [row.status for row in rows(engine)] == ["sent", "sent"]


def test_a_failing_round_is_logged_and_the_drainer_keeps_going(engine, monkeypatch, caplog):
    real_drain_once, rounds = outbox.drain_once, []

    async def flaky(*args: Any, **kwargs: Any) -> int:
        rounds.append(1)
        if len(rounds) == 1:
            raise RuntimeError("database restarting")
        return await real_drain_once(*args, **kwargs)

    monkeypatch.setattr(outbox, "drain_once", flaky)
    queue(engine)
    recorder = Recorder()

    async def scenario() -> None:
        drainer = OutboxDrainer(engine, recorder, interval=0.02)
        drainer.start()
        for _ in range(250):
            if recorder.sent:
                break
            await asyncio.sleep(0.02)
        await drainer.stop()

    asyncio.run(scenario())
    assert len(recorder.sent) == 1
    assert "database restarting" in caplog.text


def test_the_worker_command_delivers_queued_mail_until_told_to_stop(
    engine, mailbox, smtp_settings
):
    queue(engine, 3)

    async def scenario() -> None:
        stop = asyncio.Event()
        worker = asyncio.create_task(run_worker(smtp_settings, interval=0.05, stop_event=stop))
        await asyncio.to_thread(mailbox.wait_for, 3, 5)
        stop.set()
        await asyncio.wait_for(worker, 5)

    asyncio.run(scenario())
    assert {row.status for row in rows(engine)} == {"sent"}


def test_make_transport_uses_smtp_when_configured_the_viewer_in_the_demo_or_refuses():
    assert isinstance(make_transport(Settings(smtp_host="smtp.example.com")), SmtpTransport)
    assert isinstance(make_transport(Settings(demo=True)), LocalViewerTransport)
    assert isinstance(
        make_transport(Settings(demo=True, smtp_host="smtp.example.com")), SmtpTransport
    )
    with pytest.raises(SettingsError, match="WIDGET_SMTP_HOST"):
        make_transport(Settings())
