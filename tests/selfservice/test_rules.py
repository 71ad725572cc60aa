"""Cutoffs are whole hours before the start, compared in UTC and shown in local time, also on
the nights the clocks change; the make-up policy is the narrower of programme and tenant."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from tenant_support import TENANTS

from widget_server.core.formatting import a_time, local
from widget_server.core.models import ClassSession, Programme
from widget_server.selfservice import rules

PIRUETKA = TENANTS.get("demo-sk")  # Europe/Bratislava, cutoff 6 h by default
SECOND = timedelta(seconds=1)


def tenant_with(**makeups) -> object:
    config = PIRUETKA.config
    return replace(PIRUETKA, config=config.model_copy(
        update={"makeups": config.makeups.model_copy(update=makeups)}))


def class_at(local_start: str, *, cutoff: int | None = None, **programme) -> tuple:
    start = datetime.fromisoformat(local_start).replace(tzinfo=PIRUETKA.zone).astimezone(UTC)
    prog = Programme(tenant="demo-sk", external_id="p", name="P", cancel_cutoff_hours=cutoff,
                     **programme)
    return prog, ClassSession(tenant="demo-sk", external_id="s", programme_id=1,
                              starts_at=start, ends_at=start + timedelta(minutes=45))


@pytest.mark.parametrize("local_start, cutoff, deadline_utc, deadline_local", [
    # 25 Oct 2026: summer time ends at 03:00 CEST (01:00 UTC). 08:00 CET is 07:00 UTC, and
    # 24 real hours earlier it was still summer: 09:00 local, not 08:00.
    ("2026-10-25T08:00", 24, "2026-10-24T07:00:00+00:00", "09:00"),
    # Six hours before is the very moment of the change: 01:00 UTC, shown as 02:00 CET.
    ("2026-10-25T08:00", 6, "2026-10-25T01:00:00+00:00", "02:00"),
    # 28 Mar 2027: summer time starts at 02:00 CET (01:00 UTC). 08:00 CEST is 06:00 UTC;
    # 24 hours earlier it was winter: 07:00 local.
    ("2027-03-28T08:00", 24, "2027-03-27T06:00:00+00:00", "07:00"),
    ("2027-03-28T08:00", 6, "2027-03-28T00:00:00+00:00", "01:00"),
])
def test_the_cutoff_is_counted_in_real_hours_across_a_clock_change(
        local_start, cutoff, deadline_utc, deadline_local):
    programme, session = class_at(local_start, cutoff=cutoff)
    deadline = rules.deadline(PIRUETKA, programme, session)
    assert deadline == datetime.fromisoformat(deadline_utc)
    assert session.starts_at - deadline == timedelta(hours=cutoff)
    assert a_time(deadline, "Europe/Bratislava", "sk") == deadline_local.lstrip("0")
    assert local(session.starts_at, "Europe/Bratislava").hour == 8

    assert rules.before_cutoff(PIRUETKA, programme, session, deadline - SECOND)
    assert not rules.before_cutoff(PIRUETKA, programme, session, deadline)
    assert not rules.before_cutoff(PIRUETKA, programme, session, deadline + SECOND)


def test_a_programme_cutoff_wins_over_the_tenants_and_zero_means_until_the_start():
    programme, session = class_at("2026-12-05T09:00")
    assert rules.cutoff_hours(PIRUETKA, programme) == 6  # the tenant's default
    programme.cancel_cutoff_hours = 0
    assert rules.deadline(PIRUETKA, programme, session) == session.starts_at
    assert rules.before_cutoff(PIRUETKA, programme, session, session.starts_at - SECOND)


def test_the_windows_of_many_places_are_each_places_own():
    """The sessions tab works out every place's window at once, each programme's cutoff once:
    the same as asking for each, at and around each deadline, across the clocks' change."""
    tenants_own, _ = class_at("2026-10-25T08:00")  # the tenant's 6 hours
    own_day, _ = class_at("2026-10-25T08:00", cutoff=24)
    programmes = {1: tenants_own, 2: own_day}
    sessions = []
    for programme_id, local_start in ((1, "2026-10-25T08:00"), (2, "2026-10-25T08:00"),
                                      (1, "2026-10-26T18:30"), (2, "2027-03-28T08:00")):
        _, session = class_at(local_start)
        session.programme_id = programme_id
        sessions.append(session)
    for now in (datetime(2026, 10, 24, 7, tzinfo=UTC) + step
                for step in (-SECOND, timedelta(0), SECOND, timedelta(hours=18))):
        assert rules.windows(PIRUETKA, programmes, sessions, now) == [
            rules.window(PIRUETKA, programmes[s.programme_id], s, now) for s in sessions]
    opened = rules.windows(PIRUETKA, programmes, sessions, datetime(2026, 10, 24, 7, tzinfo=UTC))
    assert [(w.open, w.hours) for w in opened] == [(True, 6), (False, 24), (True, 6), (True, 24)]


@pytest.mark.parametrize("programme_policy, tenant_policy, features_on, expected", [
    ("programme_group", "programme_group", True, "programme_group"),
    ("programme_group", "same_programme", True, "same_programme"),  # the tenant narrows it
    ("same_programme", "programme_group", True, "same_programme"),
    ("none", "programme_group", True, "none"),
    ("programme_group", "none", True, "none"),
    ("programme_group", "programme_group", False, "none"),  # make-ups switched off
])
def test_the_make_up_policy_is_the_narrower_of_programme_and_tenant(
        programme_policy, tenant_policy, features_on, expected):
    tenant = tenant_with(policy=tenant_policy)
    tenant = replace(tenant, config=tenant.config.model_copy(update={
        "features": tenant.config.features.model_copy(update={"makeups": features_on})}))
    programme, _ = class_at("2026-12-05T09:00", makeup_policy=programme_policy)
    assert rules.makeup_policy(tenant, programme) == expected


def test_a_credit_lasts_its_validity_to_the_end_of_the_local_day():
    programme, session = class_at("2026-10-25T08:00", makeup_validity_days=30)
    expiry = rules.credit_expiry(PIRUETKA, programme, session)
    assert local(expiry, "Europe/Bratislava").isoformat() == "2026-11-24T23:59:59+01:00"
    programme.makeup_validity_days = None  # the tenant's 90 days
    assert local(rules.credit_expiry(PIRUETKA, programme, session),
                 "Europe/Bratislava").date().isoformat() == "2027-01-23"
