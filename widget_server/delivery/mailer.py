"""Mail transports: real SMTP, or a console line for the demo. The outbox calls `send`."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any, Protocol

import aiosmtplib

from widget_server.core.models import utcnow
from widget_server.core.settings import Settings, SettingsError

log = logging.getLogger("widget_server.delivery.mailer")
SMTP_TIMEOUT_SECONDS = 15.0


class Transport(Protocol):
    """Delivers one outbox payload, or raises; the outbox retries on any exception."""

    async def send(self, payload: dict[str, Any]) -> None: ...


def message_id_for(sender: str) -> str:
    """A Message-ID in the sender's domain."""
    # Passing the domain also avoids make_msgid's socket.getfqdn(), which can stall for seconds.
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    return make_msgid(domain=domain)


def build_message(payload: dict[str, Any]) -> EmailMessage:
    """The MIME message for an e-mail payload: text, plus an HTML alternative when present."""
    message = EmailMessage()
    message["From"] = payload["from"]
    message["To"] = payload["to"]
    if payload.get("reply_to"):
        message["Reply-To"] = payload["reply_to"]
    message["Subject"] = payload["subject"]
    message["Date"] = format_datetime(utcnow())
    # The id is fixed at enqueue time, so a retry after an unclear failure is recognisably
    # the same message to the receiving side.
    message["Message-ID"] = payload.get("message_id") or message_id_for(payload["from"])
    message.set_content(payload["text"])
    if payload.get("html"):
        message.add_alternative(payload["html"], subtype="html")
    return message


class SmtpTransport:
    """Sends through the SMTP server named in the settings."""

    def __init__(self, settings: Settings):
        self.hostname = settings.smtp_host
        self.port = settings.smtp_port
        self.username = settings.smtp_username
        self.password = settings.smtp_password
        self.tls = settings.smtp_tls

    async def send(self, payload: dict[str, Any]) -> None:
        """Deliver one e-mail; raises on refusal, timeout or a lost connection."""
        await aiosmtplib.send(
            build_message(payload),
            hostname=self.hostname,
            port=self.port,
            username=self.username,
            password=self.password,
            use_tls=self.tls == "tls",
            # False, not None, for "none": aiosmtplib would otherwise upgrade whenever the
            # server offers STARTTLS, and fail on a dev server's self-signed certificate.
            start_tls=self.tls == "starttls",
            timeout=SMTP_TIMEOUT_SECONDS,
        )

    def __repr__(self) -> str:
        return f"SmtpTransport({self.hostname}:{self.port}, tls={self.tls})"


class LocalViewerTransport:
    """Demo mode without SMTP: sends nothing; the mail stays readable in the outbox."""

    async def send(self, payload: dict[str, Any]) -> None:
        """Log one line naming the recipient and subject."""
        log.info("E-mail to %s (not sent, demo mode): %s", payload["to"], payload["subject"])


class LocalViewerDelivery:
    """Demo mode: WhatsApp messages and webhooks are not sent either (nothing would answer);
    they stay readable in the demo's viewer, next to the e-mails, as delivered."""

    def __init__(self, what: str, answer: Any):
        self.what, self.answer = what, answer

    async def send(self, payload: dict[str, Any]) -> Any:
        log.info("%s for %s (not sent, demo mode)", self.what, payload.get("tenant"))
        return self.answer


def make_transport(settings: Settings) -> Transport:
    """SMTP when configured, the local viewer in demo mode, otherwise a settings error."""
    if settings.smtp_host:
        return SmtpTransport(settings)
    if settings.demo:
        return LocalViewerTransport()
    raise SettingsError(
        "WIDGET_SMTP_HOST: required outside demo mode to send e-mail "
        "(also WIDGET_SMTP_PORT, WIDGET_SMTP_USERNAME, WIDGET_SMTP_PASSWORD, WIDGET_SMTP_TLS)"
    )
