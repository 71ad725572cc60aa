"""The demo's mail viewer: read login e-mails without an SMTP account, and see the WhatsApp
messages and provider webhooks the demo would have sent (demo mode only)."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from sqlmodel import Session, select
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from widget_server.core.errors import NotFound
from widget_server.core.models import OutboxMessage
from widget_server.web.visit import in_db


def _shown(row: OutboxMessage) -> dict[str, Any]:
    """One row as the viewer lists it, whatever its channel."""
    payload = row.payload
    if row.channel == "webhook":
        body = json.loads(payload.get("body") or "{}")
        return {"kind": "Webhook", "title": body.get("type", "webhook"),
                "to": payload.get("url"), "text": json.dumps(body, indent=2, ensure_ascii=False)}
    if row.channel == "whatsapp":
        message = payload.get("message") or {}
        template = message.get("template") or {}
        words = [p.get("text", "") for c in template.get("components", [])
                 for p in c.get("parameters", [])]
        return {"kind": "WhatsApp", "title": template.get("name", "message"),
                "to": message.get("to"), "text": " · ".join(words)}
    return {"kind": "E-mail", "title": payload.get("subject"), "to": payload.get("to"),
            "text": payload.get("text", ""), "html": True}


async def inbox(request: Request) -> Response:
    def load(session: Session) -> list[OutboxMessage]:
        return list(session.exec(
            select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(100)).all())

    messages = await in_db(request, load)
    return request.app.state.templates.TemplateResponse(
        request, "demo/mail.html", {"messages": [(m, _shown(m)) for m in messages]})


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
