"""Paying inside the provider's page: the click opens the payment page top-level in a new tab
(payment pages refuse to be framed), the gateway reports back to the widget server, and the
widget, still framed in the first tab, turns the payment paid by itself. The gateway is a fake
Stripe on loopback (tests/fake_stripe.py), spoken to by the real `stripe` library."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import FrameLocator, Page, expect

from e2e.conftest import SCREENSHOTS, settled
from e2e.test_login_in_iframe import greeting, log_in
from e2e.test_profile_journeys import assert_accessible, section_link, widget_frame

JAMES = "james.patel@example.com"  # demo: Aisha's £96.00 term, due in two weeks
PETER = "peter.horvath@example.com"  # demo-sk: Lukáš's 90,00 € term


def widget_of(page: Page, nth: int = 0):
    return page.frame_locator("iframe[title='Client Profile']").nth(nth)


def log_in_any_language(where: Page | FrameLocator, inbox, email: str) -> None:
    """The code journey by the form's fields, whatever language the school speaks."""
    where.locator("input[name=email]").fill(email)
    where.locator("form:has(input[name=email]) button[type=submit]").click()
    subject = inbox.next_to(email)["Subject"]
    where.locator("input[name=code]").fill(re.search(r"\b(\d{6})\b", subject).group(1))
    where.locator("form:has(input[name=code]) button[type=submit]").click()


def test_pay_online_in_a_new_tab_and_see_it_paid_in_the_frame(
        open_context, provider_sites, fake_stripe, inbox, shoot):
    context = open_context("phone")
    page = context.new_page()
    page.goto(provider_sites.url("provider.test", "/my-profile"))
    widget = widget_of(page)
    log_in(widget, inbox, JAMES)
    expect(widget.get_by_role("heading", level=1)).to_have_text(greeting("James Patel"))

    section_link(widget, "Orders").click()
    to_pay = widget.locator("#to-pay")
    expect(to_pay).to_contain_text("£96.00")
    to_pay.get_by_role("link", name=re.compile("^Pay")).click()
    expect(widget.get_by_role("heading", level=1)).to_have_text("£96.00")
    expect(widget.get_by_role("heading", name="Pay by bank transfer")).to_be_visible()
    assert_accessible(widget_frame(page), "payment")
    shoot(page, "phone-payment-to-pay")

    before = len(fake_stripe.deliveries)  # the fake serves the whole run
    with page.expect_popup() as opened:
        widget.get_by_role("button", name="Pay £96.00 online").click()
    gateway = opened.value
    expect(gateway).to_have_url(re.compile(re.escape(fake_stripe.url) + r"/pay/cs_test_\w+"))
    expect(gateway.get_by_role("heading", name="Pay 96.00 GBP")).to_be_visible()

    # Meanwhile the framed widget waits, and says so.
    expect(widget.get_by_role("heading", name="Waiting for your payment…")).to_be_visible()
    shoot(page, "phone-payment-waiting")

    gateway.get_by_role("button", name="Pay").click()
    # The gateway sends the client back to the provider's page, on this payment...
    expect(gateway).to_have_url(re.compile(r"/my-profile"))
    expect(widget_of(gateway).get_by_role("heading", name="Paid. Thank you!")).to_be_visible()
    assert fake_stripe.deliveries[before:] == [("checkout.session.completed", 200)]
    # ...and the first tab's widget has turned paid by itself.
    expect(widget.get_by_role("heading", name="Paid. Thank you!")).to_be_visible(timeout=15_000)
    expect(widget.get_by_role("link", name="Receipt (PDF)")).to_be_visible()
    shoot(page, "phone-payment-paid")

    section_link(widget, "Orders").click()
    expect(widget.locator("#to-pay")).to_contain_text("Nothing to pay")
    expect(widget.locator("#payments")).to_contain_text("£96.00")


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_bank_transfer_details_copy_and_show_an_epc_code(
        viewport, open_context, provider_sites, widget, inbox):
    context = open_context(viewport)
    page = context.new_page()
    page.goto(provider_sites.url("provider.test", "/two-schools"))
    school = widget_of(page, 1)  # Tanečná škola Piruetka
    log_in_any_language(school, inbox, PETER)
    expect(school.locator("nav.cp-nav")).to_be_attached()
    settled(page)  # the page scrolls the new screen into view: a click aimed before misses
    school.locator("nav.cp-nav a[href$='/orders']").click()
    expect(school.locator("#to-pay")).to_be_visible()
    settled(page)
    school.locator("#to-pay").get_by_role("link", name=re.compile("^Zaplatiť")).click()
    expect(school.get_by_role("heading", level=1)).to_have_text("90,00 €")
    transfer = school.locator("#transfer")
    expect(transfer).to_contain_text("SK3112000000198742637541")
    expect(transfer.locator("svg.cp-qr")).to_be_visible()

    copy = transfer.get_by_role("button", name="Kopírovať IBAN")
    expect(copy).to_be_visible()  # shown only where scripting runs
    copy.click()
    expect(copy).to_have_attribute("data-copied", "true")
    frame = page.locator("iframe[title='Client Profile']").nth(1).element_handle() \
        .content_frame()
    assert frame.evaluate("getSelection().toString()") == "SK3112000000198742637541"
    transfer.screenshot(path=SCREENSHOTS / f"{viewport}-payment-bank-transfer.png")


def test_without_javascript_the_details_are_plain_text(open_context, widget, inbox):
    context = open_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(widget.url("login", tenant="demo-sk"))
    log_in_any_language(page, inbox, PETER)
    page.goto(widget.url("payments/pay-1010", tenant="demo-sk"))
    expect(page.locator("#transfer")).to_contain_text("SK3112000000198742637541")
    expect(page.get_by_role("button", name="Kopírovať IBAN")).to_be_hidden()
