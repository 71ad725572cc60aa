"""The sharing screen of a booking: who can see it, inviting another adult, taking a share
back (or, for an adult it is shared with, leaving it)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from widget_server.account import sharing
from widget_server.account.sharing import ShareRefused
from widget_server.core.access import Access
from widget_server.core.errors import NotFound
from widget_server.delivery.notices import Notices
from widget_server.web.forms import form_post, wake_senders
from widget_server.web.visit import Visit, in_db, logged_in_page, visit


def _sharing_on(v: Visit) -> None:
    if not v.tenant.config.features.sharing:
        raise NotFound("Sharing bookings is not offered here.")


async def sharing_page(request: Request, *, form: dict[str, str] | None = None,
                       error: str | None = None, status_code: int = 200,
                       v: Visit | None = None) -> Response:
    """Who can see the booking; for its family also the invitation form."""
    booking_id = request.path_params["booking"]
    v = v or await visit(request)
    _sharing_on(v)
    query = request.query_params

    def load(db: Session, who: Access, v: Visit) -> dict[str, Any]:
        return {"sharing": sharing.load_sharing(db, who, booking_id),
                "relations": sharing.RELATIONS, "limit": sharing.MAX_SHARES_PER_BOOKING,
                "form": form or {"relation": "parent", "access": "view"}, "error": error,
                "added": query.get("added"), "revoked": query.get("revoked")}

    return await logged_in_page(request, "widget/sharing.html", "bookings", load,
                                status_code=status_code, v=v)


@form_post
async def add_share(request: Request, v: Visit, form: dict[str, str]) -> Response:
    _sharing_on(v)
    booking_id = request.path_params["booking"]
    notices = Notices.of(request.app, v.tenant)
    who = Access.of(v.web_session)

    def work(db: Session) -> str:
        share = sharing.add_share(db, v.tenant, who, booking_id, email=form.get("email", ""),
                                  relation=form.get("relation", ""),
                                  level=form.get("access", ""), notices=notices, now=v.now)
        return share.external_id

    try:
        share_id = await in_db(request, work)
    except ShareRefused as refused:
        status = 429 if refused.reason == "too_many_invites" else 422
        return await sharing_page(request, form=form, error=refused.reason, status_code=status,
                                  v=v)
    wake_senders(request.app)
    url = request.url_for("booking_sharing", tenant=v.tenant.slug, booking=booking_id)
    return RedirectResponse(url.include_query_params(added=share_id), status_code=303)


@form_post
async def revoke_share(request: Request, v: Visit, form: dict[str, str]) -> Response:
    _sharing_on(v)
    booking_id, share_id = request.path_params["booking"], request.path_params["share"]
    who = Access.of(v.web_session)

    def work(db: Session):
        return sharing.revoke_share(db, v.tenant, who, booking_id, share_id, v.now)

    share = await in_db(request, work)
    wake_senders(request.app)
    if share.email == who.email:  # left a booking shared with them: it is gone from view
        url = request.url_for("home", tenant=v.tenant.slug).include_query_params(left=1)
    else:
        url = request.url_for("booking_sharing", tenant=v.tenant.slug,
                              booking=booking_id).include_query_params(revoked=1)
    return RedirectResponse(url, status_code=303)
