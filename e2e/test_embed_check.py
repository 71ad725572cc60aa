"""The school checks where its profile works. The snippet on its own site (provider.test, in
allowed_origins) reports the page, origin and path only, and the console says it works; on a
site that is not allowed (rogue.test) the browser refuses the frame, and the snippet puts its
plain link back within seconds and says in the console which origin to add, and the console
says "add it". The Get started page passes axe-core on a phone and a laptop."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, Request, expect

from e2e.test_profile_journeys import assert_accessible

OWNER = "office@splashswim.example"
CODE = re.compile(r"Your console login code: (\d{6})")
OURS = "Client Profile:"  # how the snippet's own console messages begin


def console_login(page: Page, widget, inbox) -> None:
    page.goto(f"{widget.origin}/console/demo/login")
    page.get_by_label("E-mail address").fill(OWNER)
    page.get_by_role("button", name="Send me a login code").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    page.locator("input[name=code]").fill(CODE.search(inbox.next_to(OWNER)["Subject"]).group(1))
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Console")


def reports_of(page: Page) -> list[Request]:
    """The snippet's reports (POST /embed/seen/...) this page sends from now on."""
    sent: list[Request] = []
    page.on("request", lambda r: sent.append(r) if "/embed/seen/" in r.url else None)
    return sent


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_the_console_shows_where_the_profile_works_and_where_it_is_refused(
        size, open_context, provider_sites, widget, inbox, console, shoot):
    console.allow(r"frame-ancestors")  # Chromium's own report of the refused frame
    console.allow(re.escape(OURS))  # counted below: exactly one, on the refused site
    errors: list[str] = []
    context = open_context(size)

    # On the school's own page (a query and a fragment in its address) the widget works.
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sent = reports_of(page)
    page.goto(provider_sites.url("provider.test", "/my-profile?utm_source=mail#top"))
    widget_frame = page.frame_locator("iframe[title='Client Profile']")
    expect(widget_frame.get_by_role("heading", name="Log in to your profile")).to_be_visible()
    page.wait_for_timeout(3500)  # past the snippet's wait for a refused frame
    expect(page.locator("iframe[title='Client Profile']")).to_have_count(1)
    [report] = sent
    assert report.method == "POST"
    assert report.post_data == provider_sites.url("provider.test", "/my-profile")
    assert report.url == f"{widget.origin}/embed/seen/demo"
    assert "cookie" not in report.all_headers()
    assert report.response().status == 204
    assert [e for e in errors if OURS in e] == []

    # On a site not in allowed_origins: the plain link is back within a few seconds, and one
    # console error says which origin to add.
    rogue = context.new_page()
    rogue.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sent = reports_of(rogue)
    started = time.monotonic()
    rogue.goto(provider_sites.url("rogue.test", "/my-profile"))
    link = rogue.get_by_role("link", name="My profile")
    expect(link).to_be_visible(timeout=8000)
    assert time.monotonic() - started < 8
    assert link.get_attribute("href") == widget.url()
    expect(rogue.locator("iframe")).to_have_count(0)
    rogue.wait_for_timeout(1000)  # time for a second message, should there be one
    rogue_origin = provider_sites.url("rogue.test", "")
    assert [e for e in errors if OURS in e] == [
        f"Client Profile: {rogue_origin} may not show this widget. Add it to allowed_origins "
        "of tenant 'demo'."]
    assert [r.post_data for r in sent] == [f"{rogue_origin}/my-profile"]
    shoot(rogue, f"{size}-embed-refused-fallback")

    # The school's console: the snippet to copy, and both pages with what to do.
    office = context.new_page()
    console_login(office, widget, inbox)
    office.get_by_role("link", name="Get started").first.click()
    expect(office.get_by_role("heading", level=1)).to_have_text("Get started")
    seen = office.get_by_role("region", name="Where the profile was seen")
    school = re.escape(provider_sites.url("provider.test", "/my-profile"))
    expect(seen).to_contain_text(re.compile(
        rf"Seen on {school} (just now|\d+ minutes? ago) – working"))
    expect(seen).to_contain_text(
        f"Refused on {rogue_origin} (not in allowed origins: add it)")
    snippet = office.locator("pre#snippet")
    expect(snippet).to_contain_text('<div data-client-profile data-tenant="demo">')
    expect(snippet).to_contain_text(f'<script src="{widget.origin}/embed.js" async></script>')
    copy = office.get_by_role("button", name="Copy the snippet")
    copy.click()
    expect(copy).to_have_attribute("data-copied", "true")
    assert office.evaluate("getSelection().toString()") == snippet.inner_text()
    assert_accessible(office.main_frame, "console, get started")
    shoot(office, f"{size}-console-get-started")
