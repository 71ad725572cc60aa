"""An offer paid on acceptance: keeping the place asks for the chosen class's price at once, and
the family goes straight on to paying it (by card through Stripe, or by bank transfer that the
provider confirms); the offer then says "Pay now" until it is paid, and "Paid" after. The
provider hears of the payment with the acceptance and sees it among the family's payments."""

from __future__ import annotations

import pytest
from payment_support import gateway_url, new_tab, pay_token, paying_settings
from profile_support import section, text_of
from self_service_support import DAY, School

from widget_server.core.models import Offer, Payment

SPRING = {"kind": "reenrolment", "title": "Spring term 2027", "deadline": "2026-12-15",
          "pay_on_accept": True}


@pytest.fixture
def settings(settings, tmp_path, stripe, receiver):
    """Splash (demo, GBP) takes cards through the fake Stripe; Piruetka (demo-sk, EUR) takes
    bank transfers."""
    return paying_settings(settings, tmp_path / "tenants", stripe, receiver)


def classes(s: School) -> None:
    with s.batch():
        s.programme("ballet", name="Ballet 1")
        s.programme("ballet2", name="Ballet 2")
        s.programme("jazz", name="Jazz")
        s.session("b2-0", "ballet2", 30 * DAY, capacity=5)
        s.session("jz-0", "jazz", 31 * DAY, capacity=5)
        for key in ("ann", "bob"):
            s.family(key, locale="en-GB")
            s.booking(f"b-{key}", f"{key}-parent", f"{key}-child", "ballet")


@pytest.fixture
def splash(app, client) -> School:
    """Splash, started: its e-mails and webhooks really go out."""
    s = School(app, "demo")  # NOW is Sunday 22 November 2026
    classes(s)
    return s


def offer(s: School, key: str, family: str = "ann", currency: str = "GBP", **body) -> str:
    base = SPRING | {"client_id": f"{family}-parent", "attendee_id": f"{family}-child",
                     "booking_id": f"b-{family}",
                     "options": [{"key": "ballet2", "label": "Ballet 2, Tuesdays 17:00",
                                  "programme_id": "ballet2", "first_session_id": "b2-0",
                                  "price": 9000, "currency": currency, "discount": 900}]}
    return s.put("offers", key, **(base | body))


def asked_for(s: School) -> list[Payment]:
    """The payments accepted offers asked for."""
    return s.rows(Payment, Payment.offer_id.is_not(None))


def test_keeping_the_place_goes_straight_on_to_paying_it_by_card(splash, mailbox, stripe,
                                                                 client, api):
    s = splash
    offer(s, "of-1")
    ann = s.browser(mailbox, "ann@example.com")
    terms = section(ann.open("offers/of-1").text, "terms-title")
    assert "The price of the class you choose is due as soon as you confirm: you go straight " \
           "on to paying it here." in terms
    assert "Nothing is charged here" not in terms

    answer = ann.post("offers/of-1/accept", {"option": "ballet2"})
    assert answer.status_code == 303
    assert answer.headers["location"].endswith("/t/demo/payments/offer-of-1")
    [payment] = asked_for(s)
    assert (payment.external_id, payment.amount, payment.currency, payment.status,
            payment.due_date.isoformat()) == ("offer-of-1", 8100, "GBP", "unpaid", "2026-11-22")
    assert payment.description == "Ballet 2 – Kid Ann, Spring term 2027"
    assert payment.offer_id == s.one(Offer, Offer.external_id == "of-1").id
    [event] = s.events("offer.accepted")
    assert event["data"]["payment_id"] == "offer-of-1"
    [letter] = s.emails("offer_accepted")
    assert "To pay now: £81.00. You can pay it in your profile." in letter["text"]

    page = ann.open("payments/offer-of-1")
    words = text_of(page.text)
    assert "Ballet 2 – Kid Ann, Spring term 2027" in words and "Pay £81.00 online" in words
    owed = section(ann.open("offers/of-1").text, "payment-title")
    assert "To pay" in owed and "Pay now: £81.00" in owed

    tab = new_tab(s.app, "demo", "offer-of-1", pay_token(page.text))
    [call] = stripe.calls
    assert call.form["line_items"][0]["price_data"]["unit_amount"] == "8100"
    body, headers = stripe.completed(gateway_url(tab.text).rsplit("/", 1)[1])
    assert client.post("/hooks/stripe/demo", content=body,
                       headers=headers).json()["outcome"] == "paid"
    assert "Paid. Thank you!" in text_of(ann.open("payments/offer-of-1").text)
    paid = section(ann.open("offers/of-1").text, "payment-title")
    assert "Paid" in paid and "£81.00" in paid and "Pay now" not in paid

    # The provider sees the payment with its offer; the family answered once, so paid once.
    item = api.get("payments", "offer-of-1").json()
    assert (item["offer_id"], item["status"], item["amount"], item["client_id"]) == (
        "of-1", "paid", 8100, "ann-parent")
    assert ann.post("offers/of-1/accept", {"option": "ballet2"}).status_code == 409
    assert len(asked_for(s)) == 1


def test_a_bank_transfer_the_provider_confirms_shows_the_offer_paid(app, client, mailbox, api):
    s = School(app)  # Piruetka: bank transfers, in euros
    classes(s)
    offer(s, "of-1", currency="EUR")
    ann = s.browser(mailbox, "ann@example.com")
    assert ann.post("offers/of-1/accept", {"option": "ballet2"}).headers["location"].endswith(
        "/t/demo-sk/payments/offer-of-1")
    page = ann.open("payments/offer-of-1").text
    assert "EUR 81.00" in section(page, "transfer-title")
    assert '<title>PAY by square</title>' in page
    assert ann.post("payments/offer-of-1/bank-transfer", {}).status_code == 303
    sent = section(ann.open("offers/of-1").text, "payment-title")
    assert "Transfer reported" in sent and "Pay now" not in sent

    # The provider's system sees the money arrive and marks the payment paid.
    provider = api.as_tenant("demo-sk")
    item = provider.get("payments", "offer-of-1").json()
    assert item["offer_id"] == "of-1" and item["booking_id"] == "b-ann"
    as_read = {k: v for k, v in item.items() if k != "id"}  # offer_id too: it is kept
    confirmed = provider.put("payments", "offer-of-1", as_read | {
        "status": "paid", "method": "bank_transfer", "paid_at": "2026-11-24T09:00:00Z"})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["offer_id"] == "of-1"
    assert provider.put("payments", "offer-of-1", as_read | {
        "status": "paid", "offer_id": None}).json()["offer_id"] == "of-1"  # read only
    paid = section(ann.open("offers/of-1").text, "payment-title")
    assert "Paid" in paid and "Pay now" not in paid


def test_a_class_without_a_price_asks_for_nothing(splash, mailbox):
    s = splash
    offer(s, "of-free", options=[{"key": "jazz", "programme_id": "jazz",
                                  "first_session_id": "jz-0"}])
    ann = s.browser(mailbox, "ann@example.com")
    assert "Nothing is charged here" in section(ann.open("offers/of-free").text, "terms-title")
    answer = ann.post("offers/of-free/accept", {"option": "jazz"})
    assert answer.headers["location"].endswith("/offers/of-free?done=accepted")
    assert asked_for(s) == []
    [event] = s.events("offer.accepted")
    assert event["data"]["payment_id"] is None
    assert 'id="payment-title"' not in ann.open("offers/of-free").text


def test_a_view_share_cannot_accept_and_a_co_parent_accepts_and_pays(splash, mailbox):
    s = splash
    offer(s, "of-1")
    s.put("shares", "sh-gran", booking_id="b-ann", email="gran@example.com", access="view")
    s.put("shares", "sh-dad", booking_id="b-ann", email="dad@example.com", access="full")
    gran = s.browser(mailbox, "gran@example.com")
    assert gran.post("offers/of-1/accept", {"option": "ballet2"}).status_code == 403
    assert asked_for(s) == []

    dad = s.browser(mailbox, "dad@example.com")
    answer = dad.post("offers/of-1/accept", {"option": "ballet2"})
    assert answer.headers["location"].endswith("/t/demo/payments/offer-of-1")
    [payment] = asked_for(s)
    assert payment.client_id == s.one(Offer, Offer.external_id == "of-1").client_id
    assert "Pay £81.00 online" in text_of(dad.open("payments/offer-of-1").text)
    assert "Pay now: £81.00" in section(dad.open("offers/of-1").text, "payment-title")
    # The view-only share sees the kept place, not the family's money.
    assert gran.open("payments/offer-of-1").status_code == 404
    assert 'id="payment-title"' not in gran.open("offers/of-1").text


@pytest.mark.parametrize("path", ["offers/of-bob", "payments/offer-of-bob"])
def test_another_familys_offer_and_its_payment_are_not_found(splash, mailbox, path):
    s = splash
    offer(s, "of-bob", family="bob")
    bob = s.browser(mailbox, "bob@example.com")
    assert bob.post("offers/of-bob/accept", {"option": "ballet2"}).status_code == 303
    ann = s.browser(mailbox, "ann@example.com")
    assert ann.open(path).status_code == 404
    assert ann.post("offers/of-bob/accept", {"option": "ballet2"}).status_code == 404
    assert ann.post("payments/offer-of-bob/bank-transfer", {}).status_code == 404
    [payment] = asked_for(s)
    assert (payment.external_id, payment.status, payment.transfer_reported_at) == (
        "offer-of-bob", "unpaid", None)
