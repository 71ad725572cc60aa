"""A parent on a phone, inside the provider's page: the frame fits each screen (shorter ones
too), a new screen starts at its top, in-page links and downloads work, the chosen child
survives a reload, and the sections sit in a bar at the bottom of the provider's page."""

from __future__ import annotations

import json
import re

from playwright.sync_api import Frame, Page, expect

from e2e.conftest import settled
from e2e.test_login_in_iframe import greeting, log_in
from e2e.test_payments import log_in_any_language
from e2e.test_profile_journeys import section_link

SARAH = "sarah.thompson@example.com"  # two children, payments, invoices, credit, sessions
EMMA = "emma.wilson@example.com"
IFRAME = "iframe[title='Client Profile']"


def widget_of(page: Page):
    return page.frame_locator(IFRAME)


def frame_of(page: Page) -> Frame:
    return page.locator(IFRAME).element_handle().content_frame()


def frame_box(page: Page) -> dict:
    return page.locator(IFRAME).evaluate(
        "e => { const r = e.getBoundingClientRect(); return {top: r.top, height: r.height}; }")


def content_height(page: Page) -> float:
    """What the widget's content needs, read from the children of its body (the document's
    scrollHeight never drops below the iframe's own height)."""
    return frame_of(page).evaluate(
        "Math.max(...[...document.body.children].map(e => e.getBoundingClientRect().bottom))")


def wait_until_fitted(page: Page) -> float:
    """The iframe's height settles at its content's; returns it."""
    for _ in range(50):
        height, needed = frame_box(page)["height"], content_height(page)
        if abs(height - needed) <= 2 or (needed < 480 and height == 480):
            return height
        page.wait_for_timeout(100)
    raise AssertionError(f"the iframe is {height}px tall for {needed}px of content")


def top_in_view(page: Page) -> bool:
    top = frame_box(page)["top"]
    return 0 <= top < page.viewport_size["height"]


def test_a_short_screen_after_a_long_one_shrinks_the_frame_and_shows_its_top(
        open_context, provider_sites, inbox, shoot):
    page = open_context("phone").new_page()
    page.goto(provider_sites.url("provider.test", "/my-profile"))
    widget = widget_of(page)
    log_in(widget, inbox, EMMA)
    expect(widget.get_by_role("heading", level=1)).to_have_text(greeting("Emma Wilson"))
    widget.get_by_role("link", name=re.compile("View sessions")).click()
    expect(widget.get_by_text("Upcoming").first).to_be_visible()
    long = wait_until_fitted(page)

    # The last session's cancel link, far down the provider's page.
    cancel = widget.get_by_role("link", name=re.compile("^Cancel")).last
    cancel.scroll_into_view_if_needed()
    assert frame_box(page)["top"] < 0, "the tap happens well below the widget's top"
    cancel.click()
    expect(widget.get_by_role("heading", level=1)).to_have_text(re.compile("Cancel"))
    short = wait_until_fitted(page)
    assert short < long - 300, (short, long)
    page.wait_for_function(
        f"() => {{ const t = document.querySelector(\"{IFRAME}\").getBoundingClientRect().top;"
        " return t >= 0 && t < innerHeight; }")
    # Nothing white below the widget: the provider's page ends with the frame.
    page_end = page.evaluate("document.documentElement.scrollHeight")
    frame_end = frame_box(page)["top"] + page.evaluate("scrollY") + short
    assert page_end <= max(frame_end + 100, page.viewport_size["height"]), (page_end, frame_end)
    shoot(page, "phone-embed-cancel-after-long-list")


def test_every_document_downloads_inside_the_frame(open_context, provider_sites, inbox):
    """Third-party cookies blocked (the default context): each file comes with the partitioned
    session, is saved as the right file, and holds what it should."""
    page = open_context("phone").new_page()
    page.goto(provider_sites.url("provider.test", "/my-profile"))
    widget = widget_of(page)
    log_in(widget, inbox, SARAH)
    expect(widget.get_by_role("heading", level=1)).to_have_text(greeting("Sarah Thompson"))

    def download(link) -> tuple[str, bytes]:
        settled(page)
        with page.expect_download() as event:
            link.click()
        done = event.value
        assert done.failure() is None, done.failure()
        return done.suggested_filename, open(done.path(), "rb").read()

    section_link(widget, "Orders").click()
    expect(widget.get_by_role("heading", level=1)).to_have_text(re.compile("Orders"))
    name, body = download(widget.get_by_role("link", name="Download CSV"))
    assert name.endswith(".csv")
    assert body.startswith(b"\xef\xbb\xbf") and b"SPL-5001" in body
    made = widget.locator("a[href*='/t/demo/invoices/']").first  # an invoice made from our data
    name, body = download(made)
    assert name.endswith(".pdf") and body.startswith(b"%PDF")
    widget.get_by_role("link", name=re.compile("Beginners .* Oliver")).click()
    name, body = download(widget.get_by_role("link", name=re.compile("^Receipt")))
    assert name.endswith(".pdf") and body.startswith(b"%PDF")

    section_link(widget, "Bookings").click()
    expect(widget.get_by_role("heading", level=1)).to_have_text(greeting("Sarah Thompson"))
    settled(page)  # a tap while the page scrolls the new screen into view lands elsewhere
    widget.get_by_role("link", name=re.compile("View sessions")).first.click()
    expect(widget.get_by_text("Upcoming").first).to_be_visible()
    name, body = download(widget.get_by_role("link", name=re.compile("to calendar")).first)
    assert name.endswith(".ics") and body.startswith(b"BEGIN:VCALENDAR")

    section_link(widget, "Account").click()
    name, body = download(widget.get_by_role("link", name="Download my data"))
    assert name.endswith(".json")
    assert json.loads(body)["client"]["email"] == SARAH


def test_in_page_links_scroll_the_providers_page_to_their_target(
        open_context, provider_sites, inbox):
    page = open_context("phone").new_page()
    page.goto(provider_sites.url("provider.test", "/long-page"))
    widget = widget_of(page)
    log_in(widget, inbox, "tom.oconnor@example.com")
    section_link(widget, "Benefits").click()
    expect(widget.get_by_role("heading", level=1)).to_have_text(re.compile("Benefits"))

    def top_of(target: str) -> float:
        return frame_box(page)["top"] + frame_of(page).evaluate(
            f"document.getElementById('{target}').getBoundingClientRect().top")

    settled(page)
    page.locator(IFRAME).evaluate("e => e.scrollIntoView()")
    widget.get_by_role("link", name="Credit", exact=True).click()
    for _ in range(30):
        if abs(top_of("credit")) < 5:
            break
        page.wait_for_timeout(100)
    assert abs(top_of("credit")) < 5, top_of("credit")  # at the top of the phone's screen


def test_the_chosen_child_and_the_bottom_bar_on_a_phone(
        open_context, provider_sites, inbox, shoot):
    page = open_context("phone").new_page()
    page.goto(provider_sites.url("provider.test", "/long-page"))
    widget = widget_of(page)
    page.locator(IFRAME).scroll_into_view_if_needed()
    log_in(widget, inbox, SARAH)
    expect(widget.get_by_role("heading", level=1)).to_have_text(greeting("Sarah Thompson"))

    # The sections: a bar fixed to the bottom of the provider's page, not tabs in the frame.
    bar = page.get_by_role("navigation", name="Sections")
    expect(bar).to_be_visible()
    assert bar.evaluate("e => Math.round(e.getBoundingClientRect().bottom)") == 844
    expect(bar.get_by_role("button", name="Bookings")).to_have_attribute("aria-current", "page")
    expect(widget.get_by_role("navigation", name="Sections")).to_be_hidden()
    shoot(page, "phone-embed-bottom-bar")

    # Switch to Mia, then reload the provider's page: still Mia.
    widget.get_by_role("navigation", name="Family members").get_by_role(
        "link", name=re.compile("Mia")).click()
    expect(widget.get_by_role("heading", name="Next for Mia")).to_be_visible()
    expect(page).to_have_url(re.compile(r"cp-path=%2F%3Fmember%3D"))
    page.reload()
    expect(widget_of(page).get_by_role("heading", name="Next for Mia")).to_be_visible()

    # The bar takes the parent to a section, by keyboard too, and marks it.
    bar.get_by_role("button", name="Benefits").focus()
    page.keyboard.press("Enter")
    expect(widget.get_by_role("heading", level=1)).to_have_text(re.compile("Benefits"))
    expect(bar.get_by_role("button", name="Benefits")).to_have_attribute("aria-current", "page")
    assert top_in_view(page)

    # Scrolled away from the widget, the bar goes; back at it, it returns.
    page.locator("#above").scroll_into_view_if_needed()
    page.evaluate("scrollTo(0, 0)")
    expect(bar).to_be_hidden()
    page.locator("#below").evaluate("e => e.scrollIntoView({block: 'end'})")
    expect(bar).to_be_hidden()
    page.locator(IFRAME).evaluate("e => e.scrollIntoView()")
    expect(bar).to_be_visible()

    # Logged out, there are no sections to show.
    widget.get_by_role("button", name="Log out").click()
    expect(widget.get_by_role("heading", name="Log in to your profile")).to_be_visible()
    expect(bar).to_be_hidden()


def test_on_a_computer_the_sections_stay_tabs_in_the_widget(
        open_context, provider_sites, inbox):
    page = open_context("desktop").new_page()
    page.goto(provider_sites.url("provider.test", "/my-profile"))
    widget = widget_of(page)
    log_in(widget, inbox, "daniel.hughes@example.com")
    expect(widget.get_by_role("navigation", name="Sections")).to_be_visible()
    expect(page.get_by_role("navigation", name="Sections")).to_be_hidden()


def test_booking_tabs_fit_a_350px_frame(open_context, provider_sites, inbox):
    context = open_context("phone")
    page = context.new_page()
    page.set_viewport_size({"width": 350, "height": 700})
    page.goto(provider_sites.url("provider.test", "/my-profile"))
    widget = widget_of(page)
    log_in(widget, inbox, "chloe.evans@example.com")
    for link in (re.compile("Stage|Beginners|Improvers|Swim"),
                 re.compile("^(All )?[Ss]essions")):
        widget.get_by_role("link", name=link).first.click()
        page.wait_for_load_state()
        page.wait_for_timeout(300)
        overflow = frame_of(page).evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{overflow}px wider than the 350px frame"


SPLIT_WORDS = """(selector) => [...document.querySelectorAll(selector)].flatMap(el => {
    // Each word of the element's text must sit on one line (it may break between words, and
    // at a <wbr>, which ends a text node).
    const split = [], range = document.createRange();
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let text = walker.nextNode(); text; text = walker.nextNode()) {
        let at = 0;
        for (const word of text.textContent.split(" ")) {
            range.setStart(text, at); range.setEnd(text, at + word.length);
            const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
            if (tops.size > 1) split.push(word);
            at += word.length + 1;
        }
    }
    return split;
})"""


def test_a_greeting_by_a_long_e_mail_address_fits_the_phone(open_context, provider_sites, inbox):
    # An adult a booking is shared with has no name at the school: the greeting says their
    # e-mail address, which must wrap inside a 350px frame, not run out of it.
    page = open_context("phone").new_page()
    page.set_viewport_size({"width": 350, "height": 700})
    page.goto(provider_sites.url("provider.test", "/my-profile"))
    frame = widget_of(page)
    log_in(frame, inbox, "margaret.thompson@example.com")
    heading = frame.get_by_role("heading", level=1)
    expect(heading).to_contain_text("margaret.thompson@example.com")
    assert heading.evaluate("h => h.scrollWidth - h.clientWidth") <= 0
    assert heading.evaluate("h => h.getBoundingClientRect().right") <= frame_of(page).evaluate(
        "document.documentElement.clientWidth")


def test_long_addresses_and_the_iban_never_split_beside_their_buttons(
        open_context, provider_sites, inbox, widget):
    page = open_context("phone").new_page()
    page.set_viewport_size({"width": 350, "height": 700})
    page.goto(provider_sites.url("provider.test", "/my-profile"))
    frame = widget_of(page)
    log_in(frame, inbox, SARAH)
    expect(frame.get_by_role("heading", level=1)).to_have_text(greeting("Sarah Thompson"))
    frame_of(page).goto(widget.url("bookings/bk-1001/sharing"))
    expect(frame_of(page).locator(".cp-share-list strong").last).to_have_text(
        "margaret.thompson@example.com")
    assert frame_of(page).evaluate(SPLIT_WORDS, ".cp-share-list strong") == []

    page = open_context("phone").new_page()
    page.set_viewport_size({"width": 350, "height": 700})
    page.goto(provider_sites.url("provider.test", "/piruetka"))
    log_in_any_language(widget_of(page), inbox, "jana.kovacova@example.com")
    expect(widget_of(page).locator("nav.cp-members")).to_be_attached()
    frame_of(page).goto(widget.url("orders", tenant="demo-sk"))
    frame_of(page).locator("a[href*='/payments/']").first.click()
    iban = frame_of(page).locator(".cp-bank .cp-copyable").nth(1)
    expect(iban).to_have_text("SK3112000000198742637541")  # copied without spaces
    assert iban.locator(".cp-group").count() == 6  # shown in groups of four
    assert frame_of(page).evaluate(SPLIT_WORDS, ".cp-bank .cp-copyable") == []


def test_the_sessions_tab_is_a_compact_list_on_a_phone(
        open_context, provider_sites, inbox, widget, shoot):
    page = open_context("phone").new_page()
    page.goto(provider_sites.url("provider.test", "/my-profile"))
    frame = widget_of(page)
    log_in(frame, inbox, SARAH)
    expect(frame.get_by_role("heading", level=1)).to_have_text(greeting("Sarah Thompson"))
    frame_of(page).goto(widget.url("bookings/bk-1001/sessions"))
    expect(frame.locator("#upcoming-title")).to_be_visible()
    heights = frame_of(page).evaluate("""() => {
      const upcoming = [...document.querySelectorAll('.cp-sessions:not(.cp-sessions-past) > li')];
      const height = e => e.getBoundingClientRect().height;
      return {
        upcoming: upcoming.filter(e => !e.querySelector('.cp-closed')).map(height),
        closed: upcoming.filter(e => e.querySelector('.cp-closed')).map(height),
        past: [...document.querySelectorAll('.cp-sessions-past > li')]
            .filter(e => !e.querySelector('.cp-session-note'))
            .map(e => e.getBoundingClientRect().height),
        notes: document.querySelectorAll('.cp-sessions-past .cp-session-note').length,
        actions: [...document.querySelectorAll('.cp-row-actions')].map(e => {
            const tops = [...e.children].map(a => Math.round(a.getBoundingClientRect().top));
            return new Set(tops).size; }),
      };
    }""")
    # Two past sessions have an instructor's note, which takes the room it needs. The demo's
    # class is on Saturdays from the day it is made: on a Saturday, this week's session is
    # too late to change from two hours before its start (a row saying so), then past.
    upcoming = heights["upcoming"] + heights["closed"]
    assert len(upcoming) + len(heights["past"]) == 13 and len(upcoming) in (8, 9), heights
    assert len(heights["closed"]) <= 1 and heights["notes"] == 2
    # Each upcoming session fits in 85-115 px (it took 150-170 px with stacked buttons),
    # its actions on one line; one too late to change has a line more; each other past one
    # in a short line or two.
    assert max(heights["upcoming"]) <= 120, heights["upcoming"]
    assert max(heights["closed"], default=0) <= 160, heights["closed"]
    assert set(heights["actions"]) == {1}
    assert max(heights["past"]) <= 70, heights["past"]
    cancel = frame.get_by_role("link", name=re.compile("^Cancel, ")).first
    expect(cancel).to_be_visible()
    shoot(page, "phone-sessions-compact")
