"""What EU (and Slovak) invoicing rules ask of an invoice made from our data: the supplier's
registered name, company registration number (IČO), tax id (DIČ) and VAT id (IČ DPH); the
buyer's, when the provider sent them; and the date of supply when it is not the issue date."""

from __future__ import annotations

import pytest
from payment_support import pdf_text
from profile_support import JANA, SARAH, browser
from tenant_support import GOOD, problems, write

JANA_COMPANY = {"address": "Hlavná 5, 040 01 Košice", "company_name": "Kováčová Design s.r.o.",
                "company_number": "51234567", "tax_id": "2120987654",
                "vat_id": "SK2120987654"}


def pdf(visitor, path: str) -> str:
    answer = visitor.open(path)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    return pdf_text(answer.content)


def test_the_supplier_is_named_with_its_registration_numbers(demo, mailbox):
    sarah = browser(demo, mailbox, SARAH)
    text = pdf(sarah, "invoices/inv-37")
    for fact in ("Splash Swim School", "Splash Swim School Ltd",
                 "14 Harbour Road, Bristol BS1 5TY, United Kingdom",
                 "Company number: 09876543", "VAT ID: GB123456789",
                 "Registered in England and Wales"):
        assert fact in text, (fact, text)
    assert "Date of supply" not in text  # the provider did not say, and it is not an order


def test_a_slovak_invoice_names_both_parties_as_slovak_rules_ask(demo, mailbox, api):
    sk = api.as_tenant("demo-sk")
    client = sk.get("clients", "cl-1001").json()
    assert client["company_name"] is None  # the new fields read back, empty until sent
    assert sk.put("clients", "cl-1001", client | JANA_COMPANY).status_code == 200
    assert sk.get("clients", "cl-1001").json() | JANA_COMPANY == sk.get(
        "clients", "cl-1001").json()
    jana = browser(demo, mailbox, JANA, "demo-sk")
    text = pdf(jana, "payments/pay-1006/receipt.pdf")
    for fact in ("Tanečná škola Piruetka", "Piruetka s.r.o.", "IČO: 53123456",
                 "DIČ: 2020123456", "IČ DPH: SK2020123456",
                 "Zapísaná v Obchodnom registri Mestského súdu Bratislava III",
                 "ODBERATEĽ Kováčová Design s.r.o. Jana Kováčová Hlavná 5, 040 01 Košice "
                 "IČO: 51234567 DIČ: 2120987654 IČ DPH: SK2120987654 jana.kovacova@example.com"):
        assert fact in text, (fact, text)


def test_the_date_of_supply_shows_when_it_is_not_the_issue_date(demo, mailbox, api):
    assert api.put("invoices", "inv-term", {
        "client_id": "cl-1001", "payment_id": "pay-1004", "number": "INV-2026-0099",
        "issue_date": "2026-06-27", "supply_date": "2026-06-20"}).status_code == 201
    assert api.get("invoices", "inv-term").json()["supply_date"] == "2026-06-20"
    sarah = browser(demo, mailbox, SARAH)
    text = pdf(sarah, "invoices/inv-term")
    assert "Issued: 27 Jun 2026 Date of supply: 20 Jun 2026" in text
    api.put("invoices", "inv-same", {"client_id": "cl-1001", "payment_id": "pay-1004",
                                     "number": "INV-2026-0100", "issue_date": "2026-06-27",
                                     "supply_date": "2026-06-27"})
    assert "Date of supply" not in pdf(sarah, "invoices/inv-same")


def test_an_order_is_supplied_when_it_was_ordered(demo, mailbox, api):
    """An invoice issued later than the order it is for says when the order was supplied."""
    assert api.put("invoices", "inv-late", {
        "client_id": "cl-1001", "order_id": "ord-5001", "number": "INV-2026-0101",
        "issue_date": "2026-11-02"}).status_code == 201
    text = pdf(browser(demo, mailbox, SARAH), "invoices/inv-late")
    assert "Issued: 2 Nov 2026 Date of supply: 23 Oct 2026" in text


@pytest.mark.parametrize("field,value", [
    ("company_number", "x" * 33), ("vat_id", "V" * 33), ("company_name", "C" * 201),
    ("address", "A" * 401), ("tax_id", 12345)])
def test_the_sync_api_refuses_bad_billing_details(api, field, value):
    answer = api.put("clients", "c-bill", {"email": "bill@example.com", "name": "Bill",
                                           field: value})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["path"] == [field]


def test_the_api_document_lists_the_new_fields(client):
    document = client.get("/api/v1/openapi.json").json()
    schemas = document["components"]["schemas"]
    client_fields = next(s["properties"] for name, s in schemas.items()
                         if name.startswith("Client") and "company_number" in s["properties"])
    assert {"address", "company_name", "company_number", "tax_id", "vat_id"} <= set(client_fields)
    assert any("supply_date" in s.get("properties", {}) for s in schemas.values())


@pytest.mark.parametrize("snippet,key,reason", [
    ('company_number = "12 345 <678>"', "company_number", "is not a registration number"),
    ('vat_id = "sk 2020123456"', "vat_id", "is not a VAT id"),
    ('country = "Slovakia"', "country", "unknown ISO 3166 country code"),
])
def test_tenant_files_refuse_bad_supplier_details(tmp_path, snippet, key, reason):
    (tmp_path / "good.toml").write_text(GOOD.format(slug="good"))
    path = write(tmp_path, "bad.toml", snippet + "\n" + GOOD.format(slug="bad"))
    [found] = problems(tmp_path)
    assert found.startswith(f"{path}: {key}: ") and reason in found
