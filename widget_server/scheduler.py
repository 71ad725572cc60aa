"""The timed jobs, run every round for each tenant with something due: make-up credits for
missed sessions, the make-up waiting list (holds that ran out, free places offered),
reminders, the e-mails that tell families of newly published report cards, offers of a
place whose deadline passed, and reminders of offers about to close.

The web process runs them next to its outbox drainers (every `WIDGET_SCHEDULER_INTERVAL`
seconds, 60 by default) and so does `widget-server worker`; the process holding the lease
(`take_lease`) runs the periodic rounds, and since every job is safe to repeat (see `credits`,
`waitlist` and `reminders`) a round that overlaps another does no harm. A page that frees a
place wakes its own process's scheduler, so the waiting list hears of it at once. Each
waiting credit is offered in its own short transaction, so a round never holds many locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta

from anyio import to_thread
from sqlalchemy import or_, union, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from widget_server.core.db import make_engine, session_scope
from widget_server.core.models import SchedulerLease, utcnow
from widget_server.core.settings import Settings
from widget_server.core.signing import Signer
from widget_server.core.tenants import Tenant
from widget_server.delivery import outbox
from widget_server.delivery.notices import Notices
from widget_server.delivery.outbox import Channel, Sender
from widget_server.profile import report_cards
from widget_server.selfservice import (
    credits,
    makeup_waitlist,
    offer_notices,
    offers,
    reminders,
    waitlist,
)
from widget_server.web.forms import wake_senders
from widget_server.web.templating import make_templates

log = logging.getLogger("widget_server.scheduler")
WAITING_PER_ROUND = 500
LEASE = "timed-rounds"
WEB, WORKER = "web:", "worker:"  # a lease holder's name begins: serves pages, or not

NoticesFor = Callable[[Tenant], Notices]


def offer_free_places(engine: Engine, tenant: Tenant, notices: Notices, now: datetime) -> int:
    """Lapse old holds, then offer each waiting credit its soonest free place, in turn."""
    with session_scope(engine) as db:
        waitlist.lapse(db, tenant.slug, now)
        queued = [entry.id for entry in waitlist.queue(db, tenant.slug, WAITING_PER_ROUND)]
    offered = 0
    for entry_id in queued:
        with session_scope(engine) as db:
            offered += makeup_waitlist.offer_place(db, tenant, notices, entry_id, now)
    return offered


def due_tenants(engine: Engine, tenants: Iterable[Tenant], now: datetime) -> list[Tenant]:
    """The tenants with anything to do this round: a few indexed reads across all tenants
    (reminders due, waiting lists), plus those that turn missed places into credits. An idle
    deployment pays for those reads, not for each of its tenants."""
    tenants = list(tenants)
    with session_scope(engine) as db:
        busy = (reminders.due_tenants(db, now) | waitlist.due_tenants(db)
                | set(db.execute(union(report_cards.due_tenants(), offers.due_tenants(now),
                                       offer_notices.due_tenants(tenants, now)))
                      .scalars()))
    return [t for t in tenants if t.slug in busy
            or (t.config.makeups.from_missed and t.config.features.makeups)]


def run_once(engine: Engine, tenants: Iterable[Tenant], notices_for: NoticesFor,
             now: datetime) -> Counter:
    """One round for every tenant with something due; returns what it did, e.g.
    {"reminders": 3}."""
    done: Counter = Counter()
    for tenant in due_tenants(engine, tenants, now):
        notices = notices_for(tenant)
        with session_scope(engine) as db:
            done["credits"] += credits.issue_for_missed(db, tenant, now)
        done["offers"] += offer_free_places(engine, tenant, notices, now)
        with session_scope(engine) as db:
            done["reminders"] += reminders.schedule_reminders(db, tenant, notices, now)
        with session_scope(engine) as db:
            done["report_cards"] += report_cards.announce(db, tenant, notices, now)
        with session_scope(engine) as db:
            done["offers_expired"] += offers.expire(db, tenant, notices, now)
        with session_scope(engine) as db:
            done["offer_reminders"] += offer_notices.remind(db, tenant, notices, now)
    return done


def take_lease(engine: Engine, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Hold (or renew) the lease of the periodic rounds until `now + ttl`; False while another
    process holds it. A holder that stops renewing (it died) loses it when it lapses. A
    worker (`holder` named "worker:...") also takes it from a web process ("web:..."): a
    round's work (500 reminders written: half a second of Python) then leaves the parents'
    pages alone wherever a worker runs; with none, a web process keeps the rounds."""
    until = now + ttl
    free = [SchedulerLease.holder == holder, SchedulerLease.expires_at <= now]
    if holder.startswith(WORKER):
        free.append(SchedulerLease.holder.startswith(WEB))
    with session_scope(engine) as db:
        taken = db.exec(update(SchedulerLease)
                        .where(SchedulerLease.name == LEASE, or_(*free))
                        .values(holder=holder, expires_at=until)
                        .execution_options(synchronize_session=False))
        if taken.rowcount == 1:
            return True
        insert = (postgresql_insert if db.get_bind().dialect.name == "postgresql"
                  else sqlite_insert)(SchedulerLease)
        created = db.exec(insert.values(name=LEASE, holder=holder, expires_at=until)
                          .on_conflict_do_nothing().returning(SchedulerLease.name)).first()
        return created is not None


class Scheduler:
    """Runs `run_once` every `interval` seconds in an asyncio task, or at once when woken;
    `after` is called when a round queued something (to wake the outbox drainers). Of all the
    processes, the one holding the lease runs the periodic rounds; a woken one runs at once
    (a page freed a place here), which is safe since every job may repeat."""

    def __init__(self, engine: Engine, tenants: Iterable[Tenant], notices_for: NoticesFor, *,
                 interval: float, clock: Callable[[], datetime] = utcnow,
                 after: Callable[[], None] | None = None, serves_pages: bool = False):
        self.engine = engine
        self.tenants = list(tenants)
        self.notices_for = notices_for
        self.interval = interval
        self.clock = clock
        self.after = after
        self._wake = asyncio.Event()
        self.holder = (f"{WEB if serves_pages else WORKER}{socket.gethostname()[:36]}:"
                       f"{os.getpid()}:{secrets.token_hex(4)}")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run(), name="scheduler")

    def wake(self) -> None:
        """Run a round now (safe to call from a worker thread)."""
        if self._loop is None or self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self._wake.set)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        while True:
            woken = self._wake.is_set()
            self._wake.clear()
            try:
                # Real time, not the app's clock: the lease is between processes.
                if not woken and not await to_thread.run_sync(
                        take_lease, self.engine, self.holder, utcnow(),
                        timedelta(seconds=self.interval * 3)):
                    await self._sleep()
                    continue
                done = await to_thread.run_sync(run_once, self.engine, self.tenants,
                                               self.notices_for, self.clock())
                if sum(done.values()):
                    log.info("scheduler: %s", dict(done))
                    if self.after is not None:
                        self.after()
            except Exception:
                log.exception("scheduler: a round failed; trying again in %s s", self.interval)
            await self._sleep()

    async def _sleep(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self.interval)


def for_app(app) -> Scheduler:
    """The web process's scheduler: the app's clock, and its drainers woken after a round."""
    state = app.state
    return Scheduler(state.engine, state.tenants, lambda tenant: Notices.of(app, tenant),
                     interval=state.settings.scheduler_interval, clock=lambda: state.clock(),
                     after=lambda: wake_senders(app), serves_pages=True)


async def run_worker(settings: Settings, tenants: Iterable[Tenant],
                     senders: Sequence[tuple[Channel, Sender]], *, interval: float) -> None:
    """`widget-server worker`: the outbox drainers and, unless WIDGET_SCHEDULER_INTERVAL is 0,
    the scheduler (its e-mails link and sign like the web process's, so it needs the keys)."""
    if settings.scheduler_interval <= 0:
        await outbox.run_worker(settings, interval=interval, senders=senders)
        return
    settings.require_secret()
    engine = make_engine(settings.database_url)
    env = make_templates(settings.templates_dir, settings.tenants_dir).env
    signer = Signer(settings.secret_keys or ("demo-only-key",))
    timed = Scheduler(engine, tenants, lambda tenant: Notices(env, settings, signer, tenant),
                      interval=settings.scheduler_interval)
    timed.start()
    try:
        await outbox.run_worker(settings, interval=interval, senders=senders)
    finally:
        await timed.stop()
        engine.dispose()
