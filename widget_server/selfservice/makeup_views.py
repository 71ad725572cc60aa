"""Pages for booking with a make-up credit or an entry pass: the make-ups screen, a credit's
sessions with a free place (or why there are none, and the waiting list), the confirm step,
the held place from the waiting list, and a pass's sessions. Thin handlers over `makeups`,
`passes` and `makeup_hub`; a rule saying no re-renders the page with its reason and fresh
options (e.g. when someone else took the last place a moment earlier).
"""

from __future__ import annotations

from typing import Any, Callable

from sqlmodel import Session, select
from starlette.requests import Request
from starlette.responses import Response

from widget_server.core.access import Access
from widget_server.core.errors import NotFound
from widget_server.core.models import ClassSession, Programme
from widget_server.delivery.notices import Notices
from widget_server.selfservice import makeup_waitlist, makeups, passes
from widget_server.selfservice.makeup_hub import load_hub
from widget_server.web.forms import act, page_number, redirect
from widget_server.web.visit import Loader, Visit, logged_in_page


async def hub(request: Request) -> Response:
    """Every make-up the family can book, and the passes that book sessions."""
    member = request.query_params.get("member")
    return await logged_in_page(request, "widget/makeups.html", "bookings",
                                lambda db, who, v: {"hub": load_hub(db, v.tenant, who, v.now,
                                                                    member)})


def _credit_page(credit: str, page: int, error: str | None = None) -> Loader:
    def load(db: Session, who: Access, v: Visit) -> dict[str, Any]:
        return {"item": makeups.load_credit(db, v.tenant, who, credit, v.now, page),
                "error": error}
    return load


async def credit_page(request: Request) -> Response:
    """One make-up: its sessions with a free place, week by week, or why there are none."""
    return await logged_in_page(request, "widget/makeup.html", "bookings",
                                _credit_page(request.path_params["credit"],
                                             page_number(request)))


def _session_of(db: Session, tenant: str, external_id: str) -> tuple[ClassSession, Programme]:
    row = db.exec(select(ClassSession, Programme)
                  .join(Programme, Programme.id == ClassSession.programme_id)
                  .where(ClassSession.tenant == tenant,
                         ClassSession.external_id == external_id)).first()
    if row is None:
        raise NotFound("There is no such session.")
    return row


async def confirm_page(request: Request) -> Response:
    """The second tap: the chosen session, and the button that books it."""
    credit, session = request.path_params["credit"], request.path_params["session"]

    def load(db: Session, who: Access, v: Visit) -> dict[str, Any]:
        item = makeups.load_credit(db, v.tenant, who, credit, v.now, page=1)
        target, programme = _session_of(db, v.tenant.slug, session)
        return {"item": item, "target": target, "programme": programme, "member": item.attendee}

    return await logged_in_page(request, "widget/makeup_confirm.html", "bookings", load)


def _booked(request: Request) -> Callable[[Visit, makeups.Booked], Response]:
    return lambda v, done: redirect(
        request, "booking_sessions", {"done": "makeup", "day": done.session.external_id},
        tenant=v.tenant.slug, booking=done.booking.external_id)


async def book(request: Request) -> Response:
    credit, session = request.path_params["credit"], request.path_params["session"]
    return await act(
        request,
        lambda db, v, who, form: makeups.book(db, v.tenant, who, credit, session, v.now,
                                              Notices.of(request.app, v.tenant)),
        lambda reason: ("widget/makeup.html", _credit_page(credit, 1, reason)),
        _booked(request))


async def take_offer(request: Request) -> Response:
    """The one click that books the place held from the waiting list."""
    credit = request.path_params["credit"]
    return await act(
        request,
        lambda db, v, who, form: makeup_waitlist.take_offer(db, v.tenant, who, credit, v.now,
                                                    Notices.of(request.app, v.tenant)),
        lambda reason: ("widget/makeup.html", _credit_page(credit, 1, reason)),
        _booked(request))


async def join_waitlist(request: Request) -> Response:
    credit = request.path_params["credit"]
    return await act(
        request,
        lambda db, v, who, form: makeup_waitlist.join_waitlist(db, v.tenant, who, credit, v.now),
        lambda reason: ("widget/makeup.html", _credit_page(credit, 1, reason)),
        lambda v, _: redirect(request, "makeup", {"done": "waiting"}, tenant=v.tenant.slug,
                              credit=credit))


async def leave_waitlist(request: Request) -> Response:
    credit = request.path_params["credit"]
    return await act(
        request, lambda db, v, who, form: makeup_waitlist.leave_waitlist(db, who, credit, v.now),
        lambda reason: ("widget/makeup.html", _credit_page(credit, 1, reason)),
        lambda v, _: redirect(request, "makeup", {"done": "left"}, tenant=v.tenant.slug,
                              credit=credit))


# --- entry passes -----------------------------------------------------------------------------

def _pass_page(pass_ref: str, member: str | None, page: int, error: str | None = None) -> Loader:
    def load(db: Session, who: Access, v: Visit) -> dict[str, Any]:
        return {"item": passes.load(db, v.tenant, who, pass_ref, member, v.now, page),
                "error": error}
    return load


async def pass_page(request: Request) -> Response:
    """A pass's sessions with a free place, for the chosen family member."""
    return await logged_in_page(request, "widget/pass.html", "bookings", _pass_page(
        request.path_params["entry_pass"], request.query_params.get("member"),
        page_number(request)))


async def pass_confirm_page(request: Request) -> Response:
    pass_ref, session = request.path_params["entry_pass"], request.path_params["session"]
    member = request.query_params.get("member")

    def load(db: Session, who: Access, v: Visit) -> dict[str, Any]:
        item = passes.load(db, v.tenant, who, pass_ref, member, v.now, page=1)
        target, programme = _session_of(db, v.tenant.slug, session)
        return {"item": item, "target": target, "programme": programme, "member": item.member}

    return await logged_in_page(request, "widget/pass_confirm.html", "bookings", load)


async def pass_book(request: Request) -> Response:
    pass_ref, session = request.path_params["entry_pass"], request.path_params["session"]
    member: list[str | None] = [None]

    def action(db: Session, v: Visit, who: Access, form: dict) -> passes.PassBooked:
        member[0] = form.get("member") or None
        return passes.book(db, v.tenant, who, pass_ref, session, member[0], v.now)

    return await act(
        request, action,
        lambda reason: ("widget/pass.html", _pass_page(pass_ref, member[0], 1, reason)),
        lambda v, done: redirect(request, "booking_sessions",
                                 {"done": "pass", "day": done.session.external_id},
                                 tenant=v.tenant.slug, booking=done.booking.external_id))
