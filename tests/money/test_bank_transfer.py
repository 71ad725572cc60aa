"""Paying by bank transfer: the details to type in, each selectable (and copyable with
JavaScript), and a QR code that a banking app reads back exactly: PAY by square in Slovakia,
an EPC QR code for other euro payments."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
import zxingcpp
from by_square import PaymentOption, PayQR
from payment_support import qr_image, tenants_copy
from PIL import Image
from profile_support import (
    JANA,
    NOW,
    SARAH,
    browser,
    demo_app,
    freeze,
    section,
    text_of,
)
from sqlmodel import Session, select

from widget_server.core.formatting import money, money_number
from widget_server.core.models import Payment, WebhookDelivery
from widget_server.money.bank_transfer import epc_qr, pay_by_square

PIRUETKA_IBAN = "SK3112000000198742637541"
SHOWN_IBAN = "SK31 1200 0000 1987 4263 7541"  # on screen in groups of four, as banks print it
# (groups set apart by CSS: copying takes the IBAN without spaces)


@pytest.fixture
def jana(demo, mailbox):
    return browser(demo, mailbox, JANA, "demo-sk")


# EPC069-12's character sets, by the number in the payload's third line.
EPC_CHARSETS = ("utf-8", "iso8859-1", "iso8859-2", "iso8859-4", "iso8859-5", "iso8859-7",
                "iso8859-10", "iso8859-15")


def epc_text(found) -> str:
    """A decoded EPC code's text, read in the character set it declares (as banking apps
    do: the QR code itself does not say, so a decoder assumes Latin-1)."""
    raw: bytes = found.bytes
    return raw.decode(EPC_CHARSETS[int(raw.split(b"\n")[2]) - 1])


def epc_lines(payload: str) -> list[str]:
    return payload.split("\n")


def page_qr(page: str):
    """The QR code the page shows, read with a real decoder as a banking app would."""
    svg = re.search(r'<svg viewBox="[^"]+" class="cp-qr">.*?</svg>', page, re.S).group(0)
    [found] = zxingcpp.read_barcodes(qr_image(svg))
    assert found.format == zxingcpp.BarcodeFormat.QRCode
    return found


def test_a_slovak_school_shows_the_transfer_details_and_a_pay_by_square_code(jana):
    page = jana.open("payments/pay-1005").text  # 60 € overdue, the second instalment
    transfer = section(page, "transfer-title")
    assert "Majiteľ účtu Piruetka s.r.o." in transfer
    assert f"IBAN {SHOWN_IBAN}" in transfer and "BIC SUBASKBX" in transfer
    assert "Suma EUR 60,00" in transfer  # typed into a Slovak banking app as 60,00
    assert "Variabilný symbol 2026001005" in transfer
    assert "Splatnosť 12. 11. 2026" in transfer
    assert "Naskenujte kód v aplikácii svojej banky" in transfer
    assert '<title>PAY by square</title>' in page

    # Slovak banking apps read PAY by square: decode the picture, then its payload with the
    # reference library.
    order = PayQR.decode(page_qr(page).text)
    [payment] = order.payments
    assert payment.payment_options == PaymentOption.PAYMENT_ORDER
    assert (payment.amount, payment.currency_code) == (Decimal("60.00"), "EUR")
    assert [(a.iban, a.bic) for a in payment.bank_accounts] == [(PIRUETKA_IBAN, "SUBASKBX")]
    assert payment.variable_symbol == "2026001005"  # in its own field, not in the note
    assert payment.beneficiary_name == "Piruetka s.r.o."
    assert payment.payment_due_date is None  # overdue: no date in the past for the bank
    assert payment.payment_note == "Klasický balet (8 – 11 rokov) – Sofia, 2. splátka"


def test_a_pay_by_square_code_carries_a_due_date_still_ahead_and_cents(jana):
    page = jana.open("payments/pay-1007").text  # the order paid in 5 days
    [payment] = PayQR.decode(page_qr(page).text).payments
    assert payment.payment_due_date == date(2026, 11, 27)
    assert payment.amount == Decimal("15.90") and payment.variable_symbol == "2026001007"


def test_references_that_are_not_variable_symbols_travel_in_their_own_fields():
    def decode(reference):
        [payment] = PayQR.decode(pay_by_square(
            "Tanečná škola Piruetka", PIRUETKA_IBAN, None, 1, "EUR", reference, None,
            "Permanentka")).payments
        return payment
    creditor = decode("RF18 5390 0754 7034")
    assert creditor.originators_reference_information == "RF18539007547034"
    assert creditor.variable_symbol == "" and creditor.payment_note == "Permanentka"
    other = decode("OBJ-5001")
    assert other.variable_symbol == "" and other.payment_note == "OBJ-5001 Permanentka"
    assert other.amount == Decimal("0.01") and other.bank_accounts[0].bic == ""


@pytest.fixture
def austrian(settings, tmp_path, mailbox):
    """Jana at the same dance school, were it in Austria: euro, but no PAY by square."""
    with demo_app(replace(settings, tenants_dir=tenants_copy(
            tmp_path / "tenants", **{"demo-sk": {"country": "AT"}}))) as app:
        yield browser(app, mailbox, JANA, "demo-sk")


def test_other_euro_schools_show_an_epc_qr_code(austrian):
    page = austrian.open("payments/pay-1005").text
    assert epc_lines(epc_text(page_qr(page))) == [
        "BCD",  # service tag
        "002",  # version
        "2",  # character set: ISO 8859-1 is enough here
        "SCT",  # SEPA credit transfer
        "SUBASKBX",
        "Piruetka s.r.o.",
        PIRUETKA_IBAN,
        "EUR60",
        "",  # purpose
        "",  # structured reference: none, the variable symbol is free text
        "2026001005",
    ]


def read_qr(qr) -> str:
    """Decode a segno QR code drawn as PNG."""
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=4)
    buffer.seek(0)
    [found] = zxingcpp.read_barcodes(Image.open(buffer))
    return epc_text(found)


def test_the_epc_payload_carries_diacritics_cents_and_creditor_references():
    lines = epc_lines(read_qr(epc_qr("Tanečná škola Piruetka", PIRUETKA_IBAN, 1590,
                                     "2026001007", None)))
    assert lines[2] == "3"  # ISO 8859-2, for č and š
    assert lines[4:8] == ["", "Tanečná škola Piruetka", PIRUETKA_IBAN, "EUR15.9"]
    assert lines[-1] == "2026001007"
    structured = epc_lines(read_qr(epc_qr("Piruetka s.r.o.", PIRUETKA_IBAN, 12000,
                                          "RF18 5390 0754 7034", "SUBASKBX")))
    assert structured[9] == "RF18539007547034" and len(structured) == 10


def test_a_pound_payment_has_the_details_but_no_epc_code(demo, mailbox):
    sarah = browser(demo, mailbox, SARAH)
    page = sarah.open("payments/pay-1005").text
    transfer = section(page, "transfer-title")
    assert "IBAN GB33 BUKB 2020 1555 5555 55" in transfer and "Amount GBP 54.00" in transfer
    assert "Reference SPLASH-1005" in transfer
    assert 'class="cp-qr"' not in page  # EPC codes are for euro payments only


def test_each_detail_is_selectable_text_with_a_copy_button_for_scripts(jana):
    page = jana.open("payments/pay-1005").text
    fields = re.findall(r'<span class="cp-copyable[^"]*">(.+?)</span><button type="button" '
                        r'class="cp-copy-button" data-copy title="([^"]+)"', page)
    fields = [(re.sub(r"<[^>]+>", "", value), label) for value, label in fields]
    assert fields == [("Piruetka s.r.o.", "Kopírovať majiteľa účtu"),
                      (PIRUETKA_IBAN, "Kopírovať IBAN"), ("SUBASKBX", "Kopírovať BIC"),
                      ("60,00", "Kopírovať sumu"), ("2026001005", "Kopírovať variabilný symbol")]


def test_saying_the_transfer_was_sent_tells_the_provider_once(demo, jana):
    page = jana.open("payments/pay-1005")
    assert "Prevod je odoslaný" in page.text
    refused = jana.client.post("/t/demo-sk/payments/pay-1005/bank-transfer",
                               data={"csrf_token": "forged"}, follow_redirects=False)
    assert refused.status_code == 403
    done = jana.post("payments/pay-1005/bank-transfer", {})
    assert done.status_code == 303 and done.headers["location"].endswith("payments/pay-1005")
    again = jana.open("payments/pay-1005").text
    assert "Prevod oznámený, čaká na potvrdenie" in text_of(again)
    assert "Prevod je odoslaný" not in again
    assert jana.post("payments/pay-1005/bank-transfer", {}).status_code == 303  # harmless
    with Session(demo.state.engine) as db:
        events = db.exec(select(WebhookDelivery.event_type)).all()
    # demo-sk has a webhook_url, so the event is queued once (sent when it has a secret)
    assert events == ["payment.started"]


def test_a_reported_transfer_shows_as_awaiting_confirmation_not_overdue(demo, mailbox):
    sarah = browser(demo, mailbox, SARAH)
    before = sarah.open("payments/pay-1005").text
    assert "Overdue" in text_of(before)
    assert sarah.post("payments/pay-1005/bank-transfer", {}).status_code == 303

    page = sarah.open("payments/pay-1005").text
    head = text_of(page.split('class="cp-page-head', 1)[1].split("</div>", 1)[0])
    assert "Transfer reported" in head and "reported on 22 Nov 2026" in head
    assert "Overdue" not in head and "was due" not in head
    state = section(page, "state-title")
    assert state.startswith("Transfer reported, awaiting confirmation")
    assert "You told us on 22 Nov 2026 that you sent £54.00 by bank transfer" in state
    assert 'data-state="reported"' in page
    # The details stay at hand, without a second "I have sent the transfer".
    assert "I have sent the transfer" not in text_of(page)
    assert "IBAN GB33 BUKB 2020 1555 5555 55" in section(page, "transfer-title")

    to_pay = section(sarah.open("orders").text, "to-pay-title")
    assert "£54.00" in to_pay and "Transfer reported" in to_pay
    assert "transfer reported on 22 Nov 2026, awaiting confirmation" in to_pay
    assert "Overdue" not in to_pay.split("£54.00", 1)[1].split("£", 1)[0]
    board = sarah.open("bookings/bk-1002").text
    payments = section(board, "payments-title")
    assert "Transfer reported" in payments and "Overdue" not in payments
    home = text_of(sarah.open("").text)
    assert "payment overdue" not in home  # nothing else of hers is overdue

    # Persisted on the payment; the provider confirming it ends the wait.
    with Session(demo.state.engine) as db:
        payment = db.exec(select(Payment).where(Payment.tenant == "demo",
                                                Payment.external_id == "pay-1005")).one()
        assert payment.transfer_reported_at is not None
        payment.status = "paid"
        payment.paid_at = payment.transfer_reported_at
        db.add(payment)
        db.commit()
    assert "Paid. Thank you!" in text_of(sarah.open("payments/pay-1005").text)


def test_a_report_stands_a_fortnight_then_the_payment_is_overdue_again(demo, mailbox):
    sarah = browser(demo, mailbox, SARAH)
    sarah.open("payments/pay-1005")
    sarah.post("payments/pay-1005/bank-transfer", {})
    freeze(demo, NOW + timedelta(days=14))
    assert "Transfer reported" in text_of(sarah.open("payments/pay-1005").text)
    freeze(demo, NOW + timedelta(days=15))
    page = text_of(sarah.open("payments/pay-1005").text)
    assert "Transfer reported" not in page and "Overdue" in page
    assert "I have sent the transfer" in page


def test_without_online_payments_the_page_offers_the_transfer_only(jana):
    page = jana.open("payments/pay-1005").text  # demo-sk has online_payments = false
    assert "Zaplatiť online" not in text_of(page) and "pay_token" not in page
    assert "Zaplatiť prevodom" in text_of(page)


def test_money_reads_right_in_each_language(demo, mailbox, jana):
    sarah = browser(demo, mailbox, SARAH)
    english = text_of(sarah.open("payments/pay-1005").text)
    assert "£54.00" in english and "was due 12 Nov 2026" in english
    slovak = text_of(jana.open("payments/pay-1005").text)
    assert "60,00 €" in slovak and "bola splatná 12. 11. 2026" in slovak
    assert money(5400, "GBP", "en_GB") == "£54.00" and money(6000, "EUR", "sk") == "60,00\xa0€"
    assert money(6000, "EUR", "en_GB") == "€60.00"
    # The bare amount for a banking app's amount field: no symbol, no grouping.
    assert money_number(123450, "GBP", "en_GB") == "1234.50"
    assert money_number(123450, "EUR", "sk") == "1234,50"
    assert money_number(500, "JPY", "en_GB") == "500"
