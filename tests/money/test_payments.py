"""Clients see what they owe and pay it online: Stripe Checkout (a local fake Stripe, the real
`stripe` library), or the provider's own payment page; the gateway's signed webhook marks the
payment paid, once, however often it arrives, and the provider hears of it."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qsl, urlsplit

import pytest
from fake_stripe import SECRET_KEY, WEBHOOK_SECRET, signature
from payment_support import (
    PROVIDER_SECRET,
    gateway_url,
    new_tab,
    pay_token,
    paying_settings,
)
from profile_support import (
    JAMES,
    JANA,
    NOW,
    ORDER_PAYMENT,
    OVERDUE,
    SARAH,
    browser,
    text_of,
)
from sqlmodel import Session, select

from widget_server.core.models import (
    GatewayEvent,
    Payment,
    PaymentCheckout,
    PaymentTransaction,
    WebSession,
)
from widget_server.core.signing import PAY
from widget_server.core.tenants import load_tenants
from widget_server.delivery.webhooks import signing_keys
from widget_server.demo import TENANTS_DIR as DEMO_TENANTS
from widget_server.money import gateways
from widget_server.money.gateways import canonical, sign_params


@pytest.fixture
def settings(settings, tmp_path, stripe, receiver):
    return paying_settings(settings, tmp_path / "tenants", stripe, receiver)


def start_paying(app, visitor, payment: str = OVERDUE, tenant: str = "demo"):
    """Open the payment and click "Pay online": returns the new tab's answer."""
    page = visitor.open(f"payments/{payment}")
    assert page.status_code == 200
    return new_tab(app, tenant, payment, pay_token(page.text))


def payment_row(app, external_id: str, tenant: str = "demo") -> Payment:
    with Session(app.state.engine) as db:
        return db.exec(select(Payment).where(Payment.tenant == tenant,
                                             Payment.external_id == external_id)).one()


def post_hook(client, body: bytes, headers: dict[str, str], tenant: str = "demo"):
    return client.post(f"/hooks/stripe/{tenant}", content=body, headers=headers)


# --- the whole journey ------------------------------------------------------------------------

def test_paying_online_marks_the_payment_paid_and_tells_the_provider(
        demo, client, sarah, stripe, receiver):
    page = sarah.open(f"payments/{OVERDUE}").text
    words = text_of(page)
    assert "£54.00" in words and "Overdue" in words and "was due 12 Nov 2026" in words
    assert "Pay £54.00 online" in words
    # The button opens the gateway top-level, in a new tab: payment pages refuse frames.
    form = re.search(r'<form method="post" action="[^"]+/payments/pay-1005/checkout"\s+'
                     r'target="_blank" rel="noopener"', page)
    assert form, "Pay online is not a form opening a new tab"

    tab = start_paying(demo, sarah)
    assert tab.status_code == 200
    url = gateway_url(tab.text)
    assert url.startswith(stripe.url + "/pay/cs_test_")
    assert 'href="' + url + '"' in tab.text  # and a link, should the refresh be blocked

    [call] = stripe.calls
    assert call.headers["authorization"] == f"Bearer {SECRET_KEY}"
    assert call.headers["content-type"] == "application/x-www-form-urlencoded"
    form = call.form
    assert form["mode"] == "payment"
    assert form["line_items"] == [{"quantity": "1", "price_data": {
        "currency": "gbp", "unit_amount": "5400",
        "product_data": {"name": "Improvers (Stage 3) – Mia, instalment 2 of 2"}}}]
    assert form["metadata"]["tenant"] == "demo" and form["metadata"]["payment_id"] == OVERDUE
    assert form["customer_email"] == SARAH and form["locale"] == "en-GB"
    assert call.headers["idempotency-key"] == form["client_reference_id"]
    # Back into the provider's page, on this payment's screen.
    assert form["success_url"] == ("https://www.splashswim.example/my-profile"
                                   "#cp-path=%2Fpayments%2Fpay-1005%3Fcheckout%3Ddone")
    assert form["cancel_url"].endswith("%3Fcheckout%3Dcancelled")

    started = receiver.wait_for(1)[0].event
    assert started["type"] == "payment.started"
    assert started["data"] == {"client_id": "cl-1001", "payment_id": OVERDUE, "amount": 5400,
                               "currency": "GBP", "method": "card"}

    waiting = sarah.open(f"payments/{OVERDUE}")
    assert "Waiting for your payment…" in text_of(waiting.text)
    assert '<meta http-equiv="refresh" content="4">' in waiting.text

    session_id = url.rsplit("/", 1)[1]
    body, headers = stripe.completed(session_id)
    answer = post_hook(client, body, headers)
    assert answer.status_code == 200 and answer.json()["outcome"] == "paid"

    paid = sarah.open(f"payments/{OVERDUE}")
    assert "Paid. Thank you!" in text_of(paid.text)
    assert 'http-equiv="refresh"' not in paid.text  # it stops looking
    assert "£54.00" not in text_of(sarah.open("orders").text).split("Orders")[1].split(
        "Payment history")[0]
    row = payment_row(demo, OVERDUE)
    assert (row.status, row.method) == ("paid", "card")

    paid_event = receiver.wait_for(2)[1].event
    assert paid_event["type"] == "payment.paid"
    assert paid_event["data"]["payment_id"] == OVERDUE
    assert paid_event["data"]["amount"] == 5400 and paid_event["data"]["method"] == "card"
    assert paid_event["data"]["paid_at"].endswith("Z")
    with Session(demo.state.engine) as db:
        [money] = db.exec(select(PaymentTransaction)).all()
        assert (money.payment_ref, money.amount, money.currency) == (OVERDUE, 5400, "GBP")
        assert money.transaction_ref.startswith("pi_")

    api_view = client.get(f"/api/v1/payments/{OVERDUE}",
                          headers={"Authorization": "Bearer test-key-demo"}).json()
    assert api_view["status"] == "paid" and api_view["method"] == "card"


def test_the_frame_waits_from_the_click_even_before_the_new_tab_has_made_the_checkout(sarah):
    page = sarah.open(f"payments/{OVERDUE}").text
    then = re.search(r'data-then="([^"]+)"', page).group(1)
    assert then.endswith(f"?started={int(NOW.timestamp())}")
    assert "Waiting for your payment…" in text_of(sarah.client.get(then).text)


def test_a_second_click_reopens_the_same_checkout(demo, sarah, stripe):
    first = gateway_url(start_paying(demo, sarah).text)
    second = gateway_url(start_paying(demo, sarah).text)
    assert first == second and len(stripe.sessions) == 1


def test_coming_back_without_paying_says_nothing_was_charged(demo, client, sarah, stripe):
    url = gateway_url(start_paying(demo, sarah).text)
    body, headers = stripe.event(url.rsplit("/", 1)[1], "checkout.session.expired",
                                 status="expired")
    assert post_hook(client, body, headers).json()["outcome"] == "expired"
    page = text_of(sarah.open(f"payments/{OVERDUE}?checkout=cancelled").text)
    assert "Nothing was charged" in page and "Waiting" not in page
    assert "Pay £54.00 online" in page
    assert payment_row(demo, OVERDUE).status == "unpaid"


def test_a_bank_debit_is_processing_until_it_clears(demo, client, sarah, stripe):
    session_id = gateway_url(start_paying(demo, sarah).text).rsplit("/", 1)[1]
    body, headers = stripe.event(session_id, "checkout.session.completed", status="complete",
                                 payment_status="unpaid", payment_intent="pi_debit")
    assert post_hook(client, body, headers).json()["outcome"] == "processing"
    assert payment_row(demo, OVERDUE).status == "pending"
    assert "Processing" in text_of(sarah.open("orders").text)
    body, headers = stripe.event(session_id, "checkout.session.async_payment_succeeded",
                                 status="complete", payment_status="paid",
                                 payment_intent="pi_debit")
    assert post_hook(client, body, headers).json()["outcome"] == "paid"
    assert payment_row(demo, OVERDUE).status == "paid"


def test_the_gateway_failing_charges_nothing_and_says_so(demo, sarah, stripe):
    stripe.fail_with = 500
    answer = start_paying(demo, sarah)
    assert answer.status_code == 502
    assert "We could not open the payment page. Nothing was charged." in text_of(answer.text)
    with Session(demo.state.engine) as db:
        assert [c.status for c in db.exec(select(PaymentCheckout)).all()] == ["failed"]
    assert len(stripe.calls) == 3  # the library retried twice, with the same idempotency key
    assert len({c.headers["idempotency-key"] for c in stripe.calls}) == 1


# --- webhooks: forged, stale, replayed, duplicated ------------------------------------------

@pytest.fixture
def checkout_session(demo, sarah, stripe) -> str:
    return gateway_url(start_paying(demo, sarah).text).rsplit("/", 1)[1]


def test_webhooks_that_are_not_signed_by_stripe_are_refused(demo, client, stripe,
                                                            checkout_session):
    body, headers = stripe.completed(checkout_session)
    forged = dict(headers, **{"Stripe-Signature": signature(body, "whsec_someone_else")})
    unsigned = {k: v for k, v in headers.items() if k != "Stripe-Signature"}
    tampered = body.replace(b'"amount_total": 5400', b'"amount_total": 1')
    for bad_body, bad_headers in ((body, forged), (body, unsigned), (tampered, headers),
                                  (b"not json", {"Stripe-Signature": signature(
                                      b"not json", WEBHOOK_SECRET)})):
        answer = post_hook(client, bad_body, bad_headers)
        assert answer.status_code == 400, answer.text
    assert payment_row(demo, OVERDUE).status == "unpaid"


def test_a_stale_webhook_is_refused_so_a_captured_one_cannot_be_replayed_later(
        demo, client, stripe, checkout_session):
    old = int(time.time()) - 301  # Stripe's tolerance is five minutes
    body, headers = stripe.completed(checkout_session, timestamp=old)
    answer = post_hook(client, body, headers)
    assert answer.status_code == 400 and "tolerance" in answer.json()["error"]
    assert payment_row(demo, OVERDUE).status == "unpaid"
    recent = int(time.time()) - 240
    body, headers = stripe.completed(checkout_session, timestamp=recent)
    assert post_hook(client, body, headers).status_code == 200


def test_a_replayed_or_duplicated_webhook_changes_nothing(demo, client, stripe, receiver,
                                                          checkout_session):
    body, headers = stripe.completed(checkout_session)
    outcomes = [post_hook(client, body, headers).json()["outcome"] for _ in range(3)]
    assert outcomes == ["paid", "duplicate", "duplicate"]
    # Stripe resending the same news as a new event: still one payment, one record.
    again, again_headers = stripe.completed(checkout_session)
    assert post_hook(client, again, again_headers).json()["outcome"] == "paid"
    with Session(demo.state.engine) as db:
        assert len(db.exec(select(PaymentTransaction)).all()) == 1
        assert len(db.exec(select(GatewayEvent)).all()) == 2
    events = [r.event["type"] for r in receiver.wait_for(2)]
    time.sleep(0.3)
    assert [r.event["type"] for r in receiver.accepted] == events == [
        "payment.started", "payment.paid"]


def test_another_tenants_event_and_unknown_sessions_are_acknowledged_and_ignored(
        demo, client, stripe, checkout_session):
    body, headers = stripe.completed(checkout_session, metadata={"tenant": "demo-sk"})
    assert post_hook(client, body, headers).json()["outcome"] == "ignored"
    stripe.sessions["cs_test_unknown"] = dict(stripe.sessions[checkout_session],
                                             id="cs_test_unknown", client_reference_id=None)
    body, headers = stripe.completed("cs_test_unknown")
    assert post_hook(client, body, headers).json()["outcome"] == "unknown"
    assert payment_row(demo, OVERDUE).status == "unpaid"
    assert client.post("/hooks/stripe/demo-sk", content=body,
                       headers=headers).status_code == 404  # no Stripe there
    assert client.post("/hooks/stripe/nobody", content=body, headers=headers).status_code == 404


def test_server_to_server_webhooks_pass_the_cross_site_guard_browsers_do_not(
        demo, client, stripe, checkout_session):
    body, headers = stripe.completed(checkout_session)
    refused = post_hook(client, body, dict(headers, **{"Sec-Fetch-Site": "cross-site"}))
    assert refused.status_code == 403  # a browser form posting here from another site
    assert post_hook(client, body, headers).status_code == 200  # Stripe sends no such header


# --- who may pay what ---------------------------------------------------------------------------

def test_the_pay_button_is_refused_without_its_token_or_for_another_payment(demo, sarah):
    page = sarah.open(f"payments/{OVERDUE}").text
    token = pay_token(page)
    assert new_tab(demo, "demo", OVERDUE, None).status_code == 403
    assert new_tab(demo, "demo", OVERDUE, token + "x").status_code == 403
    assert new_tab(demo, "demo", ORDER_PAYMENT, token).status_code == 403
    assert new_tab(demo, "demo-sk", OVERDUE, token).status_code == 403
    refused = new_tab(demo, "demo", OVERDUE, token, **{"Sec-Fetch-Site": "cross-site"})
    assert refused.status_code == 403


def test_after_logging_out_the_pay_button_no_longer_works(demo, sarah):
    token = pay_token(sarah.open(f"payments/{OVERDUE}").text)
    assert sarah.post("logout", {}).status_code == 303
    answer = new_tab(demo, "demo", OVERDUE, token)
    assert answer.status_code == 403 and "logged out" in answer.text


def test_another_familys_payment_is_not_found(demo, sarah, mailbox):
    assert sarah.open("payments/pay-1010").status_code == 404  # James's
    assert sarah.open("payments/nothing").status_code == 404
    james = browser(demo, mailbox, JAMES)
    assert james.open(f"payments/{OVERDUE}").status_code == 404
    token = pay_token(james.open("payments/pay-1010").text)
    assert new_tab(demo, "demo", OVERDUE, token).status_code == 403


def test_a_paid_payment_cannot_be_paid_again(demo, sarah):
    page = sarah.open("payments/pay-1001").text  # paid in September
    assert "Paid. Thank you!" in text_of(page) and "pay_token" not in page
    with Session(demo.state.engine) as db:
        web_session = db.exec(select(WebSession).where(WebSession.email == SARAH)).one()
    token = demo.state.signer.sign(PAY, {"w": web_session.id, "p": "pay-1001"})
    answer = new_tab(demo, "demo", "pay-1001", token)
    assert answer.status_code == 409 and "already paid" in answer.text


def test_a_payment_paid_meanwhile_through_the_sync_api_is_not_charged_twice(demo, sarah, api):
    token = pay_token(sarah.open(f"payments/{OVERDUE}").text)
    item = api.get("payments", OVERDUE).json()
    api.put("payments", OVERDUE, {k: v for k, v in item.items() if k != "id"} | {
        "status": "paid", "method": "bank_transfer", "paid_at": "2026-11-21T10:00:00Z"})
    answer = new_tab(demo, "demo", OVERDUE, token)
    assert answer.status_code == 409 and "already paid" in answer.text
    assert "Paid. Thank you!" in text_of(sarah.open(f"payments/{OVERDUE}").text)


def test_each_tenant_gets_the_gateway_its_file_and_environment_give_it(settings):
    plain = load_tenants(DEMO_TENANTS, {})
    env = {"WIDGET_STRIPE_SECRET_KEY_DEMO": SECRET_KEY,
           "WIDGET_STRIPE_SECRET_KEY_DEMO_SK": SECRET_KEY}
    found = gateways.from_environ(plain, env)
    assert isinstance(found.for_tenant(plain.get("demo")), gateways.StripeCheckout)
    # demo-sk has online_payments = false: no button, yet Stripe's reports are still taken.
    assert found.for_tenant(plain.get("demo-sk")) is None
    assert found.stripe("demo-sk") is not None
    assert gateways.from_environ(plain, {}).for_tenant(plain.get("demo")) is None
    wired = load_tenants(settings.tenants_dir, settings.environ)
    assert isinstance(gateways.from_environ(wired, settings.environ).for_tenant(
        wired.get("demo-sk")), gateways.ProviderPage)


# --- the provider's own payment page ------------------------------------------------------------

def test_the_providers_payment_page_gets_signed_parameters_and_the_sync_api_settles_it(
        demo, mailbox, api, receiver):
    jana = browser(demo, mailbox, JANA, "demo-sk")
    tab = start_paying(demo, jana, "pay-1005", "demo-sk")
    url = gateway_url(tab.text)
    assert url.startswith("https://pay.piruetka.example/platba?")
    params = dict(parse_qsl(urlsplit(url).query))
    assert params["payment_id"] == "pay-1005" and params["amount"] == "6000"
    assert params["currency"] == "EUR" and params["tenant"] == "demo-sk"
    assert params["success_url"].endswith("#cp-path=%2Fpayments%2Fpay-1005%3Fcheckout%3Ddone")
    key = signing_keys(PROVIDER_SECRET)[0]
    assert params["signature"] == sign_params(key, params)  # what the provider recomputes
    assert "signature" not in canonical(params)
    forged = dict(params, amount="1")
    assert sign_params(key, forged) != params["signature"]
    assert receiver.wait_for(1)[0].event["data"]["method"] == "card"
    assert "Čakáme na vašu platbu…" in text_of(jana.open("payments/pay-1005").text)

    sk = api.as_tenant("demo-sk")
    item = sk.get("payments", "pay-1005").json()
    sk.put("payments", "pay-1005", {k: v for k, v in item.items() if k != "id"} | {
        "status": "paid", "method": "card", "paid_at": "2026-11-22T11:58:00Z"})
    assert "Zaplatené. Ďakujeme!" in text_of(jana.open("payments/pay-1005").text)
