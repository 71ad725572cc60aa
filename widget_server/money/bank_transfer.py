"""Paying by bank transfer: the details to type into a banking app, and a QR code to scan.

The QR code is the one the school's country's banking apps read:

- **PAY by square** in Slovakia (the Slovak Banking Association's standard, which every
  Slovak banking app reads and most read instead of EPC), with the variable symbol in its own
  field. Made here (a tab-separated record, CRC32, raw LZMA, base32hex), and checked in the
  tests by decoding it with the `by-square` library.
- the **EPC QR code** (EPC069-12, "SEPA credit transfer") for other euro payments. The
  standard carries the amount in EUR alone, and UK banking apps do not read it, so a GBP
  tenant's clients get the typed details only.
"""

from __future__ import annotations

import binascii
import lzma
import re
from dataclasses import dataclass
from datetime import date

import segno
from markupsafe import Markup
from segno.helpers import make_epc_qr

from widget_server.core.formatting import to_decimal
from widget_server.core.models import Payment
from widget_server.core.tenants import Tenant

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
    qr_kind: str | None = None  # "pay_by_square" or "epc"


def instructions(tenant: Tenant, payment: Payment,
                 today: date | None = None) -> Instructions | None:
    """Bank transfer details for a payment, or None when the tenant does not take transfers."""
    bank = tenant.config.bank
    if not tenant.config.features.bank_transfer or bank is None:
        return None
    iban = re.sub(r"\s+", "", bank.iban).upper()
    code, kind = None, None
    if payment.amount > 0 and tenant.country == "SK":
        # A due date still ahead is offered as the transfer's date; a past one is left out
        # (banking apps refuse a date in the past).
        due = payment.due_date if today and payment.due_date and payment.due_date >= today \
            else None
        code, kind = segno.make_qr(pay_by_square(
            bank.account_holder, iban, bank.bic, payment.amount, payment.currency,
            payment.bank_reference, due, payment.description)), "pay_by_square"
    elif payment.amount > 0 and payment.currency == "EUR":
        code, kind = epc_qr(bank.account_holder, iban, payment.amount, payment.bank_reference,
                            bank.bic), "epc"
    qr = None
    if code is not None:
        qr = Markup(code.svg_inline(scale=4, border=4, omitsize=True, svgclass="cp-qr",
                                    title="PAY by square" if kind == "pay_by_square"
                                    else "EPC QR"))
    return Instructions(bank.account_holder, iban, bank.bic, payment.amount, payment.currency,
                        payment.bank_reference, payment.due_date, qr, kind)


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


# PAY by square: a variable symbol is up to ten digits; anything else travels as the payer's
# reference (an RF creditor reference) or in the note.
VARIABLE_SYMBOL = re.compile(r"^\d{1,10}$")
BASE32HEX = "0123456789ABCDEFGHIJKLMNOPQRSTUV"


def pay_by_square(holder: str, iban: str, bic: str | None, amount: int, currency: str,
                  reference: str | None, due: date | None, note: str | None) -> str:
    """The PAY by square text of one payment order (amount in minor units), as a QR code
    carries it: the fields of "PAY by square" 1.1.0 in order, tab-separated, behind a CRC32,
    compressed with raw LZMA1, behind a two-byte header and the length, in base32hex."""
    reference = (reference or "").strip()
    compact = reference.replace(" ", "").upper()
    symbol = reference if VARIABLE_SYMBOL.match(reference) else ""
    creditor_ref = compact if not symbol and CREDITOR_REFERENCE.match(compact) else ""
    # Without a field of its own, the reference goes first in the note, so it is not lost.
    in_note = [] if symbol or creditor_ref else [reference]
    message = " ".join(filter(None, [*in_note, note or ""]))[:140]
    fields = [
        "",  # invoice id
        "1",  # one payment
        "1",  # a payment order (not a standing order or a direct debit)
        str(to_decimal(amount, currency)), currency,
        due.strftime("%Y%m%d") if due else "",
        symbol, "", "",  # variable, constant and specific symbol
        creditor_ref, message,
        "1", iban, bic or "",  # one bank account
        "0", "0",  # no standing order, no direct debit
        holder[:70], "", "",  # beneficiary name and address
    ]
    data = "\t".join(f.replace("\t", " ") for f in fields).encode()
    body = binascii.crc32(data).to_bytes(4, "little") + data
    packed = lzma.compress(body, format=lzma.FORMAT_RAW, filters=[{
        "id": lzma.FILTER_LZMA1, "lc": 3, "lp": 0, "pb": 2, "dict_size": 128 * 1024}])
    # Header: by square type 0, version 0, document type 0 (payment), reserved 0.
    raw = b"\x00\x00" + len(body).to_bytes(2, "little") + packed
    bits = "".join(f"{byte:08b}" for byte in raw)
    bits += "0" * (-len(bits) % 5)
    return "".join(BASE32HEX[int(bits[i:i + 5], 2)] for i in range(0, len(bits), 5))
