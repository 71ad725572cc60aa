"""The demo's mail viewer: read login e-mails without an SMTP account (demo mode only)."""

from __future__ import annotations

from html import escape

from sqlmodel import Session, select
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from widget_server.errors import NotFound
from widget_server.models import OutboxMessage
from widget_server.widget import in_db


async def inbox(request: Request) -> Response:
    def load(session: Session) -> list[OutboxMessage]:
        return list(session.exec(
            select(OutboxMessage).where(OutboxMessage.channel == "email")
            .order_by(OutboxMessage.id.desc()).limit(100)
        ).all())

    messages = await in_db(request, load)
    return request.app.state.templates.TemplateResponse(
        request, "demo/mail.html", {"messages": messages})


async def message(request: Request) -> Response:
    message_id = request.path_params["message_id"]
    row = await in_db(request, lambda s: s.get(OutboxMessage, message_id))
    if row is None or row.channel != "email":
        raise NotFound("No such message.")
    html = row.payload.get("html") or f"<pre>{escape(row.payload.get('text', ''))}</pre>"
    # The message's own HTML is shown in a sandboxed frame with no scripts.
    return HTMLResponse(html, headers={
        "Content-Security-Policy": "sandbox allow-popups allow-popups-to-escape-sandbox; "
                                   "frame-ancestors 'self'"})
