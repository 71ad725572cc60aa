"""Every e-mail a parent gets fits a phone: each HTML template, rendered the way the service
sends it (both schools, long names and addresses), is opened in Chromium at 390 px and
must not scroll sideways."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from playwright.sync_api import Page

from widget_server.app import create_app
from widget_server.core.settings import PACKAGE_DIR, Settings
from widget_server.delivery.notices import Notices
from widget_server.demo import TENANTS_DIR as DEMO_TENANTS

EMAILS = PACKAGE_DIR / "templates" / "email"
START = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
LONG_EMAIL = "margaret.thompson-fitzgerald.grandparent@a-very-long-family-domain.example.com"
CHILD = SimpleNamespace(name="Maximilian-Alexander Thompson-Fitzgerald")
SESSION = SimpleNamespace(starts_at=START, ends_at=START + timedelta(minutes=45),
                          location="Learner pool, Harbourside Leisure Centre")
PROGRAMME = SimpleNamespace(name="Improvers (Stage 3) with Badge Preparation", venue="",
                            online=False)
# What each sender passes (see the `notices.send` calls); one entry per HTML template.
CONTEXTS: dict[str, dict] = {
    "login": {"code": "123456", "minutes": 15},
    "deletion_requested": {"name": "Sarah Thompson"},
    "email_change_code": {"name": "Sarah Thompson", "code": "654321", "minutes": 15},
    "email_change_taken": {"name": "Maximilian-Alexander Thompson-Fitzgerald"},
    "email_changed": {"name": "Sarah Thompson", "old": LONG_EMAIL,
                      "new": "sarah.thompson.new-address@example.com"},
    "makeup_booked": {"attendee": CHILD, "session": SESSION, "programme": PROGRAMME},
    "makeup_expiring": {"attendee": CHILD,
                        "credit": SimpleNamespace(expires_at=START + timedelta(days=7))},
    "makeup_offer": {"attendee": CHILD, "session": SESSION, "programme": PROGRAMME,
                     "hold_until": START - timedelta(hours=20)},
    "session_reminder": {"attendee": CHILD, "session": SESSION, "programme": PROGRAMME},
    "share_added": {"owner": "Sarah Thompson", "child": CHILD.name, "programme": PROGRAMME.name,
                    "invitee": "another adult", "level": "view"},
    "share_invite": {"owner": "Sarah Thompson", "child": CHILD.name,
                     "programme": PROGRAMME.name, "invitee": LONG_EMAIL, "level": "full"},
    "report_card": {"attendee": CHILD, "card": SimpleNamespace(term="Autumn term 2026"),
                    "level": SimpleNamespace(name="Stage 3: Front crawl and first dives")},
    "offer_accepted": {"card": SimpleNamespace(child=CHILD.name), "choice": SimpleNamespace(
        label="Saturdays 10:00, main pool, lanes 1-3", programme=PROGRAMME, first=SESSION)},
    "offer_declined": {"card": SimpleNamespace(child=CHILD.name)},
    "offer_expired": {"attendee": CHILD, "offer": SimpleNamespace(deadline=START.date())},
    "offer_reminder": {"attendee": CHILD, "days": 1, "classes": [
        "Saturdays 10:00, main pool, lanes 1-3", PROGRAMME.name], "offer": SimpleNamespace(
        deadline=START.date(), title="Spring term 2027 – priority re-enrolment",
        hold_places=True)},
    "offer_withdrawn": {"attendee": CHILD, "classes": [PROGRAMME.name], "offer": SimpleNamespace(
        title="Spring term 2027", message="The Saturday group will not run next term.\n"
        "We are sorry.")},
    "switch_switched": {"attendee": CHILD, "old": PROGRAMME, "first": SESSION,
                        "new": SimpleNamespace(name="Improvers (Stage 3) – Wednesdays",
                                               schedule="Wednesdays 16:30-17:15",
                                               venue="Harbourside Leisure Centre"),
                        "change": SimpleNamespace(moves=[[1, 2, 3]] * 9, price_difference=2700,
                                                  currency="GBP")},
    "switch_requested": {"attendee": CHILD, "old": PROGRAMME, "new": SimpleNamespace(
        name="Improvers (Stage 3) – Wednesdays", schedule="Wednesdays 16:30-17:15")},
    "switch_declined": {"attendee": CHILD, "old": PROGRAMME, "new": SimpleNamespace(
        name="Improvers (Stage 3) – Wednesdays"), "change": SimpleNamespace(
        message="Wednesdays are full until January; we will let you know.")},
    "console_login": {"code": "123456", "minutes": 15,
                      "link": "https://profile.example.com/console/demo/login/link?token=x"},
}


def test_every_html_email_has_a_sample():
    templates = {p.stem for p in EMAILS.glob("*.html") if not p.name.startswith("_")}
    assert templates == set(CONTEXTS)


@pytest.fixture(scope="module")
def emails(tmp_path_factory) -> dict[str, Path]:
    """Each e-mail, in each school's theme and language, as a file."""
    directory = tmp_path_factory.mktemp("emails")
    settings = Settings(database_url=f"sqlite:///{directory / 'unused.db'}",
                        secret_keys=("emails",), base_url="https://profile.example.com",
                        tenants_dir=DEMO_TENANTS, smtp_host="127.0.0.1",
                        smtp_port=2525, smtp_tls="none")  # never used: nothing is sent
    app = create_app(settings)
    files = {}
    for slug in ("demo", "demo-sk"):
        notices = Notices.of(app, app.state.tenants.get(slug))
        for name, context in CONTEXTS.items():
            letter = notices.compose(name, None, lambda: "", reader=LONG_EMAIL, **context)
            files[f"{slug}-{name}"] = directory / f"{slug}-{name}.html"
            files[f"{slug}-{name}"].write_text(letter["html"], encoding="utf-8")
    app.state.engine.dispose()
    return files


def test_every_email_fits_a_390px_phone(emails, new_context, shoot):
    # A layout viewport of 390 CSS px, as a mail app gives the message (a mobile page without
    # a viewport tag would be laid out at 980 px and shrunk, hiding the overflow).
    page: Page = new_context(viewport={"width": 390, "height": 844}).new_page()
    too_wide = []
    for name, path in emails.items():
        page.goto(path.as_uri())
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth")
        if overflow > 0:
            too_wide.append(f"{name}: {overflow}px")
    assert not too_wide, too_wide
    page.goto(emails["demo-share_invite"].as_uri())
    shoot(page, "phone-email-share-invite")
