"""Nobody can make a parent's browser log in, or ask for login e-mails, from another site:
not with Fetch Metadata (tested in test_login.py), not without it, and not with a form token
copied out of another browser."""

from __future__ import annotations

import re
import time

import pytest
from profile_support import text_of
from samples import load_base
from starlette.testclient import TestClient
from visitor import Visitor

SARAH = "sarah@example.com"  # a client of the sample data (load_base)


@pytest.fixture
def parent(client, api) -> Visitor:
    load_base(api)
    return Visitor(client)


def no_mail_for(mailbox, seconds: float = 0.5) -> bool:
    time.sleep(seconds)  # the outbox sends at once when it sends at all
    return not mailbox.to(SARAH)


@pytest.mark.parametrize("origin", ["https://evil.example", "http://testserver.evil.example",
                                    "https://testserver", "http://testserver:8080"])
def test_a_post_from_a_foreign_origin_is_refused_without_fetch_metadata(parent, mailbox, origin):
    parent.open("login")
    refused = parent.post("login", {"email": SARAH}, headers={"Origin": origin})
    assert refused.status_code == 403
    assert "Cross-site form posts are refused" in refused.text
    assert no_mail_for(mailbox)


@pytest.mark.parametrize("origin", [None, "null", "http://testserver", "HTTP://TestServer:80"])
def test_our_own_forms_still_post(parent, mailbox, origin):
    """Our pages say `Referrer-Policy: no-referrer`, so browsers post their forms with
    `Origin: null`; older ones send none."""
    parent.open("login")
    headers = {"Origin": origin} if origin else {}
    sent = parent.post("login", {"email": SARAH}, headers=headers)
    assert sent.status_code == 200 and 'name="code"' in sent.text
    assert mailbox.wait_for(1)[0]["To"] == SARAH


def test_a_login_form_token_from_another_browser_is_worthless(parent, app, mailbox):
    """The token of a form shown before login is bound to that browser's probe cookie: a token
    an attacker fetched for itself fails in the parent's browser."""
    attacker = Visitor(TestClient(app))
    attacker.open("login")
    parent.open("login")
    assert attacker.csrf != parent.csrf
    parent.csrf = attacker.csrf
    forged = parent.post("login", {"email": SARAH})
    assert forged.status_code == 403
    assert "This page has expired" in text_of(forged.text)
    forged_code = parent.post("login/code", {"email": SARAH, "code": "123456"})
    assert forged_code.status_code == 403
    assert no_mail_for(mailbox)


def test_a_post_without_the_probe_cookie_does_nothing_and_says_cookies_are_blocked(
        parent, mailbox):
    page = parent.open("login")
    assert "cp_probe" in page.headers["set-cookie"]
    parent.client.cookies.delete("cp_probe")
    blocked = parent.post("login", {"email": SARAH})
    assert blocked.status_code == 200 and 'name="code"' not in blocked.text
    assert "does not let you stay logged in" in text_of(blocked.text)
    assert no_mail_for(mailbox)


def test_the_probe_is_a_random_value_kept_across_pages(parent, app):
    first = parent.open("login")
    probe = first.cookies["cp_probe"]
    assert len(probe) >= 16
    assert "cp_probe" not in parent.open("login").headers.get("set-cookie", "")  # kept
    other = Visitor(TestClient(app)).open("login").cookies["cp_probe"]
    assert other != probe


def test_two_schools_on_one_page_each_keep_their_own_probe(app):
    """A provider page with two schools' widgets loads both login pages at the same moment,
    neither with a probe cookie yet: each school's probe is its own cookie (its path), so
    neither overwrites the other and both forms post."""
    browser = TestClient(app)
    first = browser.get("/t/demo/login")
    browser.cookies.clear()  # the second request left before the first answer arrived
    second = browser.get("/t/demo-sk/login")
    browser.cookies.extract_cookies(first)  # both answers' cookies are now in the browser
    for tenant, page in (("demo", first), ("demo-sk", second)):
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        sent = browser.post(f"/t/{tenant}/login", data={"csrf_token": token,
                                                        "email": "someone@example.com"})
        assert sent.status_code == 200 and 'name="code"' in sent.text, tenant
