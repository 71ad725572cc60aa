"""Error pages inside the widget: in the tenant's theme and language, with a way back.

The generic error page knows nothing of tenants; a parent who follows an old link inside a
provider's website should still see that provider's colours and a button home.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from widget_server.core import i18n
from widget_server.core.i18n import gettext as _
from widget_server.web.visit import Visit, locale_for, render


def _texts(status: int, reason: str | None = None) -> tuple[str, str]:
    if reason == "read_only":
        return (_("This is a read-only view"),
                _("You are looking at this family's profile from the provider console: "
                  "nothing can be changed here."))
    if reason == "view_only":
        return (_("You can see this booking but not change it"),
                _("It is shared with you to look at. To cancel or change a session, please "
                  "ask the account holder."))
    if reason == "control_characters":
        return (_("That contained characters we cannot take"),
                _("Please go back, remove any unusual characters (perhaps pasted from "
                  "elsewhere) and try again."))
    if status == 404:
        return (_("We could not find that page"),
                _("The link may be out of date, or it belongs to another profile."))
    if status == 403:
        return (_("This page has expired"),
                _("For your safety, forms work only for a while. Go back, reload the page "
                  "and try again."))
    if status == 413:
        return (_("That was more than this form takes"),
                _("Please go back, shorten what you typed and try again."))
    if status == 415:
        return (_("This form does not take files"),
                _("Please go back, reload the page and fill in the form again."))
    if status == 429:
        return (_("Too many attempts"), _("Please wait a few minutes and try again."))
    if status < 500:
        return (_("That did not work"), _("Please go back and try again."))
    return (_("Something went wrong on our side"),
            _("Please try again in a moment. If it keeps happening, please contact us."))


def widget_error(request: Request, status: int, reason: str | None = None) -> Response | None:
    """The themed error page for a widget address of a known tenant, else None; `reason`
    (an error's own, e.g. "view_only") picks words more precise than the status's."""
    parts = request.url.path.split("/")
    if len(parts) < 3 or parts[1] != "t":
        return None
    tenant = request.app.state.tenants.get(parts[2])
    if tenant is None:
        return None
    visit = Visit(request, tenant, None, None, request.app.state.clock())
    locale = locale_for(tenant)
    i18n.activate(locale)  # the texts below are chosen before render() activates it
    title, detail = _texts(status, reason)
    return render(visit, "widget/error.html", {"status": status, "title": title,
                                               "detail": detail, "deep_link": False},
                  status_code=status, locale=locale)
