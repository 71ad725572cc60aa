"""Helpers for the payment stories: tenants wired to a fake Stripe and a webhook receiver,
the "Pay online" button's new tab, and reading PDFs, QR codes and CSV back."""

from __future__ import annotations

import base64
import html
import io
import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

from fake_stripe import SECRET_KEY, WEBHOOK_SECRET, FakeStripe
from PIL import Image, ImageDraw
from pypdf import PdfReader
from receiver import Receiver
from starlette.testclient import TestClient

from widget_server.core.settings import Settings
from widget_server.demo import TENANTS_DIR as DEMO_TENANTS

# The provider's webhook signing secret (Standard Webhooks), also the key that signs the
# parameters sent to a provider's own payment page.
PROVIDER_SECRET = "whsec_" + base64.b64encode(b"provider secret of 32 bytes!!!!!").decode()
PAY_TOKEN = re.compile(r'name="pay_token" value="([^"]+)"')


def tenants_copy(directory: Path, **changes: dict[str, object]) -> Path:
    """The repository's tenant files with single-line keys changed, per slug:
    `tenants_copy(tmp, demo={"webhook_url": url})`; a value of None removes the key."""
    directory.mkdir(parents=True, exist_ok=True)
    for path in DEMO_TENANTS.glob("*.toml"):
        shutil.copy(path, directory / path.name)
    for slug, edits in changes.items():
        path = directory / f"{slug}.toml"
        text = path.read_text()
        for key, value in edits.items():
            if key == "features":
                continue
            line = "" if value is None else f"{key} = {json.dumps(value)}"
            text, count = re.subn(rf"(?m)^{key}\s*=.*$", line, text)
            if count == 0 and value is not None:
                text = text.replace("\n[email]", f"\n{line}\n[email]", 1)
        for feature, on in (edits.get("features") or {}).items():  # type: ignore[union-attr]
            text = re.sub(rf"(?m)^{feature}\s*=.*$", f"{feature} = {str(on).lower()}", text)
        path.write_text(text)
    return directory


def paying_settings(settings: Settings, directory: Path, stripe: FakeStripe,
                    receiver: Receiver) -> Settings:
    """Both demo tenants send their webhooks to `receiver`; `demo` takes cards through the
    fake Stripe, `demo-sk` takes bank transfers (EUR) and cards on its own payment page."""
    tenants = tenants_copy(directory, demo={"webhook_url": receiver.url},
                           **{"demo-sk": {"webhook_url": receiver.url,
                                          "payment_page_url": "https://pay.piruetka.example/platba",
                                          "features": {"online_payments": True}}})
    environ = dict(settings.environ) | {
        "WIDGET_WEBHOOK_SECRET_DEMO": PROVIDER_SECRET,
        "WIDGET_WEBHOOK_SECRET_DEMO_SK": PROVIDER_SECRET,
        "WIDGET_STRIPE_SECRET_KEY_DEMO": SECRET_KEY,
        "WIDGET_STRIPE_WEBHOOK_SECRET_DEMO": WEBHOOK_SECRET,
        "WIDGET_STRIPE_API_BASE": stripe.url,
    }
    return replace(settings, tenants_dir=tenants, environ=environ)


def pay_token(page_html: str) -> str:
    found = PAY_TOKEN.search(page_html)
    assert found, "the page has no Pay online button"
    return html.unescape(found.group(1))


def new_tab(app, tenant: str, payment: str, token: str | None, **headers: str):
    """What "Pay online" does: a POST in a new top-level tab, without the iframe's cookie."""
    tab = TestClient(app)
    data = {} if token is None else {"pay_token": token}
    return tab.post(f"/t/{tenant}/payments/{payment}/checkout", data=data, headers=headers,
                    follow_redirects=False)


def gateway_url(page_html: str) -> str:
    """Where the new tab's page sends the browser (its meta refresh)."""
    found = re.search(r'http-equiv="refresh" content="0;url=([^"]+)"', page_html)
    assert found, page_html[:500]
    return html.unescape(found.group(1))


def pdf_text(body: bytes) -> str:
    """The words of a PDF, whitespace collapsed."""
    reader = PdfReader(io.BytesIO(body))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def qr_image(svg: str) -> Image.Image:
    """Draw segno's inline SVG (one path of horizontal runs) as a black-on-white image, so a
    real decoder can read the QR code exactly as the page shows it."""
    box = re.search(r'viewBox="0 0 (\d+) (\d+)"', svg)
    scale = 4
    width, height = int(box.group(1)), int(box.group(2))
    path = re.search(r' d="([^"]+)"', svg).group(1)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    x = y = 0.0
    for command, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?:[ ,](-?[\d.]+))?", path):
        if command == "M":
            x, y = float(a), float(b)
        elif command == "m":
            x, y = x + float(a), y + float(b)
        else:  # a horizontal run of dark modules, drawn through the middle of its row
            run = float(a)
            draw.rectangle([x * scale, (y - .5) * scale, (x + run) * scale - 1,
                            (y + .5) * scale - 1], fill=0)
            x += run
    return image
