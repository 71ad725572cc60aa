"""A visitor of the widget, driving it like a browser would (forms, CSRF tokens, cookies)."""

from __future__ import annotations

import html
import re

from starlette.testclient import TestClient

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CODE = re.compile(r"Your login code: (\d{6})")
LINK = re.compile(r"(https?://\S+[#&]cp-login=([\w.\-]+))")


class Visitor:
    def __init__(self, client: TestClient, tenant: str = "demo"):
        self.client = client
        self.tenant = tenant
        self.csrf = ""

    def url(self, path: str = "") -> str:
        return f"/t/{self.tenant}/{path}"

    def _remember_csrf(self, response):
        found = CSRF.search(response.text)
        if found:
            self.csrf = html.unescape(found.group(1))
        return response

    def open(self, path: str = "", **kwargs):
        return self._remember_csrf(self.client.get(self.url(path), **kwargs))

    def post(self, path: str, data: dict, **kwargs):
        kwargs.setdefault("follow_redirects", False)
        response = self.client.post(self.url(path), data={"csrf_token": self.csrf, **data},
                                    **kwargs)
        return self._remember_csrf(response)

    def request_code(self, email: str):
        self.open("login")
        return self.post("login", {"email": email})

    def enter_code(self, email: str, code: str):
        return self.post("login/code", {"email": email, "code": code})

    def log_in(self, email: str, mailbox) -> None:
        """The whole code flow: ask, read the e-mail, type the code."""
        before = len(mailbox.messages)
        self.request_code(email)
        message = mailbox.wait_for(before + 1)[-1]
        response = self.enter_code(email, code_of(message))
        assert response.status_code == 303, response.text

    def home(self):
        return self.open("", follow_redirects=False)


def code_of(message) -> str:
    return CODE.search(message["Subject"]).group(1)


def link_of(message) -> str:
    """The login link as e-mailed: the provider's page, the token in its fragment."""
    return LINK.search(message.get_body(("plain",)).get_content()).group(1)


def token_of(message) -> str:
    return LINK.search(message.get_body(("plain",)).get_content()).group(2)


def hosted_link(message, tenant: str = "demo") -> str:
    """The same login on the hosted profile (what the snippet opens inside the iframe)."""
    return f"/t/{tenant}/login/link?token={token_of(message)}"
