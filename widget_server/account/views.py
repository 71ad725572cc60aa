"""The account tab: its page, and its forms (details, notices, the calendar address, the login
e-mail, the data download and the request to delete the account)."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from widget_server.account import data_export, details, email_change
from widget_server.account.details import InvalidDetails
from widget_server.account.email_change import EmailChangeFailed
from widget_server.core import access as scope
from widget_server.core.access import Access
from widget_server.core.errors import NotFound
from widget_server.core.formatting import local_today
from widget_server.core.models import Attendee, Client
from widget_server.delivery import preferences
from widget_server.delivery.notices import Notices
from widget_server.profile import calendar_feed, family
from widget_server.web.forms import form_post, redirect, wake_senders
from widget_server.web.security import client_ip
from widget_server.web.visit import Visit, in_db, logged_in_page, visit


def _client(db: Session, who: Access) -> Client:
    """The client whose account this is; an adult a booking is shared with has none."""
    client = scope.client_of(db, who)
    if client is None:
        raise NotFound("Only the family's own login has these settings.")
    return client


def _members(who: Access) -> Any:
    return (select(Attendee.external_id, Attendee.name, Attendee.birth_date)
            .where(scope.family(Attendee, who)).order_by(Attendee.id))


def _page_data(db: Session, who: Access, v: Visit) -> dict[str, Any]:
    members = scope.run(db, _members, who)
    return {"members": [(family.Member(ref, name), born) for ref, name, born in members],
            "feed": calendar_feed.current(db, who.tenant, who.email), "feed_url": None,
            "phone_example": details.phone_example(v.tenant.config.locale),
            **details.page_data(db, who, v.now, v.client)}


async def account(request: Request) -> Response:
    """Who is logged in, the calendar address, and logging out."""
    return await logged_in_page(request, "widget/account.html", "account", _page_data)


@form_post
async def calendar_link(request: Request, v: Visit, form: dict[str, str]) -> Response:
    """Get a (new) calendar address, shown once on the page that answers; or turn it off."""
    if form.get("action") == "off":
        await in_db(request, lambda db: calendar_feed.revoke(db, v.tenant.slug,
                                                             v.web_session.email, v.now))
        return redirect(request, "account", {"calendar": "off"}, "calendar",
                        tenant=v.tenant.slug)
    token = await in_db(request, lambda db: calendar_feed.issue(db, v.tenant.slug,
                                                                v.web_session.email, v.now))
    feed_url = str(request.url_for("calendar_feed", tenant=v.tenant.slug, token=token))

    def load(db: Session, who: Access, v: Visit) -> dict[str, Any]:
        # The answer to a POST, with a secret in it: not an address to put in the parent's URL.
        return {**_page_data(db, who, v), "feed_url": feed_url, "deep_link": False,
                "webcal_url": "webcal://" + feed_url.split("://", 1)[1]}

    return await logged_in_page(request, "widget/account.html", "account", load)



def _saved(request: Request, v: Visit, what: str, anchor: str) -> Response:
    url = request.url_for("account", tenant=v.tenant.slug).include_query_params(saved=what)
    return RedirectResponse(f"{url}#{anchor}", status_code=303)


async def _account_page(request: Request, v: Visit, status_code: int,
                        **extra: Any) -> Response:
    """The account page again, answering a form that could not be saved."""
    def load(db: Session, who: Access, v: Visit) -> dict[str, Any]:
        return {**_page_data(db, who, v), "deep_link": False, **extra}

    return await logged_in_page(request, "widget/account.html", "account", load,
                                status_code=status_code, v=v)


@form_post
async def save_details(request: Request, v: Visit, form: dict[str, str]) -> Response:
    who = Access.of(v.web_session)

    def work(db: Session) -> dict[str, Any]:
        return details.update_details(db, v.tenant, _client(db, who), name=form.get("name", ""),
                                      phone=form.get("phone", ""), now=v.now)

    try:
        await in_db(request, work)
    except InvalidDetails as bad:
        return await _account_page(request, v, 422, details_errors=bad.errors,
                                   details_form=form)
    wake_senders(request.app)
    return _saved(request, v, "details", "details")


@form_post
async def save_notifications(request: Request, v: Visit, form: dict[str, str]) -> Response:
    who = Access.of(v.web_session)
    chosen = {(kind, channel) for kind in preferences.KINDS for channel in preferences.CHANNELS
              if form.get(f"{kind}.{channel}") == "on"}
    await in_db(request, lambda db: details.update_notifications(
        db, v.tenant, _client(db, who), chosen, v.now))
    wake_senders(request.app)
    return _saved(request, v, "notifications", "notifications")


@form_post
async def start_email_change(request: Request, v: Visit, form: dict[str, str]) -> Response:
    who = Access.of(v.web_session)
    notices = Notices.of(request.app, v.tenant)

    def work(db: Session) -> None:
        email_change.start(db, v.signer, v.tenant, _client(db, who), form.get("email", ""),
                           notices, v.now, client_ip(request))

    try:
        await in_db(request, work)
    except EmailChangeFailed as failed:
        status = 429 if failed.reason == "too_many" else 422
        return await _account_page(request, v, status, email_error=failed.reason,
                                   email_form=form.get("email", ""))
    wake_senders(request.app)
    return RedirectResponse(request.url_for("account_email", tenant=v.tenant.slug),
                            status_code=303)


async def email_code_page(request: Request, *, error: EmailChangeFailed | None = None,
                          v: Visit | None = None) -> Response:
    """Where the code sent to the new address is typed."""
    v = v or await visit(request)

    def load(db: Session, who: Access, v: Visit) -> dict[str, Any]:
        return {"change": email_change.pending(db, _client(db, who), v.now), "error": error,
                "minutes": int(email_change.CODE_LIFETIME.total_seconds() // 60),
                "deep_link": False}

    status = 200 if error is None else 422
    return await logged_in_page(request, "widget/email_code.html", "account", load,
                                status_code=status, v=v)


@form_post
async def confirm_email_change(request: Request, v: Visit, form: dict[str, str]) -> Response:
    who = Access.of(v.web_session)
    notices = Notices.of(request.app, v.tenant)

    def work(db: Session) -> EmailChangeFailed | None:
        try:
            email_change.confirm(db, v.signer, v.tenant, _client(db, who),
                                 form.get("code", ""), notices, v.now)
        except EmailChangeFailed as failed:
            return failed  # returned, not raised: the wrong attempt must be committed
        return None

    failed = await in_db(request, work)
    if failed is not None:
        return await email_code_page(request, error=failed, v=v)
    wake_senders(request.app)
    return _saved(request, v, "email", "details")


async def download_data(request: Request) -> Response:
    """All of the family's data as a JSON file."""
    v = await visit(request)
    if not v.logged_in:
        return RedirectResponse(request.url_for("login", tenant=v.tenant.slug), status_code=303)
    who = Access.of(v.web_session)
    document = await in_db(request, lambda db: data_export.export(db, v.tenant, who, v.now))
    day = local_today(v.now, v.tenant.config.timezone).isoformat()
    body = json.dumps(document, ensure_ascii=False, indent=2)
    return Response(body, media_type="application/json; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="my-data-{v.tenant.slug}-{day}.json"',
        "Cache-Control": "private, no-store",
    })


async def deletion_page(request: Request) -> Response:
    """What deleting the account means, and the button that asks for it."""
    def load(db: Session, who: Access, v: Visit) -> dict[str, Any]:
        _client(db, who)
        return {"deep_link": False}

    return await logged_in_page(request, "widget/account_delete.html", "account", load)


@form_post
async def request_deletion(request: Request, v: Visit, form: dict[str, str]) -> Response:
    who = Access.of(v.web_session)
    notices = Notices.of(request.app, v.tenant)
    await in_db(request, lambda db: details.request_deletion(db, v.tenant, _client(db, who),
                                                             notices, v.now))
    wake_senders(request.app)
    return _saved(request, v, "deletion", "delete")
