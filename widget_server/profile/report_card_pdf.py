"""A report card, and a level's certificate, as a PDF (fpdf2): in the family's language, in
the tenant's colour, with the child's name, the level, each skill and its rating, and the
instructor's comment. DejaVu Sans (shipped with the package) sets any Latin script, as on
invoices."""

from __future__ import annotations

from datetime import date

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from widget_server.core import formatting, i18n
from widget_server.core.i18n import gettext as _
from widget_server.core.settings import PACKAGE_DIR
from widget_server.profile.progress import LevelProgress
from widget_server.profile.report_cards import Card

FONTS = PACKAGE_DIR / "fonts"
FONT = "DejaVu"
INK = (31, 35, 40)
MUTED = (89, 99, 110)
RULE = (208, 215, 222)


def _rgb(colour: str) -> tuple[int, int, int]:
    """`#1f6feb` as (31, 111, 235); anything else is the ink colour."""
    value = colour.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    try:
        return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)
    except ValueError:
        return INK


def _document(title: str, author: str) -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_title(title)
    pdf.set_author(author)
    pdf.set_creator("Client Profile")
    pdf.set_margins(18, 18, 18)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_font(FONT, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.add_page()
    return pdf


def _line(pdf: FPDF, text: str, size: float, *, bold: bool = False, colour=INK,
          height: float = 6, align: str = "L") -> None:
    pdf.set_font(FONT, "B" if bold else "", size)
    pdf.set_text_color(*colour)
    pdf.multi_cell(0, height, text, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def report_card(card: Card, provider: str, primary: str, locale: str) -> bytes:
    """The card as PDF bytes, its words in `locale`."""
    i18n.activate(locale)
    accent = _rgb(primary)
    pdf = _document(f"{_('Report card')}: {card.child}", provider)
    _line(pdf, provider, 11, bold=True, colour=accent)
    pdf.ln(2)
    _line(pdf, _("Report card"), 20, bold=True, height=9)
    _line(pdf, card.child, 14, bold=True, height=7)
    details = [card.card.term, card.programme, card.level.name if card.level else None,
               _("Published on %(date)s") % {
                   "date": formatting.a_date(card.published_on, "UTC", locale)}]
    _line(pdf, " · ".join(d for d in details if d), 10, colour=MUTED)
    pdf.ln(4)
    if card.level is not None and card.level.skills:
        _skills(pdf, card.level, accent)
    if card.card.comment:
        pdf.ln(4)
        _line(pdf, _("Instructor's comment"), 12, bold=True, height=7)
        _line(pdf, card.card.comment, 10.5, height=5.5)
        if card.card.instructor:
            pdf.ln(1)
            _line(pdf, card.card.instructor, 10, colour=MUTED)
    return bytes(pdf.output())


def _skills(pdf: FPDF, level: LevelProgress, accent: tuple[int, int, int]) -> None:
    _line(pdf, ngettext_achieved(level), 11, bold=True, height=7)
    width = pdf.epw
    pdf.set_draw_color(*RULE)
    for skill in level.skills:
        y = pdf.get_y()
        pdf.line(pdf.l_margin, y, pdf.l_margin + width, y)
        pdf.set_font(FONT, "", 10.5)
        pdf.set_text_color(*INK)
        pdf.multi_cell(width * 0.65, 7, skill.name, new_x=XPos.RIGHT, new_y=YPos.TOP)
        pdf.set_font(FONT, "B" if skill.achieved else "", 10.5)
        pdf.set_text_color(*(accent if skill.achieved else MUTED))
        pdf.multi_cell(width * 0.35, 7, skill.label or _("Not assessed yet"), align="R",
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + width, pdf.get_y())


def ngettext_achieved(level: LevelProgress) -> str:
    return i18n.ngettext("%(achieved)d of %(num)d skill achieved",
                         "%(achieved)d of %(num)d skills achieved", level.total) % {
        "achieved": level.achieved, "num": level.total}


def certificate(child: str, level: LevelProgress, programme: str, completed_on: date,
                provider: str, primary: str, locale: str) -> bytes:
    """A certificate for a completed level, one landscape page."""
    i18n.activate(locale)
    accent = _rgb(primary)
    pdf = FPDF(orientation="L", format="A4")
    pdf.set_title(f"{_('Certificate')}: {child}, {level.name}")
    pdf.set_author(provider)
    pdf.set_creator("Client Profile")
    pdf.set_auto_page_break(False)
    pdf.add_font(FONT, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.add_page()
    pdf.set_draw_color(*accent)
    pdf.set_line_width(2)
    pdf.rect(10, 10, pdf.w - 20, pdf.h - 20)
    pdf.set_y(38)
    _line(pdf, provider, 14, bold=True, colour=accent, align="C", height=8)
    pdf.ln(8)
    _line(pdf, _("Certificate"), 34, bold=True, align="C", height=16)
    pdf.ln(6)
    _line(pdf, child, 26, bold=True, align="C", height=13)
    pdf.ln(4)
    _line(pdf, _("has completed %(level)s") % {"level": level.name}, 16, align="C", height=9)
    _line(pdf, programme, 12, colour=MUTED, align="C", height=7)
    pdf.ln(10)
    _line(pdf, formatting.a_date(completed_on, "UTC", locale), 12, align="C", height=7)
    return bytes(pdf.output())
