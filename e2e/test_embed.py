"""A provider pastes the two-line snippet: the profile appears in its page, in its colours,
sized to its content, and links and the back button keep working."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from e2e.test_login_in_iframe import greeting, log_in, login_link
from e2e.test_profile_journeys import section_link

TOM = "tom.oconnor@example.com"
CHLOE = "chloe.evans@example.com"
LUCIA = "lucia.novakova@example.com"  # demo-sk


def widget_of(page: Page, nth: int = 0):
    return page.frame_locator("iframe[title='Client Profile']").nth(nth)


def frame_height_matches_content(page: Page, nth: int = 0) -> None:
    """The iframe is as tall as its document, so it never shows a scroll bar."""
    iframe = page.locator("iframe[title='Client Profile']").nth(nth)

    def check() -> bool:
        outer = iframe.evaluate("e => e.getBoundingClientRect().height")
        inner = iframe.element_handle().content_frame().evaluate(
            "document.documentElement.scrollHeight")
        return abs(outer - inner) <= 1

    for _ in range(40):
        if check():
            return
        page.wait_for_timeout(100)
    raise AssertionError("the iframe's height does not follow its content")


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_snippet_shows_the_themed_widget_sized_to_its_content(
        viewport, open_context, provider_sites, shoot):
    page = open_context(viewport).new_page()
    page.goto(provider_sites.url("provider.test", "/my-profile"))
    widget = widget_of(page)
    expect(widget.get_by_role("heading", name="Log in to your profile")).to_be_visible()
    button = widget.get_by_role("button", name="Send me a login code")
    expect(button).to_have_css("background-color", "rgb(11, 92, 173)")
    frame_height_matches_content(page)
    shoot(page, f"{viewport}-embed-login")

    # Content changes size (an error message appears): the frame follows.
    before = page.locator("iframe[title='Client Profile']").evaluate(
        "e => e.getBoundingClientRect().height")
    frame = page.locator("iframe[title='Client Profile']").element_handle().content_frame()
    frame.evaluate("""() => { const p = document.createElement('p');
        p.style.height = '900px'; p.textContent = 'tall';
        document.querySelector('main').append(p); }""")
    page.wait_for_function(
        f"() => document.querySelector(\"iframe[title='Client Profile']\")"
        f".getBoundingClientRect().height > {before + 800}")
    frame_height_matches_content(page)


def test_the_emailed_link_token_never_stays_in_the_address_bar_or_history(
        open_context, provider_sites, inbox):
    page = open_context().new_page()
    page.goto(provider_sites.url("provider.test"))
    log_in_page = provider_sites.url("provider.test", "/my-profile")
    page.goto(log_in_page)
    widget = widget_of(page)
    widget.get_by_label("E-mail address").fill(TOM)
    widget.get_by_role("button", name="Send me a login code").click()
    expect(widget.get_by_role("heading", name="Check your inbox")).to_be_visible()
    link = login_link(inbox.next_to(TOM))

    page.goto(provider_sites.url("provider.test"))  # elsewhere on the site, then the link
    page.goto(link)
    expect(widget.get_by_role("heading", name="Welcome back")).to_be_visible()
    assert "cp-login" not in page.url
    widget.get_by_role("button", name="Continue").click()
    expect(widget.get_by_role("heading", level=1)).to_have_text(greeting("Tom O'Connor"))
    # Back through the iframe's steps and the page's own: the token is never there again.
    for _ in range(4):
        page.evaluate("history.back()")
        page.wait_for_timeout(400)
        assert "cp-login" not in page.url
    page.evaluate("history.forward()")
    page.wait_for_timeout(400)
    assert "cp-login" not in page.url


def test_back_button_and_reload_keep_the_screen(open_context, provider_sites, inbox):
    page = open_context("phone").new_page()
    page.goto(provider_sites.url("provider.test", "/my-profile"))
    widget = widget_of(page)
    log_in(widget, inbox, CHLOE)
    home = greeting("Chloe Evans")
    expect(widget.get_by_role("heading", level=1)).to_have_text(home)
    expect(page).to_have_url(re.compile(r"#cp-path=%2F$"))

    section_link(widget, "Account").click()
    expect(widget.get_by_role("heading", level=1)).to_have_text(re.compile("Account"))
    expect(page).to_have_url(re.compile(r"#cp-path=%2Faccount$"))

    page.evaluate("history.back()")  # the browser's back button, inside the framed profile
    expect(widget.get_by_role("heading", level=1)).to_have_text(home)
    expect(page).to_have_url(re.compile(r"#cp-path=%2F$"))

    page.evaluate("history.forward()")
    expect(widget.get_by_role("heading", level=1)).to_have_text(re.compile("Account"))
    page.reload()  # the host page's URL names the screen, so a reload returns to it
    expect(widget_of(page).get_by_role("heading", level=1)).to_have_text(re.compile("Account"))


def test_a_rogue_frames_messages_are_ignored(open_context, provider_sites):
    page = open_context().new_page()
    page.goto(provider_sites.url("provider.test", "/with-rogue-frame"))
    expect(widget_of(page).get_by_role("heading", name="Log in to your profile")).to_be_visible()
    expect(page.frame_locator("iframe#rogue").get_by_text("Advert")).to_be_visible()
    page.wait_for_timeout(500)  # the advert has sent its forged messages many times by now
    height = page.locator("iframe[title='Client Profile']").evaluate(
        "e => e.getBoundingClientRect().height")
    assert height > 300
    assert "evil" not in page.url
    frame_height_matches_content(page)


def test_two_schools_on_one_page_each_in_their_own_theme(open_context, provider_sites, shoot):
    page = open_context().new_page()
    page.goto(provider_sites.url("provider.test", "/two-schools"))
    expect(page.locator("iframe[title='Client Profile']")).to_have_count(2)  # loaded twice
    swim, dance = widget_of(page, 0), widget_of(page, 1)
    expect(swim.get_by_role("button", name="Send me a login code")).to_have_css(
        "background-color", "rgb(11, 92, 173)")
    expect(dance.get_by_role("heading", name="Prihláste sa do svojho profilu")).to_be_visible()
    expect(dance.get_by_role("button", name="Poslať prihlasovací kód")).to_have_css(
        "background-color", "rgb(163, 25, 91)")
    frame_height_matches_content(page, 0)
    frame_height_matches_content(page, 1)
    shoot(page, "desktop-two-schools")


def test_without_javascript_a_plain_link_remains(open_context, provider_sites, widget):
    page = open_context(java_script_enabled=False).new_page()
    page.goto(provider_sites.url("provider.test", "/my-profile"))
    link = page.get_by_role("link", name="My profile")
    expect(link).to_have_attribute("href", widget.url())
    expect(page.locator("iframe")).to_have_count(0)
