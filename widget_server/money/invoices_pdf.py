"""An invoice or receipt as a PDF (fpdf2), in the client's language and the tenant's currency.

PDF's built-in fonts know only Latin-1, so "Kováčová" or "Šťastná" would come out wrong: the
text is set in DejaVu Sans, shipped with the package (widget_server/fonts, with its licence)
so it works on a machine without system fonts. fpdf2 embeds only the glyphs used.
"""

from __future__ import annotations

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from widget_server.core import formatting, i18n
from widget_server.core.i18n import gettext as _
from widget_server.core.settings import PACKAGE_DIR
from widget_server.money.invoices import Document

FONTS = PACKAGE_DIR / "fonts"
FONT = "DejaVu"
INK = (31, 35, 40)
MUTED = (89, 99, 110)
RULE = (208, 215, 222)


def render(doc: Document, locale: str, tz: str) -> bytes:
    """The document as PDF bytes, its words in `locale`, its dates in the tenant's zone."""
    i18n.activate(locale)

    def money(amount: int) -> str:
        return formatting.money(amount, doc.currency, locale)

    def day(value) -> str:
        return formatting.a_date(value, tz, locale)

    title = _("Invoice") if doc.kind == "invoice" else _("Receipt")
    pdf = FPDF(format="A4")
    pdf.set_title(f"{title} {doc.number}")
    pdf.set_author(doc.seller)
    pdf.set_creator("Client Profile")
    pdf.set_margins(18, 18, 18)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_font(FONT, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.add_page()
    width = pdf.epw

    # Who issues it, and what it is.
    top = pdf.get_y()
    pdf.set_text_color(*INK)
    pdf.set_font(FONT, "B", 15)
    pdf.multi_cell(width * 0.6, 7, doc.seller, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 9)
    pdf.set_text_color(*MUTED)
    for line in [doc.seller_legal_name, doc.seller_address,
                 *_identifiers(doc.seller_company_number, doc.seller_tax_id,
                               doc.seller_vat_id),
                 doc.seller_registration]:
        if line:
            pdf.multi_cell(width * 0.6, 4.8, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    left_end = pdf.get_y()
    pdf.set_xy(pdf.l_margin + width * 0.6, top)
    pdf.set_text_color(*INK)
    pdf.set_font(FONT, "B", 18)
    pdf.cell(width * 0.4, 8, title, align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 9)
    supplied = day(doc.supply_date) if doc.supply_date else None
    for label, value in ((_("Number"), doc.number), (_("Issued"), day(doc.issued)),
                         (_("Date of supply"), supplied), (_("Order"), doc.order_number)):
        if value:
            pdf.set_x(pdf.l_margin + width * 0.6)
            pdf.cell(width * 0.4, 4.8, f"{label}: {value}", align="R", new_x=XPos.LEFT,
                     new_y=YPos.NEXT)
    pdf.set_y(max(left_end, pdf.get_y()) + 8)

    # For whom.
    pdf.set_font(FONT, "B", 9)
    pdf.set_text_color(*MUTED)
    pdf.cell(0, 5, _("Bill to").upper(), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*INK)
    pdf.set_font(FONT, "", 10)
    if doc.buyer_company:
        pdf.multi_cell(0, 5.5, doc.buyer_company, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.multi_cell(0, 5.5, doc.buyer, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 9)
    for line in [doc.buyer_address, *_identifiers(doc.buyer_company_number, doc.buyer_tax_id,
                                                  doc.buyer_vat_id), doc.buyer_email]:
        if line:
            pdf.multi_cell(0, 5, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(6)

    # What.
    pdf.set_draw_color(*RULE)
    pdf.set_font(FONT, "", 9.5)
    with pdf.table(col_widths=(86, 14, 26, 16, 32), text_align=("LEFT", "RIGHT", "RIGHT",
                   "RIGHT", "RIGHT"), line_height=6.5, borders_layout="HORIZONTAL_LINES",
                   headings_style=_headings(), first_row_as_headings=True) as table:
        table.row([_("Item"), _("Qty"), _("Unit price"), _("VAT"), _("Amount")])
        for line in doc.lines:
            rate = formatting.percent(line.vat_rate, locale) if line.vat_rate is not None \
                else "–"
            table.row([line.name, str(line.quantity), money(line.unit_price), rate,
                       money(line.total)])
    pdf.ln(3)

    # How much.
    rows: list[tuple[str, str, bool]] = []
    if doc.discount or doc.promo_code:
        rows.append((_("Subtotal"), money(doc.subtotal), False))
        label = _("Promo code %(code)s") % {"code": doc.promo_code} if doc.promo_code \
            else _("Discount")
        rows.append((label, "−" + money(doc.discount_applied), False))
    rows.append((_("Total"), money(doc.total), True))
    if doc.vat_total:
        rows.append((_("Including VAT"), money(doc.vat_total), False))
    if doc.credit_applied:
        rows.append((_("Paid with prepaid credit"), "−" + money(doc.credit_applied), False))
        rows.append((_("Amount paid") if doc.status == "paid" else _("Amount due"),
                     money(doc.after_credit), False))
    elif doc.paid_amount is not None and doc.paid_amount != doc.total:
        rows.append((_("Amount paid"), money(doc.paid_amount), False))
    for label, value, strong in rows:
        pdf.set_font(FONT, "B" if strong else "", 11 if strong else 9.5)
        pdf.set_x(pdf.l_margin + width * 0.45)
        pdf.cell(width * 0.35, 7, label, align="R")
        pdf.cell(width * 0.2, 7, value, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)

    vat_rows = doc.vat_rows
    if vat_rows:
        pdf.set_font(FONT, "B", 9)
        pdf.set_text_color(*MUTED)
        pdf.cell(0, 5, _("VAT summary").upper(), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(*INK)
        pdf.set_font(FONT, "", 9)
        with pdf.table(col_widths=(30, 40, 40, 40), width=int(width * 0.7), align="LEFT",
                       text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"), line_height=5.5,
                       borders_layout="HORIZONTAL_LINES", headings_style=_headings(),
                       first_row_as_headings=True) as table:
            table.row([_("VAT rate"), _("Net"), _("VAT"), _("Gross")])
            for row in vat_rows:
                table.row([formatting.percent(row.rate, locale), money(row.net),
                           money(row.vat), money(row.gross)])
        pdf.ln(4)

    # Paid or not.
    pdf.set_font(FONT, "B", 10)
    if doc.status == "paid" and doc.paid_at is not None:
        method = {"card": _("by card"), "bank_transfer": _("by bank transfer"),
                  "cash": _("in cash"), "credit": _("with prepaid credit")}.get(doc.method or "")
        text = _("Paid on %(date)s") % {"date": day(doc.paid_at)}
        pdf.cell(0, 6, f"{text} {method}" if method else text, new_x=XPos.LMARGIN,
                 new_y=YPos.NEXT)
    elif doc.status == "paid":
        pdf.cell(0, 6, _("Paid"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    elif doc.due_date is not None:
        pdf.cell(0, 6, _("Due %(date)s") % {"date": day(doc.due_date)}, new_x=XPos.LMARGIN,
                 new_y=YPos.NEXT)
    return bytes(pdf.output())


def _identifiers(company_number: str | None, tax_id: str | None,
                 vat_id: str | None) -> list[str]:
    """A party's registration number, tax id and VAT id, as the language calls them (in
    Slovak IČO, DIČ and IČ DPH)."""
    return [text for value, text in (
        (company_number, _("Company number: %(number)s") % {"number": company_number}),
        (tax_id, _("Tax ID: %(id)s") % {"id": tax_id}),
        (vat_id, _("VAT ID: %(id)s") % {"id": vat_id})) if value]


def _headings() -> FontFace:
    return FontFace(family=FONT, emphasis="BOLD", color=MUTED)
