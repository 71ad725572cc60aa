"""Before the profile goes on the school's site, the owner checks its colours: the console's
theme preview draws the widget's home, sessions and payment screens with a sample family in the
school's theme (framed by the console only, read-only), and lists the contrast checks that
`widget-server tenants check` computes. The browser half (phone and desktop side by side, axe)
is in e2e/test_console.py."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from pathlib import Path

import pytest
from console_support import COACH, OWNER, staff_browser
from payment_support import tenants_copy
from profile_support import browser, demo_app, text_of
from sqlmodel import Session, func, select

from widget_server.console import preview
from widget_server.core.models import Client, Payment, WebSession
from widget_server.core.tenants import Theme, contrast_checks, contrast_warnings

SCREENS = ("home", "sessions", "payment")


def frames_of(page: str) -> list[str]:
    return re.findall(r'<iframe src="([^"]+)"', page)


def counts(app) -> dict[str, int]:
    with Session(app.state.engine) as db:
        return {model.__name__: db.exec(select(func.count()).select_from(model)).one()
                for model in (Client, Payment, WebSession)}


def test_the_preview_shows_each_screen_at_phone_and_desktop_width(app, client, mailbox):
    staff = staff_browser(app, mailbox, COACH)  # any staff member, not only the owner
    page = staff.open("theme")
    assert page.status_code == 200
    assert frames_of(page.text) == [f"http://testserver/console/demo/theme/{name}"
                                    for name in SCREENS for _ in ("phone", "desktop")]
    text = text_of(page.text)
    assert "Phone, 390 × 844 px" in text and "Computer, 1024 × 768 px (shown smaller)" in text
    assert page.text.count(" inert ") == 6  # pictures: nothing in them to click or tab to
    # Found from Get started, where the embed is set up, and from the overview.
    assert "/console/demo/theme" in staff.open("start").text
    assert "/console/demo/theme" in staff.open("").text


def test_each_screen_is_the_widgets_own_with_the_sample_family_in_the_schools_theme(
        app, client, mailbox):
    """The tenant's database has no family at all: the sample comes from elsewhere."""
    staff = staff_browser(app, mailbox, OWNER)
    assert counts(app)["Client"] == 0
    home, sessions, payment = (staff.open(f"theme/{name}") for name in SCREENS)
    for screen in (home, sessions, payment):
        assert screen.status_code == 200
        assert "--cp-primary: #0b5cad" in screen.text  # Splash's theme
        assert "widget.js" not in screen.text  # drawn as the hosted page: never framed by a site
        assert "Read-only view" not in screen.text  # no view-as banner: nobody's real profile
    assert "Hello, Sarah Thompson" in text_of(home.text)
    assert "A place next term: Oliver" in text_of(home.text)
    assert "Beginners (Stage 1)" in text_of(sessions.text) and "Upcoming" in text_of(
        sessions.text)
    assert "Pay by bank transfer" in text_of(payment.text)
    assert "GB33 BUKB 2020 1555 5555 55" in text_of(payment.text)  # Splash's own bank details


def test_the_preview_neither_reads_nor_changes_the_schools_families(demo, mailbox):
    staff = staff_browser(demo, mailbox, OWNER)
    before = counts(demo)
    with Session(demo.state.engine) as db:  # a real family's name the sample must not show
        real = db.exec(select(Client).where(Client.tenant == "demo")).all()
    for name in SCREENS:
        assert staff.open(f"theme/{name}").status_code == 200
    assert counts(demo) == before
    samples = demo.state.preview_samples
    assert len(samples._engines) == 1  # one sample database for the tenant, built once
    with Session(next(iter(samples._engines.values()))) as db:
        sample = db.exec(select(Client)).all()
    assert {c.tenant for c in sample} == {"demo"}
    assert len(real) > 0 and len(sample) > 0


def test_a_slovak_school_sees_a_slovak_sample_family(app, client, mailbox):
    staff = staff_browser(app, mailbox, "kancelaria@piruetka.example", tenant="demo-sk")
    page = text_of(staff.open("theme").text)
    assert "Náhľad vzhľadu" in page
    assert "Dobrý deň, Jana Kováčová" in text_of(staff.open("theme/home").text)


def test_contrast_warnings_are_those_tenants_check_prints(settings, tmp_path, mailbox):
    """A light main colour under white button text: the check fails, and says by how much."""
    tenants = tenants_copy(tmp_path / "tenants", demo={"primary": "#7fb2e5"})
    with demo_app(replace(settings, tenants_dir=tenants)) as app:
        theme = app.state.tenants.get("demo").config.theme
        assert len(contrast_warnings(tenants / "demo.toml", theme)) == 1
        failing = [c for c in contrast_checks(theme) if not c.passes]
        assert [(c.fg, c.bg) for c in failing] == [("primary_text", "primary")]
        staff = staff_browser(app, mailbox, OWNER)
        page = text_of(staff.open("theme").text)
        assert "1 colour pair is hard to read" in page
        assert f"Button text on your main colour {failing[0].ratio:.1f}:1 – too low" in page
        assert page.count("passes") == 2
        assert "--cp-primary: #7fb2e5" in staff.open("theme/home").text


def test_the_sample_speaks_in_the_schools_currency_and_time_zone(settings, tmp_path, mailbox):
    """A school in New York: dollar amounts, the sample's classes at 09:00 there (not at
    London's 09:00, which would be 04:00)."""
    tenants = tenants_copy(tmp_path / "tenants", demo={
        "currency": "USD", "timezone": "America/New_York", "country": "US"})
    with demo_app(replace(settings, tenants_dir=tenants)) as app:
        staff = staff_browser(app, mailbox, OWNER)
        payment = text_of(staff.open("theme/payment").text)
        assert "US$54.00" in payment and "£" not in payment
        assert "09:00–09:45" in text_of(staff.open("theme/sessions").text)


def test_the_default_theme_passes_every_check_and_just_under_4_5_fails():
    assert all(c.passes for c in contrast_checks(Theme()))
    grey = contrast_checks(Theme(text="#777777"))[0]  # #777 on white: 4.48:1
    assert (grey.fg, grey.bg, round(grey.ratio, 2), grey.passes) == (
        "text", "background", 4.48, False)


@pytest.mark.parametrize("path", ["theme", *(f"theme/{name}" for name in SCREENS)])
def test_only_this_schools_staff_see_its_preview(app, client, mailbox, path):
    # Nobody logged in, and a family logged in to the widget: the console's login page.
    assert client.get(f"/console/demo/{path}", follow_redirects=False).headers[
        "location"].endswith("/console/demo/login")
    # Another school's staff member: its session is no good here.
    other = staff_browser(app, mailbox, "kancelaria@piruetka.example", tenant="demo-sk")
    answer = other.client.get(f"/console/demo/{path}", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].endswith(
        "/console/demo/login")


def test_a_familys_session_never_opens_the_preview(demo, mailbox):
    sarah = browser(demo, mailbox, "sarah.thompson@example.com")
    answer = sarah.client.get("/console/demo/theme/home", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].endswith(
        "/console/demo/login")


def test_screens_are_framed_by_the_console_only_and_unknown_ones_are_404(app, client,
                                                                        mailbox):
    staff = staff_browser(app, mailbox, OWNER)
    assert "frame-ancestors 'self'" in staff.open("theme/home").headers[
        "content-security-policy"]
    assert "frame-ancestors 'none'" in staff.open("theme").headers["content-security-policy"]
    missing = staff.open("theme/invoices")
    assert missing.status_code == 404 and "There is no such preview." in missing.text


def test_a_process_keeps_a_few_sample_databases(app, client, mailbox, monkeypatch):
    monkeypatch.setattr(preview, "KEPT", 1)
    owner = staff_browser(app, mailbox, OWNER)
    dance = staff_browser(app, mailbox, "kancelaria@piruetka.example", tenant="demo-sk")
    assert owner.open("theme/home").status_code == 200
    first = next(iter(app.state.preview_samples._engines.values()))
    assert dance.open("theme/home").status_code == 200
    assert [key[0] for key in app.state.preview_samples._engines] == ["demo-sk"]
    assert not Path(first.url.database).exists()  # its file is gone
    assert owner.open("theme/home").status_code == 200  # built again when asked again


def test_staff_try_other_colours_before_asking_for_them(app, client, mailbox):
    """A lighter blue looks friendlier, but white button text on it is hard to read: the
    console says so before anyone changes the tenant file, and gives the lines to send."""
    staff = staff_browser(app, mailbox, OWNER)
    page = staff.open("theme?primary=%23a0c4ff&text=%23333")
    text = text_of(page.text)
    assert "1 colour pair is hard to read" in text
    assert "Button text on your main colour 1.8:1 – too low" in text
    assert "You are looking at colours that are not saved." in text
    assert '[theme]\nprimary = "#a0c4ff"\ntext = "#333"\n' in html.unescape(page.text)
    # Every screen is drawn in the colours tried...
    frames = frames_of(html.unescape(page.text))
    assert len(frames) == 6 and all(f.endswith("?primary=%23a0c4ff&text=%23333") for f in frames)
    screen = staff.open(frames[0].removeprefix("http://testserver/console/demo/")).text
    assert "--cp-primary: #a0c4ff" in screen and "--cp-text: #333" in screen
    # ...and nothing is saved: the school's own colours, for the console and everyone else.
    assert app.state.tenants.get("demo").config.theme.primary == "#0b5cad"
    assert "--cp-primary: #0b5cad" in page.text  # the console itself keeps the school's theme
    assert "passes" in text_of(staff.open("theme").text) and "not saved" not in text_of(
        staff.open("theme").text)


@pytest.mark.parametrize("sent", ["red", "#12345", "#fff;}</style><script>alert(1)</script>"])
def test_what_is_not_a_colour_is_named_and_left_out(app, client, mailbox, sent):
    staff = staff_browser(app, mailbox, OWNER)
    page = staff.open("theme", params={"primary": sent, "muted": "#222222"})
    assert page.status_code == 200
    assert "<script>alert" not in page.text
    text = text_of(page.text)
    assert f"“{sent[:20]}” is not a colour like #1f6feb." in text
    assert "--cp-primary: #0b5cad" in staff.open("theme/home", params={"primary": sent}).text
    assert html.unescape(page.text).count('muted = "#222222"') == 1  # the good one is tried
    assert 'primary = ' not in html.unescape(page.text)
