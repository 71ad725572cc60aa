"""VAT on what is charged: an order's discount spread over its lines, then VAT per rate.

Prices include VAT, as providers send them. A promo discount lowers what is charged, so it
lowers the VAT too: it is spread over the lines in proportion to their amounts (largest
remainder, so the shares add up to the discount to the cent), and the VAT of each rate is
worked out once on that rate's charged total, rounded half up. The recap's gross amounts then
add up to the order's total exactly, and each rate's net plus VAT is its gross.

Prepaid credit is a way of paying, not a discount: it changes what is left to pay, not the VAT.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Sequence


@dataclass(frozen=True)
class VatRow:
    """One rate of the recap: gross (what was charged) = net + VAT."""

    rate: Decimal
    net: int
    vat: int
    gross: int


def spread(amount: int, weights: Sequence[int]) -> list[int]:
    """`amount` split over `weights` in proportion, in whole cents that add up to it exactly
    (largest remainder; ties go to the earlier line). Never more than a weight's share allows:
    an amount above the weights' sum is capped at it."""
    total = sum(weights)
    if total <= 0 or amount <= 0:
        return [0] * len(weights)
    amount = min(amount, total)
    shares = [amount * w // total for w in weights]
    remainders = [amount * w % total for w in weights]
    short = amount - sum(shares)
    for i in sorted(range(len(weights)), key=lambda i: -remainders[i])[:short]:
        shares[i] += 1
    return shares


def charged(line_totals: Sequence[int], discount: int) -> list[int]:
    """What each line costs once the order's discount is spread over the lines."""
    return [total - share for total, share in zip(line_totals, spread(discount, line_totals),
                                                  strict=True)]


def vat_included(gross: int, rate: Decimal) -> int:
    """The VAT inside a VAT-inclusive amount at `rate` percent, rounded half up to the cent."""
    if rate <= 0:
        return 0
    exact = Decimal(gross) * rate / (Decimal(100) + rate)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def recap(lines: Sequence[tuple[int, Decimal]]) -> list[VatRow]:
    """VAT per rate of (charged gross, rate) lines, lowest rate first."""
    by_rate: dict[Decimal, int] = {}
    for gross, rate in lines:
        by_rate[rate] = by_rate.get(rate, 0) + gross
    rows = []
    for rate, gross in sorted(by_rate.items()):
        vat = vat_included(gross, rate)
        rows.append(VatRow(rate, gross - vat, vat, gross))
    return rows
