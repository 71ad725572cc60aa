"""The logged-in client's home page."""

from __future__ import annotations

from sqlmodel import Session, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from widget_server.models import Attendee, Client
from widget_server.widget import in_db, locale_for, render, visit


async def home(request: Request) -> Response:
    v = await visit(request)
    if not v.logged_in:
        if request.query_params.get("welcome"):
            # Logged in a moment ago, yet no cookie came back: the browser blocks it here.
            return render(v, "widget/cookies_blocked.html", {"email": ""})
        return RedirectResponse(request.url_for("login", tenant=v.tenant.slug), status_code=303)
    ws = v.web_session

    def load(session: Session) -> dict:
        client = None
        if ws.client_id is not None:
            client = session.exec(select(Client).where(Client.id == ws.client_id,
                                                       Client.tenant == v.tenant.slug)).first()
        attendees = session.exec(
            select(Attendee.name).where(Attendee.tenant == v.tenant.slug,
                                        Attendee.client_id == ws.client_id).order_by(Attendee.id)
        ).all() if client else []
        return {"name": client.name if client else ws.email, "email": ws.email,
                "attendees": list(attendees), "locale": client.locale if client else None}

    data = await in_db(request, load)
    return render(v, "widget/home.html", data, locale=locale_for(v.tenant, data["locale"]))
