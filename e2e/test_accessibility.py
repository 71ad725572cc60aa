"""axe-core on every screen a parent can reach, framed in the provider's page, at phone and
computer widths: a crawler follows every link of the logged-in widget (one screen of each
shape: ids stand for any id) and also opens the states that only follow an action."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Frame, Page, expect

from e2e.test_payments import log_in_any_language
from e2e.test_profile_journeys import assert_accessible, widget_frame

# Families with the most to see in each school.
RICH = {"demo": "sarah.thompson@example.com", "demo-sk": "jana.kovacova@example.com"}
PAGES = {"demo": "/my-profile", "demo-sk": "/piruetka"}
# Downloads (files, and a shared document at /documents/<id>) and POST-only addresses.
SKIP = re.compile(r"\.(ics|pdf|csv|json)$|/invoices/|/calendar/|/logout|/checkout"
                  r"|/documents/[^/]+$")
# Screens that only follow a POST: the notices they show are states too.
AFTER_ACTIONS = ["/?welcome=1", "/account?saved=details", "/account?saved=notifications",
                 "/account?calendar=off"]
WIDTHS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}


def shape(path: str) -> str:
    """A path with its ids (any segment with a digit) as placeholders, and its query keys."""
    parts = urlsplit(path)
    segments = ["{id}" if re.search(r"\d", s) else s for s in parts.path.split("/")]
    keys = sorted(k.split("=")[0] for k in parts.query.split("&") if k)
    return "/".join(segments) + ("?" + "&".join(keys) if keys else "")


def links(frame: Frame, root: str) -> list[str]:
    hrefs = frame.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    found = []
    for href in hrefs:
        parts = urlsplit(href)
        path = parts.path + ("?" + parts.query if parts.query else "")
        if path.startswith(root) and not SKIP.search(parts.path):
            found.append(href.split("#")[0])
    return found


@pytest.mark.parametrize("tenant", ["demo", "demo-sk"])
def test_every_reachable_screen_passes_axe_on_phones_and_computers(
        tenant, open_context, provider_sites, widget, inbox):
    page: Page = open_context("desktop").new_page()
    page.goto(provider_sites.url("provider.test", PAGES[tenant]))
    frame_locator = page.frame_locator("iframe[title='Client Profile']")
    log_in_any_language(frame_locator, inbox, RICH[tenant])
    expect(frame_locator.locator("nav.cp-nav")).to_be_attached()  # logged in
    root = f"/t/{tenant}/"
    start = widget.url("", tenant=tenant)
    queue = [start] + [start.rstrip("/") + extra for extra in AFTER_ACTIONS]
    seen: set[str] = set()
    visited = []
    failures = []
    while queue and len(visited) < 80:
        url = queue.pop(0)
        key = shape(urlsplit(url).path + ("?" + urlsplit(url).query if urlsplit(url).query
                                          else ""))
        if key in seen:
            continue
        seen.add(key)
        frame = widget_frame(page)
        frame.goto(url)
        visited.append(key)
        for name, size in WIDTHS.items():
            page.set_viewport_size(size)
            page.wait_for_timeout(150)
            try:
                assert_accessible(widget_frame(page), f"{name} {key}")
            except AssertionError as failure:
                failures.append(str(failure))
        queue.extend(links(widget_frame(page), root))
    assert len(visited) >= 12, visited  # the crawl really went through the profile
    assert not failures, "\n".join(failures)
