"""The school's office manager, on a phone and on a laptop, logs in to the provider console
with the e-mailed code, finds a family by a child's name and opens its profile as the family
sees it, read-only; every screen passes axe-core."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from e2e.conftest import SCREENSHOTS
from e2e.test_profile_journeys import assert_accessible

OWNER = "office@splashswim.example"
CODE = re.compile(r"Your console login code: (\d{6})")


def log_in_to_console(page, widget, inbox) -> None:
    page.goto(f"{widget.origin}/console/demo/login")
    expect(page.get_by_role("heading", name="Log in to the console")).to_be_visible()
    page.get_by_label("E-mail address").fill(OWNER)
    page.get_by_role("button", name="Send me a login code").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    code = CODE.search(inbox.next_to(OWNER)["Subject"]).group(1)
    page.locator("input[name=code]").fill(code)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Console")


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_the_office_helps_a_family_from_the_console(open_context, widget, inbox, shoot, size):
    page = open_context(size).new_page()
    log_in_to_console(page, widget, inbox)
    assert_accessible(page.main_frame, "console home")
    shoot(page, f"{size}-console-home")

    page.get_by_role("link", name="Families").first.click()
    page.get_by_label("E-mail, name or child's name").fill("oliver")
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("heading", name="1 family found")).to_be_visible()
    assert_accessible(page.main_frame, "console search")
    page.get_by_role("link", name=re.compile("Sarah Thompson")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sarah Thompson")
    assert_accessible(page.main_frame, "console family")
    shoot(page, f"{size}-console-family")

    page.get_by_role("button", name="View as this family").click()
    banner = page.get_by_role("status").filter(has_text="Read-only view")
    expect(banner).to_contain_text("Sarah Thompson")
    expect(banner).to_contain_text(OWNER)
    assert_accessible(page.main_frame, "the family's profile, read-only")
    shoot(page, f"{size}-console-view-as")


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_the_owner_checks_the_schools_colours_on_sample_screens(open_context, widget, inbox,
                                                               size):
    page = open_context(size).new_page()
    log_in_to_console(page, widget, inbox)
    page.get_by_role("link", name="Get started").first.click()
    page.get_by_role("link", name="Open the theme preview").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Theme preview")
    contrast = page.locator("section", has=page.get_by_role("heading", name="Colour contrast"))
    expect(contrast.get_by_text("passes")).to_have_count(3)

    # Home, sessions and payment, each at a phone's and a computer's width: the widget's own
    # screens, with the sample family, drawn in the school's theme, not to be clicked.
    frames = page.locator("iframe")
    expect(frames).to_have_count(6)
    for i, width in enumerate([390, 1024] * 3):  # phone, desktop; per screen
        frame = frames.nth(i)
        frame.scroll_into_view_if_needed()
        expect(frame).to_have_attribute("inert", "")
        inside = frame.element_handle().content_frame()
        inside.wait_for_load_state()
        assert inside.evaluate("innerWidth") == width
        assert inside.evaluate("getComputedStyle(document.documentElement)"
                               ".getPropertyValue('--cp-primary').trim()") == "#0b5cad"
    home, sessions, payment = (frames.nth(i).content_frame for i in (0, 2, 4))
    expect(home.get_by_role("heading", level=1)).to_have_text("Hello, Sarah Thompson")
    expect(sessions.get_by_role("heading", name="Upcoming")).to_be_visible()
    expect(payment.get_by_text("Pay by bank transfer")).to_be_visible()
    # On a phone the sections sit in one row at the bottom, all five of them.
    tops = home.locator("nav.cp-nav a").evaluate_all(
        "links => links.map(a => Math.round(a.getBoundingClientRect().top))")
    assert len(tops) == 5 and len(set(tops)) == 1, tops
    assert_accessible(page.main_frame, "console theme preview")
    # Same-origin frames paint in a full-page shot (the `shoot` fixture frames cross-site ones).
    page.screenshot(path=SCREENSHOTS / f"{size}-console-theme.png", full_page=True)

    # A lighter blue, tried: hard to read under white text, and every screen shows it.
    page.get_by_label("Main colour", exact=True).fill("#a0c4ff")
    page.get_by_role("button", name="Preview these colours").click()
    expect(contrast.get_by_text("1 colour pair is hard to read")).to_be_visible()
    expect(contrast.get_by_text("1.8:1 – too low")).to_be_visible()
    expect(page.get_by_text("You are looking at colours that are not saved.")).to_be_visible()
    expect(page.locator("#theme-toml")).to_have_text('[theme]\nprimary = "#a0c4ff"\n')
    first = frames.first
    first.scroll_into_view_if_needed()
    expect(first.content_frame.get_by_role("heading", level=1)).to_be_visible()
    assert first.element_handle().content_frame().evaluate(
        "getComputedStyle(document.documentElement).getPropertyValue('--cp-primary').trim()"
    ) == "#a0c4ff"
    assert_accessible(page.main_frame, "console theme preview, colours tried")
    page.locator("section", has=page.get_by_role("heading", name="Try other colours")) \
        .screenshot(path=SCREENSHOTS / f"{size}-console-theme-try.png")
