"""Login pages: ask for the e-mail, take the code or the link, log out."""

from __future__ import annotations

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from widget_server.auth import login as auth
from widget_server.auth import login_mail
from widget_server.auth.login import LoginFailed
from widget_server.core import metrics, ratelimit
from widget_server.core.i18n import gettext as _
from widget_server.core.profile_url import hinted_email
from widget_server.delivery.notices import Notices
from widget_server.web import web_sessions
from widget_server.web.forms import form_fields, wake_senders
from widget_server.web.security import Forbidden, check_csrf, client_ip
from widget_server.web.visit import Visit, in_db, render, visit

WINDOW = login_mail.WINDOW


class RateLimited(Exception):
    pass


def _home(visit: Visit) -> str:
    return str(visit.request.url_for("home", tenant=visit.tenant.slug))


def _too_many(visit: Visit, email: str = "") -> Response:
    return render(visit, "widget/login.html", {
        "email": email,
        "error": _("Too many attempts. Please wait 15 minutes and try again."),
    }, status_code=429)


async def login_form(request: Request) -> Response:
    v = await visit(request)
    if v.logged_in:
        return RedirectResponse(_home(v), status_code=303)
    email = request.query_params.get("email", "") or hinted_email(
        v.signer, v.tenant, request.query_params.get("hint"))
    return render(v, "widget/login.html", {"email": email})


def _check_login_form(v: Visit, token: str | None, email: str = "") -> Response | None:
    """Login forms are made before there is a session, so their token is bound to the
    browser's probe cookie; the same pages shown to someone already logged in (opening a login
    e-mail's link again, asking for a new link from it) carry a token bound to their session,
    which is as good. Without the probe cookie the browser blocks cookies here: the answer
    is the page that says so and how to log in anyway (nothing is done)."""
    if v.logged_in:
        try:
            check_csrf(v.signer, v.tenant.slug, v.sid, token)
            return None
        except Forbidden:
            pass
    probe = web_sessions.probe_returned(v.request)
    if probe is None:
        return render(v, "widget/cookies_blocked.html", {"email": email})
    check_csrf(v.signer, v.tenant.slug, None, token, probe)
    return None


async def login_submit(request: Request) -> Response:
    """Always the same answer, whether or not the e-mail is known (no account enumeration)."""
    v = await visit(request)
    form = await form_fields(request)
    email = auth.normalise_email(form.get("email", ""))
    if refused := _check_login_form(v, form.get("csrf_token"), email):
        return refused
    if "@" not in email or len(email) > 320:
        return render(v, "widget/login.html", {
            "email": email, "error": _("Please enter the e-mail address you used for booking."),
        }, status_code=422)

    notices = Notices.of(request.app, v.tenant)

    def work(session: Session) -> bool:
        return login_mail.send(session, notices, email, client_ip(request), v.now) is not None

    try:
        queued = await in_db(request, work)
    except login_mail.TooManyLoginEmails:
        return _too_many(v, email)
    if queued:
        metrics.LOGIN_EMAILS.inc()
    wake_senders(request.app)
    return render(v, "widget/check_inbox.html", {"email": email})


async def code_submit(request: Request) -> Response:
    v = await visit(request)
    form = await form_fields(request)
    email = auth.normalise_email(form.get("email", ""))
    if refused := _check_login_form(v, form.get("csrf_token"), email):
        return refused
    code = form.get("code", "")

    def work(session: Session) -> tuple[str | None, LoginFailed | None]:
        if not ratelimit.allow(session, f"code-ip:{client_ip(request)}",
                               request.app.state.settings.login_codes_per_ip, WINDOW, v.now):
            raise RateLimited
        try:
            identity = auth.login_with_code(session, v.signer, v.tenant.slug, email, code, v.now,
                                            request.app.state.settings.wrong_codes_per_tenant)
        except LoginFailed as failed:
            return None, failed  # the attempt count must be committed, so no raise here
        return web_sessions.start(session, v.tenant.slug, identity, v.now), None

    try:
        sid, failed = await in_db(request, work)
    except RateLimited:
        metrics.CODES_REFUSED.labels("rate_limited").inc()
        return _too_many(v, email)
    if failed is not None:
        metrics.CODES_REFUSED.labels(failed.reason).inc()
    return _logged_in(v, sid) if failed is None else _code_refused(v, email, failed)


def _code_refused(v: Visit, email: str, failed: LoginFailed) -> Response:
    """A wrong code: try again (with the tries left); a code that ended: ask for a new one."""
    if failed.reason == "too_many":
        # The tenant's hourly ceiling: a wait of up to an hour, but the e-mailed link works.
        return render(v, "widget/login.html", {
            "email": email,
            "error": _("Too many attempts. Please use the link in the e-mail we sent you, "
                       "or try again later."),
        }, status_code=429)
    if failed.reason == "wrong_code":
        message = _("That code is not right. Please check the e-mail and try again.")
        return render(v, "widget/check_inbox.html", {
            "email": email, "error": message, "attempts_left": failed.attempts_left,
        }, status_code=422)
    return render(v, "widget/login.html", {
        "email": email, "error": _code_ended(failed.reason), "resend": True,
    }, status_code=422)


def _code_ended(reason: str) -> str:
    """Why a code no longer works, in the words of the person typing it."""
    if reason == "used_up":
        return _("A wrong code was entered five times, so this code is used up. "
                 "We can send you a new one.")
    if reason == "expired":
        return _("That code has expired: codes work for 15 minutes. We can send you a new one.")
    return _("That code no longer works: codes work once, for 15 minutes. "
             "We can send you a new one.")


def _logged_in(v: Visit, sid: str) -> Response:
    response = RedirectResponse(_home(v) + "?welcome=1", status_code=303)
    web_sessions.set_cookie(response, v.request, sid)
    return response


async def link_page(request: Request) -> Response:
    """GET (and HEAD) only show a Continue button: mail scanners prefetch links."""
    v = await visit(request)
    token = request.query_params.get("token", "")
    if not token:
        # Handed over by the embed snippet in the fragment, which only the page's script reads.
        return render(v, "widget/link_continue.html", {"token": "", "email": None,
                                                       "deep_link": False})
    problem, email = await in_db(request, lambda s: auth.peek_link(s, v.signer, v.tenant.slug,
                                                                   token, v.now))
    if problem:
        return render(v, "widget/link_invalid.html", {"email": email or "", "reason": problem},
                      status_code=410)
    return render(v, "widget/link_continue.html", {"token": token, "email": email,
                                                   "deep_link": False})


async def link_submit(request: Request) -> Response:
    v = await visit(request)
    form = await form_fields(request)
    if refused := _check_login_form(v, form.get("csrf_token")):
        return refused

    def work(session: Session) -> str:
        identity = auth.login_with_link(session, v.signer, v.tenant.slug,
                                        form.get("token", ""), v.now)
        return web_sessions.start(session, v.tenant.slug, identity, v.now)

    try:
        sid = await in_db(request, work)
    except LoginFailed as failed:
        return render(v, "widget/link_invalid.html", {"email": failed.email or "",
                                                      "reason": failed.reason},
                      status_code=410)
    return _logged_in(v, sid)


async def logout(request: Request) -> Response:
    v = await visit(request)
    form = await form_fields(request)
    check_csrf(v.signer, v.tenant.slug, v.sid if v.logged_in else None, form.get("csrf_token"),
               web_sessions.probe_returned(request))
    everywhere = request.url.path.endswith("/everywhere")
    if v.logged_in:
        ws = v.web_session

        def work(session: Session) -> None:
            if everywhere:
                web_sessions.end_everywhere(session, v.tenant.slug, ws.email, v.now)
            else:
                web_sessions.end(session, v.tenant.slug, v.sid, v.now)

        await in_db(request, work)
    login = str(request.url_for("login", tenant=v.tenant.slug)) + "?logged_out=1"
    response = RedirectResponse(login, status_code=303)
    web_sessions.clear_cookie(response, request)
    return response
