"""Invoices and receipts download as PDF: the provider's own file or link, or one made from
our data (read back with pypdf), and only by the family they belong to."""

from __future__ import annotations

import base64
import re
from dataclasses import replace

import pytest
from payment_support import pdf_text, tenants_copy
from profile_support import JAMES, JANA, SARAH, browser, demo_app

UPLOADED = b"%PDF-1.4\n% the provider's own invoice\n%%EOF\n"


def download(visitor, path: str):
    response = visitor.open(path, follow_redirects=False)
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith('attachment; filename="')
    assert response.headers["cache-control"] == "private, no-store"
    return response


def test_the_providers_uploaded_pdf_comes_back_as_it_was(sarah, api):
    api.put("invoices", "inv-up", {"client_id": "cl-1001", "payment_id": "pay-1003",
                                   "number": "INV-2026-0099", "issue_date": "2026-10-01",
                                   "pdf_base64": base64.b64encode(UPLOADED).decode()})
    response = download(sarah, "invoices/inv-up")
    assert response.content == UPLOADED
    assert 'filename="invoice-INV-2026-0099.pdf"' in response.headers["content-disposition"]


def test_an_invoice_that_lives_on_the_providers_site_is_linked(sarah, api):
    url = "https://www.splashswim.example/invoices/INV-2026-0041.pdf"
    api.put("invoices", "inv-41", api.get("invoices", "inv-41").json() | {"url": url})
    answer = sarah.open("invoices/inv-41", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == url
    assert f'href="{url}" target="_blank" rel="noopener"' in sarah.open("orders").text


@pytest.mark.parametrize("tenant,email", [("demo", SARAH), ("demo-sk", JANA)])
def test_every_demo_invoice_opens(demo, mailbox, tenant, email):
    """The demo's invoices are made from its data: no link to a fictional school's site."""
    visitor = browser(demo, mailbox, email, tenant)
    page = visitor.open("orders").text
    links = re.findall(r'href="(http[^"]+/invoices/[^"]+)"', page)
    assert len(links) == 5, links
    for link in links:
        assert link.startswith(f"http://testserver/t/{tenant}/invoices/")
        answer = visitor.client.get(link)
        assert answer.status_code == 200 and answer.content.startswith(b"%PDF-"), link


def test_an_invoice_without_a_file_is_made_from_our_data(sarah):
    text = pdf_text(download(sarah, "invoices/inv-37").content)  # Mia's spring term
    for fact in ("Splash Swim School", "14 Harbour Road, Bristol BS1 5TY, United Kingdom",
                 "VAT ID: GB123456789", "Invoice", "Number: INV-2026-0037",
                 "Issued: 27 Jun 2026", "Sarah Thompson", "sarah.thompson@example.com",
                 "Improvers (Stage 3) – Mia 1 £108.00 – £108.00", "Total £108.00",
                 "Paid on 27 Jun 2026 by bank transfer"):
        assert fact in text, (fact, text)
    assert "VAT SUMMARY" not in text  # the provider gave no VAT for a booking


def test_a_receipt_lists_items_vat_per_rate_promo_code_and_what_was_paid(sarah):
    response = download(sarah, "payments/pay-1006/receipt.pdf")  # order SPL-5001
    assert 'filename="receipt-R-pay-1006.pdf"' in response.headers["content-disposition"]
    text = pdf_text(response.content)
    for fact in ("Receipt", "Number: R-pay-1006", "Order: SPL-5001",
                 "Splash silicone swim cap 2 £8.00 20% £16.00",
                 "Junior anti-fog goggles 1 £14.00 20% £14.00",
                 "Family Fun Swim 10-visit pass 1 £50.00 0% £50.00",
                 "Subtotal £80.00", "Promo code SPLASH10 −£8.00", "Total £72.00",
                 "Including VAT £4.50", "Paid with prepaid credit −£12.00",
                 "Amount paid £60.00",  # the rest came from prepaid credit
                 "VAT rate Net VAT Gross", "0% £45.00 £0.00 £45.00",
                 "20% £22.50 £4.50 £27.00", "Paid on 23 Oct 2026 by card"):
        assert fact in text, (fact, text)


def test_slovak_documents_keep_their_diacritics(demo, mailbox):
    jana = browser(demo, mailbox, JANA, "demo-sk")
    text = pdf_text(download(jana, "payments/pay-1006/receipt.pdf").content)
    for fact in ("Tanečná škola Piruetka", "Obchodná 12, 811 06 Bratislava, Slovensko",
                 "IČ DPH: SK2020123456", "Potvrdenie o platbe", "Jana Kováčová",
                 "Baletný dres s krátkym rukávom 1 22,90 € 23 % 22,90 €",
                 "Zľavový kód PIRUETKA10", "Rekapitulácia DPH".upper(),
                 "Zaplatené 23. 10. 2026 kartou",
                 # VAT on what was charged, adding up to the total to the cent, and the
                 # 12 € paid from prepaid credit.
                 "0 % 54,00 € 0,00 € 54,00 €", "23 % 27,66 € 6,36 € 34,02 €",
                 "Uhradené z predplateného kreditu −12,00 €", "Zaplatená suma 76,02 €"):
        assert fact in text, (fact, text)


def test_documents_are_only_for_the_family_they_belong_to(demo, sarah, mailbox, client):
    james = browser(demo, mailbox, JAMES)
    for path in ("invoices/inv-37", "invoices/inv-41", "payments/pay-1006/receipt.pdf"):
        assert james.open(path, follow_redirects=False).status_code == 404, path
        assert client.get(f"/t/demo/{path}", follow_redirects=False).status_code == 404
    assert sarah.open("payments/pay-1005/receipt.pdf").status_code == 404  # not paid yet
    assert sarah.open("invoices/nothing").status_code == 404
    jana = browser(demo, mailbox, JANA, "demo-sk")
    answer = jana.open("invoices/inv-37", follow_redirects=False)  # her school's own inv-37
    assert answer.status_code == 200 and b"Splash" not in answer.content


def test_the_payment_page_lists_its_documents(sarah):
    page = sarah.open("payments/pay-1004").text
    assert 'href="http://testserver/t/demo/invoices/inv-37"' in page
    assert 'href="http://testserver/t/demo/payments/pay-1004/receipt.pdf"' in page
    assert "Receipt (PDF)" in page


@pytest.fixture
def sarah_without_invoicing(settings, tmp_path, mailbox):
    """Sarah at a Splash Swim School that has switched invoicing off."""
    with demo_app(replace(settings, tenants_dir=tenants_copy(
            tmp_path / "tenants", demo={"features": {"invoices": False}}))) as app:
        yield browser(app, mailbox, SARAH)


def test_without_invoicing_there_are_no_documents(sarah_without_invoicing):
    sarah = sarah_without_invoicing
    assert sarah.open("invoices/inv-37").status_code == 404
    assert sarah.open("payments/pay-1004/receipt.pdf").status_code == 404
    page = sarah.open("payments/pay-1004").text
    assert "Receipt (PDF)" not in page and "invoices/inv-37" not in page
    assert "receipt.pdf" not in sarah.open("orders").text
