"""What families did themselves, in the last 30 days and this term: the support requests
the profile saved the provider. Read from the daily counts (`core.activity`): a few rows per
kind, however big the tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session

from widget_server.core import activity
from widget_server.core.formatting import local_today
from widget_server.core.tenants import Tenant

# What the dashboard shows, in order: a row's name and the kinds it adds up.
ROWS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("logins", (activity.LOGIN,)),
    ("cancelled", ("session.cancelled",)),
    ("moved", ("session.rescheduled",)),
    ("makeups", ("makeup.booked",)),
    ("payments", ("payment.paid",)),
    ("invoices", (activity.INVOICE_DOWNLOADED,)),
    ("shares", ("share.added",)),
    ("offers", ("offer.accepted", "offer.declined")),
    ("switches", ("booking.switched", "booking.switch_requested")),
    ("addons", ("addon.added",)),
)


@dataclass(frozen=True)
class Row:
    name: str
    month: int
    term: int
    month_amount: int
    term_amount: int


@dataclass(frozen=True)
class Dashboard:
    month_since: date
    term_since: date
    rows: tuple[Row, ...]

    @property
    def saved(self) -> tuple[int, int]:
        """Everything families did but logging in: requests nobody had to handle."""
        done = [r for r in self.rows if r.name != "logins"]
        return sum(r.month for r in done), sum(r.term for r in done)


def term_start(tenant: Tenant, today: date) -> date:
    if tenant.config.console.term_start is not None:
        return tenant.config.console.term_start
    return date(today.year if today.month >= 9 else today.year - 1, 9, 1)


def dashboard(db: Session, tenant: Tenant, now: datetime) -> Dashboard:
    today = local_today(now, tenant.config.timezone)
    month_since, term_since = today - timedelta(days=29), term_start(tenant, today)
    month = activity.totals(db, tenant.slug, month_since)
    term = activity.totals(db, tenant.slug, term_since)

    def add(found: dict[str, tuple[int, int]], kinds: tuple[str, ...], part: int) -> int:
        return sum(found.get(kind, (0, 0))[part] for kind in kinds)

    return Dashboard(month_since, term_since, tuple(
        Row(name, add(month, kinds, 0), add(term, kinds, 0), add(month, kinds, 1),
            add(term, kinds, 1)) for name, kinds in ROWS))
