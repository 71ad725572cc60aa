"""A provider's staff member in the console, driving it like a browser (forms, tokens,
cookies), logged in with the code from the real SMTP server's mailbox."""

from __future__ import annotations

import html
import re
import time

from smtp import MAIL_WAIT
from starlette.testclient import TestClient
from visitor import CSRF

# The subject in the tenant's language (Piruetka's console speaks Slovak).
CODE = re.compile(r"(?:Your console login code|Váš prihlasovací kód do konzoly): (\d{6})")
LINK = re.compile(r"(https?://\S+/console/[\w-]+/login/link\?token=([\w.\-]+))")
OWNER = "office@splashswim.example"
COACH = "coach@splashswim.example"


class Staff:
    def __init__(self, client: TestClient, tenant: str = "demo"):
        self.client, self.tenant, self.csrf = client, tenant, ""

    def url(self, path: str = "") -> str:
        return f"/console/{self.tenant}/{path}"

    def _remember(self, response):
        found = CSRF.search(response.text)
        if found:
            self.csrf = html.unescape(found.group(1))
        return response

    def open(self, path: str = "", **kwargs):
        kwargs.setdefault("follow_redirects", False)
        return self._remember(self.client.get(self.url(path), **kwargs))

    def post(self, path: str, data: dict | None = None, **kwargs):
        kwargs.setdefault("follow_redirects", False)
        return self._remember(self.client.post(
            self.url(path), data={"csrf_token": self.csrf, **(data or {})}, **kwargs))


def console_login_mails(mailbox, email: str) -> list:
    return [m for m in mailbox.to(email) if CODE.search(m["Subject"])]


def staff_browser(app, mailbox, email: str = OWNER, tenant: str = "demo") -> Staff:
    """A new browser in which `email` has logged in to the console with the e-mailed code."""
    staff = Staff(TestClient(app), tenant)
    before = len(console_login_mails(mailbox, email))
    staff.open("login")
    assert staff.post("login", {"email": email}).status_code == 200
    deadline = time.monotonic() + MAIL_WAIT
    while len(found := console_login_mails(mailbox, email)) <= before:
        assert time.monotonic() < deadline, f"no console login code for {email}"
        time.sleep(0.02)
    code = CODE.search(found[-1]["Subject"]).group(1)
    answer = staff.post("login/code", {"email": email, "code": code})
    assert answer.status_code == 303, answer.text
    staff.open("")
    return staff
