"""A small school for the self-service stories, built through the provider sync code, and
helpers to act as one of its families in the domain layer or in a browser-like client."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from profile_support import NOW, browser, freeze
from sqlmodel import Session, select

from widget_server.api import sync
from widget_server.core import access as scope
from widget_server.core.db import session_scope
from widget_server.core.models import OutboxMessage, WebhookDelivery
from widget_server.delivery.notices import Notices

DAY = timedelta(days=1)  # NOW (from profile_support) is a Sunday noon: 13:00 in Bratislava


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class School:
    """One tenant's programmes, sessions and families, pushed as the provider would."""

    def __init__(self, app, tenant: str = "demo-sk", now: datetime = NOW):
        self.app = app
        self.slug = tenant
        self.tenant = app.state.tenants.get(tenant)
        self.engine = app.state.engine
        self.now = now
        self._items: list[tuple[str, str, dict[str, Any]]] | None = None
        freeze(app, now)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Push everything added inside in one transaction (fast for big schools)."""
        self._items = []
        try:
            yield
        finally:
            items, self._items = self._items, None
            with session_scope(self.engine) as db:
                resolver = sync.RefResolver(db, self.slug)
                for resource, external_id, body in items:
                    sync.upsert(db, self.slug, resource, external_id, body, resolver)

    def put(self, resource: str, external_id: str, **body: Any) -> str:
        if self._items is not None:
            self._items.append((resource, external_id, body))
        else:
            with session_scope(self.engine) as db:
                sync.upsert(db, self.slug, resource, external_id, body)
        return external_id

    def programme(self, key: str, **body: Any) -> str:
        defaults = {"name": key.title(), "makeup_policy": "same_programme",
                    "cancel_cutoff_hours": 6, "makeup_validity_days": 30, "venue": "Hall"}
        return self.put("programmes", key, **(defaults | body))

    def session(self, key: str, programme: str, starts: datetime | timedelta,
                minutes: int = 45, **body: Any) -> str:
        begin = self.now + starts if isinstance(starts, timedelta) else starts
        return self.put("sessions", key, programme_id=programme, starts_at=iso(begin),
                        ends_at=iso(begin + timedelta(minutes=minutes)), **body)

    def family(self, key: str, email: str | None = None, **body: Any) -> tuple[str, str]:
        """A parent and one child; returns their provider ids."""
        client = self.put("clients", f"{key}-parent", email=email or f"{key}@example.com",
                          name=f"Parent {key.title()}", **body)
        child = self.put("attendees", f"{key}-child", client_id=client,
                         name=f"Kid {key.title()}")
        return client, child

    def booking(self, key: str, client: str, child: str, programme: str, **body: Any) -> str:
        return self.put("bookings", key, client_id=client, attendee_id=child,
                        programme_id=programme, **body)

    def attend(self, key: str, booking: str, session: str, status: str = "expected",
               **body: Any) -> str:
        return self.put("attendance", key, booking_id=booking, session_id=session,
                        status=status, **body)

    def credit(self, key: str, client: str, child: str, source: str | None,
               expires: timedelta | None = timedelta(days=20)) -> str:
        return self.put("makeup-credits", key, client_id=client, attendee_id=child,
                        source_attendance_id=source,
                        expires_at=iso(self.now + expires) if expires else None)

    # --- acting ---------------------------------------------------------------------------

    def access(self, email: str):
        with Session(self.engine) as db:
            return scope.for_email(db, self.slug, email)

    def notices(self) -> Notices:
        return Notices.of(self.app, self.tenant)

    def run(self, work, now: datetime | None = None):
        """`work(db)` in one transaction (committed unless it raises)."""
        with session_scope(self.engine) as db:
            return work(db)

    def browser(self, mailbox, email: str):
        """A logged-in browser that has opened the home page (so it holds a form token)."""
        visitor = browser(self.app, mailbox, email, self.slug)
        visitor.open("")
        return visitor

    # --- looking --------------------------------------------------------------------------

    def rows(self, model, *where) -> list:
        with Session(self.engine) as db:
            return list(db.exec(select(model).where(*where)).all())

    def one(self, model, *where):
        found = self.rows(model, *where)
        assert len(found) == 1, found
        return found[0]

    def events(self, event_type: str | None = None) -> list[dict]:
        """The webhook bodies queued so far (optionally of one type), oldest first."""
        import json

        with Session(self.engine) as db:
            rows = db.exec(select(WebhookDelivery, OutboxMessage)
                           .join(OutboxMessage,
                                 OutboxMessage.id == WebhookDelivery.outbox_message_id)
                           .where(WebhookDelivery.tenant == self.slug)
                           .order_by(WebhookDelivery.id)).all()
        bodies = [json.loads(message.payload["body"]) for _, message in rows]
        return [b for b in bodies if event_type is None or b["type"] == event_type]

    def emails(self, kind: str | None = None) -> list[dict]:
        with Session(self.engine) as db:
            rows = db.exec(select(OutboxMessage).where(OutboxMessage.tenant == self.slug,
                                                       OutboxMessage.channel == "email")
                           .order_by(OutboxMessage.id)).all()
        return [m.payload for m in rows if kind is None or m.payload.get("kind") == kind]


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def form_action(page_html: str, contains: str) -> str:
    """The action of the first form whose action contains `contains`."""
    for action in re.findall(r'<form[^>]*action="([^"]+)"', page_html):
        if contains in action:
            return action
    raise AssertionError(f"no form posting to *{contains}* on the page")


def links(page_html: str, contains: str) -> list[str]:
    return [h for h in re.findall(r'href="([^"]+)"', page_html) if contains in h]
