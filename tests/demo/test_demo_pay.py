"""The demo's own payment page: "Pay online" works in `widget-server demo` without Stripe. It
is the "provider's own payment page" flow: signed parameters checked, the amount shown, Pay
marks the payment paid the way the provider's system would (the sync API's upsert) and
returns to the profile; Fail returns without paying. Never part of a production server."""

from __future__ import annotations

import time
from dataclasses import replace
from urllib.parse import parse_qsl, urlsplit

import pytest
from payment_support import gateway_url, new_tab, pay_token
from profile_support import OVERDUE, SARAH, browser, demo_app, freeze, load_demo_families, text_of
from starlette.testclient import TestClient

from widget_server.demo import pay_views as demo_pay
from widget_server.money.gateways import sign_params


@pytest.fixture
def demo(settings):
    """The demo families on a server run as `widget-server demo` (its own payment page on)."""
    with demo_app(replace(settings, demo=True, frame_origins=("http://127.0.0.1:8000",))) as app:
        yield app


def to_the_pay_page(demo, sarah) -> tuple[str, dict[str, str]]:
    """Click "Pay online": the new tab goes to the demo's payment page."""
    tab = new_tab(demo, "demo", OVERDUE, pay_token(sarah.open(f"payments/{OVERDUE}").text))
    assert tab.status_code == 200
    url = gateway_url(tab.text)
    assert url.startswith("http://testserver/dev/pay?")
    return url, dict(parse_qsl(urlsplit(url).query))


def test_paying_on_the_demo_page_marks_the_payment_paid(demo, sarah, api):
    url, params = to_the_pay_page(demo, sarah)
    assert params["amount"] == "5400" and params["currency"] == "GBP"
    page = sarah.client.get(url)
    assert page.status_code == 200
    words = text_of(page.text)
    assert "£54.00" in words and "Pay £54.00" in words and "Fail the payment" in words
    assert "no money is taken" in words

    paid = sarah.client.post("/dev/pay", data=params | {"outcome": "pay"},
                             follow_redirects=False)
    assert paid.status_code == 303
    assert paid.headers["location"] == params["success_url"]
    assert params["success_url"] == ("http://127.0.0.1:8000/demo/demo"
                                     "#cp-path=%2Fpayments%2Fpay-1005%3Fcheckout%3Ddone")
    item = api.get("payments", OVERDUE).json()  # as the provider's own push left it
    assert (item["status"], item["method"]) == ("paid", "card") and item["paid_at"]
    assert "Paid. Thank you!" in text_of(sarah.open(f"payments/{OVERDUE}").text)
    # The same link again changes nothing.
    again = sarah.client.post("/dev/pay", data=params | {"outcome": "pay"},
                              follow_redirects=False)
    assert again.status_code == 303 and api.get("payments", OVERDUE).json() == item


def test_failing_returns_without_paying(demo, sarah, api):
    _, params = to_the_pay_page(demo, sarah)
    failed = sarah.client.post("/dev/pay", data=params | {"outcome": "fail"},
                               follow_redirects=False)
    assert failed.status_code == 303 and failed.headers["location"] == params["cancel_url"]
    assert params["cancel_url"].endswith("%3Fcheckout%3Dcancelled")
    assert api.get("payments", OVERDUE).json()["status"] == "unpaid"
    page = text_of(sarah.open(f"payments/{OVERDUE}?checkout=cancelled").text)
    assert "You left the payment page without paying. Nothing was charged." in page


@pytest.mark.parametrize("change", [
    {"amount": "1"}, {"payment_id": "pay-1010"}, {"tenant": "demo-sk"}, {"signature": "v1,x"},
    {"success_url": "https://evil.example/"}, {"tenant": "nobody"}])
def test_a_tampered_link_is_refused(demo, sarah, api, change):
    _, params = to_the_pay_page(demo, sarah)
    assert sarah.client.get("/dev/pay", params=params | change).status_code == 400
    answer = sarah.client.post("/dev/pay", data=params | change | {"outcome": "pay"},
                               follow_redirects=False)
    assert answer.status_code == 400
    assert api.get("payments", OVERDUE).json()["status"] == "unpaid"


def test_an_old_or_incomplete_link_is_refused(demo):
    client = TestClient(demo)
    tenant = demo.state.tenants.get("demo")
    params = {"tenant": "demo", "payment_id": OVERDUE, "reference": "chk_1", "amount": "5400",
              "currency": "GBP", "description": "x", "email": SARAH,
              "success_url": "http://127.0.0.1:8000/demo/demo", "cancel_url": "http://x/",
              "timestamp": str(int(time.time()) - 2 * 3600)}
    params["signature"] = sign_params(demo_pay.page_key(demo.state.settings, tenant), params)
    assert client.get("/dev/pay", params=params).status_code == 400
    assert client.get("/dev/pay").status_code == 400
    assert client.get("/dev/pay", params={"tenant": "demo", "amount": "x"}).status_code == 400
    assert client.post("/dev/pay", data={"outcome": "pay"}).status_code == 400


def test_production_has_no_demo_payment_page(app, client, mailbox):
    freeze(app)
    load_demo_families(app)
    assert client.get("/dev/pay").status_code == 404
    assert client.post("/dev/pay", data={"outcome": "pay"}).status_code in (404, 405)
    assert app.state.gateways.for_tenant(app.state.tenants.get("demo")) is None
    sarah = browser(app, mailbox, SARAH)
    assert "pay_token" not in sarah.open(f"payments/{OVERDUE}").text
