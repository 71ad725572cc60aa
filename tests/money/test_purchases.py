"""Orders and purchase history: unpaid and paid orders, one order opened to its items, VAT,
promo code, payments and pass entries; every payment exported as a CSV a spreadsheet opens."""

from __future__ import annotations

import csv
import gc
import io
import weakref

from profile_support import (
    JAMES,
    JANA,
    NOW,
    SARAH,
    browser,
    section,
    text_of,
)
from sqlmodel import Session, select

from widget_server.core.access import Access
from widget_server.core.models import Client
from widget_server.money.orders import load_orders


def test_orders_count_the_unpaid_and_put_them_first(sarah):
    page = sarah.open("orders").text
    orders = section(page, "orders-title")
    assert orders.startswith("Orders 1 unpaid order · 1 paid")
    assert orders.index("Order SPL-5002") < orders.index("Order SPL-5001")
    assert "Pay £18.00" in orders  # the unpaid order can be paid from its card
    assert 'href="http://testserver/t/demo/orders/ord-5001"' in page


def test_an_order_opens_to_its_items_payments_and_the_entries_of_its_pass(sarah):
    page = sarah.open("orders/ord-5001").text
    words = text_of(page)
    assert "Order SPL-5001" in words and "Ordered on 23 Oct 2026" in words
    assert "Splash silicone swim cap 2 £16.00 20%" in words
    # VAT on what was charged: the 10% off is spread over the items (20% VAT on £27.00 of
    # goods, none on the £45.00 pass), and £12.00 came from prepaid credit.
    assert ("Subtotal £80.00 Promo code SPLASH10 −£8.00 Total £72.00 Including VAT £4.50 "
            "Paid with prepaid credit −£12.00 Amount after credit £60.00") in words
    assert "£60.00 paid on 23 Oct 2026 Paid" in section(page, "order-payments-title")
    passes = section(page, "order-passes-title")
    assert "Family Fun Swim 10-visit pass 7 entries left · 3 of 10 used" in passes
    assert passes.count("Family Fun Swim (") == 3  # each entry: when, where, for whom
    assert "15 Nov 2026 · Family Fun Swim (Oliver)" in passes


def test_another_familys_order_is_not_found(demo, sarah, mailbox):
    assert sarah.open("orders/nothing").status_code == 404
    james = browser(demo, mailbox, JAMES)
    assert james.open("orders/ord-5001").status_code == 404
    assert "No orders yet" in text_of(james.open("orders").text)


def test_payments_link_to_their_page_from_the_orders_and_the_booking(sarah):
    orders = sarah.open("orders").text
    assert 'href="http://testserver/t/demo/payments/pay-1005">Pay' in orders
    booking = sarah.open("bookings/bk-1002").text
    payments = section(booking, "payments-title")
    assert "£54.00" in payments and "was due 12 Nov 2026" in payments and "Overdue" in payments
    assert 'href="http://testserver/t/demo/payments/pay-1005"' in booking
    assert 'href="http://testserver/t/demo/payments/pay-1002"' in booking  # the paid one


def test_the_purchase_history_shows_vat_and_promo_codes_and_links_receipts(sarah):
    page = sarah.open("orders").text
    history = section(page, "payments-title")
    assert "Order SPL-5001 Promo code SPLASH10 · incl. £4.50 VAT £60.00 Paid" in history
    assert "Order SPL-5002 Product · incl. £3.00 VAT" not in history  # not paid yet
    assert 'href="http://testserver/t/demo/purchases.csv"' in page


def test_prepaid_credit_links_to_where_it_was_used(sarah):
    credit = section(sarah.open("orders").text, "credit-title")
    assert credit == "Prepaid credit £30.00 See where it was used and added"


def test_the_purchase_history_downloads_as_csv_for_a_spreadsheet(sarah):
    response = sarah.open("purchases.csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == \
        'attachment; filename="purchases-demo-2026-11-22.csv"'
    assert response.content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for UTF-8
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 7
    assert list(rows[0]) == ["Date", "What for", "Type", "Order", "Items", "Promo code",
                             "Amount", "VAT", "Currency", "Status", "Due date", "Invoice",
                             "Payment ID"]
    by_id = {row["Payment ID"]: row for row in rows}
    order = by_id["pay-1006"]
    assert order["Date"] == "2026-10-23" and order["Type"] == "Order"
    assert order["Items"] == ("2 × Splash silicone swim cap; 1 × Junior anti-fog goggles; "
                              "1 × Family Fun Swim 10-visit pass")
    assert (order["Promo code"], order["Amount"], order["VAT"], order["Currency"]) == \
        ("SPLASH10", "60.00", "4.50", "GBP")
    assert order["Invoice"] == "INV-2026-0048" and order["Status"] == "Paid"
    booking = by_id["pay-1005"]
    assert booking["Type"] == "Booking" and booking["Status"] == "To pay"
    assert booking["Date"] == "" and booking["Due date"] == "2026-11-12"
    assert booking["What for"] == "Improvers (Stage 3) – Mia, instalment 2 of 2"
    assert rows[0]["Payment ID"] == "pay-1007"  # newest first: due in five days


def test_the_csv_speaks_slovak_and_defuses_formulas(demo, mailbox, api):
    sk = api.as_tenant("demo-sk")
    sk.put("payments", "pay-evil", {"client_id": "cl-1001", "amount": 100, "currency": "EUR",
                                    "description": "=HYPERLINK(\"http://x\")"})
    jana = browser(demo, mailbox, JANA, "demo-sk")
    body = jana.open("purchases.csv").content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][:3] == ["Dátum", "Za čo", "Typ"]
    assert any("Baletná prípravka (5 – 7 rokov) – Ema" == row[1] for row in rows)
    assert ["'=HYPERLINK(\"http://x\")"] == [row[1] for row in rows if "HYPERLINK" in row[1]]
    assert any(row[6] == "60.00" and row[9] == "Na úhradu" for row in rows)


def test_the_csv_is_only_for_a_logged_in_client(demo, client):
    assert client.get("/t/demo/purchases.csv").status_code == 404


def test_a_familys_orders_are_freed_without_the_cyclic_collector(demo):
    """An order lists its payments and each payment knows its order, weakly: the two referring
    to each other made every orders page leave a cycle for Python's collector to find."""
    with Session(demo.state.engine) as db:
        sarah = Access("demo", SARAH, db.exec(select(Client.id).where(Client.email == SARAH)).one())
        for _ in range(2):  # its statements built and prepared for good (`core.records`)
            load_orders(db, sarah, NOW, "Europe/London")
        gc.collect()
        gc.disable()
        try:
            orders = load_orders(db, sarah, NOW, "Europe/London")
            paid = next(pv for pv in orders.payments if pv.order is not None)
            assert paid.order.number == "SPL-5001" and paid in paid.order.payments
            gone = weakref.ref(paid.order)
            del orders, paid
            assert gone() is None
            assert gc.collect() == 0
        finally:
            gc.enable()
