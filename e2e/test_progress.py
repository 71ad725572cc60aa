"""A parent on a phone, inside the provider's page, checks how each child is doing: the level,
the skills, what comes next, the instructors' notes, the report card (read, then downloaded),
the school's documents; every screen passes axe-core."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from pypdf import PdfReader

from e2e.conftest import settled
from e2e.test_login_in_iframe import greeting, log_in
from e2e.test_profile_journeys import SARAH, assert_accessible, section_link, widget_frame


def test_a_parent_follows_each_childs_progress_on_a_phone(open_context, provider_sites, inbox,
                                                          shoot):
    page = open_context("phone").new_page()
    page.goto(provider_sites.url("provider.test", "/my-profile"))
    widget = page.frame_locator("iframe[title='Client Profile']")
    log_in(widget, inbox, SARAH)
    expect(widget.get_by_role("heading", level=1)).to_have_text(greeting("Sarah Thompson"))

    section_link(widget, "Progress").click()
    expect(widget.get_by_role("heading", level=1)).to_have_text("Oliver's progress")
    level = widget.get_by_role("region", name="Beginners (Stage 1)")
    expect(level).to_contain_text("Stage 1: Water confidence")
    expect(level).to_contain_text("2 of 4 skills achieved")
    expect(level).to_contain_text("Next level: Stage 2: First strokes")
    timeline = widget.get_by_role("region", name="Timeline")
    expect(timeline).to_contain_text("Great push-and-glide today!")
    expect(timeline).not_to_contain_text("cap size")  # a staff note stays with the provider
    settled(page)
    assert_accessible(widget_frame(page), "progress")
    shoot(page, "phone-progress-oliver")

    # The report card: opened, downloaded as a PDF, no longer new. (Whether it was new at
    # first depends on the other stories on this server: the unit tests check that.)
    cards = widget.get_by_role("region", name="Report cards")
    card = cards.get_by_role("link", name=re.compile("Autumn term 2026"))
    card.focus()
    page.keyboard.press("Enter")
    expect(widget.get_by_role("heading", level=1)).to_have_text(
        "Autumn term 2026 · Stage 1: Water confidence")
    expect(widget.get_by_role("region", name="Instructor's comment")).to_contain_text(
        "grown so much in confidence")
    settled(page)
    assert_accessible(widget_frame(page), "report card")
    shoot(page, "phone-report-card")
    with page.expect_download() as download:
        widget.get_by_role("link", name="Download PDF").click()
    pdf = download.value
    assert pdf.suggested_filename.startswith("report-card-oliver-thompson-")
    text = " ".join(p.extract_text() for p in PdfReader(pdf.path()).pages)
    assert "Oliver Thompson" in text and "Stage 1: Water confidence" in text
    section_link(widget, "Progress").click()
    expect(widget.get_by_role("heading", level=1)).to_have_text("Oliver's progress")
    expect(widget.get_by_role("region", name="Report cards")).not_to_contain_text("New")

    members = widget.get_by_role("navigation", name="Family members")
    mia = members.get_by_role("link", name=re.compile("Mia"))
    mia.focus()
    page.keyboard.press("Enter")
    expect(widget.get_by_role("heading", level=1)).to_have_text("Mia's progress")
    level = widget.get_by_role("region", name="Improvers (Stage 3)")
    expect(level).to_contain_text("Stage 4: Backstroke")
    expect(level).to_contain_text("Completed levels")
    expect(level.get_by_role("link", name="Certificate (Stage 3: Front crawl)")).to_be_visible()
    expect(widget.get_by_role("region", name="Timeline")).to_contain_text(
        "Completed Stage 3: Front crawl")
    settled(page)
    assert_accessible(widget_frame(page), "progress of the second child")
    shoot(page, "phone-progress-mia")

    # The school's documents: a term letter and the gala photos, new until opened.
    documents = widget.get_by_role("link", name="Documents").last
    documents.focus()
    page.keyboard.press("Enter")
    expect(widget.get_by_role("heading", level=1)).to_have_text("Documents")
    expect(widget.get_by_text("Spring term letter")).to_be_visible()
    photo = widget.get_by_role("img", name="Photos from the swimming gala")
    expect(photo).to_be_visible()
    expect(photo).to_have_js_property("complete", True)
    settled(page)
    assert_accessible(widget_frame(page), "documents")
    shoot(page, "phone-documents")

    # The note is also on the session it was written about.
    section_link(widget, "Bookings").click()
    expect(widget.get_by_role("heading", name="Next for Mia")).to_be_visible()
    settled(page)  # a tap while the provider's page still scrolls lands elsewhere
    booking = widget.get_by_role("link", name="Improvers (Stage 3)", exact=True).first
    booking.focus()
    page.keyboard.press("Enter")
    expect(widget.get_by_role("heading", level=1)).to_have_text("Improvers (Stage 3)")
    sessions = widget.get_by_role("link", name=re.compile("^(All )?[Ss]essions")).first
    settled(page)
    sessions.focus()
    page.keyboard.press("Enter")
    note = widget.locator(".cp-session-note").first
    expect(note).to_contain_text("Lovely long strokes")
    expect(note).to_contain_text("Note from the instructor")
    note.scroll_into_view_if_needed()
    assert_accessible(widget_frame(page), "sessions with a note")
    shoot(page, "phone-sessions-note")
