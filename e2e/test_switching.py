"""A parent on a phone, inside the provider's page, moves a child to the Sunday group for the
rest of the term from the booking's dashboard: the classes with the price difference, the
confirm step, the new state; every screen passes axe-core."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from e2e.conftest import settled
from e2e.test_login_in_iframe import greeting, log_in
from e2e.test_profile_journeys import SARAH, assert_accessible, widget_frame


def test_a_parent_moves_a_child_to_another_group_on_a_phone(open_context, provider_sites, inbox,
                                                            shoot):
    page = open_context("phone").new_page()
    page.goto(provider_sites.url("provider.test", "/my-profile"))
    widget = page.frame_locator("iframe[title='Client Profile']")
    log_in(widget, inbox, SARAH)
    expect(widget.get_by_role("heading", level=1)).to_have_text(greeting("Sarah Thompson"))
    booking = widget.locator("a[href$='/bookings/bk-1001']").first
    booking.focus()
    page.keyboard.press("Enter")
    expect(widget.get_by_role("heading", level=1)).to_have_text("Beginners (Stage 1)")
    change = widget.get_by_role("link", name="Change class")
    settled(page)
    change.focus()
    page.keyboard.press("Enter")

    expect(widget.get_by_role("heading", level=1)).to_have_text("Change class")
    choices = widget.get_by_role("group", name="The class you can change to")
    expect(choices).to_contain_text("Same price")
    sunday = widget.get_by_role("radio", name=re.compile("From Sunday"))
    expect(sunday).to_be_checked()
    assert_choices_fit_a_phone(choices, "The class you can change to", "Same price")
    expect(widget.get_by_role("region", name="Before you confirm")).to_contain_text(
        "The change happens at once")
    settled(page)
    assert_accessible(widget_frame(page), "change class")
    shoot(page, "phone-switch-choose")

    button = widget.get_by_role("button", name="Change class")
    button.focus()
    page.keyboard.press("Enter")
    expect(widget.get_by_role("status")).to_contain_text("now goes to Beginners (Stage 1)")
    settled(page)
    assert_accessible(widget_frame(page), "class changed")
    shoot(page, "phone-switch-done")
    assert inbox.next_to(SARAH)["Subject"].startswith("Class changed: Oliver Thompson")

    sessions = widget.get_by_role("link", name="Sessions").first
    sessions.focus()
    page.keyboard.press("Enter")
    expect(widget.get_by_role("list").filter(has_text="Sun").first).to_be_visible()


def assert_choices_fit_a_phone(card, heading: str, price: str) -> None:
    """The card of choices keeps a card's padding (it had none: its heading and choices met
    its border), and a choice's price goes under the class rather than beside it, where it
    squeezed the class's day and place into a column a few words wide."""
    box = card.bounding_box()
    title = card.get_by_role("heading", name=heading).bounding_box()
    choice = card.locator("label").first
    inside = choice.bounding_box()
    assert title["x"] - box["x"] >= 12 and inside["x"] - box["x"] >= 12, (box, title, inside)
    assert box["x"] + box["width"] - (inside["x"] + inside["width"]) >= 12, (box, inside)
    name = choice.locator("strong").first.bounding_box()
    cost = choice.get_by_text(price).first.bounding_box()
    assert cost["y"] >= name["y"] + name["height"], (name, cost)
