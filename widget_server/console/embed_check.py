"""The embed check: where the widget runs. The snippet reports each page it runs on (its origin
and path, nothing about who looks at it) and the console lists those seen in the last 30 days,
each working or refused by its origin not being in the tenant's `allowed_origins`.

The report is a public, cookie-less POST that any page can send, so what it carries is checked
and bounded here, one page is written at most every few minutes per process, and a tenant keeps
at most `MAX_PAGES` pages seen in the last 30 days (older ones go when a new one comes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from widget_server.core.errors import BadRequest
from widget_server.core.models import EmbedSighting
from widget_server.core.plain_text import has_control
from widget_server.core.settings import Settings
from widget_server.core.tenants import Tenant

MAX_BODY = 2048  # bytes: an origin and a path
MAX_PATH = 500  # characters kept of a path (longer ones are cut)
MAX_PAGES = 500  # pages a tenant keeps, seen in the last WINDOW
WINDOW = timedelta(days=30)
QUIET = timedelta(minutes=10)  # a page already written is not written again for this long
MEMO_SIZE = 10_000
# A host name, IPv4 address or [IPv6 address], and a port, as an origin writes them.
NETLOC = re.compile(r"^(?P<host>[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])"
                    r"(?::(?P<port>\d{1,5}))?$")
DEFAULT_PORTS = {"http": 80, "https": 443}
SHOWN = 200  # pages listed in the console


class NotAPage(BadRequest):
    """A report that is not `origin + path` as a browser writes it."""


@dataclass(frozen=True)
class Page:
    origin: str  # scheme://host[:port], lower case, no default port
    path: str


def read_page(body: bytes, origin_header: str | None = None) -> Page:
    """The page a report names: `https://host[:port]/path`, as `location.origin +
    location.pathname` gives it (ASCII, no query, no fragment, no user name); its origin must be
    the one the browser sent in the `Origin` header, when it sent one."""
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise NotAPage("Send the page's address as a browser writes it (ASCII).") from None
    if not text or has_control(text) or " " in text:
        raise NotAPage("Send the page's address: origin and path, nothing else.")
    if "?" in text or "#" in text or "@" in text:  # "@": a user name, or an e-mail address
        raise NotAPage("Send the page's origin and path only: no query, fragment, user name or "
                       "e-mail address.")
    origin = origin_of(text)
    if origin is None:
        raise NotAPage("The page's address must be http:// or https:// and a valid host.")
    if origin_header not in (None, "null") and origin_of(origin_header.strip()) != origin:
        raise NotAPage("The page's origin is not the one this request came from.")
    path = text.partition("://")[2].partition("/")[1:]
    return Page(origin, ("".join(path) or "/")[:MAX_PATH])


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of an http(s) URL as browsers write origins (lower case, no
    default port), or None when it is not one."""
    scheme, separator, rest = url.partition("://")
    scheme = scheme.lower()
    found = NETLOC.match(rest.partition("/")[0].lower())
    if not separator or scheme not in DEFAULT_PORTS or found is None \
            or len(found["host"]) > 253:
        return None
    port = int(found["port"] or DEFAULT_PORTS[scheme])
    if not 0 < port < 65536:
        return None
    return f"{scheme}://{found['host']}" + ("" if port == DEFAULT_PORTS[scheme] else f":{port}")


def framing_origins(settings: Settings, tenant: Tenant) -> list[str]:
    """The origins whose pages the widget works on: the tenant's `allowed_origins` and the
    service's own (the demo's pages), as the CSP lists them and the widget checks its parent."""
    return list(dict.fromkeys([*tenant.config.allowed_origins, *settings.frame_origins]))


def snippet_urls(settings: Settings, tenant: Tenant) -> tuple[str, str]:
    """The snippet's script and its plain link (the hosted profile): on the tenant's own domain
    if it has one (see Custom domains in the README), else at the service's public URL."""
    origin = f"https://{tenant.config.hosts[0]}" if tenant.config.hosts else settings.base_url
    return f"{origin}/embed.js", f"{origin}/t/{tenant.slug}/"


class Memo:
    """The pages this process wrote lately: a busy page reports on every view, and is written
    once per QUIET. Bounded: forgotten all at once when full (the database dedupes anyway)."""

    def __init__(self, size: int = MEMO_SIZE):
        self.size = size
        self.written: dict[tuple[str, str, str, bool], datetime] = {}

    def due(self, tenant: str, page: Page, allowed: bool, now: datetime) -> bool:
        """Whether to write this report (and remember that it is being written)."""
        key = (tenant, page.origin, page.path, allowed)
        last = self.written.get(key)
        if last is not None and timedelta(0) <= now - last < QUIET:
            return False
        if len(self.written) >= self.size:
            self.written.clear()
        self.written[key] = now
        return True


def record(db: Session, tenant: str, page: Page, allowed: bool, now: datetime) -> bool:
    """Upsert the page's last sighting; False when it is new and the tenant already has
    MAX_PAGES pages seen in the last 30 days. A new page clears those not seen for longer."""
    table = EmbedSighting.__table__
    known = db.exec(select(EmbedSighting.id).where(
        EmbedSighting.tenant == tenant, EmbedSighting.origin == page.origin,
        EmbedSighting.path == page.path)).first()
    if known is None:
        # Full is decided by reading alone: a flood of made-up pages writes nothing.
        since = now - WINDOW
        kept = db.exec(select(func.count()).select_from(EmbedSighting).where(
            EmbedSighting.tenant == tenant, EmbedSighting.last_seen >= since)).one()
        if kept >= MAX_PAGES:
            return False
        db.exec(delete(EmbedSighting).where(  # type: ignore[call-overload]
            EmbedSighting.tenant == tenant, EmbedSighting.last_seen < since))
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.exec(insert(table).values(  # type: ignore[call-overload]
        tenant=tenant, origin=page.origin, path=page.path, allowed=allowed, first_seen=now,
        last_seen=now).on_conflict_do_update(
            index_elements=["tenant", "origin", "path"],
            set_={"allowed": allowed, "last_seen": now}))
    return True


@dataclass(frozen=True)
class Sighting:
    origin: str
    path: str
    allowed: bool  # when it was seen
    allowed_now: bool  # by the tenant's allowed origins today
    seconds_ago: int


def sightings(db: Session, tenant: Tenant, settings: Settings, now: datetime) -> list[Sighting]:
    """The pages seen in the last 30 days, latest first (by the index on tenant, last_seen)."""
    allowed = set(framing_origins(settings, tenant))
    rows = db.exec(select(EmbedSighting.origin, EmbedSighting.path, EmbedSighting.allowed,
                          EmbedSighting.last_seen)
                   .where(EmbedSighting.tenant == tenant.slug,
                          EmbedSighting.last_seen >= now - WINDOW)
                   .order_by(EmbedSighting.last_seen.desc())  # type: ignore[union-attr]
                   .limit(SHOWN)).all()
    return [Sighting(origin, path, was, origin in allowed,
                     max(0, int((now - seen).total_seconds())))
            for origin, path, was, seen in rows]


def refused_origins(found: list[Sighting]) -> list[tuple[Sighting, int]]:
    """Each refused origin once (its latest sighting) with how many of its pages were seen."""
    latest: dict[str, Sighting] = {}
    pages: dict[str, int] = {}
    for sighting in found:
        if not sighting.allowed:
            latest.setdefault(sighting.origin, sighting)
            pages[sighting.origin] = pages.get(sighting.origin, 0) + 1
    return [(s, pages[o]) for o, s in latest.items()]
