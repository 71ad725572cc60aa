"""Helping a family from the console: its page with the delivery log, its login e-mail sent
again, and the tenant's webhooks with "retry now". Thin handlers over `families`,
`deliveries` and the widget's own login e-mail (`auth.login_mail`)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from widget_server.auth import login_mail
from widget_server.console import deliveries, families, staff
from widget_server.console.views import StaffVisit, render, staff_form, staff_page
from widget_server.core import metrics
from widget_server.core.db import in_db
from widget_server.core.i18n import gettext as _
from widget_server.delivery.notices import Notices
from widget_server.web.forms import wake_senders
from widget_server.web.security import client_ip


def _before(request: Request) -> int | None:
    """The `before` of an "older" link: where the next page starts."""
    before = request.query_params.get("before", "")
    return int(before) if before.isdigit() and len(before) < 12 else None


def _family(db: Session, v: StaffVisit, external_id: str,
            before: int | None) -> dict[str, Any]:
    family = families.family(db, v.tenant.slug, external_id)
    log, older = deliveries.family_log(db, v.tenant.slug, family.client.id, before)
    return {"family": family, "deliveries": log, "older": older}


async def family_page(request: Request) -> Response:
    external_id, before = request.path_params["client"], _before(request)
    resent = request.query_params.get("resent") == "1"
    return await staff_page(request, "console/family.html", lambda db, v: {
        **_family(db, v, external_id, before), "resent": resent})


async def resend_login(request: Request) -> Response:
    """The family's login e-mail again, as the widget's login form sends it (the same limits),
    written to the audit log."""
    got = await staff_form(request)
    if isinstance(got, Response):
        return got
    v, _fields = got
    external_id = request.path_params["client"]
    notices, ip = Notices.of(request.app, v.tenant), client_ip(request)

    def work(db: Session) -> bool:
        client = families.client_of(db, v.tenant.slug, external_id)
        mail = login_mail.send(db, notices, client.email, ip, v.now)
        staff.record(db, v.tenant.slug, v.email, "resend_login", client.id, v.now, client.email)
        return mail is not None

    try:
        queued = await in_db(request, work)
    except login_mail.TooManyLoginEmails:
        data = await in_db(request, lambda db: _family(db, v, external_id, None))
        return render(v, "console/family.html", {**data, "error": _(
            "Too many login e-mails were asked for in the last 15 minutes, for this family's "
            "address or from your connection. Please wait 15 minutes and try again.")},
            status_code=429)
    if queued:
        metrics.LOGIN_EMAILS.inc()
    wake_senders(request.app)
    return RedirectResponse(str(request.url_for("console_family", tenant=v.tenant.slug,
                                                client=external_id)) + "?resent=1",
                            status_code=303)


async def webhooks_page(request: Request) -> Response:
    before, retried = _before(request), request.query_params.get("retried")

    def load(db: Session, v: StaffVisit) -> dict[str, Any]:
        page, older = deliveries.webhooks(db, v.tenant.slug, before)
        return {"deliveries": page, "older": older, "retried": retried}
    return await staff_page(request, "console/webhooks.html", load)


async def retry_webhook(request: Request) -> Response:
    """"Retry now": the webhook is due at once (audited); back to the list."""
    got = await staff_form(request)
    if isinstance(got, Response):
        return got
    v, _fields = got
    webhook_id = request.path_params["webhook"]
    retried = await in_db(request, lambda db: deliveries.retry_webhook(
        db, v.tenant.slug, v.email, webhook_id, v.now))
    if retried:
        wake_senders(request.app)
    return RedirectResponse(str(request.url_for("console_webhooks", tenant=v.tenant.slug))
                            + f"?retried={int(retried)}", status_code=303)
