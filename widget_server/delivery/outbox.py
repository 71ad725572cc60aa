"""The durable outbox: e-mail and webhooks are written in the transaction of the action that
caused them and sent later, with retries, so an outage delays a message but never loses it.

Delivery is at least once: a worker that dies after the receiver accepted a message but
before marking it sent leaves a claim that another worker takes over when its lease ends.
What differs between e-mail and webhooks (retry policy, claim order, what an attempt records)
is a `Channel`; the claiming and backing off are shared.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Protocol, Sequence

from anyio import to_thread
from sqlalchemy import and_, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, select

from widget_server.core import metrics
from widget_server.core.db import make_engine, session_scope
from widget_server.core.models import OutboxMessage, utcnow
from widget_server.core.settings import Settings
from widget_server.core.tenants import Tenant
from widget_server.delivery.mailer import make_transport, message_id_for

log = logging.getLogger("widget_server.delivery.outbox")

# Far longer than one attempt (SMTP 15 s, webhook 10 s), so a live claim is never taken over.
LEASE = timedelta(minutes=5)
FIRST_RETRY = timedelta(seconds=5)
MAX_BACKOFF = timedelta(hours=1)
# With the 1 h cap this keeps retrying for about 11 hours before giving a message up.
MAX_ATTEMPTS = 20
MAX_ERROR_CHARS = 1000


class Sender(Protocol):
    """Delivers one outbox payload, or raises to have it retried; returns what it got back."""

    async def send(self, payload: dict[str, Any]) -> object: ...


class DeliveryError(Exception):
    """A failed send whose message already says what went wrong (recorded as it stands)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait after each failure, and when to give a message up."""

    first_retry: timedelta
    max_backoff: timedelta
    max_attempts: int | None = None
    # Counted from the message's creation, so the length of an outage decides, not retries.
    give_up_after: timedelta | None = None

    def backoff(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failure: doubling from `first_retry`, capped."""
        return min(self.first_retry * 2 ** min(max(attempts - 1, 0), 20), self.max_backoff)

    def gives_up(self, attempts: int, age: timedelta) -> bool:
        """Whether a message that has now failed `attempts` times, `age` after creation, is done."""
        if self.max_attempts is not None and attempts >= self.max_attempts:
            return True
        return self.give_up_after is not None and age >= self.give_up_after


@dataclass(frozen=True)
class Attempt:
    """What one send came to: the sender's answer, or the error it raised."""

    at: datetime
    result: object = None
    error: Exception | None = None


# eq=False: comparing the SQL condition in `ready` would build SQL, not a bool.
@dataclass(frozen=True, eq=False)
class Channel:
    """One kind of outbox message (`OutboxMessage.channel`) and what is particular to it."""

    name: str
    retry: RetryPolicy
    # An extra condition a due message must meet to be claimed (webhooks: in order per client).
    ready: ColumnElement[bool] | None = None
    # Runs in the transaction that records an attempt, only while the claim still holds.
    record: Callable[[Session, OutboxMessage, Attempt], None] | None = None


EMAIL = Channel("email", RetryPolicy(FIRST_RETRY, MAX_BACKOFF, max_attempts=MAX_ATTEMPTS))


def enqueue_email(
    session: Session,
    tenant: Tenant,
    *,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    kind: str = "login",
    client_id: int | None = None,
) -> OutboxMessage:
    """Queue an e-mail in the caller's transaction; it goes out only if that commits.

    `client_id` is the client it is about (it shows in their delivery log in the console)."""
    email = tenant.config.email
    message = OutboxMessage(
        tenant=tenant.slug,
        channel="email",
        client_id=client_id,
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
    """The e-mail wait after the `attempts`-th failure: 5 s, 10 s, 20 s ... at most an hour."""
    return EMAIL.retry.backoff(attempts)


def describe(error: Exception) -> str:
    """The error as recorded in `last_error`."""
    return str(error) if isinstance(error, DeliveryError) else f"{type(error).__name__}: {error}"


def retry_now(session: Session, message_id: int, now: datetime) -> bool:
    """Make a given-up message, or one waiting for its next try, due at `now`. Its attempts
    are kept, so the retry policy still counts them. False for a message in no such state
    (sent, never tried yet, or being sent right now)."""
    retried = session.exec(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id,
               or_(OutboxMessage.status == "failed",
                   and_(OutboxMessage.status == "pending", OutboxMessage.attempts > 0)))
        .values(status="pending", next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return retried.rowcount == 1


def _due(now: datetime) -> ColumnElement[bool]:
    """Waiting and due, or claimed by a worker whose lease has run out."""
    return or_(
        and_(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == "sending", OutboxMessage.claimed_until < now),
    )


def _claimable(channel: Channel, now: datetime) -> ColumnElement[bool]:
    conditions = [OutboxMessage.channel == channel.name, _due(now)]
    if channel.ready is not None:
        conditions.append(channel.ready)
    return and_(*conditions)


def _candidates(engine: Engine, channel: Channel, now: datetime, limit: int) -> list[int]:
    with session_scope(engine) as session:
        query = (
            select(OutboxMessage.id)
            .where(_claimable(channel, now))
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
        )
        return [message_id for message_id in session.exec(query).all() if message_id is not None]


def _claim(
    engine: Engine, channel: Channel, message_id: int, now: datetime
) -> OutboxMessage | None:
    """Take one message for this worker, or None when another worker has it."""
    with session_scope(engine) as session:
        # One conditional UPDATE: PostgreSQL re-checks the WHERE after waiting for a rival's
        # row lock, and SQLite runs writers one at a time, so only one worker sees rowcount 1.
        claim = (
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, _claimable(channel, now))
            .values(status="sending", claimed_until=now + LEASE)
            .execution_options(synchronize_session=False)
        )
        if session.exec(claim).rowcount != 1:
            return None
        return session.get(OutboxMessage, message_id)


def _finish(engine: Engine, channel: Channel, message: OutboxMessage, attempt: Attempt) -> None:
    """Record the outcome, unless the claim was lost (lease ran out and another took it)."""
    if attempt.error is None:
        values: dict = {"status": "sent", "sent_at": attempt.at, "claimed_until": None}
    else:
        attempts = message.attempts + 1
        gives_up = channel.retry.gives_up(attempts, attempt.at - message.created_at)
        values = {
            # Given up, but kept: the row is the record of what was not delivered.
            "status": "failed" if gives_up else "pending",
            "attempts": attempts,
            "last_error": describe(attempt.error)[:MAX_ERROR_CHARS],
            "next_attempt_at": attempt.at + channel.retry.backoff(attempts),
            "claimed_until": None,
        }
    with session_scope(engine) as session:
        finished = session.exec(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == message.id,
                OutboxMessage.status == "sending",
                OutboxMessage.claimed_until == message.claimed_until,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if finished.rowcount == 1 and channel.record is not None:
            channel.record(session, message, attempt)
    if attempt.error is not None and finished.rowcount == 1:
        metrics.DELIVERIES_FAILED.labels(channel.name,
                                         "given_up" if values["status"] == "failed"
                                         else "retry").inc()


async def drain_once(
    engine: Engine,
    transport: Sender,
    *,
    now: datetime | None = None,
    limit: int = 50,
    channel: Channel = EMAIL,
) -> int:
    """Claim and send up to `limit` due messages of the channel; return how many were sent."""
    clock: Callable[[], datetime] = (lambda: now) if now is not None else utcnow
    ids = await to_thread.run_sync(_candidates, engine, channel, clock(), limit)
    sent = 0
    for message_id in ids:
        # Claimed one at a time and committed before sending, so a lease only has to cover
        # one send, and a crash mid-round strands at most one message until its lease ends.
        message = await to_thread.run_sync(_claim, engine, channel, message_id, clock())
        if message is None:
            continue
        try:
            result = await transport.send(message.payload)
        # Whatever goes wrong in a send, the message must go back to the queue, not be lost.
        except Exception as exc:  # noqa: BLE001
            attempt = Attempt(clock(), error=exc)
            log.warning("outbox: %s message %s failed (attempt %s): %s",
                        channel.name, message_id, message.attempts + 1, describe(exc))
        else:
            attempt = Attempt(clock(), result=result)
            sent += 1
        await to_thread.run_sync(_finish, engine, channel, message, attempt)
    return sent


class OutboxDrainer:
    """Drains one channel every `interval` seconds in an asyncio task, or at once when woken."""

    def __init__(
        self,
        engine: Engine,
        transport: Sender,
        *,
        interval: float = 1.0,
        limit: int = 50,
        channel: Channel = EMAIL,
    ):
        self.engine = engine
        self.transport = transport
        self.interval = interval
        self.limit = limit
        self.channel = channel
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start draining on the running event loop."""
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name=f"outbox-{self.channel.name}")

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
            log.warning("outbox: %s stopped in the middle of a round", self.channel.name)
        self._task = None

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            sent = 0
            try:
                sent = await drain_once(self.engine, self.transport, limit=self.limit,
                                        channel=self.channel)
            except Exception:
                log.exception("outbox: %s drain round failed; retrying in %s s",
                              self.channel.name, self.interval)
            if sent:
                # More may be due now: the rest of a full batch, or a client's next webhook,
                # which is not claimable until the one before it has gone.
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)


async def run_worker(
    settings: Settings,
    *,
    interval: float = 1.0,
    stop_event: asyncio.Event | None = None,
    senders: Sequence[tuple[Channel, Sender]] | None = None,
) -> None:
    """The `widget-server worker` command: drain the outbox until stopped (or SIGTERM/SIGINT).

    `senders` pairs each channel to drain with its sender; by default only e-mail.
    """
    if senders is None:
        senders = [(EMAIL, make_transport(settings))]
    engine = make_engine(settings.database_url)
    if stop_event is None:
        stop_event = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            # Not available off the main thread or on Windows; Ctrl+C still interrupts there.
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, stop_event.set)
    drainers = [OutboxDrainer(engine, sender, interval=interval, channel=channel)
                for channel, sender in senders]
    for drainer in drainers:
        drainer.start()
    log.info("outbox worker started: %s, every %s s",
             ", ".join(f"{channel.name} via {sender!r}" for channel, sender in senders), interval)
    try:
        await stop_event.wait()
    finally:
        for drainer in drainers:
            await drainer.stop()
        engine.dispose()
