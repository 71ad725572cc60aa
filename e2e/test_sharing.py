"""Sharing a booking, in a real browser on a phone, inside the dance school's website: a parent
shares her daughter's booking with the grandmother, who logs in with her own address and sees
it; when the parent takes access back, the grandmother's open page loses it on the next tap.

The Slovak school's widget speaks Slovak, so the steps find things by their form fields and
addresses rather than by words. Each address gets at most a few login e-mails per run.
"""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import FrameLocator, Page, expect

from e2e.conftest import settled

ZUZANA = "zuzana.stastna@example.com"  # demo-sk, daughter Lea
CODE = re.compile(r"\b(\d{6})\b")


def widget_of(page: Page) -> FrameLocator:
    return page.frame_locator("iframe[title='Client Profile']")


def log_in(widget: FrameLocator, inbox, email: str) -> None:
    """The code journey in any language: e-mail, the code from the real mailbox, typed."""
    widget.locator("input[name=email]").fill(email)
    widget.locator("form[action$='/login'] button[type=submit]").click()
    expect(widget.locator("input[name=code]")).to_be_visible()
    message = inbox.next_to(email)
    widget.locator("input[name=code]").fill(CODE.search(message["Subject"]).group(1))
    widget.locator("form[action$='/login/code'] button[type=submit]").click()
    expect(widget.locator("nav.cp-nav")).to_be_attached()  # tabs, or the page's bottom bar


def test_share_a_booking_and_see_it_from_the_second_adults_login(
        open_context, provider_sites, inbox, shoot, console):
    console.allow(r"status of 404 \(Not Found\)")  # the booking she no longer sees, at the end
    grandma = f"babka.{uuid.uuid4().hex[:8]}@example.com"  # a new address every run

    owner = open_context("phone").new_page()
    owner.goto(provider_sites.url("provider.test", "/piruetka"))
    widget = widget_of(owner)
    log_in(widget, inbox, ZUZANA)
    settled(widget.owner.page)
    widget.locator("a.cp-stretch").first.click()  # her daughter's booking
    expect(widget.locator("h1")).to_be_visible()
    programme = widget.locator("h1").inner_text()
    settled(widget.owner.page)
    widget.locator("nav.cp-tabs a[href$='/sharing']").click()
    expect(widget.locator("#shared-title")).to_be_visible()
    settled(widget.owner.page)  # the provider's page scrolls the new screen into view first
    widget.locator("#share-email").fill(grandma)
    widget.locator("input[name=relation][value=grandparent]").check()
    widget.locator("input[name=access][value=view]").check()
    shoot(owner, "phone-sharing-form")
    widget.locator("form[action$='/sharing'] button[type=submit]").click()
    expect(widget.locator("p.cp-notice[role=status]")).to_contain_text(grandma)
    expect(widget.locator(".cp-share-list")).to_contain_text(grandma)
    shoot(owner, "phone-sharing-shared")

    invite = inbox.next_to(grandma)
    assert invite["Subject"] == "Zuzana Šťastná s vami zdieľa rezerváciu (Lea Šťastná)"
    assert "cp-hint=" in invite.get_body(("plain",)).get_content()

    second = open_context("phone").new_page()  # the grandmother's own phone
    second.goto(provider_sites.url("provider.test", "/piruetka"))
    theirs = widget_of(second)
    log_in(theirs, inbox, grandma)
    card = theirs.locator("li.cp-booking")
    expect(card).to_have_count(1)
    expect(card).to_contain_text(programme)
    settled(card.page)
    card.locator("a.cp-stretch").click()
    expect(theirs.locator("h1")).to_have_text(programme)
    expect(theirs.locator(".cp-booking-head")).to_contain_text("Lea")
    shoot(second, "phone-sharing-grandma-booking")

    # The parent takes access back; the grandmother's open page loses the booking at once.
    widget.locator("li[data-share] form button[type=submit]").first.click()
    expect(widget.locator(".cp-share-list")).not_to_contain_text(grandma)
    second.reload()  # the provider's page reopens the booking she was looking at
    expect(theirs.locator(".cp-error-page")).to_be_visible()  # gone: not found
    settled(second)
    theirs.locator(".cp-error-page a.cp-button").click()
    expect(theirs.locator("nav.cp-nav")).to_be_attached()
    expect(theirs.locator("li.cp-booking")).to_have_count(0)


def test_the_sharing_screen_on_a_desktop(open_context, provider_sites, inbox, shoot):
    page = open_context("desktop").new_page()
    page.goto(provider_sites.url("provider.test", "/piruetka"))
    widget = widget_of(page)
    log_in(widget, inbox, "tomas.kral@example.com")
    settled(widget.owner.page)
    widget.locator("a.cp-stretch").first.click()
    expect(widget.locator("nav.cp-tabs")).to_be_visible()  # the booking's screen, then settle
    settled(widget.owner.page)
    widget.locator("nav.cp-tabs a[href$='/sharing']").click()
    expect(widget.locator("#invite-title")).to_be_visible()
    shoot(page, "desktop-sharing")
    settled(page)
    widget.locator("nav.cp-nav a[href$='/account']").click()
    expect(widget.locator("#notify-title")).to_be_visible()
    shoot(page, "desktop-account")

