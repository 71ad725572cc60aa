"""The scheduler's round costs what is due, not how many tenants the deployment serves: a few
indexed reads across all tenants find who has reminders or a waiting list, and only those
tenants' jobs run."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from profile_support import NOW
from sqlalchemy import event
from tenant_support import TENANTS

from widget_server import scheduler
from widget_server.delivery.notices import Notices


def schools(count: int) -> list:
    """`count` tenants like the demo swimming school (which gives no credits for missed
    places, so only what is due makes it work)."""
    demo = TENANTS.get("demo")
    return [replace(demo, config=demo.config.model_copy(update={"slug": f"school-{n}"}))
            for n in range(count)]


def statements_of_a_round(engine, tenants, now=NOW) -> list[str]:
    seen: list[str] = []
    record = lambda conn, cursor, statement, *rest: seen.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", record)
    try:
        done = scheduler.run_once(engine, tenants, lambda tenant: None, now)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert sum(done.values()) == 0
    return seen


@pytest.mark.postgres
def test_an_idle_round_costs_the_same_for_2_or_300_tenants(engine):
    few = statements_of_a_round(engine, schools(2))
    many = statements_of_a_round(engine, schools(300))
    assert len(few) == len(many) <= 4


@pytest.mark.postgres
def test_only_a_tenant_with_something_due_runs_its_jobs(demo):
    """The demo school has classes tomorrow (reminders due); a hundred idle schools beside it
    are not visited, and the demo's reminders still go."""
    engine = demo.state.engine
    tenants = [demo.state.tenants.get("demo"), *schools(100)]
    visited: list[str] = []

    def notices_for(tenant):
        visited.append(tenant.slug)
        return Notices.of(demo, tenant)

    friday = NOW + timedelta(days=5)  # Saturday morning classes start within a day
    done = scheduler.run_once(engine, tenants, notices_for, friday)
    assert visited == ["demo"]
    assert done["reminders"] > 0


@pytest.mark.postgres
def test_one_process_at_a_time_holds_the_rounds(engine):
    """Two processes: the first to ask runs the periodic rounds and keeps them while it
    renews; the other waits, and takes over once a lease is left to lapse (its holder died)."""
    minute = timedelta(minutes=1)
    assert scheduler.take_lease(engine, "web:1", NOW, 3 * minute)
    assert not scheduler.take_lease(engine, "web:2", NOW + minute, 3 * minute)
    assert scheduler.take_lease(engine, "web:1", NOW + minute, 3 * minute)  # renewed
    assert not scheduler.take_lease(engine, "web:2", NOW + 3 * minute, 3 * minute)
    assert scheduler.take_lease(engine, "web:2", NOW + 4 * minute, 3 * minute)  # lapsed
    assert not scheduler.take_lease(engine, "web:1", NOW + 5 * minute, 3 * minute)


@pytest.mark.postgres
def test_a_worker_takes_the_rounds_off_the_process_serving_pages(engine, demo):
    """A round's burst of work (500 reminders: half a second of Python) slows the pages of
    the process that runs it; wherever a `widget-server worker` runs, the rounds go to it."""
    minute = timedelta(minutes=1)
    web = scheduler.for_app(demo).holder
    assert web.startswith("web:")
    worker = scheduler.Scheduler(engine, [], lambda tenant: None, interval=60).holder
    assert worker.startswith("worker:") and len(worker) <= 64
    assert scheduler.take_lease(engine, web, NOW, 3 * minute)  # no worker yet
    assert scheduler.take_lease(engine, worker, NOW + minute, 3 * minute)  # taken over
    assert not scheduler.take_lease(engine, web, NOW + 2 * minute, 3 * minute)
    assert not scheduler.take_lease(engine, "worker:other", NOW + 2 * minute, 3 * minute)
    assert scheduler.take_lease(engine, worker, NOW + 2 * minute, 3 * minute)  # renewed
    # The worker stopped: once its lease lapses, a web process runs the rounds again.
    assert scheduler.take_lease(engine, web, NOW + 6 * minute, 3 * minute)


def test_offer_reminder_dates_are_worked_out_once_per_time_zone_not_per_tenant(monkeypatch):
    """Which offer deadlines are due today depends on a tenant's time zone and reminder days
    only: 300 schools in one zone and 50 in another work it out twice, not 350 times."""
    from widget_server.selfservice import offer_notices

    asked: list[str] = []
    real = offer_notices.due
    monkeypatch.setattr(offer_notices, "due",
                        lambda tenant, now: asked.append(tenant.slug) or real(tenant, now))
    elsewhere = [replace(t, config=t.config.model_copy(update={
        "slug": f"far-{n}", "timezone": "America/New_York"})) for n, t in enumerate(schools(50))]
    offer_notices.due_tenants([*schools(300), *elsewhere], NOW)
    assert asked == ["school-0", "far-0"]
