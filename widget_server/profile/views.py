"""The logged-in client's pages: home, a booking's dashboard and sessions, benefits, orders,
account, and calendar files. Each handler resolves the visitor, calls one loader, renders."""

from __future__ import annotations

from typing import Any, Callable

from sqlmodel import Session, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from widget_server.account.details import page_data as account_page_data
from widget_server.account.details import phone_example
from widget_server.core import access as scope
from widget_server.core.access import Access
from widget_server.core.errors import NotFound
from widget_server.core.formatting import local_today
from widget_server.core.i18n import activate
from widget_server.core.models import Attendee, Client
from widget_server.money.orders import load_orders
from widget_server.profile import bookings, calendar_feed, family
from widget_server.profile.benefits import load_benefits
from widget_server.selfservice import makeups
from widget_server.selfservice import places as self_service
from widget_server.web.security import check_csrf
from widget_server.web.visit import Visit, in_db, locale_for, render, tenant_of, visit

Loader = Callable[[Session, Access, Visit], dict[str, Any]]


async def _page(request: Request, template: str, section: str, load: Loader,
                *, status_code: int = 200, v: Visit | None = None) -> Response:
    """A logged-in page: load its data (and the client) in one transaction, then render."""
    v = v or await visit(request)
    if not v.logged_in:
        return RedirectResponse(request.url_for("login", tenant=v.tenant.slug), status_code=303)
    who = Access.of(v.web_session)

    def work(db: Session) -> dict[str, Any]:
        return {"client": scope.client_of(db, who), **load(db, who, v)}

    data = await in_db(request, work)
    client: Client | None = data["client"]
    return render(v, template, {
        "section": section, "now": v.now, "email": v.web_session.email,
        "today": local_today(v.now, v.tenant.config.timezone),
        "person_name": client.name if client else v.web_session.email, **data,
    }, status_code=status_code, locale=locale_for(v.tenant, client.locale if client else None))


# The same for view modules of other sections (payments).
logged_in_page = _page


async def home(request: Request) -> Response:
    """The family, the chosen member's bookings and what needs doing."""
    v = await visit(request)
    if not v.logged_in and request.query_params.get("welcome"):
        # Logged in a moment ago, yet no cookie came back: the browser blocks it here.
        return render(v, "widget/cookies_blocked.html", {"email": ""})
    requested = request.query_params.get("member")

    def load(db: Session, who: Access, v: Visit) -> dict[str, Any]:
        data = family.load_home(db, who, v.web_session, requested, v.now,
                                v.tenant.config.timezone)
        data.makeups_available = makeups.ready_for_member(
            db, v.tenant, who, v.now, data.selected.external_id if data.selected else None)
        return {"home": data}

    return await _page(request, "widget/home.html", "bookings", load, v=v)


async def booking(request: Request) -> Response:
    """The programme dashboard of one booking."""
    external_id = request.path_params["booking"]
    return await _page(request, "widget/booking.html", "bookings", lambda db, who, v: {
        "board": self_service.dashboard(db, v.tenant, who, external_id, v.now)})


async def booking_sessions(request: Request) -> Response:
    """Every session of one booking, upcoming first, with what the family can do to each."""
    external_id = request.path_params["booking"]

    def load(db: Session, who: Access, v: Visit) -> dict[str, Any]:
        tab = bookings.sessions(db, who, external_id, v.now)
        return {"list": tab, "extra": self_service.for_sessions(db, v.tenant, who, tab, v.now)}

    return await _page(request, "widget/sessions.html", "bookings", load)


async def benefits(request: Request) -> Response:
    return await _page(request, "widget/benefits.html", "benefits", lambda db, who, v: {
        "benefits": load_benefits(db, who, v.now, v.tenant.config.timezone, v.tenant)})


async def orders(request: Request) -> Response:
    return await _page(request, "widget/orders.html", "orders", lambda db, who, v: {
        "orders": load_orders(db, who, v.now, v.tenant.config.timezone)})


def _account(db: Session, who: Access, v: Visit) -> dict[str, Any]:
    members = db.exec(select(Attendee).where(scope.family(Attendee, who))
                      .order_by(Attendee.id)).all()
    return {"members": [(family.Member(a.external_id, a.name), a.birth_date) for a in members],
            "feed": calendar_feed.current(db, who.tenant, who.email), "feed_url": None,
            "phone_example": phone_example(v.tenant.config.locale),
            **account_page_data(db, who, v.now)}


async def account(request: Request) -> Response:
    """Who is logged in, the calendar address, and logging out."""
    return await _page(request, "widget/account.html", "account", _account)


async def calendar_link(request: Request) -> Response:
    """Get a (new) calendar address, shown once on the page that answers; or turn it off."""
    v = await visit(request)
    if not v.logged_in:
        return RedirectResponse(request.url_for("login", tenant=v.tenant.slug), status_code=303)
    form = await request.form()
    check_csrf(v.signer, v.tenant.slug, v.sid, str(form.get("csrf_token") or ""))
    if form.get("action") == "off":
        await in_db(request, lambda db: calendar_feed.revoke(db, v.tenant.slug,
                                                             v.web_session.email, v.now))
        url = str(request.url_for("account", tenant=v.tenant.slug)) + "?calendar=off#calendar"
        return RedirectResponse(url, status_code=303)
    token = await in_db(request, lambda db: calendar_feed.issue(db, v.tenant.slug,
                                                                v.web_session.email, v.now))
    feed_url = str(request.url_for("calendar_feed", tenant=v.tenant.slug, token=token))

    def load(db: Session, who: Access, v: Visit) -> dict[str, Any]:
        # The answer to a POST, with a secret in it: not an address to put in the parent's URL.
        return {**_account(db, who, v), "feed_url": feed_url, "deep_link": False,
                "webcal_url": "webcal://" + feed_url.split("://", 1)[1]}

    return await _page(request, "widget/account.html", "account", load)


def _ics(body: bytes, filename: str) -> Response:
    return Response(body, media_type="text/calendar; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "private, no-store",
    })


def _booking_link(request: Request, tenant: str) -> Callable[[str], str]:
    return lambda external_id: str(request.url_for("booking", tenant=tenant,
                                                   booking=external_id))


async def session_ics(request: Request) -> Response:
    """One session as a calendar file, for "add to my calendar"."""
    v = await visit(request)
    if not v.logged_in:
        raise NotFound("Log in to download this session.")
    who = Access.of(v.web_session)
    booking_id, session_id = request.path_params["booking"], request.path_params["session"]

    def load(db: Session):
        client = scope.client_of(db, who)
        view, row = bookings.one_session(db, who, booking_id, session_id, v.now)
        return client, view, row

    client, view, row = await in_db(request, load)
    activate(locale_for(v.tenant, client.locale if client else None))
    entry = calendar_feed.Entry(row.attendance_id, view.booking.external_id, row.session,
                                view.programme, view.attendee.name, row.status, row.makeup,
                                row.session.updated_at)
    item = calendar_feed.event(entry, tenant=v.tenant.slug, domain=request.url.hostname or "",
                               now=v.now, link=_booking_link(request, v.tenant.slug))
    day = local_today(row.session.starts_at, v.tenant.config.timezone).isoformat()
    return _ics(calendar_feed.calendar(v.tenant.name, [item]), f"session-{day}.ics")


async def calendar_feed_file(request: Request) -> Response:
    """The subscribed calendar: no login, the secret address is the key."""
    tenant, now = tenant_of(request), request.app.state.clock()
    token = request.path_params["token"]

    def load(db: Session):
        who = calendar_feed.access_for_token(db, tenant.slug, token)
        if who is None:
            raise NotFound("This calendar address no longer works.")
        client = scope.client_of(db, who)
        return client, calendar_feed.entries(db, who, now)

    client, entries = await in_db(request, load)
    activate(locale_for(tenant, client.locale if client else None))
    link = _booking_link(request, tenant.slug)
    events = [calendar_feed.event(e, tenant=tenant.slug, domain=request.url.hostname or "",
                                  now=now, link=link) for e in entries]
    return _ics(calendar_feed.calendar(tenant.name, events), "sessions.ics")
