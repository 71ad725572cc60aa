"""The login e-mail to a family: the limits on asking for it, its words, its place in the
outbox. The widget's login form asks for it, and so does a provider's staff member from the
console when a family says it never came: the same limits count both, and it is the same
e-mail, so what staff resend is exactly what the family would have got."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from widget_server.auth.login import LoginMail, request_login
from widget_server.core import ratelimit
from widget_server.core.i18n import gettext as _
from widget_server.core.profile_url import profile_url
from widget_server.delivery import outbox
from widget_server.delivery.notices import Notices

WINDOW = timedelta(minutes=15)


class TooManyLoginEmails(Exception):
    """The address, or the IP address asking, had its login e-mails for these 15 minutes."""


def within_limits(db: Session, notices: Notices, email: str, ip: str, now: datetime) -> bool:
    """Within the per-IP and per-address limits of login e-mails (both are counted)."""
    limits = notices.settings
    ip_ok = ratelimit.allow(db, f"login-ip:{ip}", limits.login_emails_per_ip, WINDOW, now)
    email_ok = ratelimit.allow(db, f"login-email:{notices.tenant.slug}:{email}",
                               limits.login_emails_per_address, WINDOW, now)
    return ip_ok and email_ok


def compose(notices: Notices, mail: LoginMail) -> dict[str, str]:
    """Subject, text and HTML of the login e-mail, in the client's language."""
    link = profile_url(notices.settings, notices.signer, notices.tenant,
                       login_token=mail.link_token)
    return notices.compose("login", mail.locale,
                           lambda: _("Your login code: %(code)s") % {"code": mail.code},
                           code=mail.code, link=link, WIDGET_PROFILE_URL=link, minutes=15)


def send(db: Session, notices: Notices, email: str, ip: str, now: datetime) -> LoginMail | None:
    """Queue a login e-mail to `email` (a new code supersedes the last), counted against the
    limits; None when nobody has this address. Raises TooManyLoginEmails past a limit."""
    if not within_limits(db, notices, email, ip, now):
        raise TooManyLoginEmails
    mail = request_login(db, notices.signer, notices.tenant.slug, email, now)
    if mail is not None:
        outbox.enqueue_email(db, notices.tenant, to=mail.email, kind="login",
                             client_id=mail.client_id, **compose(notices, mail))
    return mail
