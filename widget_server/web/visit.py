"""What every widget page shares: its tenant, its visitor's session, and how it is rendered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from widget_server.core import access as scope
from widget_server.core import i18n
from widget_server.core.access import Access
from widget_server.core.db import in_db  # noqa: F401  (re-exported for views)
from widget_server.core.errors import NotFound, ReadOnly
from widget_server.core.formatting import local_today
from widget_server.core.models import Client, WebSession
from widget_server.core.signing import Signer
from widget_server.core.tenants import Tenant
from widget_server.web import web_sessions
from widget_server.web.security import csrf_token
from widget_server.web.templating import screen_template


@dataclass
class Visit:
    """One request to a widget page."""

    request: Request
    tenant: Tenant
    sid: str | None
    web_session: WebSession | None
    now: datetime
    # The family's client (a read-only record), once a logged-in page has read it.
    client: Client | None = None
    # Whether any booking is shared with the visitor (True unless a page's first statement
    # said none is: see `Access.shares`).
    shares: bool = True
    # The client's own family members (provider id, name), when the page asked for them with
    # the session (`logged_in_page(family=True)`); None when it did not.
    family: list[tuple[str, str]] | None = None

    @property
    def signer(self) -> Signer:
        return self.request.app.state.signer

    @property
    def logged_in(self) -> bool:
        return self.web_session is not None

    @property
    def locale(self) -> str:
        """The language the page is written in: the family's, else the school's."""
        return locale_for(self.tenant, self.client.locale if self.client else None)


def tenant_of(request: Request) -> Tenant:
    """The tenant in the path; on a tenant's custom domain, only that tenant."""
    tenants = request.app.state.tenants
    tenant = tenants.get(request.path_params.get("tenant", ""))
    own = tenants.by_host(request.url.hostname or "")
    if tenant is None or (own is not None and own is not tenant):
        raise NotFound("There is no client profile at this address.")
    return tenant


async def visit(request: Request) -> Visit:
    """Resolve tenant and session (sliding its expiry) for a widget page."""
    tenant = tenant_of(request)
    sid = web_sessions.read_sid(request)
    now = request.app.state.clock()
    web_session = None
    if sid:
        web_session = await in_db(request, lambda s: web_sessions.load(s, tenant.slug, sid, now))
        refuse_changes(request, web_session)
    return Visit(request, tenant, sid, web_session, now)


def refuse_changes(request: Request, web_session: WebSession | None) -> None:
    """Staff viewing a family's profile change nothing: every form is refused but logging
    out (which ends the look)."""
    if web_session is not None and web_session.kind == web_sessions.VIEW_AS \
            and request.method not in ("GET", "HEAD") \
            and not request.url.path.endswith(("/logout", "/logout/everywhere")):
        raise ReadOnly("This profile is open read-only from the provider console.")


async def download_visit(request: Request) -> tuple[Visit, Access]:
    """A download's visitor (a PDF, a calendar file, a document): logged in, or nothing is
    there."""
    v = await visit(request)
    if not v.logged_in:
        raise NotFound("Log in to download this.")
    return v, Access.of(v.web_session)


def client_locale(db: Session, v: Visit, who: Access) -> str:
    """The language of a download for this person (their client's, else the tenant's)."""
    client = scope.client_of(db, who)
    return locale_for(v.tenant, client.locale if client else None)


def locale_for(tenant: Tenant, client_locale: str | None = None) -> str:
    return i18n.normalise(client_locale, tenant.config.locale)


def render(visit: Visit, template: str, context: dict[str, Any] | None = None, *,
           status_code: int = 200, locale: str | None = None) -> Response:
    """Render a widget page in the tenant's theme and language, tenant overrides first."""
    request, tenant = visit.request, visit.tenant
    templates = request.app.state.templates
    active = locale or locale_for(tenant)
    i18n.activate(active)
    name = screen_template(templates.env, tenant.slug, template)
    sid = visit.sid if visit.logged_in else None
    probe, new_probe = (None, False) if sid else web_sessions.probe(request)
    response = templates.TemplateResponse(request, name, {
        "tenant": tenant,
        "theme": tenant.config.theme,
        "lang": active.split("_")[0],
        "csrf_token": csrf_token(visit.signer, tenant.slug, sid, probe),
        "logged_in": visit.logged_in,
        "parent_origins": " ".join([*tenant.config.allowed_origins,
                                    *request.app.state.settings.frame_origins]),
        # Staff looking through the console: whose profile, and by whom (the banner).
        "viewing_as": visit.web_session.viewer if visit.logged_in
        and visit.web_session.kind == web_sessions.VIEW_AS else None,
        **(context or {}),
    }, status_code=status_code)
    if new_probe:
        web_sessions.set_probe(response, request, probe, tenant.slug)
    return response


Loader = Callable[[Session, Access, Visit], dict[str, Any]]


async def logged_in_page(request: Request, template: str, section: str, load: Loader,
                         *, status_code: int = 200, v: Visit | None = None,
                         logged_out: Callable[[Visit], Response | None] | None = None,
                         family: bool = False) -> Response:
    """A logged-in page: the visitor's session, the client and the page's data in one
    transaction (on SQLite on the event loop, see `in_db`; else one trip to the thread pool),
    then render. With `family`, the client's own family members come with the session
    (`Visit.family`). A visitor without a session goes
    to the login page unless `logged_out(visit)` gives another answer."""
    tenant = v.tenant if v else tenant_of(request)
    sid = v.sid if v else web_sessions.read_sid(request)
    now = v.now if v else request.app.state.clock()

    def work(db: Session) -> tuple[Visit, dict[str, Any] | None]:
        if v is None and family:
            web_session, client, shares, members = web_sessions.load_with_family(
                db, tenant.slug, sid, now)
            this = Visit(request, tenant, sid, web_session, now, client, shares, members)
        elif v is None:
            web_session, client, shares = web_sessions.load_with_client(db, tenant.slug, sid,
                                                                        now)
            this = Visit(request, tenant, sid, web_session, now, client, shares)
        else:  # a form's answer: its session was read before the form was handled
            this = v
            if this.logged_in:
                this.client = scope.client_record(db, Access.of(this.web_session))
        if not this.logged_in:
            return this, None
        return this, {"client": this.client,
                      **load(db, Access.of(this.web_session, this.shares), this)}

    this, data = await in_db(request, work, inline=True)
    if data is None:
        answer = logged_out(this) if logged_out else None
        return answer or RedirectResponse(request.url_for("login", tenant=tenant.slug),
                                          status_code=303)
    client: Client | None = data["client"]
    return render(this, template, {
        "section": section, "now": now, "email": this.web_session.email,
        "today": local_today(now, tenant.config.timezone),
        "person_name": client.name if client else this.web_session.email, **data,
    }, status_code=status_code, locale=this.locale)
