"""The school's office manager, on a phone and on a laptop, logs in to the provider console
with the e-mailed code, finds a family by a child's name and opens its profile as the family
sees it, read-only; every screen passes axe-core."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from e2e.test_profile_journeys import assert_accessible

OWNER = "office@splashswim.example"
CODE = re.compile(r"Your console login code: (\d{6})")


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_the_office_helps_a_family_from_the_console(open_context, widget, inbox, shoot, size):
    page = open_context(size).new_page()
    page.goto(f"{widget.origin}/console/demo/login")
    expect(page.get_by_role("heading", name="Log in to the console")).to_be_visible()
    page.get_by_label("E-mail address").fill(OWNER)
    page.get_by_role("button", name="Send me a login code").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    code = CODE.search(inbox.next_to(OWNER)["Subject"]).group(1)
    page.locator("input[name=code]").fill(code)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Console")
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
