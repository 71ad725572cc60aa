"""The account tab's forms: details, notices, the login e-mail, the data download and the
request to delete the account. The page itself is `profile.account`."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from widget_server.account import data_export, email_change
from widget_server.account import details as account
from widget_server.account.details import InvalidDetails
from widget_server.account.email_change import EmailChangeFailed
from widget_server.account.sharing_views import posted, wake_senders
from widget_server.core import access as scope
from widget_server.core.access import Access
from widget_server.core.errors import NotFound
from widget_server.core.formatting import local_today
from widget_server.core.models import Client
from widget_server.delivery.notices import Notices
from widget_server.profile.views import _account, logged_in_page
from widget_server.web.visit import Visit, in_db, visit


def _client(db: Session, who: Access) -> Client:
    """The client whose account this is; an adult a booking is shared with has none."""
    client = scope.client_of(db, who)
    if client is None:
        raise NotFound("Only the family's own login has these settings.")
    return client


def _saved(request: Request, v: Visit, what: str, anchor: str) -> Response:
    url = request.url_for("account", tenant=v.tenant.slug).include_query_params(saved=what)
    return RedirectResponse(f"{url}#{anchor}", status_code=303)


async def _account_page(request: Request, v: Visit, status_code: int,
                        **extra: Any) -> Response:
    """The account page again, answering a form that could not be saved."""
    def load(db: Session, who: Access, v: Visit) -> dict[str, Any]:
        return {**_account(db, who, v), "deep_link": False, **extra}

    return await logged_in_page(request, "widget/account.html", "account", load,
                       status_code=status_code, v=v)


async def save_details(request: Request) -> Response:
    got = await posted(request)
    if isinstance(got, Response):
        return got
    v, form = got
    who = Access.of(v.web_session)

    def work(db: Session) -> dict[str, Any]:
        return account.update_details(db, v.tenant, _client(db, who), name=form.get("name", ""),
                                      phone=form.get("phone", ""), now=v.now)

    try:
        await in_db(request, work)
    except InvalidDetails as bad:
        return await _account_page(request, v, 422, details_errors=bad.errors,
                                   details_form=form)
    wake_senders(request)
    return _saved(request, v, "details", "details")


async def save_notifications(request: Request) -> Response:
    got = await posted(request)
    if isinstance(got, Response):
        return got
    v, form = got
    who = Access.of(v.web_session)
    chosen = {(kind, channel) for kind in account.KINDS for channel in account.CHANNELS
              if form.get(f"{kind}.{channel}") == "on"}
    await in_db(request, lambda db: account.update_notifications(
        db, v.tenant, _client(db, who), chosen, v.now))
    wake_senders(request)
    return _saved(request, v, "notifications", "notifications")


async def start_email_change(request: Request) -> Response:
    got = await posted(request)
    if isinstance(got, Response):
        return got
    v, form = got
    who = Access.of(v.web_session)
    notices = Notices.of(request.app, v.tenant)

    def work(db: Session) -> None:
        email_change.start(db, v.signer, v.tenant, _client(db, who), form.get("email", ""),
                           notices, v.now)

    try:
        await in_db(request, work)
    except EmailChangeFailed as failed:
        status = 429 if failed.reason == "too_many" else 422
        return await _account_page(request, v, status, email_error=failed.reason,
                                   email_form=form.get("email", ""))
    wake_senders(request)
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


async def confirm_email_change(request: Request) -> Response:
    got = await posted(request)
    if isinstance(got, Response):
        return got
    v, form = got
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
    wake_senders(request)
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


async def request_deletion(request: Request) -> Response:
    got = await posted(request)
    if isinstance(got, Response):
        return got
    v, _form = got
    who = Access.of(v.web_session)
    notices = Notices.of(request.app, v.tenant)
    await in_db(request, lambda db: account.request_deletion(db, v.tenant, _client(db, who),
                                                             notices, v.now))
    wake_senders(request)
    return _saved(request, v, "deletion", "delete")
