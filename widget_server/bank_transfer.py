"""Paying by bank transfer: the details to type into a banking app, and a QR code to scan.

The QR code is an EPC QR code (EPC069-12, "SEPA credit transfer"), which European banking
apps read. It exists only for euro payments: the standard carries the amount in EUR alone, and
UK banking apps do not read it, so a GBP tenant's clients get the typed details only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import segno
from markupsafe import Markup
from segno.helpers import make_epc_qr

from widget_server.formatting import to_decimal
from widget_server.models import Payment
from widget_server.tenants import Tenant

# ISO 11649 creditor references ("RF18 5390 0754 7034") travel structured; anything else
# (a Slovak variable symbol, "SPLASH-1005") as the free-text remittance information.
CREDITOR_REFERENCE = re.compile(r"^RF\d{2}[0-9A-Z]{1,21}$")


@dataclass(frozen=True)
class Instructions:
    """What the client needs to send one payment by bank transfer."""

    account_holder: str
    iban: str
    bic: str | None
    amount: int
    currency: str
    reference: str | None
    due_date: date | None
    qr_svg: Markup | None


def instructions(tenant: Tenant, payment: Payment) -> Instructions | None:
    """Bank transfer details for a payment, or None when the tenant does not take transfers."""
    bank = tenant.config.bank
    if not tenant.config.features.bank_transfer or bank is None:
        return None
    iban = re.sub(r"\s+", "", bank.iban).upper()
    qr = None
    if payment.currency == "EUR" and payment.amount > 0:
        qr = Markup(epc_qr(bank.account_holder, iban, payment.amount, payment.bank_reference,
                           bank.bic).svg_inline(scale=4, border=4, omitsize=True, svgclass="cp-qr",
                                                title="EPC QR"))
    return Instructions(bank.account_holder, iban, bank.bic, payment.amount, payment.currency,
                        payment.bank_reference, payment.due_date, qr)


def epc_qr(holder: str, iban: str, amount: int, reference: str | None,
           bic: str | None) -> segno.QRCode:
    """The EPC QR code of a euro credit transfer (amount in cents)."""
    reference = (reference or "").strip()
    structured = bool(CREDITOR_REFERENCE.match(reference.replace(" ", "").upper()))
    return make_epc_qr(
        name=holder[:70], iban=iban, amount=to_decimal(amount, "EUR"), bic=bic or None,
        reference=reference.replace(" ", "").upper() if structured else None,
        # Either structured or free text must be present; a payment without a reference
        # still tells the provider who paid for what through its holder's name.
        text=None if structured else (reference or holder)[:140])
