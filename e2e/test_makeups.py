"""A parent whose child will miss a class cancels it in two taps and books a make-up in a
session that really has a free place: in a real browser on a phone, inside the dance school's
website (a cross-site iframe, third-party cookies blocked).

The Slovak school's widget speaks Slovak, so the steps find things by form fields, addresses
and roles rather than by words. Each demo address may receive only a few login e-mails per
run (and all tests share 20 per 15 minutes from one address), so this story logs in once,
as someone no other browser test uses.
"""

from __future__ import annotations

import re

from playwright.sync_api import FrameLocator, Page, expect

from e2e.conftest import settled

MONIKA = "monika.ziakova@example.com"  # demo-sk: Bianka in the full beginners' ballet
CODE = re.compile(r"\b(\d{6})\b")


def widget_of(page: Page) -> FrameLocator:
    return page.frame_locator("iframe[title='Client Profile']")


def log_in(widget: FrameLocator, inbox, email: str) -> None:
    """The code journey in any language: e-mail, the code from the real mailbox, typed."""
    widget.locator("input[name=email]").fill(email)
    widget.locator("form:has(input[name=email]) button[type=submit]").click()
    expect(widget.locator("input[name=code]")).to_be_visible()
    widget.locator("input[name=code]").fill(CODE.search(inbox.next_to(email)["Subject"])[1])
    widget.locator("form:has(input[name=code]) button[type=submit]").click()
    expect(widget.locator("nav.cp-nav")).to_be_attached()  # tabs, or the page's bottom bar


def open_sessions(widget: FrameLocator) -> None:
    settled(widget.owner.page)
    widget.locator("a.cp-stretch").first.click()  # the child's booking
    expect(widget.locator("nav.cp-tabs")).to_be_visible()  # the booking's screen, then settle
    settled(widget.owner.page)
    widget.locator("nav.cp-tabs a[href$='/sessions']").click()
    expect(widget.locator("#upcoming-title")).to_be_visible()


def test_cancel_a_session_and_book_a_make_up_on_a_phone(
        open_context, provider_sites, inbox, shoot):
    page = open_context("phone").new_page()
    page.goto(provider_sites.url("provider.test", "/piruetka"))
    widget = widget_of(page)
    log_in(widget, inbox, MONIKA)
    open_sessions(widget)
    shoot(page, "phone-makeups-1-sessions")

    cancel = widget.locator("a[href$='/cancel']").first  # the soonest that can still go
    cancelled_session = re.search(r"/sessions/([^/]+)/cancel", cancel.get_attribute("href"))[1]
    settled(page)
    cancel.click()  # tap one
    submit = widget.locator("form[action$='/cancel'] button[type=submit]")
    expect(submit).to_be_visible()
    shoot(page, "phone-makeups-2-confirm-cancel")
    settled(page)
    submit.click()  # tap two

    done = widget.locator(".cp-done")
    expect(done).to_be_visible()
    row = widget.locator(f"#session-{cancelled_session}")
    expect(row).to_have_attribute("data-status", "excused")
    shoot(page, "phone-makeups-3-cancelled")

    settled(page)
    # Straight to the make-up's options, from the keyboard: a tap here raced the provider
    # page's layout settling after the redirect and sometimes landed outside the frame.
    done.locator("a[href*='/makeups/']").press("Enter")
    options = widget.locator("a[href*='/makeups/'][href*='/sessions/']")
    expect(options.first).to_be_visible()
    assert widget.locator(".cp-places").count() == options.count()  # each says its free places
    shoot(page, "phone-makeups-4-options")
    chosen = re.search(r"/sessions/([^/?]+)$", options.first.get_attribute("href"))[1]
    assert chosen != cancelled_session
    settled(page)
    options.first.click()
    confirm = widget.locator("form[action*='/makeups/'] button[type=submit]")
    expect(confirm).to_be_visible()
    shoot(page, "phone-makeups-5-confirm-makeup")
    settled(page)
    confirm.click()

    booked = widget.locator(f"#session-{chosen}")
    expect(booked).to_have_attribute("data-status", "scheduled")
    expect(booked.locator(".cp-badge[data-tone=purple]")).to_be_visible()  # marked make-up
    expect(widget.locator(".cp-done")).to_be_visible()
    shoot(page, "phone-makeups-6-booked")
    confirmation = inbox.next_to(MONIKA)
    assert confirmation["Subject"].startswith("Náhrada rezervovaná: Bianka Žiaková")

    # Reschedule the next Saturday in one step (the extra Friday class has room), then look
    # at the same screens on a desktop: one login, as every demo address gets only a few.
    settled(page)
    # From the keyboard, as above: the page has just changed under the tap.
    widget.locator("a[href$='/move']").first.press("Enter")
    move_here = widget.locator("form[action$='/move'] button[type=submit]")
    expect(move_here.first).to_be_visible()
    target = widget.locator("form[action$='/move'] input[name=to]").first.get_attribute("value")
    shoot(page, "phone-makeups-7-reschedule")
    settled(page)
    move_here.first.click()
    moved = widget.locator(f"#session-{target}")
    expect(moved).to_have_attribute("data-status", "scheduled")
    expect(moved.locator(".cp-badge[data-tone=purple]")).to_be_visible()  # "rescheduled"
    page.set_viewport_size({"width": 1280, "height": 800})
    shoot(page, "desktop-makeups-1-sessions")
    settled(page)
    widget.locator("a[href$='/cancel']").first.click()
    shoot(page, "desktop-makeups-2-confirm-cancel")
    widget.locator("form[action$='/cancel'] button[type=submit]").click()
    expect(widget.locator(".cp-done a[href*='/makeups/']")).to_be_visible()
    settled(page)
    widget.locator(".cp-done a[href*='/makeups/']").click()
    expect(widget.locator(".cp-week").first).to_be_visible()
    shoot(page, "desktop-makeups-3-options")
