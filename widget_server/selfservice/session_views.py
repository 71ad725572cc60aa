"""Pages that change a booking's places: cancel a session (confirm, then do), move it to
another session, and add an add-on. Each handler resolves the visitor, calls one function of
`places`, and renders or redirects; a rule saying no re-renders the page with its reason.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from widget_server.core.access import Access
from widget_server.selfservice import places as self_service
from widget_server.selfservice.rules import window
from widget_server.web.forms import act, page_number, redirect
from widget_server.web.visit import Visit, logged_in_page

# --- cancel -------------------------------------------------------------------------------

def _cancel_page(booking: str, session: str, error: str | None = None):
    def load(db: Session, who: Access, v: Visit) -> dict[str, Any]:
        place = self_service.get_place(db, who, booking, session)
        reason = self_service.changeable(v.tenant, place, v.now)
        return {"place": place, "view": place.view, "reason": reason, "error": error,
                "window": window(v.tenant, place.programme, place.session, v.now),
                "earns": self_service.earns_credit(v.tenant, place, v.now)}
    return load


async def cancel_page(request: Request) -> Response:
    """The confirm step: what cancelling this session means, and the button that does it."""
    booking, session = request.path_params["booking"], request.path_params["session"]
    return await logged_in_page(request, "widget/session_cancel.html", "bookings",
                                _cancel_page(booking, session))


async def cancel_submit(request: Request) -> Response:
    booking, session = request.path_params["booking"], request.path_params["session"]

    def cancelled(v: Visit, done: self_service.Cancelled) -> Response:
        query = {"done": "cancelled", "day": session}
        if done.credit is not None:
            query["credit"] = done.credit.external_id
        if done.returned:
            query["returned"] = done.returned
        return redirect(request, "booking_sessions", query, tenant=v.tenant.slug,
                        booking=booking)

    return await act(
        request, lambda db, v, who, form: self_service.cancel(db, v.tenant, who, booking,
                                                              session, v.now),
        lambda reason: ("widget/session_cancel.html", _cancel_page(booking, session, reason)),
        cancelled)


# --- move ---------------------------------------------------------------------------------

def _move_page(booking: str, session: str, page: int, error: str | None = None):
    def load(db: Session, who: Access, v: Visit) -> dict[str, Any]:
        place, found, why = self_service.reschedule_options(db, v.tenant, who, booking,
                                                            session, v.now, page)
        return {"place": place, "view": place.view, "found": found, "why_none": why,
                "error": error}
    return load


async def move_page(request: Request) -> Response:
    """The sessions this place could move to, a week at a time; one tap moves it."""
    booking, session = request.path_params["booking"], request.path_params["session"]
    return await logged_in_page(request, "widget/session_move.html", "bookings",
                                _move_page(booking, session, page_number(request)))


async def move_submit(request: Request) -> Response:
    booking, session = request.path_params["booking"], request.path_params["session"]
    return await act(
        request, lambda db, v, who, form: self_service.reschedule(
            db, v.tenant, who, booking, session, form.get("to", ""), v.now),
        lambda reason: ("widget/session_move.html", _move_page(booking, session, 1, reason)),
        lambda v, moved: redirect(request, "booking_sessions",
                                  {"done": "moved", "day": moved[1].external_id},
                                  tenant=v.tenant.slug, booking=booking))


# --- add-ons ------------------------------------------------------------------------------

def _addons_page(booking: str, error: str | None = None):
    def load(db: Session, who: Access, v: Visit) -> dict[str, Any]:
        view, offered = self_service.addons_of(db, who, booking)
        return {"view": view, "offered": offered, "error": error}
    return load


async def addons_page(request: Request) -> Response:
    return await logged_in_page(request, "widget/addons.html", "bookings",
                                _addons_page(request.path_params["booking"]))


async def addons_submit(request: Request) -> Response:
    booking = request.path_params["booking"]
    return await act(
        request, lambda db, v, who, form: self_service.add_addon(
            db, v.tenant, who, booking, form.get("addon", ""), v.now),
        lambda reason: ("widget/addons.html", _addons_page(booking, reason)),
        lambda v, added: redirect(request, "booking", {"done": "addon", "addon": added[1]["id"]},
                                  tenant=v.tenant.slug, booking=booking))
