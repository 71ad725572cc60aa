"""The demo's shared documents: for the first family of each tenant, a term letter (a PDF made
with fpdf2 in the tenant's language) for everyone on the first child's programme, and a photo
of the class (a PNG drawn with Pillow) for that child.

They go in as a provider's upload would (`api.documents.put_document`), into whichever storage
the app uses; made the same for the same day, and skipped when already stored unchanged, so
loading the demo twice changes nothing.
"""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from PIL import Image, ImageDraw
from sqlmodel import Session, select

from widget_server.api import documents
from widget_server.core.models import Document
from widget_server.core.settings import PACKAGE_DIR
from widget_server.core.storage import Files
from widget_server.demo.catalogue import PROFILES

FONTS = PACKAGE_DIR / "fonts"
WORDS: dict[str, dict[str, Any]] = {
    "demo": {
        "school": "Splash Swim School", "place": "Bristol",
        "letter": "Spring term letter", "photo": "Photos from the swimming gala", "scene": "pool",
        "greeting": "Dear parents,",
        "body": [
            "Thank you for a wonderful autumn term. Spring term lessons start on {start} at "
            "the usual times; the pool is closed on {closed} for the county gala.",
            "Please bring a swimming costume or trunks, a towel, goggles and a swim cap (long "
            "hair must be tied back). Children who have their own float may bring it.",
            "Parents are welcome on the viewing balcony. Let us know about any medical "
            "condition before the first lesson.",
        ],
        "kit": "What to bring", "items": ["Swimming costume or trunks", "Towel", "Goggles",
                                          "Swim cap", "A drink of water"],
        "signature": "Coach Amy and the Splash team",
    },
    "demo-sk": {
        "school": "Tanečná škola Piruetka", "place": "Bratislava",
        "letter": "List k jarnému polroku", "photo": "Fotografie z vystúpenia", "scene": "stage",
        "greeting": "Milí rodičia,",
        "body": [
            "ďakujeme za krásny jesenný polrok. Hodiny v jarnom polroku sa začínajú {start} "
            "v obvyklom čase; {closed} je sála zatvorená pre súťaž.",
            "Prineste, prosím, trikot, pančuchy, baletné cvičky a gumičku do vlasov (dlhé vlasy "
            "zopnuté do drdola). Fľašu s vodou si deti môžu nechať v šatni.",
            "Rodičia môžu počkať v čakárni. O zdravotných obmedzeniach nám dajte vedieť pred "
            "prvou hodinou.",
        ],
        "kit": "Čo si priniesť", "items": ["Trikot", "Pančuchy", "Baletné cvičky",
                                           "Gumička do vlasov", "Fľaša s vodou"],
        "signature": "Lektorka Petra a tím Piruetky",
    },
}


def share_documents(db: Session, tenant: str, today: date, files: Files) -> int:
    """Store the tenant's two demo documents (unless already stored as they are); returns 2."""
    words, profile = WORDS[tenant], PROFILES[tenant]
    beginners = profile.programmes[0].key
    items = [
        ("doc-letter", {"title": words["letter"], "filename": f"{words['letter']}.pdf",
                        "audience": "programme", "programme_id": f"prog-{beginners}"},
         _letter(words, profile.locale, today), today - timedelta(days=10)),
        ("doc-photo", {"title": words["photo"], "filename": f"{words['scene']}.png",
                       "audience": "attendee", "attendee_id": "at-1001-1"},
         _pool() if words["scene"] == "pool" else _stage(), today - timedelta(days=3)),
    ]
    for external_id, fields, content, day in items:
        published = datetime.combine(day, time(9, 0), tzinfo=UTC)
        meta = documents.parse_meta(fields | {"published_at": published.isoformat()},
                                    external_id)
        stored = db.exec(select(Document).where(Document.tenant == tenant,
                                                Document.external_id == external_id)).first()
        if stored is not None and (stored.sha256, stored.title) == (
                hashlib.sha256(content).hexdigest(), meta.title):
            continue
        documents.put_document(db, tenant, external_id, meta, io.BytesIO(content), files=files,
                               limit=len(content), now=published)
    return len(items)


def _letter(words: dict[str, Any], locale: str, today: date) -> bytes:
    """A one-page term letter; the same bytes for the same day."""
    start = today + timedelta(days=(7 - today.weekday()) % 7 + 49)
    closed = start + timedelta(days=26)
    day = "{:%d.%m.%Y}" if locale.startswith("sk") else "{:%d/%m/%Y}"
    pdf = FPDF(format="A4")
    pdf.set_creation_date(datetime.combine(today, time(9, 0), tzinfo=UTC))
    pdf.set_title(words["letter"])
    pdf.set_author(words["school"])
    pdf.set_margins(22, 22, 22)
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 16)
    pdf.cell(0, 9, words["school"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "", 10)
    pdf.cell(0, 6, f"{words['place']}, {day.format(today - timedelta(days=10))}",
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(6)
    pdf.set_font("DejaVu", "B", 13)
    pdf.cell(0, 8, words["letter"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "", 11)
    pdf.ln(2)
    pdf.multi_cell(0, 6, words["greeting"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for paragraph in words["body"]:
        pdf.ln(2)
        pdf.multi_cell(0, 6, paragraph.format(start=day.format(start), closed=day.format(closed)),
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(0, 7, words["kit"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "", 11)
    for item in words["items"]:
        pdf.cell(0, 6, f"•  {item}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(8)
    pdf.multi_cell(0, 6, words["signature"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


def _pool() -> bytes:
    """A small picture of a swimming gala: lanes, lane ropes, three swimmers in caps."""
    width, height = 480, 320
    image = Image.new("RGB", (width, height), (40, 140, 200))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, 56), fill=(226, 232, 236))  # the poolside
    for x in range(0, width, 32):
        draw.line((x, 0, x, 56), fill=(200, 208, 214), width=2)
    for y in range(56, height, 6):  # the water, deeper further down
        shade = (y - 56) // 6
        draw.rectangle((0, y, width, y + 6), fill=(40, 140 - shade, 200 - shade))
    for lane, y in enumerate((120, 190, 260)):
        for x in range(0, width, 20):  # the lane rope below this lane
            draw.ellipse((x, y + 26, x + 14, y + 36), fill=((220, 40, 50), (250, 250, 250))[
                (x // 20) % 2])
        cap = ((250, 200, 40), (230, 60, 90), (60, 200, 120))[lane]
        x = 140 + lane * 90
        draw.ellipse((x - 40, y - 6, x + 50, y + 16), fill=(180, 225, 245))  # the splash
        draw.ellipse((x - 14, y - 14, x + 14, y + 14), fill=(240, 205, 180))
        draw.chord((x - 14, y - 14, x + 14, y + 14), 180, 360, fill=cap)
        draw.line((x - 10, y + 2, x + 10, y + 2), fill=(30, 30, 40), width=4)  # goggles
        draw.line((x + 14, y, x + 44, y - 22), fill=(240, 205, 180), width=6)  # an arm
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def _stage() -> bytes:
    """A small picture of a class on stage: curtains, a spotlight, three little performers."""
    width, height = 480, 320
    image = Image.new("RGB", (width, height), (28, 24, 48))
    draw = ImageDraw.Draw(image)
    draw.ellipse((90, 40, 390, 340), fill=(70, 62, 110))  # the spotlight
    draw.rectangle((0, 250, width, height), fill=(120, 78, 44))  # the stage
    for x in range(0, width, 24):
        draw.line((x, 250, x - 30, height), fill=(104, 66, 36), width=2)
    for left in (True, False):  # curtains
        for i in range(6):
            x = i * 14 if left else width - (i + 1) * 14
            draw.rectangle((x, 0, x + 14, 250 - i * 4), fill=(150 + i * 10, 20, 40))
    draw.rectangle((0, 0, width, 26), fill=(130, 16, 34))
    for n, x in enumerate((170, 240, 310)):  # the performers
        colour = ((250, 200, 210), (200, 225, 250), (250, 230, 170))[n]
        draw.ellipse((x - 12, 150, x + 12, 174), fill=(240, 205, 180))
        draw.polygon([(x, 172), (x - 26, 232), (x + 26, 232)], fill=colour)
        draw.line((x - 8, 232, x - 10, 252), fill=(240, 205, 180), width=4)
        draw.line((x + 8, 232, x + 10, 252), fill=(240, 205, 180), width=4)
        draw.line((x - 14, 186, x - 36, 160), fill=(240, 205, 180), width=4)
        draw.line((x + 14, 186, x + 36, 160), fill=(240, 205, 180), width=4)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()
