"""Pages for answering an offer of a place: the offer with its classes and terms (the confirm
step of "Keep my place"), the answer, and "No, thanks" with an optional reason. Thin handlers
over `offers`; a rule saying no (the last place went a moment ago, the deadline passed, it was
answered already) shows the offer again with the reason. Accepting an offer paid on acceptance
goes on to the payment's screen."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from widget_server.core.access import Access
from widget_server.core.formatting import local_today
from widget_server.delivery.notices import Notices
from widget_server.money.orders import transfer_reported
from widget_server.selfservice import offers
from widget_server.web.forms import act, redirect
from widget_server.web.visit import Loader, Visit, logged_in_page


def _offer_page(external_id: str, error: str | None = None, chosen: str | None = None) -> Loader:
    def load(db: Session, who: Access, v: Visit) -> dict[str, Any]:
        tz = v.tenant.config.timezone
        card = offers.one(db, who, external_id, v.now, tz)
        reported = card.payment is not None and transfer_reported(card.payment,
                                                                   local_today(v.now, tz))
        return {"card": card, "error": error, "chosen": chosen, "payment_reported": reported}
    return load


async def offer_page(request: Request) -> Response:
    """One offer: what is offered, until when, the terms, and the button that keeps it."""
    return await logged_in_page(request, "widget/offer.html", "bookings", _offer_page(
        request.path_params["offer"], chosen=request.query_params.get("option")))


async def accept(request: Request) -> Response:
    external_id = request.path_params["offer"]
    return await act(
        request,
        lambda db, v, who, form: offers.accept(db, v.tenant, who, external_id,
                                               form.get("option", ""), v.now,
                                               Notices.of(request.app, v.tenant)),
        lambda reason: ("widget/offer.html", _offer_page(external_id, reason)),
        lambda v, card: _after_accepting(request, v, card))


def _after_accepting(request: Request, v: Visit, card: offers.OfferCard) -> Response:
    """On to paying, when accepting asked for a payment; else back to the offer, kept."""
    if card.payment is not None and card.payment.status == "unpaid":
        return redirect(request, "payment", tenant=v.tenant.slug,
                        payment=card.payment.external_id)
    return redirect(request, "offer", {"done": "accepted"}, tenant=v.tenant.slug,
                    offer=card.offer.external_id)


async def decline_page(request: Request) -> Response:
    """No, thanks: an optional reason, then the answer."""
    return await logged_in_page(request, "widget/offer_decline.html", "bookings", _offer_page(
        request.path_params["offer"]))


async def decline(request: Request) -> Response:
    external_id = request.path_params["offer"]
    return await act(
        request,
        lambda db, v, who, form: offers.decline(db, v.tenant, who, external_id,
                                                form.get("reason") or None, form.get("note"),
                                                v.now, Notices.of(request.app, v.tenant)),
        lambda reason: ("widget/offer.html", _offer_page(external_id, reason)),
        lambda v, _: redirect(request, "offer", {"done": "declined"}, tenant=v.tenant.slug,
                              offer=external_id))
