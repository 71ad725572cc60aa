"""A co-parent a booking is shared with at full access sees that booking's payments and pays
them (online or by bank transfer); a view-only share sees none and has no pay buttons; nobody
else reaches them, whatever id they try."""

from __future__ import annotations

import pytest
from payment_support import gateway_url, new_tab, pay_token, paying_settings
from profile_support import (
    DAD,
    GRANDMA,
    IMPROVERS,
    JANA,
    ORDER_PAYMENT,
    OVERDUE,
    SARAH,
    browser,
    section,
)
from profile_support import text_of as words

FIRST_INSTALMENT = "pay-1002"  # paid
OTHER_FAMILY = "pay-1010"  # James's


@pytest.fixture
def settings(settings, tmp_path, stripe, receiver):
    return paying_settings(settings, tmp_path / "tenants", stripe, receiver)


@pytest.fixture
def demo(demo, api):
    """The demo families; Mia's Improvers shared with her father at full access, and an add-on
    of Oliver's beginners (shared with grandma, view only) still to pay."""
    assert api.put("shares", "sh-dad", {"booking_id": IMPROVERS, "email": DAD,
                                        "relation": "parent", "access": "full"}).status_code == 201
    assert api.put("payments", "pay-addon", {
        "client_id": "cl-1001", "booking_id": "bk-1001", "description": "Swim cap add-on",
        "amount": 900, "currency": "GBP", "due_date": "2026-11-30"}).status_code == 201
    return demo


@pytest.fixture
def dad(demo, mailbox):
    return browser(demo, mailbox, DAD)


def test_a_co_parent_sees_the_bookings_payment_to_pay_everywhere(dad):
    board = dad.open(f"bookings/{IMPROVERS}").text
    assert "£54.00" in section(board, "payments-title")
    orders = dad.open("orders").text
    to_pay = section(orders, "to-pay-title")
    assert "£54.00" in to_pay and "Overdue" in to_pay
    assert "You are all paid up" not in words(orders)
    assert f"/payments/{OVERDUE}" in orders
    # Only that booking's money: not the family's orders, other bookings or prepaid credit.
    assert ORDER_PAYMENT not in orders and "SPL-500" not in orders and "pay-addon" not in orders
    assert "Prepaid credit" not in words(orders)
    home = words(dad.open("").text)
    assert "Pay £54.00 1 payment overdue" in home


def test_a_co_parent_pays_by_bank_transfer(dad, demo, mailbox):
    page = dad.open(f"payments/{OVERDUE}")
    assert page.status_code == 200
    assert "Pay £54.00 online" in words(page.text)
    transfer = section(page.text, "transfer-title")
    assert "Reference SPLASH-1005" in transfer and "I have sent the transfer" in transfer
    assert dad.post(f"payments/{OVERDUE}/bank-transfer", {}).status_code == 303
    reported = words(dad.open(f"payments/{OVERDUE}").text)
    assert "Transfer reported, awaiting confirmation" in reported
    assert "Pay £54.00 online" not in reported  # not a second way to pay the same money
    # The family sees what the co-parent did.
    sarah = browser(demo, mailbox, SARAH)
    assert "Transfer reported" in section(sarah.open("orders").text, "to-pay-title")


def test_a_co_parent_pays_online_with_their_own_address(dad, demo, stripe):
    page = dad.open(f"payments/{OVERDUE}").text
    tab = new_tab(demo, "demo", OVERDUE, pay_token(page))
    assert tab.status_code == 200 and gateway_url(tab.text).startswith(stripe.url)
    [call] = stripe.calls
    assert call.form["customer_email"] == DAD
    assert call.form["metadata"]["payment_id"] == OVERDUE


def test_the_familys_documents_stay_the_familys(dad):
    page = dad.open(f"payments/{FIRST_INSTALMENT}")
    assert page.status_code == 200 and "Paid. Thank you!" in words(page.text)
    assert "receipt.pdf" not in page.text and "invoices/" not in page.text
    assert dad.open(f"payments/{FIRST_INSTALMENT}/receipt.pdf").status_code == 404
    assert dad.open("invoices/inv-42").status_code == 404


@pytest.mark.parametrize("payment", [ORDER_PAYMENT, OTHER_FAMILY, "pay-1001", "pay-addon",
                                     "nothing", "pay-1005%2F..", "' OR 1=1 --"])
def test_nothing_else_is_a_co_parents(dad, demo, payment):
    token = pay_token(dad.open(f"payments/{OVERDUE}").text)  # and a fresh form token
    assert dad.post(f"payments/{payment}/bank-transfer", {}).status_code == 404
    assert dad.open(f"payments/{payment}").status_code == 404
    # A pay token for one payment does not open another.
    assert new_tab(demo, "demo", payment, token).status_code in (403, 404)


def test_view_only_sees_no_payments_and_no_pay_buttons(demo, mailbox):
    grandma = browser(demo, mailbox, GRANDMA)
    board = grandma.open("bookings/bk-1001")
    assert board.status_code == 200
    assert 'id="payments-title"' not in board.text and "to pay" not in words(board.text)
    assert "Swim cap add-on" not in grandma.open("orders").text
    grandma.open("account")  # a fresh form token
    for payment in ("pay-addon", "pay-1001"):
        assert grandma.post(f"payments/{payment}/bank-transfer", {}).status_code == 404
        assert grandma.open(f"payments/{payment}").status_code == 404


def test_a_revoked_share_ends_the_co_parents_payments_at_once(dad, api):
    assert dad.open(f"payments/{OVERDUE}").status_code == 200
    assert api.put("shares", "sh-dad", {"booking_id": IMPROVERS, "email": DAD,
                                        "access": "full", "status": "revoked"}).status_code == 200
    assert dad.open(f"payments/{OVERDUE}").status_code == 404
    assert "£54.00" not in dad.open("orders").text


def test_another_schools_payment_is_not_reached_through_a_share(demo, mailbox, api):
    # The same e-mail address at the other school, with nothing shared there.
    api.as_tenant("demo-sk").put("clients", "cl-dad", {"email": DAD, "name": "Dad"})
    dad_sk = browser(demo, mailbox, DAD, "demo-sk")
    assert dad_sk.open(f"payments/{OVERDUE}").status_code == 404
    jana = browser(demo, mailbox, JANA, "demo-sk")
    assert jana.open(f"payments/{OVERDUE}").status_code == 200  # her own pay-1005
