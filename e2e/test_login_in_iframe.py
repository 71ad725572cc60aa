"""Logging in to the Client Profile inside a provider's website, in a real browser.

The widget lives on widget.test and is framed by provider.test, a different site, in a browser
that blocks third-party cookies (Chromium's default now). Only a `Partitioned` cookie survives
there, so these stories are what the session cookie design must deliver.
"""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import FrameLocator, Page, Route, expect
from visitor import code_of

SARAH = "sarah.thompson@example.com"  # demo family 1, tenant "demo"
JAMES = "james.patel@example.com"
EMMA = "emma.wilson@example.com"
DANIEL = "daniel.hughes@example.com"
PRIYA = "priya.shah@example.com"
LAURA = "laura.bennett@example.com"
LINK = re.compile(r"https://\S+[#&]cp-login=[\w.\-]+")
TOKEN = re.compile(r"[#&]cp-login=([\w.\-]+)")
# Each story logs in a different client: the service allows 5 login e-mails per address
# per 15 minutes, and the whole suite shares one server.


def profile_frame(page: Page) -> FrameLocator:
    return page.frame_locator("iframe#profile")


def ask_for_code(where: Page | FrameLocator, email: str) -> None:
    expect(where.get_by_role("heading", name="Log in to your profile")).to_be_visible()
    where.get_by_label("E-mail address").fill(email)
    where.get_by_role("button", name="Send me a login code").click()


def enter_code(where: Page | FrameLocator, code: str) -> None:
    expect(where.get_by_role("heading", name="Check your inbox")).to_be_visible()
    where.locator("input[name=code]").fill(code)
    where.get_by_role("button", name="Log in").click()


def log_in(where: Page | FrameLocator, inbox, email: str) -> None:
    """The code journey: e-mail, read the code from the real mailbox, type it."""
    ask_for_code(where, email)
    enter_code(where, code_of(inbox.next_to(email)))


def login_link(message) -> str:
    """The login link in the e-mail's text part."""
    found = LINK.search(message.get_body(("plain",)).get_content())
    assert found, "no login link in the e-mail"
    return found.group(0)


def token_of(link: str) -> str:
    return TOKEN.search(link).group(1)


def greeting(name: str) -> re.Pattern[str]:
    """The home page's heading for this client (by first name, or in full)."""
    first, _, rest = name.partition(" ")
    return re.compile(rf"^Hello, {re.escape(first)}( {re.escape(rest)})?$")


def frame_of(page: Page):
    """The iframe's Frame, for scripts run inside the widget's document."""
    return page.locator("iframe#profile").element_handle().content_frame()


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_log_in_inside_the_providers_page_and_stay_logged_in(
        viewport, open_context, provider_sites, inbox, shoot):
    page = open_context(viewport).new_page()
    page.goto(provider_sites.url("provider.test"))
    expect(page.get_by_role("heading", name="Splash Swim School")).to_be_visible()
    widget = profile_frame(page)
    expect(widget.locator("input[name=email]")).to_be_visible()
    shoot(page, f"{viewport}-1-login")

    ask_for_code(widget, SARAH)
    expect(widget.get_by_role("heading", name="Check your inbox")).to_be_visible()
    shoot(page, f"{viewport}-2-check-inbox")
    enter_code(widget, code_of(inbox.next_to(SARAH)))

    expect(widget.get_by_role("heading", level=1)).to_have_text(greeting("Sarah Thompson"))
    shoot(page, f"{viewport}-3-home")

    page.reload()  # the iframe asks for the login page again, which sends her home
    expect(widget.get_by_role("heading", level=1)).to_have_text(greeting("Sarah Thompson"))
    page.goto("about:blank")
    page.goto(provider_sites.url("provider.test"))
    expect(widget.get_by_role("heading", level=1)).to_have_text(greeting("Sarah Thompson"))


def test_third_party_cookies_are_blocked_yet_the_partitioned_session_works(
        open_context, provider_sites, widget, inbox):
    page = open_context().new_page()
    page.goto(provider_sites.url("provider.test"))
    log_in(profile_frame(page), inbox, JAMES)
    expect(profile_frame(page).get_by_role("heading", level=1)).to_have_text(
        greeting("James Patel"))

    frame = frame_of(page)
    frame.evaluate("""() => {
        document.cookie = "control=1; SameSite=None; Secure; Path=/";
        document.cookie = "control_partitioned=1; SameSite=None; Secure; Path=/; Partitioned";
    }""")
    frame.goto(widget.url())
    cookies = frame.evaluate("document.cookie")
    assert "control=1" not in cookies, "the browser kept a third-party cookie: not blocked"
    assert "control_partitioned=1" in cookies
    # The session cookie is HttpOnly: being logged in after the reload is the proof.
    expect(profile_frame(page).get_by_role("heading", level=1)).to_have_text(
        greeting("James Patel"))


def test_the_same_check_sees_third_party_cookies_when_the_browser_allows_them(
        open_profile, provider_sites, widget):
    """The control for the test above: with third-party cookies allowed, the plain cookie
    stays, so its absence there really is the browser blocking it."""
    context = open_profile({"profile": {"cookie_controls_mode": 0}})
    page = context.new_page()
    page.goto(provider_sites.url("provider.test"))
    expect(profile_frame(page).locator("input[name=email]")).to_be_visible()
    frame = frame_of(page)
    frame.evaluate('() => { document.cookie = "control=1; SameSite=None; Secure; Path=/"; }')
    frame.goto(widget.url("login"))
    assert "control=1" in frame.evaluate("document.cookie")


def test_the_session_belongs_to_the_site_that_frames_the_widget(
        open_context, provider_sites, widget, inbox):
    context = open_context()
    page = context.new_page()
    page.goto(provider_sites.url("provider.test"))
    log_in(profile_frame(page), inbox, EMMA)
    expect(profile_frame(page).get_by_role("heading", level=1)).to_have_text(
        greeting("Emma Wilson"))

    page.goto(provider_sites.url("other.test"))  # another website, allowed to frame too
    expect(profile_frame(page).get_by_role("heading", name="Log in to your profile")) \
        .to_be_visible()

    page.goto(widget.url())  # the widget as a page of its own: a third partition
    expect(page).to_have_url(widget.url("login"))
    expect(page.get_by_role("heading", name="Log in to your profile")).to_be_visible()

    page.goto(provider_sites.url("provider.test"))  # and the first site still has her
    expect(profile_frame(page).get_by_role("heading", level=1)).to_have_text(
        greeting("Emma Wilson"))


def test_the_emailed_link_logs_in_inside_the_providers_page(
        open_context, provider_sites, inbox, shoot):
    context = open_context()
    page = context.new_page()
    page.goto(provider_sites.url("provider.test"))
    ask_for_code(profile_frame(page), DANIEL)
    profile_page = provider_sites.url("provider.test", "/my-profile")
    link = login_link(inbox.next_to(DANIEL))
    assert link.startswith(profile_page + "#cp-login="), "the link lands on the tenant's page"

    mail_tab = context.new_page()  # clicking the link in a mail client opens a new tab
    mail_tab.goto(link)
    widget = mail_tab.frame_locator("iframe[title='Client Profile']")
    expect(widget.get_by_role("heading", name="Welcome back")).to_be_visible()
    expect(mail_tab).to_have_url(profile_page)  # the token left the address bar (and history)
    shoot(mail_tab, "desktop-link-continue")

    page.reload()  # merely opening the link (as a mail scanner would) is not a login
    expect(profile_frame(page).get_by_role("heading", name="Log in to your profile")) \
        .to_be_visible()

    widget.get_by_role("button", name="Continue").click()
    expect(widget.get_by_role("heading", level=1)).to_have_text(greeting("Daniel Hughes"))
    page.reload()  # logged in on the provider's site, in every tab
    expect(profile_frame(page).get_by_role("heading", level=1)).to_have_text(
        greeting("Daniel Hughes"))


def test_the_hosted_link_asks_before_it_logs_in(open_context, provider_sites, widget, inbox,
                                                console):
    """Tenants without a website get links to the hosted profile, the token in the fragment
    (no server log sees it); any tenant's link works there too, top-level."""
    console.allow(r"status of 410 \(Gone\)")  # the used link, opened again at the end
    context = open_context()
    page = context.new_page()
    page.goto(provider_sites.url("provider.test"))
    ask_for_code(profile_frame(page), LAURA)
    hosted = widget.url("login/link") + f"#token={token_of(login_link(inbox.next_to(LAURA)))}"

    page.goto(hosted)
    expect(page.get_by_role("heading", name="Welcome back")).to_be_visible()
    expect(page.get_by_text("Continue to log in to your profile.")).to_be_visible()
    expect(page).to_have_url(widget.url("login/link"))  # the token left the address bar

    check = context.new_page()  # the GET alone did not log in
    check.goto(widget.url())
    expect(check).to_have_url(widget.url("login"))
    check.close()

    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(greeting("Laura Bennett"))

    page.goto(hosted)  # a used link does not work twice
    page.get_by_role("button", name="Continue").click()
    used = page.get_by_role("heading", name="This login link has already been used")
    expect(used).to_be_visible()


def test_a_site_not_in_allowed_origins_cannot_frame_the_widget(open_context, provider_sites,
                                                                console, shoot):
    console.allow(r"frame-ancestors")  # Chromium reports the refusal as a console error
    page = open_context().new_page()
    page.goto(provider_sites.url("rogue.test"))
    expect(page.get_by_role("heading", name="Splash Swim School")).to_be_visible()
    frame = frame_of(page)
    assert frame.url.startswith("chrome-error://"), frame.url
    expect(profile_frame(page).locator("input[name=email]")).to_have_count(0)
    assert any("frame-ancestors" in error for error in console.errors), console.errors
    shoot(page, "desktop-rogue-site")


def test_when_the_browser_refuses_the_widgets_cookies_it_offers_a_new_tab(
        open_context, provider_sites, widget, inbox, shoot):
    context = open_context()
    page = context.new_page()

    def refuse_cookies(route: Route) -> None:
        # What a browser blocking even partitioned cookies does: it never stores them.
        # route.fetch() cannot be used: Playwright fetches from Node, where widget.test does
        # not resolve, so the request goes to the server's loopback address by hand.
        request = route.request
        answer = httpx.request(
            request.method, request.url.replace(widget.origin, widget.loopback_origin),
            headers={**request.headers, "host": f"widget.test:{widget.port}"},
            content=request.post_data_buffer, verify=False)
        headers = {k: v for k, v in answer.headers.items()
                   if k.lower() not in ("set-cookie", "content-length", "content-encoding")}
        route.fulfill(status=answer.status_code, headers=headers, body=answer.content)

    page.route(f"{widget.origin}/**", refuse_cookies)  # this page (the iframe) only
    page.goto(provider_sites.url("provider.test"))
    ask_for_code(profile_frame(page), PRIYA)
    offer = profile_frame(page).get_by_role("link", name="Open my profile in a new tab")
    expect(offer).to_be_visible()
    shoot(page, "desktop-cookies-blocked")
    assert inbox.mailbox.to(PRIYA) == [], "no code is sent when it could not be used here"

    with page.expect_popup() as opened:
        offer.click()
    tab = opened.value
    expect(tab).to_have_url(re.compile(re.escape(widget.url("login")) + r"\?email="))
    expect(tab.get_by_label("E-mail address")).to_have_value(PRIYA)
    log_in(tab, inbox, PRIYA)  # top-level, the widget is first-party: it just works
    expect(tab.get_by_role("heading", level=1)).to_have_text(greeting("Priya Shah"))


def test_the_widget_in_the_iframe_wears_the_tenants_theme(open_context, provider_sites):
    """Guards against theme values HTML-escaped inside <style> (&#39;Nunito&#39;), which
    silently invalidates the CSS and falls back to Times."""
    page = open_context().new_page()
    page.goto(provider_sites.url("provider.test"))
    button = profile_frame(page).get_by_role("button", name="Send me a login code")
    expect(button).to_have_css("background-color", "rgb(11, 92, 173)")  # theme.primary
    body = frame_of(page).evaluate("getComputedStyle(document.body).fontFamily")
    assert "system-ui" in body, f"the tenant's font stack is not applied: {body!r}"
