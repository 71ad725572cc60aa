"""A logged-in form POST, written once: the visit, the login redirect, the CSRF check and the
form's fields; the redirect that answers it; and waking the senders after the change."""

from __future__ import annotations

import functools
from typing import Any, Awaitable, Callable, TypeVar
from urllib.parse import urlencode

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from widget_server.core.access import Access
from widget_server.core.errors import Refused, field_error
from widget_server.core.plain_text import REASON, ControlCharacters, has_control
from widget_server.web.security import check_csrf
from widget_server.web.visit import Loader, Visit, in_db, logged_in_page, visit

T = TypeVar("T")

# Every background sender of the web process, by its name on `app.state`.
DRAINERS = ("drainer", "webhook_drainer", "whatsapp_drainer")


def login_redirect(request: Request, v: Visit) -> Response:
    return RedirectResponse(request.url_for("login", tenant=v.tenant.slug), status_code=303)


async def posted(request: Request) -> tuple[Visit, dict[str, str]] | Response:
    """A logged-in form post with a good CSRF token: the visit and the form's text fields;
    a redirect to the login page when the session has ended."""
    v = await visit(request)
    if not v.logged_in:  # nothing changes without a session, so no token to check
        return login_redirect(request, v)
    fields = await form_fields(request)
    check_csrf(v.signer, v.tenant.slug, v.sid, fields.get("csrf_token", ""))
    return v, fields


async def form_fields(request: Request) -> dict[str, str]:
    """The form's text fields; a control character in any of them (but tab and line breaks,
    which free text may hold) is refused with 400 before anything reaches the database."""
    form = await request.form()
    for name, value in form.multi_items():
        if has_control(name) or (isinstance(value, str) and has_control(value, free_text=True)):
            raise ControlCharacters("The form contains control characters.",
                             errors=[field_error([name], REASON)])
    return {k: value for k, value in form.items() if isinstance(value, str)}


def form_post(handler: Callable[[Request, Visit, dict[str, str]], Awaitable[Response]]
              ) -> Callable[[Request], Awaitable[Response]]:
    """A route for a logged-in form: the handler gets the visit and the form once `posted`
    has checked them (or the visitor goes to the login page)."""
    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        got = await posted(request)
        if isinstance(got, Response):
            return got
        return await handler(request, *got)
    return endpoint


def page_number(request: Request) -> int:
    """`?page=N` of a paged list; anything odd is the first page."""
    raw = request.query_params.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 10_000 else 1


def redirect(request: Request, name: str, query: dict[str, Any] | None = None,
             anchor: str | None = None, **params: str) -> Response:
    """303 to a named route, with an optional query and #anchor."""
    url = str(request.url_for(name, **params))
    url += "?" + urlencode(query) if query else ""
    return RedirectResponse(url + (f"#{anchor}" if anchor else ""), status_code=303)


def wake_senders(app: Any, *, timed_jobs: bool = False) -> None:
    """Send what the action queued now rather than at the next poll; after a place was freed
    (`timed_jobs`), also run the scheduler's round now so the waiting list hears of it."""
    for name in DRAINERS + (("scheduler",) if timed_jobs else ()):
        running = getattr(app.state, name, None)
        if running is not None:
            running.wake()


async def act(request: Request, action: Callable[[Session, Visit, Access, dict[str, str]], T],
              on_refused: Callable[[str], tuple[str, Loader]],
              on_done: Callable[[Visit, T], Response]) -> Response:
    """A self-service form: `posted`, the action in one transaction, the senders and timed jobs
    woken, then `on_done`'s redirect; a rule saying no shows `on_refused`'s page (409)."""
    got = await posted(request)
    if isinstance(got, Response):
        return got
    v, form = got
    who = Access.of(v.web_session)
    try:
        result = await in_db(request, lambda db: action(db, v, who, form))
    except Refused as refused:
        template, load = on_refused(refused.reason)
        return await logged_in_page(request, template, "bookings", load, status_code=409, v=v)
    wake_senders(request.app, timed_jobs=True)
    return on_done(v, result)
