"""The durable outbox: e-mail is written in the transaction of the action that caused it and
sent later, with retries, so an SMTP outage delays mail but never loses it.

Delivery is at least once: a worker that dies after the SMTP server accepted a message but
before marking it sent leaves a claim that another worker takes over when its lease ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import and_, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool

from widget_server.db import make_engine, session_scope
from widget_server.mailer import Transport, make_transport, message_id_for
from widget_server.models import OutboxMessage, utcnow
from widget_server.settings import Settings
from widget_server.tenants import Tenant

log = logging.getLogger("widget_server.outbox")

# Far longer than one SMTP attempt (15 s timeout), so a live claim is never taken over.
LEASE = timedelta(minutes=5)
FIRST_RETRY = timedelta(seconds=5)
MAX_BACKOFF = timedelta(hours=1)
# With the 1 h cap this keeps retrying for about 11 hours before giving a message up.
MAX_ATTEMPTS = 20
MAX_ERROR_CHARS = 1000


def enqueue_email(
    session: Session,
    tenant: Tenant,
    *,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    kind: str = "login",
) -> OutboxMessage:
    """Queue an e-mail in the caller's transaction; it goes out only if that commits."""
    email = tenant.config.email
    message = OutboxMessage(
        tenant=tenant.slug,
        channel="email",
        payload={
            "from": email.sender,
            "reply_to": email.reply_to,
            "to": to,
            "subject": subject,
            "text": text,
            "html": html,
            "kind": kind,
            "message_id": message_id_for(email.sender),
        },
    )
    session.add(message)
    return message


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failure: 5 s, 10 s, 20 s ... at most an hour."""
    return min(FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 20), MAX_BACKOFF)


def _due(now: datetime) -> ColumnElement[bool]:
    """Waiting and due, or claimed by a worker whose lease has run out."""
    return or_(
        and_(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == "sending", OutboxMessage.claimed_until < now),
    )


def _candidates(engine: Engine, channel: str, now: datetime, limit: int) -> list[int]:
    with session_scope(engine) as session:
        query = (
            select(OutboxMessage.id)
            .where(OutboxMessage.channel == channel, _due(now))
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
        )
        return [message_id for message_id in session.exec(query).all() if message_id is not None]


def _claim(engine: Engine, message_id: int, now: datetime) -> OutboxMessage | None:
    """Take one message for this worker, or None when another worker has it."""
    with session_scope(engine) as session:
        # One conditional UPDATE: PostgreSQL re-checks the WHERE after waiting for a rival's
        # row lock, and SQLite runs writers one at a time, so only one worker sees rowcount 1.
        claim = (
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, _due(now))
            .values(status="sending", claimed_until=now + LEASE)
            .execution_options(synchronize_session=False)
        )
        if session.exec(claim).rowcount != 1:
            return None
        return session.get(OutboxMessage, message_id)


def _finish(engine: Engine, message: OutboxMessage, now: datetime, error: str | None) -> None:
    """Record the outcome, unless the claim was lost (lease ran out and another took it)."""
    if error is None:
        values: dict = {"status": "sent", "sent_at": now, "claimed_until": None}
    else:
        attempts = message.attempts + 1
        values = {
            # Given up, but kept: the row is the record of what was not delivered.
            "status": "failed" if attempts >= MAX_ATTEMPTS else "pending",
            "attempts": attempts,
            "last_error": error[:MAX_ERROR_CHARS],
            "next_attempt_at": now + backoff(attempts),
            "claimed_until": None,
        }
    with session_scope(engine) as session:
        session.exec(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == message.id,
                OutboxMessage.status == "sending",
                OutboxMessage.claimed_until == message.claimed_until,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )


async def drain_once(
    engine: Engine,
    transport: Transport,
    *,
    now: datetime | None = None,
    limit: int = 50,
    channel: str = "email",
) -> int:
    """Claim and send up to `limit` due messages; return how many were sent."""
    clock: Callable[[], datetime] = (lambda: now) if now is not None else utcnow
    ids = await run_in_threadpool(_candidates, engine, channel, clock(), limit)
    sent = 0
    for message_id in ids:
        # Claimed one at a time and committed before sending, so a lease only has to cover
        # one send, and a crash mid-round strands at most one message until its lease ends.
        message = await run_in_threadpool(_claim, engine, message_id, clock())
        if message is None:
            continue
        try:
            await transport.send(message.payload)
        # Whatever goes wrong in a send, the message must go back to the queue, not be lost.
        except Exception as exc:  # noqa: BLE001
            error = f"{type(exc).__name__}: {exc}"
            log.warning("outbox: message %s failed (attempt %s): %s",
                        message_id, message.attempts + 1, error)
            await run_in_threadpool(_finish, engine, message, clock(), error)
        else:
            await run_in_threadpool(_finish, engine, message, clock(), None)
            sent += 1
    return sent


class OutboxDrainer:
    """Drains the outbox every `interval` seconds in an asyncio task, or at once when woken."""

    def __init__(
        self, engine: Engine, transport: Transport, *, interval: float = 1.0, limit: int = 50
    ):
        self.engine = engine
        self.transport = transport
        self.interval = interval
        self.limit = limit
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start draining on the running event loop."""
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="outbox-drainer")

    def wake(self) -> None:
        """Drain now rather than after the interval; call after committing a new message."""
        if self._loop is None or self._loop.is_closed():
            return
        try:
            on_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            on_loop = False
        # Sync handlers run in worker threads, where asyncio.Event must not be touched.
        if on_loop:
            self._wake.set()
        else:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def stop(self, timeout: float = 10.0) -> None:
        """Let the round in progress finish (up to `timeout` seconds), then stop."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(self._task, timeout)
        except TimeoutError:
            # wait_for cancelled the round; its claimed message is retried after the lease.
            log.warning("outbox: stopped in the middle of a round")
        self._task = None

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            sent = 0
            try:
                sent = await drain_once(self.engine, self.transport, limit=self.limit)
            except Exception:
                log.exception("outbox: drain round failed; retrying in %s s", self.interval)
            if sent >= self.limit:
                continue  # a full batch: more are probably waiting
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)


async def run_worker(
    settings: Settings, *, interval: float = 1.0, stop_event: asyncio.Event | None = None
) -> None:
    """The `widget-server worker` command: drain the outbox until stopped (or SIGTERM/SIGINT)."""
    transport = make_transport(settings)
    engine = make_engine(settings.database_url)
    if stop_event is None:
        stop_event = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            # Not available off the main thread or on Windows; Ctrl+C still interrupts there.
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, stop_event.set)
    drainer = OutboxDrainer(engine, transport, interval=interval)
    drainer.start()
    log.info("outbox worker started: %r, every %s s", transport, interval)
    try:
        await stop_event.wait()
    finally:
        await drainer.stop()
        engine.dispose()
