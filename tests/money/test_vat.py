"""VAT is worked out on what is charged: a promo discount spread over the items, a recap per
rate that adds up to the total to the cent, prepaid credit shown as a way of paying. Checked
on the demo's orders and, with Hypothesis, on random orders."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from widget_server.money import vat
from widget_server.money.invoices import Document, Line

RATES = [Decimal(r) for r in ("0", "5", "9.5", "10", "12", "19", "20", "21", "23", "27")]


def document(lines: list[Line], discount: int, credit: int, **kwargs) -> Document:
    return Document(kind="receipt", number="R-1", issued=date(2026, 11, 22), seller="School",
                    seller_address=None, seller_vat_id=None, buyer="Parent",
                    buyer_email="parent@example.com", currency="EUR", lines=lines,
                    discount=discount, credit=credit, order_number="OBJ-1", **kwargs)


def test_the_slovak_demo_order_reconciles():
    """Order OBJ-5001: 97.80 € of items, 10 % off (9.78 €), 12 € paid from credit."""
    doc = document([Line("Baletky (textilné)", 1, 1490, Decimal(23)),
                    Line("Baletný dres s krátkym rukávom", 1, 2290, Decimal(23)),
                    Line("Permanentka na 10 vstupov", 1, 6000, Decimal(0))], 978, 1200)
    assert doc.total == 8802
    assert doc.vat_rows == [vat.VatRow(Decimal(0), 5400, 0, 5400),
                            vat.VatRow(Decimal(23), 2766, 636, 3402)]
    assert sum(row.gross for row in doc.vat_rows) == doc.total  # not 97.80 €
    assert (doc.credit_applied, doc.after_credit) == (1200, 7602)


def test_the_discount_is_spread_in_proportion_with_the_cents_reconciled():
    assert vat.spread(800, [1600, 1400, 5000]) == [160, 140, 500]
    assert vat.spread(8, [16, 14, 50]) == [2, 1, 5]  # 1.6, 1.4, 5: the largest remainder
    assert vat.spread(1, [1, 1, 1]) == [1, 0, 0]  # a tie goes to the first line
    assert vat.spread(500, [100, 200]) == [100, 200]  # never more than the items
    assert vat.spread(0, [100]) == [0] and vat.spread(100, [0, 0]) == [0, 0]
    assert vat.vat_included(2700, Decimal(20)) == 450
    assert vat.vat_included(123, Decimal(23)) == 23  # 22.999... rounds half up to 23
    assert vat.vat_included(999, Decimal(0)) == 0


lines = st.lists(
    st.builds(Line, name=st.just("item"), quantity=st.integers(1, 20),
              unit_price=st.integers(0, 500_000), vat_rate=st.sampled_from(RATES)),
    min_size=1, max_size=12)


@given(lines=lines, discount_share=st.fractions(0, 1) | st.just(Fraction(2)),
       credit=st.integers(0, 2_000_000))
def test_every_order_reconciles_to_the_cent(lines, discount_share, credit):
    subtotal = sum(line.total for line in lines)
    discount = int(subtotal * discount_share)
    doc = document(lines, discount, credit)

    # The discount, spread over the items, is the whole discount (capped at the items' worth),
    # each item's share within a cent of its exact proportion and never above its amount.
    shares = vat.spread(doc.discount_applied, [line.total for line in lines])
    assert sum(shares) == doc.discount_applied == min(discount, subtotal)
    for share, line in zip(shares, lines, strict=True):
        assert 0 <= share <= line.total
        if subtotal:
            assert abs(share - Fraction(doc.discount_applied * line.total, subtotal)) < 1

    # The recap adds up to the total to the cent; each rate's net + VAT is its gross, and its
    # VAT is that gross's VAT, rounded half up.
    rows = doc.vat_rows
    assert doc.total == subtotal - doc.discount_applied >= 0
    assert sum(row.gross for row in rows) == doc.total
    assert sum(row.net for row in rows) + sum(row.vat for row in rows) == doc.total
    assert len({row.rate for row in rows}) == len(rows)
    for row in rows:
        assert row.net + row.vat == row.gross and row.net >= 0 and row.vat >= 0
        exact = Fraction(row.gross) * Fraction(row.rate) / (100 + Fraction(row.rate))
        assert abs(row.vat - exact) <= Fraction(1, 2)
        charged_at_rate = sum(line.total - share for share, line in zip(shares, lines, strict=True)
                              if line.vat_rate == row.rate)
        assert row.gross == charged_at_rate

    # Credit pays part (or all) of the total; the rest is paid otherwise.
    assert 0 <= doc.credit_applied <= doc.total
    assert doc.credit_applied + doc.after_credit == doc.total
    assert doc.credit_applied == min(credit, doc.total)
