"""Pages for changing a booking's class for the rest of the term: the classes to change to
(the confirm step), the change, and taking back a request still waiting for the provider.
Thin handlers over `switching`; a rule saying no shows the page again with the reason."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from widget_server.core.access import Access
from widget_server.delivery.notices import Notices
from widget_server.selfservice import switching
from widget_server.web.forms import act, redirect
from widget_server.web.visit import Loader, Visit, logged_in_page


def _plan(booking: str, error: str | None = None, chosen: str | None = None) -> Loader:
    def load(db: Session, who: Access, v: Visit) -> dict[str, Any]:
        return {"plan": switching.plan(db, v.tenant, who, booking, v.now), "error": error,
                "chosen": chosen}
    return load


async def switch_page(request: Request) -> Response:
    """The booking's remaining sessions and the classes they could move to."""
    return await logged_in_page(request, "widget/switch.html", "bookings", _plan(
        request.path_params["booking"], chosen=request.query_params.get("class")))


async def switch(request: Request) -> Response:
    booking = request.path_params["booking"]
    return await act(
        request,
        lambda db, v, who, form: switching.switch(db, v.tenant, who, booking,
                                                  form.get("class", ""), v.now,
                                                  Notices.of(request.app, v.tenant)),
        lambda reason: ("widget/switch.html", _plan(booking, reason)),
        lambda v, change: redirect(request, "booking", {"done": f"switch_{change.status}"},
                                   tenant=v.tenant.slug, booking=booking))


async def cancel_request(request: Request) -> Response:
    booking = request.path_params["booking"]
    return await act(
        request,
        lambda db, v, who, form: switching.cancel_request(db, v.tenant, who, booking, v.now),
        lambda reason: ("widget/switch.html", _plan(booking, reason)),
        lambda v, _: redirect(request, "booking", {"done": "switch_cancelled"},
                              tenant=v.tenant.slug, booking=booking))
