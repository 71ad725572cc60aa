"""Login limits hold against someone who hides behind many addresses: X-Forwarded-For is
believed only from the proxies in WIDGET_TRUSTED_PROXIES (none by default), and a tenant takes
only so many wrong codes an hour from everyone together."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
import uvicorn
from live_server import serving
from profile_support import NOW, freeze, hold_still
from smtp import free_port
from sqlmodel import Session, select
from starlette.applications import Starlette
from starlette.testclient import TestClient
from visitor import Visitor, code_of, hosted_link

from widget_server.app import create_app
from widget_server.cli import main, proxy_options
from widget_server.core.db import session_scope
from widget_server.core.models import Client, LoginChallenge
from widget_server.core.settings import Settings

SARAH = "sarah@example.com"


def try_codes(base_url: str, forwarded_for: list[str]) -> list[int]:
    """One browser typing a wrong code per request, each claiming the given client address."""
    with httpx.Client(base_url=base_url) as http:
        visitor = Visitor(http)  # type: ignore[arg-type]  # speaks TestClient's API
        # The login page's probe cookie is Secure, which a browser sends back to loopback
        # over http but httpx's jar does not: sent by hand.
        probe = visitor.open("login").cookies["cp_probe"]
        return [visitor.post("login/code", {"email": SARAH, "code": "000000"},
                             headers={"X-Forwarded-For": address,
                                      "Cookie": f"cp_probe={probe}"}).status_code
                for address in forwarded_for]


def addresses(count: int) -> list[str]:
    return [f"203.0.113.{n}" for n in range(1, count + 1)]


def test_a_client_cannot_choose_its_address_when_no_proxy_is_trusted(settings):
    limited = replace(settings, login_codes_per_ip=3)
    assert limited.trusted_proxies == ()
    app = create_app(limited)
    hold_still(app)
    with serving(app, **proxy_options(limited)) as url:
        statuses = try_codes(url, addresses(4))
    assert statuses == [422, 422, 422, 429]  # four "different" clients, one socket: limited


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(settings):
    behind_proxy = replace(settings, login_codes_per_ip=3,
                           trusted_proxies=Settings.from_environ(
                               {"WIDGET_TRUSTED_PROXIES": "127.0.0.1"}).trusted_proxies)
    app = create_app(behind_proxy)
    hold_still(app)
    with serving(app, **proxy_options(behind_proxy)) as url:
        different = try_codes(url, addresses(4))
        same = try_codes(url, ["198.51.100.9"] * 4)
        # The proxy appends the address it saw: only the right-most untrusted one counts.
        chained = try_codes(url, [f"{a}, 198.51.100.9" for a in addresses(2)])
    assert different == [422, 422, 422, 422]  # four clients behind one proxy, each its own
    assert same == [422, 422, 422, 429]
    assert chained == [429, 429]  # a made-up left part does not make a new client


@pytest.mark.parametrize("value", ["proxy.internal", "10.0.0.1/8", "*", "10.0.0.0/33",
                                   "127.0.0.1 10.0.0.1"])
def test_an_invalid_trusted_proxy_setting_stops_the_start(monkeypatch, capsys, value):
    def serve_anyway(*args, **kwargs):
        raise AssertionError(f"started with {kwargs}")

    monkeypatch.setattr(uvicorn, "run", serve_anyway)
    monkeypatch.setenv("WIDGET_SECRET_KEYS", "k")
    monkeypatch.setenv("WIDGET_TRUSTED_PROXIES", value)
    assert main(["serve", "--port", str(free_port())]) == 2
    error = capsys.readouterr().err
    assert error.startswith("widget-server: WIDGET_TRUSTED_PROXIES: ")
    assert "10.0.0.0/8" in error  # says what a right value looks like


def test_trusted_proxies_are_a_list_of_addresses_and_networks():
    read = Settings.from_environ({"WIDGET_TRUSTED_PROXIES": " 10.0.0.0/8, ::1,192.168.1.5 "})
    assert read.trusted_proxies == ("10.0.0.0/8", "::1", "192.168.1.5")
    assert proxy_options(read) == {"proxy_headers": True,
                                   "forwarded_allow_ips": ["10.0.0.0/8", "::1", "192.168.1.5"]}
    assert Settings.from_environ({}).trusted_proxies == ()
    assert proxy_options(Settings.from_environ({}))["proxy_headers"] is False


@pytest.fixture
def school(settings) -> Iterator[Starlette]:
    """The app with a ceiling of 5 wrong codes an hour per tenant, started, clock at NOW."""
    app = create_app(replace(settings, wrong_codes_per_tenant=5))
    with TestClient(app):
        freeze(app)
        with session_scope(app.state.engine) as db:
            db.add(Client(tenant="demo", external_id="c1", email=SARAH, name="Sarah Thompson"))
        yield app
    app.state.engine.dispose()


def browser_at(app: Starlette, ip: str, tenant: str = "demo") -> Visitor:
    """A new browser on another machine, with the login form open."""
    visitor = Visitor(TestClient(app, client=(ip, 40000)), tenant)
    visitor.open("login")
    return visitor


def attempts_on(app: Starlette, email: str) -> int:
    with Session(app.state.engine) as db:
        return db.exec(select(LoginChallenge.attempts).where(LoginChallenge.email == email)
                       .order_by(LoginChallenge.id.desc())).first()


def test_a_tenant_stops_checking_codes_after_many_wrong_ones_from_many_addresses(school,
                                                                                  mailbox):
    sarah = browser_at(school, "192.0.2.1")
    sarah.request_code(SARAH)
    code = code_of(mailbox.wait_for(1)[0])
    # A guesser spread over five addresses and five inboxes: each stays under every other limit.
    for n in range(5):
        guesser = browser_at(school, f"203.0.113.{n}")
        guesser.request_code(f"victim{n}@example.com")
        assert guesser.enter_code(f"victim{n}@example.com", "000000").status_code == 422

    refused = browser_at(school, "203.0.113.99").enter_code(SARAH, code)
    assert refused.status_code == 429
    assert ("Too many attempts. Please use the link in the e-mail we sent you, "
            "or try again later.") in refused.text
    assert attempts_on(school, SARAH) == 0  # not even compared, so not counted either
    assert sarah.enter_code(SARAH, code).status_code == 429  # the right code too, this hour
    assert sarah.home().status_code == 303  # not logged in

    # The link in the e-mail still logs in; the other tenant never noticed.
    assert sarah.client.get(hosted_link(mailbox.wait_for(1)[0])).status_code == 200
    other = browser_at(school, "203.0.113.99", "demo-sk")
    other.request_code("jana@example.com")
    assert other.enter_code("jana@example.com", "000000").status_code == 422

    freeze(school, NOW + timedelta(hours=1))  # the next hour: codes are checked again
    assert browser_at(school, "203.0.113.100").enter_code(
        "victim0@example.com", "000000").status_code == 422
