"""A parent inside the provider's page, on a phone and on a computer: log in, switch child,
open a booking, see its sessions, move between sections; every screen passes axe-core."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Frame, Page, expect

from e2e.test_login_in_iframe import greeting, log_in

SARAH = "sarah.thompson@example.com"  # two children in different programmes
AXE = Axe()


def widget_frame(page: Page) -> Frame:
    return page.locator("iframe[title='Client Profile']").element_handle().content_frame()


def assert_accessible(frame: Frame, screen: str) -> None:
    """No serious or critical axe-core violation on this screen."""
    results = AXE.run(frame)
    bad = [f"{v['id']} ({v['impact']}): {v['help']} -> "
           f"{[n['target'] for n in v['nodes']][:3]}"
           for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, f"{screen}: " + "; ".join(bad)


def section_link(widget, name: str, sections: str = "Sections"):
    """The section navigation's entry: tabs in the widget, or, on a phone inside the provider's
    page, the bar the snippet fixes to the bottom of that page (a bar at the bottom of the
    screen too when the profile is opened on its own). `sections` names the navigation in the
    school's language ("Sekcie" in Slovak)."""
    page = widget.owner.page if hasattr(widget, "owner") else widget
    tabs = widget.get_by_role("navigation", name=sections).get_by_role("link", name=name)
    bar = page.get_by_role("navigation", name=sections).get_by_role("button", name=name)
    for _ in range(50):
        for entry in (bar, tabs):
            if entry.is_visible():
                return entry
        page.wait_for_timeout(100)
    return tabs


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_a_parent_finds_everything_about_both_children(
        viewport, open_context, provider_sites, inbox, shoot):
    page = open_context(viewport).new_page()
    page.goto(provider_sites.url("provider.test", "/my-profile"))
    widget = page.frame_locator("iframe[title='Client Profile']")
    assert_accessible(widget_frame(page), "login")
    log_in(widget, inbox, SARAH)
    expect(widget.get_by_role("heading", level=1)).to_have_text(greeting("Sarah Thompson"))
    assert_accessible(widget_frame(page), "home")
    shoot(page, f"{viewport}-profile-home")

    members = widget.get_by_role("navigation", name="Family members")
    expect(members.get_by_role("link")).to_have_count(2)
    members.get_by_role("link", name=re.compile("Mia")).click()
    expect(widget.get_by_role("heading", name="Next for Mia")).to_be_visible()
    expect(members.get_by_role("link", name=re.compile("Mia"))).to_have_attribute(
        "aria-current", "true")
    shoot(page, f"{viewport}-profile-home-mia")

    widget.get_by_role("link", name="Improvers (Stage 3)").first.click()
    expect(widget.get_by_role("heading", level=1)).to_have_text(
        re.compile("Improvers \\(Stage 3\\)"))
    assert_accessible(widget_frame(page), "booking dashboard")
    shoot(page, f"{viewport}-profile-booking")

    widget.get_by_role("link", name=re.compile("^(All )?[Ss]essions")).first.click()
    expect(widget.get_by_text("Attended").first).to_be_visible()
    expect(widget.get_by_text("Upcoming").first).to_be_visible()
    assert_accessible(widget_frame(page), "sessions")
    shoot(page, f"{viewport}-profile-sessions")

    for name, screen in [("Benefits", "benefits"), ("Orders", "orders"),
                         ("Account", "account"), ("Bookings", "home")]:
        link = section_link(widget, name)
        expect(link).to_be_visible()
        link.click()
        expect(section_link(widget, name)).to_have_attribute("aria-current", "page")
        assert_accessible(widget_frame(page), screen)
        shoot(page, f"{viewport}-profile-{screen}")
    # The child chosen earlier is remembered on the server-side session.
    expect(widget.get_by_role("heading", name="Next for Mia")).to_be_visible()


def test_keyboard_users_reach_every_section(open_context, provider_sites, widget, inbox):
    """Top-level (the hosted profile), tabbing reaches the section navigation."""
    page = open_context().new_page()
    page.goto(widget.url("login"))
    log_in(page, inbox, SARAH)
    expect(page.get_by_role("heading", level=1)).to_have_text(greeting("Sarah Thompson"))
    focused = []
    for _ in range(40):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.textContent.trim()"))
    for name in ("Benefits", "Orders", "Account"):
        assert any(name in text for text in focused), (name, focused)
