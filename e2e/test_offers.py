"""A parent on a phone, inside the provider's page, keeps next term's place for a child from
the home page: the offer card, the confirm step with the terms, the new state; every screen
passes axe-core."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from e2e.conftest import settled
from e2e.test_login_in_iframe import greeting, log_in
from e2e.test_profile_journeys import SARAH, assert_accessible, widget_frame
from e2e.test_switching import assert_choices_fit_a_phone


def test_a_parent_keeps_next_terms_place_on_a_phone(open_context, provider_sites, inbox, shoot):
    page = open_context("phone").new_page()
    page.goto(provider_sites.url("provider.test", "/my-profile"))
    widget = page.frame_locator("iframe[title='Client Profile']")
    log_in(widget, inbox, SARAH)
    expect(widget.get_by_role("heading", level=1)).to_have_text(greeting("Sarah Thompson"))
    members = widget.get_by_role("navigation", name="Family members")
    oliver = members.get_by_role("link", name=re.compile("Oliver"))
    oliver.focus()
    page.keyboard.press("Enter")
    card = widget.get_by_role("region", name="A place next term: Oliver")
    expect(card).to_contain_text("Spring term 2027")
    expect(card).to_contain_text("2 classes to choose from")
    settled(page)
    assert_accessible(widget_frame(page), "home with an offer")
    shoot(page, "phone-offer-home")

    keep = card.get_by_role("link", name="Keep my place")
    keep.focus()
    page.keyboard.press("Enter")
    expect(widget.get_by_role("heading", level=1)).to_have_text("A place next term: Oliver")
    expect(widget.get_by_role("region", name="Before you confirm")).to_contain_text(
        "Your place is held until the end of")
    choices = widget.get_by_role("group", name="Choose a class")
    assert_choices_fit_a_phone(choices, "Choose a class", "£97.20")
    note = widget.locator("blockquote").filter(has_text="We would love to see Oliver")
    below = note.bounding_box()  # the school's message, then a gap, then the choices
    assert choices.bounding_box()["y"] - (below["y"] + below["height"]) >= 12
    sunday = widget.get_by_role("radio", name=re.compile("Sundays 10:30"))
    sunday.focus()
    page.keyboard.press("Space")
    expect(sunday).to_be_checked()
    settled(page)
    assert_accessible(widget_frame(page), "the offer's confirm step")
    shoot(page, "phone-offer-confirm")

    widget.get_by_role("button", name="Keep my place").click()
    expect(widget.get_by_role("status")).to_contain_text("Your place is kept.")
    expect(widget.get_by_text("Place kept").first).to_be_visible()
    settled(page)
    assert_accessible(widget_frame(page), "the kept place")
    shoot(page, "phone-offer-kept")
    assert inbox.next_to(SARAH)["Subject"].startswith("Place kept: Oliver Thompson")
