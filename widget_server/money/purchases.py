"""Purchase history as a CSV file: every payment, what it was for, its VAT and promo code.

UTF-8 with a byte order mark, so Excel reads "Kováčová" right; numbers with a dot and no
thousands separator, so every spreadsheet reads them as numbers whatever its language.
"""

from __future__ import annotations

import csv
import io
from datetime import date

from widget_server.core.formatting import local, to_decimal
from widget_server.core.i18n import gettext as _
from widget_server.money.orders import Orders, PaymentView

# Spreadsheets run a cell starting with one of these as a formula; descriptions come from the
# provider's system, so they are defused with a leading apostrophe (OWASP's advice).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def newest_first(orders: Orders) -> list[PaymentView]:
    """Every payment, the latest (paid, or due) first."""
    def when(pv: PaymentView) -> tuple[date, int]:
        paid = pv.payment.paid_at
        return (paid.date() if paid else pv.payment.due_date or date.min, pv.payment.id or 0)
    return sorted(orders.payments, key=when, reverse=True)


def kind_label(kind: str) -> str:
    return {"booking": _("Booking"), "entry_pass": _("Entry pass"), "bundle": _("Bundle"),
            "session": _("Single session"), "product": _("Product"),
            "order": _("Order")}.get(kind, _("Other"))


def status_label(status: str) -> str:
    return {"unpaid": _("To pay"), "pending": _("Processing"), "paid": _("Paid"),
            "refunded": _("Refunded")}.get(status, _("Cancelled"))


def what_for(pv: PaymentView) -> str:
    if pv.payment.description:
        return pv.payment.description
    if pv.programme:
        return f"{pv.programme} – {pv.member}" if pv.member else pv.programme
    if pv.order_number:
        return _("Order %(number)s") % {"number": pv.order_number}
    return pv.payment.external_id


def to_csv(orders: Orders, tz: str) -> bytes:
    """The family's purchase history, one payment a row, in the active language."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_("Date"), _("What for"), _("Type"), _("Order"), _("Items"),
                     _("Promo code"), _("Amount"), _("VAT"), _("Currency"), _("Status"),
                     _("Due date"), _("Invoice"), _("Payment ID")])
    for pv in newest_first(orders):
        p, order = pv.payment, pv.order
        paid = local(p.paid_at, tz).date().isoformat() if p.paid_at else ""
        items = "; ".join(f"{i.quantity} × {i.name}" for i in order.items) if order else ""
        writer.writerow([_text(v) for v in (
            paid, what_for(pv), kind_label(pv.kind), pv.order_number or "", items,
            order.order.promo_code or "" if order else "")] + [
            str(to_decimal(p.amount, p.currency)),
            str(to_decimal(order.vat, p.currency)) if order else "",
            p.currency, status_label(p.status),
            p.due_date.isoformat() if p.due_date else "",
            _text(", ".join(i.number for i in pv.invoices)), _text(p.external_id)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _text(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_START) else value
