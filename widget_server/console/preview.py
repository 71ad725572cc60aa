"""The theme preview: the widget's own screens (home, a booking's sessions, a payment) filled
with sample data and drawn in the tenant's theme, so staff see their colours on real pages
before a family does. The sample family is the demo's (Slovak words for a Slovak school,
English otherwise), written under the tenant's slug into a small database of its own: the
tenant's real data is never read nor touched, and the pages are read-only."""

from __future__ import annotations

import itertools
import shutil
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlencode

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from widget_server.core.access import Access
from widget_server.core.db import make_engine, migrate, session_scope
from widget_server.core.errors import NotFound
from widget_server.core.formatting import local_today
from widget_server.core.models import Booking, Client, Payment, WebSession
from widget_server.core.tenants import COLOUR_RE, Tenant, Theme
from widget_server.demo.catalogue import PIRUETKA, SPLASH, Profile
from widget_server.demo.data import load_demo
from widget_server.money import bank_transfer, payments
from widget_server.profile import bookings, family
from widget_server.selfservice import makeups, offers
from widget_server.selfservice import places as self_service
from widget_server.web import web_sessions
from widget_server.web.visit import locale_for

SCREENS = ("home", "sessions", "payment")
FAMILY = "cl-1001"  # the demo's family with the most to see
KEPT = 8  # tenants' sample databases a process keeps (each about 1 MB, built in about 1 s)


def profile_for(tenant: Tenant) -> Profile:
    """Sample data in the school's language where the demo has it, in its currency, its
    classes at their times where the school is."""
    words = PIRUETKA if tenant.config.locale.lower().startswith("sk") else SPLASH
    return replace(words, currency=tenant.config.currency, tz=tenant.config.timezone)


# The colours staff may try on the preview before asking for them in the tenant file.
COLOURS = ("primary", "primary_text", "background", "surface", "text", "muted")


@dataclass(frozen=True)
class Trial:
    """The theme to draw: the tenant's, with the colours tried in the query string that are
    good; `changed` those that differ from the tenant's, `errors` what was sent that is not a
    colour (shortened), by name."""

    theme: Theme
    changed: dict[str, str]
    errors: dict[str, str]

    @property
    def query(self) -> str:
        """For the screens' frames: the same colours tried."""
        return urlencode(self.changed)

    def six(self, name: str) -> str:
        """A colour as #rrggbb, the only form a colour input takes."""
        value = getattr(self.theme, name).lower()
        return "#" + "".join(c * 2 for c in value[1:]) if len(value) == 4 else value

    def toml(self) -> str:
        """What to put in the tenant file for these colours."""
        return "[theme]\n" + "".join(f'{name} = "{value}"\n' for name, value in
                                      self.changed.items())


def trial(theme: Theme, params: Mapping[str, str]) -> Trial:
    changed, errors = {}, {}
    for name in COLOURS:
        value = (params.get(name) or "").strip().lower()
        if not value or value == getattr(theme, name).lower():
            continue
        if COLOUR_RE.match(value):
            changed[name] = value
        else:
            errors[name] = value[:20]
    return Trial(theme.model_copy(update=changed), changed, errors)


@dataclass(frozen=True)
class Screen:
    """One preview screen: the widget template, its section, its context, and the read-only
    session of the sample family it is drawn for (never stored)."""

    template: str
    section: str
    web_session: WebSession
    context: dict[str, Any]


class Samples:
    """Per process: a migrated empty database made once, copied and filled per tenant and day
    (the demo's dates follow today), the last few kept."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._dir: tempfile.TemporaryDirectory | None = None
        self._engines: OrderedDict[tuple[str, date], Engine] = OrderedDict()
        self._made = itertools.count()  # file names never repeat, even after evictions

    def engine(self, tenant: Tenant, today: date) -> Engine:
        key = (tenant.slug, today)
        with self._lock:
            if key in self._engines:
                self._engines.move_to_end(key)
                return self._engines[key]
            if self._dir is None:
                self._dir = tempfile.TemporaryDirectory(prefix="cp-preview-")
                migrate(f"sqlite:///{self._blank}")
            path = Path(self._dir.name) / f"{next(self._made)}-{tenant.slug}.db"
            shutil.copyfile(self._blank, path)
            engine = make_engine(f"sqlite:///{path}")
            with session_scope(engine) as db:
                load_demo(db, tenant.slug, today, profile=profile_for(tenant))
            self._engines[key] = engine
            while len(self._engines) > KEPT:
                _, old = self._engines.popitem(last=False)
                old.dispose()
                Path(old.url.database).unlink(missing_ok=True)
            return engine

    @property
    def _blank(self) -> Path:
        assert self._dir is not None
        return Path(self._dir.name) / "blank.db"


def known_screen(name: str) -> str:
    """A screen's name from the URL, or NotFound (before any sample is made for it)."""
    if name not in SCREENS:
        raise NotFound("There is no such preview.")
    return name


def screen(db: Session, tenant: Tenant, name: str, now: datetime, gateway: Any = None) -> Screen:
    """A screen (one of SCREENS, see `known_screen`) of the sample family, loaded as the
    widget's own pages load it (read-only); `gateway` is the tenant's online payment, shown on
    the payment screen."""
    client = db.exec(select(Client).where(Client.tenant == tenant.slug,
                                          Client.external_id == FAMILY)).one()
    who = Access(tenant.slug, client.email, client.id, read_only=True)
    tz = tenant.config.timezone
    today = local_today(now, tz)
    web_session = WebSession(sid_hash="", tenant=tenant.slug, email=client.email,
                             client_id=client.id, expires_at=now + timedelta(hours=1),
                             kind=web_sessions.VIEW_AS)
    base = {"client": client, "now": now, "today": today, "email": client.email,
            "person_name": client.name}
    if name == "home":
        home = family.load_home(db, who, web_session, None, now, tz)
        member = home.selected.external_id if home.selected else None
        home.makeups_available = makeups.ready_for_member(db, tenant, who, now, member)
        return Screen("widget/home.html", "bookings", web_session, base | {
            "home": home, "offers": offers.for_member(db, who, member, now, tz)})
    if name == "sessions":
        booking = db.exec(select(Booking.external_id).where(
            Booking.tenant == tenant.slug, Booking.client_id == client.id)
            .order_by(Booking.id)).first()
        tab = bookings.sessions(db, who, booking, now)
        locale = locale_for(tenant, client.locale)
        return Screen("widget/sessions.html", "bookings", web_session, base | {
            "list": tab, "extra": self_service.for_sessions(db, tenant, who, tab, now, locale)})
    # A payment still to pay shows the most: the ways to pay, bank details and QR code.
    payment = db.exec(select(Payment.external_id).where(
        Payment.tenant == tenant.slug, Payment.client_id == client.id)
        .order_by((Payment.status == "unpaid").desc(), Payment.due_date, Payment.id)).first()
    detail = payments.load_payment(db, who, payment, today, read_only=True)
    return Screen("widget/payment.html", "orders", web_session, base | {
        "detail": detail, "gateway": gateway if detail.payable else None,
        "bank": bank_transfer.instructions(tenant, detail.payment, today)
        if detail.payable else None,
        "pay_token": "", "waiting": False, "refresh": None, "returned": None,
        "started_at": int(now.timestamp())})
