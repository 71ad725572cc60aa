"""The logged-in client's pages: home, a booking's dashboard and sessions, progress,
benefits, and calendar files. Each handler resolves the visitor, calls one loader, renders."""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Callable

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from widget_server.core import access as scope
from widget_server.core.access import Access
from widget_server.core.errors import NotFound
from widget_server.core.formatting import local_today
from widget_server.core.i18n import activate
from widget_server.profile import bookings, calendar_feed, family, report_card_pdf, report_cards
from widget_server.profile.benefits import load_benefits
from widget_server.selfservice import makeups, offers
from widget_server.selfservice import places as self_service
from widget_server.web.visit import (
    Visit,
    client_locale,
    download_visit,
    in_db,
    locale_for,
    logged_in_page,
    render,
    tenant_of,
    visit,
)


async def home(request: Request) -> Response:
    """The family, the chosen member's bookings and what needs doing."""
    requested = request.query_params.get("member")

    def load(db: Session, who: Access, v: Visit) -> dict[str, Any]:
        data = family.load_home(db, who, v.web_session, requested, v.now,
                                v.tenant.config.timezone, v.family)
        member = data.selected.external_id if data.selected else None
        data.makeups_available = makeups.ready_for_member(db, v.tenant, who, v.now, member)
        return {"home": data, "offers": offers.for_member(
            db, who, member, v.now, v.tenant.config.timezone) if data.has_offers else []}

    def logged_out(v: Visit) -> Response | None:
        if request.query_params.get("welcome"):
            # Logged in a moment ago, yet no cookie came back: the browser blocks it here.
            return render(v, "widget/cookies_blocked.html", {"email": ""})
        return None

    return await logged_in_page(request, "widget/home.html", "bookings", load,
                                logged_out=logged_out, family=True)


async def booking(request: Request) -> Response:
    """The programme dashboard of one booking."""
    external_id = request.path_params["booking"]

    def load(db: Session, who: Access, v: Visit) -> dict[str, Any]:
        board = self_service.dashboard(db, v.tenant, who, external_id, v.now)
        return {"board": board, "offers": offers.for_booking(
            db, who, external_id, v.now, v.tenant.config.timezone) if board.has_offers else []}

    return await logged_in_page(request, "widget/booking.html", "bookings", load)


async def booking_sessions(request: Request) -> Response:
    """Every session of one booking, upcoming first, with what the family can do to each."""
    external_id = request.path_params["booking"]
    all_past = request.query_params.get("past") == "all"

    def load(db: Session, who: Access, v: Visit) -> dict[str, Any]:
        tab = bookings.sessions(db, who, external_id, v.now, all_past)
        return {"list": tab, "extra": self_service.for_sessions(db, v.tenant, who, tab, v.now,
                                                                   v.locale)}

    return await logged_in_page(request, "widget/sessions.html", "bookings", load)


async def member_progress(request: Request) -> Response:
    """A family member's levels, skills and timeline (the member chosen as on the home page)."""
    requested = request.query_params.get("member")
    whole = request.query_params.get("history") == "all"
    return await logged_in_page(request, "widget/progress.html", "progress", lambda db, who, v: {
        "progress": report_cards.progress_with_cards(db, who, v.web_session, requested, v.now,
                                                     v.tenant.config.timezone, whole, v.family)},
        family=True)


async def report_card(request: Request) -> Response:
    """One published report card: the level's skills, the instructor's comment, the PDF."""
    external_id = request.path_params["card"]
    return await logged_in_page(request, "widget/report_card.html", "progress",
                                lambda db, who, v: {"report": report_cards.open_card(
                                    db, v.tenant, who, external_id, v.now)})


async def report_card_file(request: Request) -> Response:
    """A report card as a PDF, in the family's language and the school's colour."""
    v, who = await download_visit(request)
    external_id = request.path_params["card"]
    card, locale = await in_db(request, lambda db: (
        report_cards.open_card(db, v.tenant, who, external_id, v.now), client_locale(db, v, who)))
    body = report_card_pdf.report_card(card, v.tenant.name, v.tenant.config.theme.primary,
                                       locale)
    return _pdf(body, f"report-card-{card.child}-{card.published_on.isoformat()}")


async def certificate_file(request: Request) -> Response:
    """The certificate of a level the member has completed (`?member=`)."""
    v, who = await download_visit(request)
    level_id, member = request.path_params["level"], request.query_params.get("member")
    tz = v.tenant.config.timezone
    found, locale = await in_db(request, lambda db: (
        report_cards.completed_level(db, who, v.web_session, member, level_id, v.now, tz),
        client_locale(db, v, who)))
    child, level, programme = found
    body = report_card_pdf.certificate(child, level, programme, level.completed_on,
                                       v.tenant.name, v.tenant.config.theme.primary, locale)
    return _pdf(body, f"certificate-{child}-{level.name}")


def _pdf(body: bytes, name: str) -> Response:
    # A file name in plain ASCII (a child's name may not be), safe in a quoted header.
    safe = "-".join(re.findall(r"[A-Za-z0-9]+", unicodedata.normalize(
        "NFKD", name).encode("ascii", "ignore").decode())) or "document"
    return Response(body, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{safe.lower()}.pdf"',
        "Cache-Control": "private, no-store"})


async def benefits(request: Request) -> Response:
    return await logged_in_page(request, "widget/benefits.html", "benefits", lambda db, who, v: {
        "benefits": load_benefits(db, who, v.now, v.tenant.config.timezone, v.tenant)})


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
