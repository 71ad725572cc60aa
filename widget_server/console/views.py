"""The console's pages. Staff log in with the same one-time code and scanner-safe link as
families (the same limits), into a session of their own: a staff session never opens the
widget, and a family's never opens the console. Thin handlers over `staff` and `families`."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from widget_server.auth import login as auth
from widget_server.auth.login import STAFF, LoginFailed
from widget_server.console import dashboard, families, staff
from widget_server.core import i18n, ratelimit
from widget_server.core.db import in_db
from widget_server.core.errors import NotFound
from widget_server.core.i18n import gettext as _
from widget_server.core.models import WebSession
from widget_server.core.tenants import Tenant
from widget_server.delivery import outbox
from widget_server.web import web_sessions
from widget_server.web.forms import form_fields, wake_senders
from widget_server.web.security import check_csrf, client_ip, csrf_token
from widget_server.web.visit import tenant_of

WINDOW = auth.WRONG_CODES_WINDOW / 4  # 15 minutes, as the widget's login limits


class StaffVisit:
    """One request to a console page: its tenant and, once logged in, the staff session."""

    def __init__(self, request: Request, tenant: Tenant, sid: str | None,
                 web_session: WebSession | None, now: datetime):
        self.request, self.tenant, self.sid, self.now = request, tenant, sid, now
        self.web_session = web_session
        self.role = staff.role_of(tenant, web_session.email) if web_session else None

    @property
    def logged_in(self) -> bool:
        return self.web_session is not None and self.role is not None

    @property
    def email(self) -> str:
        return self.web_session.email if self.web_session else ""

    @property
    def signer(self) -> Any:
        return self.request.app.state.signer


def _key(tenant: Tenant) -> str:
    """Console forms' tokens are bound to their own scope: a widget form's is no good here."""
    return f"console:{tenant.slug}"


def _probe_path(tenant: Tenant) -> str:
    return f"/console/{tenant.slug}/"


async def staff_visit(request: Request) -> StaffVisit:
    tenant = tenant_of(request)
    sid = web_sessions.read_sid(request, staff=True)
    now = request.app.state.clock()
    session = None
    if sid:
        session = await in_db(request, lambda db: web_sessions.load_staff(db, tenant.slug, sid,
                                                                           now))
    return StaffVisit(request, tenant, sid, session, now)


def render(v: StaffVisit, template: str, context: dict[str, Any] | None = None, *,
           status_code: int = 200) -> Response:
    """A console page in the tenant's theme and language."""
    request, tenant = v.request, v.tenant
    templates = request.app.state.templates
    i18n.activate(i18n.normalise(None, tenant.config.locale))
    sid = v.sid if v.logged_in else None
    probe, new_probe = (None, False) if sid else web_sessions.probe(request)
    response = templates.TemplateResponse(request, template, {
        "tenant": tenant, "theme": tenant.config.theme,
        "lang": tenant.config.locale.split("_")[0],
        "csrf_token": csrf_token(v.signer, _key(tenant), sid, probe),
        "staff_email": v.email if v.logged_in else None, "role": v.role, "now": v.now,
        **(context or {}),
    }, status_code=status_code)
    if new_probe:
        web_sessions.set_probe(response, request, probe, tenant.slug,
                               path=_probe_path(tenant))
    return response


def login_page(v: StaffVisit) -> Response:
    return RedirectResponse(str(v.request.url_for("console_login", tenant=v.tenant.slug)),
                            status_code=303)


Loader = Callable[[Session, StaffVisit], dict[str, Any]]


async def staff_page(request: Request, template: str, load: Loader,
                     owner_only: bool = False) -> Response:
    """A logged-in console page: its data in one transaction, then render; the login page
    for anyone without a staff session of this tenant (or no longer listed as staff)."""
    v = await staff_visit(request)
    if not v.logged_in:
        return login_page(v)
    if owner_only and v.role != staff.OWNER:
        raise NotFound("Only the owner can see this page.")
    data = await in_db(request, lambda db: load(db, v))
    return render(v, template, data)


async def staff_form(request: Request) -> tuple[StaffVisit, dict[str, str]] | Response:
    """A logged-in console form with a good token."""
    v = await staff_visit(request)
    if not v.logged_in:
        return login_page(v)
    fields = await form_fields(request)
    check_csrf(v.signer, _key(v.tenant), v.sid, fields.get("csrf_token", ""))
    return v, fields


# --- logging in ---------------------------------------------------------------------------------

def _check_login_form(v: StaffVisit, token: str | None) -> Response | None:
    probe = web_sessions.probe_returned(v.request)
    if probe is None:
        return render(v, "console/login.html", {
            "error": _("Your browser did not keep our cookie. Please allow cookies for this "
                       "site and try again.")}, status_code=400)
    check_csrf(v.signer, _key(v.tenant), None, token, probe)
    return None


async def login_form(request: Request) -> Response:
    v = await staff_visit(request)
    if v.logged_in:
        return RedirectResponse(str(request.url_for("console_home", tenant=v.tenant.slug)),
                                status_code=303)
    return render(v, "console/login.html", {"email": ""})


async def login_submit(request: Request) -> Response:
    """The same answer whether or not the address is staff (no enumeration)."""
    v = await staff_visit(request)
    form = await form_fields(request)
    email = auth.normalise_email(form.get("email", ""))
    if refused := _check_login_form(v, form.get("csrf_token")):
        return refused
    if "@" not in email or len(email) > 320:
        return render(v, "console/login.html", {
            "email": email, "error": _("Please enter your work e-mail address.")},
            status_code=422)
    limits = request.app.state.settings

    def work(db: Session) -> bool:
        ip_ok = ratelimit.allow(db, f"login-ip:{client_ip(request)}",
                                limits.login_emails_per_ip, WINDOW, v.now)
        address_ok = ratelimit.allow(db, f"console-login:{v.tenant.slug}:{email}",
                                     limits.login_emails_per_address, WINDOW, v.now)
        if not (ip_ok and address_ok):
            return False
        mail = auth.request_login(db, v.signer, v.tenant.slug, email, v.now, audience=STAFF,
                                  identify=staff.identify(v.tenant))
        if mail is not None:
            outbox.enqueue_email(db, v.tenant, to=mail.email, kind="console_login",
                                 **_login_email(request, v, mail))
        return True

    if not await in_db(request, work):
        return render(v, "console/login.html", {
            "email": email,
            "error": _("Too many attempts. Please wait 15 minutes and try again.")},
            status_code=429)
    wake_senders(request.app)
    return render(v, "console/check_inbox.html", {"email": email})


def _login_email(request: Request, v: StaffVisit, mail: auth.LoginMail) -> dict[str, str]:
    link = str(request.url_for("console_link", tenant=v.tenant.slug)) + \
        f"?token={mail.link_token}"
    templates = request.app.state.templates
    context = {"tenant": v.tenant, "theme": v.tenant.config.theme, "code": mail.code,
               "link": link, "WIDGET_PROFILE_URL": link, "minutes": 15}
    return {
        "subject": _("Your console login code: %(code)s") % {"code": mail.code},
        "text": templates.get_template("email/console_login.txt").render(context),
        "html": templates.get_template("email/console_login.html").render(context),
    }


async def code_submit(request: Request) -> Response:
    v = await staff_visit(request)
    form = await form_fields(request)
    email = auth.normalise_email(form.get("email", ""))
    if refused := _check_login_form(v, form.get("csrf_token")):
        return refused
    settings = request.app.state.settings

    def work(db: Session) -> tuple[str | None, LoginFailed | None]:
        if not ratelimit.allow(db, f"code-ip:{client_ip(request)}",
                               settings.login_codes_per_ip, WINDOW, v.now):
            return None, LoginFailed("too_many", email=email)
        try:
            identity = auth.login_with_code(db, v.signer, v.tenant.slug, email,
                                            form.get("code", ""), v.now,
                                            settings.wrong_codes_per_tenant, audience=STAFF,
                                            identify=staff.identify(v.tenant))
        except LoginFailed as failed:
            return None, failed
        return web_sessions.start(db, v.tenant.slug, identity, v.now,
                                  kind=web_sessions.STAFF), None

    sid, failed = await in_db(request, work)
    if failed is None:
        return _logged_in(v, sid)
    if failed.reason == "wrong_code":
        return render(v, "console/check_inbox.html", {
            "email": email, "attempts_left": failed.attempts_left,
            "error": _("That code is not right. Please check the e-mail and try again.")},
            status_code=422)
    return render(v, "console/login.html", {
        "email": email, "error": _("That code no longer works: codes work once, for 15 "
                                   "minutes. We can send you a new one.")},
        status_code=429 if failed.reason == "too_many" else 422)


def _logged_in(v: StaffVisit, sid: str) -> Response:
    response = RedirectResponse(str(v.request.url_for("console_home", tenant=v.tenant.slug)),
                                status_code=303)
    web_sessions.set_cookie(response, v.request, sid, staff=True)
    return response


async def link_page(request: Request) -> Response:
    """GET only shows a Continue button: mail scanners prefetch links."""
    v = await staff_visit(request)
    token = request.query_params.get("token", "")
    problem, email = await in_db(request, lambda db: auth.peek_link(
        db, v.signer, v.tenant.slug, token, v.now, audience=STAFF))
    if problem:
        return render(v, "console/login.html", {
            "email": email or "", "error": _("This login link no longer works. We can send "
                                             "you a new one.")}, status_code=410)
    return render(v, "console/link_continue.html", {"token": token, "email": email})


async def link_submit(request: Request) -> Response:
    v = await staff_visit(request)
    form = await form_fields(request)
    if refused := _check_login_form(v, form.get("csrf_token")):
        return refused

    def work(db: Session) -> str:
        identity = auth.login_with_link(db, v.signer, v.tenant.slug, form.get("token", ""),
                                        v.now, audience=STAFF, identify=staff.identify(v.tenant))
        return web_sessions.start(db, v.tenant.slug, identity, v.now, kind=web_sessions.STAFF)

    try:
        sid = await in_db(request, work)
    except LoginFailed as failed:
        return render(v, "console/login.html", {
            "email": failed.email or "", "error": _("This login link no longer works. We can "
                                                    "send you a new one.")}, status_code=410)
    return _logged_in(v, sid)


async def logout(request: Request) -> Response:
    got = await staff_form(request)
    if isinstance(got, Response):
        return got
    v, _fields = got
    everywhere = request.url.path.endswith("/everywhere")

    def work(db: Session) -> None:
        if everywhere:
            web_sessions.end_everywhere(db, v.tenant.slug, v.email, v.now, staff=True)
        else:
            web_sessions.end(db, v.tenant.slug, v.sid, v.now)

    await in_db(request, work)
    response = RedirectResponse(str(request.url_for("console_login", tenant=v.tenant.slug))
                                + "?logged_out=1", status_code=303)
    web_sessions.clear_cookie(response, request, staff=True)
    return response


# --- the pages ----------------------------------------------------------------------------------

async def home(request: Request) -> Response:
    """What families did themselves, and where to start."""
    return await staff_page(request, "console/home.html", lambda db, v: {
        "board": dashboard.dashboard(db, v.tenant, v.now)})


async def find_family(request: Request) -> Response:
    query = request.query_params.get("q", "")[:200]
    return await staff_page(request, "console/families.html", lambda db, v: {
        "query": query, "found": families.search(db, v.tenant.slug, query)})


async def view_as(request: Request) -> Response:
    """Open the family's profile as they see it, read-only, in the widget (audited)."""
    got = await staff_form(request)
    if isinstance(got, Response):
        return got
    v, _fields = got
    external_id = request.path_params["client"]
    sid = await in_db(request, lambda db: families.view_as(db, v.tenant.slug, v.email,
                                                          external_id, v.now))
    response = RedirectResponse(str(request.url_for("home", tenant=v.tenant.slug)),
                                status_code=303)
    web_sessions.set_cookie(response, request, sid)
    return response


async def audit(request: Request) -> Response:
    before = request.query_params.get("before", "")
    after = int(before) if before.isdigit() and len(before) < 12 else None

    def load(db: Session, v: StaffVisit) -> dict[str, Any]:
        rows, next_before = staff.audit_log(db, v.tenant.slug, after)
        return {"entries": rows, "next_before": next_before}
    return await staff_page(request, "console/audit.html", load, owner_only=True)


