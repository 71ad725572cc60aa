"""A real SMTP server on loopback for tests (aiosmtpd in its own thread).

Use it through a fixture::

    @pytest.fixture
    def mailbox():
        box = Mailbox()
        box.start()
        yield box
        box.stop()

then point the app at it with ``Settings(smtp_host="127.0.0.1", smtp_port=mailbox.port,
smtp_tls="none")``. ``mailbox.stop()`` makes the port refuse connections (an SMTP outage) and
``mailbox.start()`` brings the server back on the same port; setting ``mailbox.reject_with``
(e.g. ``"451 4.3.0 Try again later"``) makes a running server refuse every message.
"""

from __future__ import annotations

import socket
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession

# How long a test waits for an e-mail before failing. A message usually arrives in
# milliseconds; the ceiling is for a CI machine whose two cores also run PostgreSQL and the
# other suite, where a login code once took over 5 s to arrive. Passing tests never wait it.
MAIL_WAIT = 30.0


def free_port() -> int:
    """A loopback port nobody listens on; aiosmtpd's Controller(port=0) does not work."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """Collects every message the local SMTP server accepts, parsed as EmailMessage."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.reject_with: str | None = None
        self._arrived = threading.Condition()
        self._controller: Controller | None = None

    def start(self) -> None:
        """Listen on `self.port` (again, after stop())."""
        if self._controller is None:
            self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
            self._controller.start()

    def stop(self) -> None:
        """Stop listening: connections to the port are refused until start()."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, count: int, timeout: float = MAIL_WAIT) -> list[EmailMessage]:
        """Block until at least `count` messages have arrived; fail the test otherwise."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.messages) >= count, timeout):
                raise AssertionError(
                    f"expected {count} e-mail(s) within {timeout} s, got {len(self.messages)}"
                )
            return list(self.messages)

    def to(self, address: str) -> list[EmailMessage]:
        """Messages addressed to one recipient."""
        return [m for m in self.messages if address in m["To"]]

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        """aiosmtpd hook: keep the message, or refuse it when `reject_with` is set."""
        if self.reject_with:
            return self.reject_with
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._arrived:
            self.messages.append(message)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self._arrived.notify_all()
        return "250 Message accepted for delivery"
