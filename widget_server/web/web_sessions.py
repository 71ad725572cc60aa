"""Server-side sessions for logged-in browsers, and the cookie that names them.

The cookie only carries a random id; the row is what makes a session valid, so logging out
(here or everywhere) really ends it. Inside a cross-site iframe the cookie must be
`Partitioned` (CHIPS) to survive third-party cookie blocking; Starlette cannot write that
attribute below Python 3.14, so the header is written here.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Text, and_, bindparam, exists, select, update
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from widget_server.core import activity
from widget_server.core.access import Identity
from widget_server.core.models import Attendee, BookingShare, Client, WebSession
from widget_server.core.records import Shape, dialect_function

IDLE_LIFETIME = timedelta(days=30)
TOUCH_EVERY = timedelta(minutes=5)  # sliding expiry without a write on every page
PROBE_COOKIE = "cp_probe"
PROBE_LIFETIME = 30 * 24 * 3600  # longer than any form stays open


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


CLIENT, STAFF, VIEW_AS = "client", "staff", "view_as"
VIEW_AS_LIFETIME = timedelta(hours=1)  # staff looking at a family's profile: a short look


def start(session: Session, tenant: str, identity: Identity, now: datetime, *,
          kind: str = CLIENT, viewer: str | None = None) -> str:
    """A new session (a new id at every login, so no fixation); returns the cookie value."""
    sid = secrets.token_urlsafe(32)
    lifetime = VIEW_AS_LIFETIME if kind == VIEW_AS else IDLE_LIFETIME
    session.add(WebSession(sid_hash=_hash(sid), tenant=tenant, email=identity.email,
                           client_id=identity.client_id, created_at=now, last_seen_at=now,
                           expires_at=now + lifetime, kind=kind, viewer=viewer))
    if kind == CLIENT:
        activity.count(session, tenant, activity.LOGIN, now)
    return sid


# Every page reads its session, and a logged-in page its client with it: the statements are
# built once, with bound parameters, and read as records (see core.records).
_ANY_WHERE = (WebSession.sid_hash == bindparam("sid_hash"),
              WebSession.tenant == bindparam("tenant"),
              WebSession.revoked_at.is_(None), WebSession.expires_at > bindparam("now"))
# A widget page never takes a staff session, nor the console a family's.
_LIVE_WHERE = (*_ANY_WHERE, WebSession.kind != STAFF)
_SESSION = Shape(WebSession)
_LIVE = _SESSION.select().where(*_LIVE_WHERE)
_LIVE_STAFF = _SESSION.select().where(*_ANY_WHERE, WebSession.kind == STAFF)
# Whether any booking is shared with the person (one probe of the shares' (tenant, e-mail)
# index): most families have none, and their pages' statements then leave out the shares'
# half of each family rule (`Access.shares`).
_HAS_SHARES = exists().where(BookingShare.tenant == WebSession.tenant,
                             BookingShare.email == WebSession.email,
                             BookingShare.status == "active")
_WITH_CLIENT = Shape(WebSession, Client, _HAS_SHARES)
_LIVE_WITH_CLIENT = _WITH_CLIENT.select().outerjoin(Client, and_(
    Client.id == WebSession.client_id, Client.tenant == WebSession.tenant)).where(*_LIVE_WHERE)


# The family's members (id, provider id, name) as one JSON array, on SQLite and PostgreSQL
# alike: text either way, whatever the driver makes of JSON.
_Family = dialect_function("family", Text(), "json_group_array(json_array({}))",
                           "json_agg(json_build_array({}))::text")
# The pages that list the family's members (home, progress) read the family's own with the
# session: a statement of their own was a round trip on PostgreSQL. Through the attendees'
# (tenant, client) index, as `access.visible_members` reads them.
_FAMILY = (select(_Family(Attendee.id, Attendee.external_id, Attendee.name))
           .where(Attendee.tenant == WebSession.tenant, Attendee.client_id == WebSession.client_id)
           .correlate(WebSession).scalar_subquery())
_WITH_FAMILY = Shape(WebSession, Client, _HAS_SHARES, _FAMILY)
_LIVE_WITH_FAMILY = _WITH_FAMILY.select().outerjoin(Client, and_(
    Client.id == WebSession.client_id, Client.tenant == WebSession.tenant)).where(*_LIVE_WHERE)
_TOUCH = update(WebSession).where(WebSession.id == bindparam("session_id")).values(
    last_seen_at=bindparam("now"), expires_at=bindparam("expires_at"))


def load(session: Session, tenant: str, sid: str | None, now: datetime) -> WebSession | None:
    """The live session named by the cookie, for this tenant only (a read-only record); slides
    its expiry."""
    found = _live(session, _SESSION, _LIVE, tenant, sid, now)
    return found[0] if found else None


def load_with_client(session: Session, tenant: str, sid: str | None,
                     now: datetime) -> tuple[WebSession | None, Client | None, bool]:
    """`load`, and the session's client in the same statement (None for an adult a booking
    is shared with), and whether any booking is shared with the person: every logged-in page
    needs all three."""
    found = _live(session, _WITH_CLIENT, _LIVE_WITH_CLIENT, tenant, sid, now)
    return (found[0], found[1], bool(found[2])) if found else (None, None, True)


def load_with_family(session: Session, tenant: str, sid: str | None, now: datetime
                     ) -> tuple[WebSession | None, Client | None, bool, list[tuple[str, str]]]:
    """`load_with_client`, and the client's own family members (provider id, name) in the
    order the provider added them, read in the same statement."""
    found = _live(session, _WITH_FAMILY, _LIVE_WITH_FAMILY, tenant, sid, now)
    if not found:
        return None, None, True, []
    members = sorted(json.loads(found[3])) if found[3] else []  # by id: the provider's order
    return found[0], found[1], bool(found[2]), [(ref, name) for _, ref, name in members]


def load_staff(session: Session, tenant: str, sid: str | None,
               now: datetime) -> WebSession | None:
    """The live staff session named by the console's cookie, for this tenant only."""
    found = _live(session, _SESSION, _LIVE_STAFF, tenant, sid, now)
    return found[0] if found else None


def _live(session: Session, shape: Shape, statement: Any, tenant: str, sid: str | None,
          now: datetime) -> tuple | None:
    if not sid:
        return None
    found = shape.first(session, statement, {"sid_hash": _hash(sid), "tenant": tenant,
                                             "now": now})
    if found is None:
        return None
    row = found[0]
    if now - row.last_seen_at > TOUCH_EVERY and row.kind != VIEW_AS:  # a look does not slide
        session.connection().execute(_TOUCH, {"session_id": row.id, "now": now,
                                              "expires_at": now + IDLE_LIFETIME})
        found = (row._replace(last_seen_at=now, expires_at=now + IDLE_LIFETIME), *found[1:])
    return found


def end(session: Session, tenant: str, sid: str, now: datetime) -> None:
    session.exec(update(WebSession)
                 .where(WebSession.sid_hash == _hash(sid), WebSession.tenant == tenant)
                 .values(revoked_at=now))


def end_everywhere(session: Session, tenant: str, email: str, now: datetime, *,
                   staff: bool = False) -> int:
    """Revoke every session of this person at this tenant (a family's, or with `staff`, a
    staff member's console sessions and the profiles they are viewing); returns how many."""
    mine = (WebSession.kind != STAFF) & (WebSession.email == email) if not staff else (
        ((WebSession.kind == STAFF) & (WebSession.email == email))
        | ((WebSession.kind == VIEW_AS) & (WebSession.viewer == email)))
    result = session.exec(update(WebSession)
                          .where(WebSession.tenant == tenant, mine,
                                 WebSession.revoked_at.is_(None))
                          .values(revoked_at=now))
    return result.rowcount


# --- the cookie -------------------------------------------------------------------------------

def _secure_context(request: Request) -> bool:
    """HTTPS, or localhost, which browsers treat as secure (so Secure cookies work in the demo)."""
    return request.url.scheme == "https" or request.url.hostname in ("localhost", "127.0.0.1")


def cookie_name(request: Request, staff: bool = False) -> str:
    name = "cp_staff" if staff else "cp_sid"
    return f"__Host-{name}" if request.url.scheme == "https" else name


def read_sid(request: Request, staff: bool = False) -> str | None:
    return request.cookies.get(cookie_name(request, staff))


def _cookie(request: Request, name: str, value: str, max_age: int, path: str = "/") -> bytes:
    if _secure_context(request):
        attributes = f"Path={path}; Secure; HttpOnly; SameSite=None; Partitioned"
    else:  # plain http on a non-local host: what the browser accepts (first-party only)
        attributes = f"Path={path}; HttpOnly; SameSite=Lax"
    return f"{name}={value}; Max-Age={max_age}; {attributes}".encode()


def set_cookie(response: Response, request: Request, sid: str, staff: bool = False) -> None:
    response.raw_headers.append(
        (b"set-cookie", _cookie(request, cookie_name(request, staff), sid,
                                int(IDLE_LIFETIME.total_seconds()))))


def clear_cookie(response: Response, request: Request, staff: bool = False) -> None:
    response.raw_headers.append((b"set-cookie", _cookie(request, cookie_name(request, staff),
                                                        "", 0)))


def probe(request: Request) -> tuple[str, bool]:
    """The visitor's probe value, and whether it is new (to be set on the response). A random
    value, not a flag: the anonymous form token is bound to it."""
    value = request.cookies.get(PROBE_COOKIE)
    if value:
        return value, False
    return request.scope.setdefault("cp.probe", secrets.token_urlsafe(16)), True


def set_probe(response: Response, request: Request, value: str, tenant: str,
              path: str | None = None) -> None:
    """A harmless cookie set by every page shown before login; if it does not come back,
    cookies are blocked. One per tenant (its path): two schools' widgets on one page load
    their first pages at the same moment, and one shared cookie would be set twice, leaving
    one form's token bound to the value that lost."""
    response.raw_headers.append((b"set-cookie", _cookie(request, PROBE_COOKIE, value,
                                                        PROBE_LIFETIME,
                                                        path or f"/t/{tenant}/")))


def probe_returned(request: Request) -> str | None:
    """The probe value the browser sent back, if any."""
    return request.cookies.get(PROBE_COOKIE) or None
