"""The provider's self-service rules: cancellation cutoffs, make-up policy and validity.

A programme's own setting wins over the tenant's default (`[makeups]` in the tenant file).
Cutoffs are whole hours before the start, compared in UTC: "6 hours before" an 08:00 class on
the morning the clocks go back is 03:00 summer time, which the page shows as local time.
The make-up policy is the narrower of the programme's and the tenant's: a tenant can switch
make-ups off (or keep them within one programme) for every programme at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from widget_server.core.formatting import local
from widget_server.core.models import ClassSession, Programme
from widget_server.core.tenants import Tenant

POLICIES = ("none", "same_programme", "programme_group")  # narrowest first


def cutoff_hours(tenant: Tenant, programme: Programme) -> int:
    """Hours before the start after which a place can no longer be cancelled or booked."""
    if programme.cancel_cutoff_hours is not None:
        return programme.cancel_cutoff_hours
    return tenant.config.makeups.cancel_cutoff_hours


def deadline(tenant: Tenant, programme: Programme, session: ClassSession) -> datetime:
    """The last moment (UTC) a place in this session can be cancelled or booked."""
    return session.starts_at - timedelta(hours=cutoff_hours(tenant, programme))


def before_cutoff(tenant: Tenant, programme: Programme, session: ClassSession,
                  now: datetime) -> bool:
    """Strictly before the deadline: at the deadline itself it is too late."""
    return now < deadline(tenant, programme, session)


def bookable_after(tenant: Tenant, programme: Programme, now: datetime) -> datetime:
    """`before_cutoff` for many sessions of one programme at once: a session is still before
    its cutoff now if it starts strictly after this moment."""
    return now + timedelta(hours=cutoff_hours(tenant, programme))


def makeup_policy(tenant: Tenant, programme: Programme) -> str:
    """none, same_programme or programme_group: the narrower of programme and tenant."""
    if not tenant.config.features.makeups:
        return "none"
    own = programme.makeup_policy if programme.makeup_policy in POLICIES else "none"
    return min(own, tenant.config.makeups.policy, key=POLICIES.index)


def validity_days(tenant: Tenant, programme: Programme) -> int:
    if programme.makeup_validity_days is not None:
        return programme.makeup_validity_days
    return tenant.config.makeups.validity_days


def credit_expiry(tenant: Tenant, programme: Programme, session: ClassSession) -> datetime:
    """A credit for a missed or excused session lasts `validity_days` from that session's
    local day, to the end of the last day (so it never ends at an odd hour)."""
    day = local(session.starts_at, tenant.config.timezone).date()
    last = day + timedelta(days=validity_days(tenant, programme))
    end = datetime.combine(last, time(23, 59, 59), tzinfo=tenant.zone)
    return end.astimezone(session.starts_at.tzinfo)


def age_on(birth_date: date, day: date) -> int:
    """Whole years of age on `day`."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def age_fits(programme: Programme, birth_date: date | None, day: date) -> bool:
    """Whether a child of this birth date is within the programme's ages on `day` (both ends
    inclusive; an unknown birth date or a programme without ages fits)."""
    if birth_date is None or (programme.min_age is None and programme.max_age is None):
        return True
    age = age_on(birth_date, day)
    return ((programme.min_age is None or age >= programme.min_age)
            and (programme.max_age is None or age <= programme.max_age))


class Window(NamedTuple):
    """Whether a place can still be changed, and until when (for the page to say). A named
    tuple: a sessions tab makes one per place to come."""

    open: bool
    until: datetime
    hours: int


def window(tenant: Tenant, programme: Programme, session: ClassSession,
           now: datetime) -> Window:
    return Window(before_cutoff(tenant, programme, session, now),
                  deadline(tenant, programme, session), cutoff_hours(tenant, programme))


def windows(tenant: Tenant, programmes: Mapping[int, Programme],
            sessions: Iterable[ClassSession], now: datetime) -> list[Window]:
    """`window` of each session (of one of `programmes`, by id), each programme's cutoff
    worked out once."""
    cutoffs: dict[int, tuple[int, timedelta]] = {}
    found = []
    for session in sessions:
        cutoff = cutoffs.get(session.programme_id)
        if cutoff is None:
            hours = cutoff_hours(tenant, programmes[session.programme_id])
            cutoff = cutoffs[session.programme_id] = (hours, timedelta(hours=hours))
        until = session.starts_at - cutoff[1]
        found.append(Window(now < until, until, cutoff[0]))
    return found
