"""Self-service screens say the right thing in every state, in a real browser, inside the
provider's page (a cross-site iframe, third-party cookies blocked), mostly on a phone:

- "Reschedule" only where there is somewhere to move to, and every one leads to a session;
- "Book a make-up (N available)" counts only make-ups with a session to book, every such
  link leads to sessions, never to the one just cancelled; that session says "You cancelled";
- refusals say their own reason: a view-only grandparent opening a forwarded cancel link, a
  cancel confirmed after the cutoff passed while the page was open;
- five wrong login codes use the code up and offer a new one; a cut-off login link says so;
- a booking the school cancelled offers nothing to do to its sessions.

Families: Sarah Thompson and the grandparent Margaret (demo) only look; the demo-sk families
Emily Clarke (her profile speaks English) and Martin Baláž, whom no other browser story uses,
are the ones whose data changes. Where a state needs the school's side (a session starting
within the cutoff, a make-up that runs out within the hour, a booking the school cancelled),
the test pushes it the way the booking system does, through the sync code (`widget_server.api.sync`,
what `/api/v1` runs) into the e2e server's database.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from playwright.sync_api import Frame, FrameLocator, Page, expect

from e2e.conftest import settled
from e2e.test_login_in_iframe import ask_for_code, enter_code, greeting, log_in, login_link
from e2e.test_payments import log_in_any_language
from widget_server.api import sync
from widget_server.core.db import make_engine, session_scope
from widget_server.demo.data import demo_items

SARAH = "sarah.thompson@example.com"  # demo: Oliver (beginners), Mia (improvers, online)
MARGARET = "margaret.thompson@example.com"  # demo: Oliver's booking shared to look at
DANIEL = "daniel.hughes@example.com"  # demo: only logs in here
EMILY = "emily.clarke@example.com"  # demo-sk, English: Grace in the beginners' ballet
EMILY_BOOKING = "bk-1025"
MARTIN = "martin.balaz@example.com"  # demo-sk: Tamara in the beginners' ballet
MARTIN_BOOKING = "bk-1022"
WIDGET = "iframe[title='Client Profile']"
SHARED_BOOKING = "bk-1001"  # Oliver's, shared with Margaret


def widget_of(page: Page) -> FrameLocator:
    return page.frame_locator(WIDGET)


def frame_of(page: Page) -> Frame:
    """The iframe's Frame, to open a widget address inside the provider's page."""
    return page.locator(WIDGET).element_handle().content_frame()


def text_of(frame: Frame) -> str:
    return " ".join(frame.locator("main").inner_text().split())


def push(widget, tenant: str, items: list[tuple[str, dict[str, Any]]]) -> None:
    """What the school's booking system would send: items upserted through the sync code."""
    engine = make_engine(f"sqlite:///{widget.log.parent / 'e2e.db'}")
    try:
        with session_scope(engine) as db:
            resolver = sync.RefResolver(db, tenant)
            for resource, item in items:
                sync.upsert(db, tenant, resource, item["id"], item, resolver)
    finally:
        engine.dispose()


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def open_in_widget(page: Page, widget, path: str, tenant: str) -> Frame:
    frame = frame_of(page)
    frame.goto(widget.url(path, tenant=tenant))
    return frame


def reschedule_links(frame: Frame) -> list[str]:
    return [a.get_attribute("href")
            for a in frame.locator("a.cp-text-action[href$='/move']").all()]


# --- 1. Reschedule only where it leads somewhere ------------------------------------------

def test_every_reschedule_leads_to_a_session_to_move_to(
        open_context, provider_sites, widget, inbox, shoot):
    page = open_context("phone").new_page()
    page.goto(provider_sites.url("provider.test", "/my-profile"))
    w = widget_of(page)
    log_in(w, inbox, SARAH)
    expect(w.get_by_role("heading", level=1)).to_have_text(greeting("Sarah Thompson"))

    # Oliver's beginners: every Saturday has the Sunday group to move to.
    settled(w.owner.page)
    w.locator("a.cp-stretch").first.click()
    expect(w.locator("nav.cp-tabs")).to_be_visible()  # the booking's screen, then settle
    settled(w.owner.page)
    w.locator("nav.cp-tabs a[href$='/sessions']").click()
    expect(w.locator("#upcoming-title")).to_be_visible()
    shoot(page, "phone-states-1-sessions")

    followed = 0
    for booking in ("bk-1001", "bk-1002", "bk-1003"):
        frame = open_in_widget(page, widget, f"bookings/{booking}/sessions", "demo")
        expect(frame.locator("#upcoming-title")).to_be_visible()
        links = reschedule_links(frame)
        cancels = frame.locator("a.cp-text-action[href$='/cancel']")
        for a in frame.locator("a.cp-text-action[href$='/move']").all():
            expect(a).to_have_text("Reschedule")
            expect(a).to_have_attribute("aria-label", re.compile(r"^Reschedule, \w+day, \d"))
        if booking == "bk-1003":
            # Mia is in every session of the online class: nowhere to move, so no
            # "Reschedule" at all, while cancelling is still offered.
            assert links == [], f"{booking}: Reschedule offered with nowhere to move to"
            assert cancels.count() > 0
        else:
            assert len(links) >= 4, f"{booking}: the second group gives somewhere to move"
        for href in links:
            frame.goto(href)
            expect(frame.get_by_role("heading", name="Reschedule a session")).to_be_visible()
            moves = frame.locator("form[action$='/move'] button[type=submit]")
            expect(moves.first).to_be_visible()
            expect(moves.first).to_have_text("Move here")
            words = text_of(frame)
            assert "There is no other session of this programme" not in words, href
            assert "Nowhere to move to" not in words, href
            followed += 1
            if followed == 1:
                shoot(page, "phone-states-2-reschedule")
    assert followed >= 8

    # Finished (earlier term) and cancelled bookings offer nothing to do to their sessions.
    for booking in ("bk-1004", "bk-1005"):
        frame = open_in_widget(page, widget, f"bookings/{booking}/sessions", "demo")
        expect(frame.locator("#upcoming-title")).to_be_visible()
        assert frame.locator("a.cp-text-action").count() == 0, booking


# --- 2 and 5. Make-ups: counted only when bookable; never the session just cancelled --------

def test_book_a_make_up_counts_only_bookable_ones_and_never_offers_the_cancelled_session(
        open_context, provider_sites, widget, inbox, shoot):
    # The school gives Grace a make-up that runs out within the hour: no session can be
    # booked before then (booking closes 6 hours before a session), so nothing may offer it.
    now = datetime.now(UTC)
    push(widget, "demo-sk", [("makeup-credits", {
        "id": "mk-e2e-last-hour", "client_id": "cl-1007", "attendee_id": "at-1007-1",
        "expires_at": iso(now + timedelta(hours=1))})])

    page = open_context("phone").new_page()
    page.goto(provider_sites.url("provider.test", "/piruetka"))
    w = widget_of(page)
    log_in_any_language(w, inbox, EMILY)
    expect(w.get_by_role("heading", level=1)).to_have_text(greeting("Emily Clarke"))
    expect(w.locator(".cp-quick-link[href*='/benefits']")).to_have_count(0)  # nothing to book

    settled(w.owner.page)
    w.locator("a.cp-stretch").first.click()  # Grace's booking
    expect(w.locator(".cp-tile[href*='/benefits']")).to_contain_text("No make-ups to book")
    settled(w.owner.page)
    w.locator("nav.cp-tabs a[href$='/sessions']").click()
    expect(w.locator("#upcoming-title")).to_be_visible()
    expect(w.locator("#makeups-title")).to_have_count(0)

    cancel = w.locator("a.cp-text-action[href$='/cancel']").first
    cancelled = re.search(r"/sessions/([^/]+)/cancel$", cancel.get_attribute("href"))[1]
    cancel.click()
    settled(w.owner.page)  # a tap while the provider's page still scrolls lands elsewhere
    confirm = w.get_by_role("button", name="Yes, cancel it")
    confirm.focus()
    w.owner.page.keyboard.press("Enter")
    done = w.locator(".cp-done")
    expect(done).to_contain_text("The session is cancelled")

    # 5. Her own cancellation says so; the school's excuse (weeks ago) still says "Excused".
    row = w.locator(f"#session-{cancelled}")
    expect(row).to_contain_text("You cancelled")
    expect(row).not_to_contain_text("Excused")
    past_excused = w.locator(".cp-sessions-past li[data-status=excused]")
    expect(past_excused.first).to_contain_text("Excused")
    expect(w.locator("#makeups-title")).to_have_text(re.compile(r"^\s*1 make-up to book\s*$"))
    shoot(page, "phone-states-3-you-cancelled")

    # Every "Book a make-up" there is, on every screen, counts 1 and leads to sessions.
    frame = frame_of(page)
    links = {a.get_attribute("href") for a in
             frame.locator(".cp-done a[href*='/makeups/'], #makeups-title ~ ul a").all()}
    expect(w.locator("a[href*='mk-e2e-last-hour']")).to_have_count(0)
    frame = open_in_widget(page, widget, f"bookings/{EMILY_BOOKING}", "demo-sk")
    expect(frame.locator(".cp-tile[href*='/benefits']")).to_contain_text("1 make-up available")
    frame = open_in_widget(page, widget, "", "demo-sk")
    quick = frame.locator(".cp-quick-link[href*='/benefits']")
    expect(quick).to_contain_text("Book a make-up")
    expect(quick).to_contain_text("1 make-up available")
    quick.click()
    expect(frame.locator("#makeups-title")).to_be_visible()
    expect(frame.locator("#makeups")).to_contain_text("You have 1 make-up session to book.")
    book_it = frame.locator("#makeups a[href*='/makeups/']")
    expect(book_it).to_have_count(1)
    links.add(book_it.get_attribute("href"))
    assert len(links) == 1 and not any("mk-e2e-last-hour" in h for h in links), links

    for href in links:
        frame.goto(href)
        expect(frame.get_by_role("heading", name="Book a make-up for Grace")).to_be_visible()
        choices = frame.locator("a[href*='/makeups/'][href*='/sessions/']")
        expect(choices.first).to_be_visible()
        offered = [re.search(r"/sessions/([^/?]+)", c.get_attribute("href"))[1]
                   for c in choices.all()]
        assert cancelled not in offered, "the session just cancelled was offered back"
        assert "No session to book right now" not in text_of(frame)
    shoot(page, "phone-states-4-makeup-options")

    # The one that cannot be booked is listed in the hub, honestly, without a way to book.
    frame = open_in_widget(page, widget, "makeups", "demo-sk")
    card = frame.locator("li", has=frame.locator("a[href$='/makeups/mk-e2e-last-hour']"))
    expect(card).to_contain_text("No free session now")


# --- 4. Refusals say their own reason ------------------------------------------------------

def test_a_view_only_grandparent_opening_a_forwarded_cancel_link_is_told_why(
        open_context, provider_sites, widget, inbox, shoot, console):
    console.allow(r"status of 403 \(Forbidden\)")  # the refused pages, as documents
    # Sarah opens a cancel link of Oliver's session and sends the page's address on.
    sarah = open_context("phone").new_page()
    sarah.goto(provider_sites.url("provider.test", "/my-profile"))
    w = widget_of(sarah)
    log_in(w, inbox, SARAH)
    expect(w.get_by_role("heading", level=1)).to_have_text(greeting("Sarah Thompson"))
    open_in_widget(sarah, widget, f"bookings/{SHARED_BOOKING}/sessions", "demo")
    first_cancel = w.locator("a.cp-text-action[href$='/cancel']").first
    move_href = w.locator("a.cp-text-action[href$='/move']").first.get_attribute("href")
    first_cancel.click()
    expect(w.get_by_role("button", name="Yes, cancel it")).to_be_visible()  # she may
    expect(sarah).to_have_url(re.compile(r"#cp-path=.*cancel"))
    forwarded = sarah.url

    grandma = open_context("phone").new_page()
    grandma.goto(provider_sites.url("provider.test", "/my-profile"))
    g = widget_of(grandma)
    log_in(g, inbox, MARGARET)
    expect(g.locator("li.cp-booking")).to_have_count(1)
    grandma.goto("about:blank")
    grandma.goto(forwarded)
    heading = g.get_by_role("heading", name="You can see this booking but not change it")
    expect(heading).to_be_visible()
    words = text_of(frame_of(grandma))
    assert "please ask the account holder" in words
    assert "expired" not in words.lower()
    expect(g.get_by_role("button", name="Yes, cancel it")).to_have_count(0)
    shoot(grandma, "phone-states-5-view-only")

    frame_of(grandma).goto(move_href)  # the reschedule link says the same
    expect(g.get_by_role("heading", name="You can see this booking but not change it")) \
        .to_be_visible()
    assert "expired" not in text_of(frame_of(grandma)).lower()


def test_a_cancel_confirmed_after_the_cutoff_says_it_is_too_late_and_until_when(
        open_context, provider_sites, widget, inbox, shoot, console):
    console.allow(r"status of 409 \(Conflict\)")  # the refused cancel, as a document
    page = open_context("phone").new_page()
    page.goto(provider_sites.url("provider.test", "/piruetka"))
    w = widget_of(page)
    log_in_any_language(w, inbox, EMILY)
    expect(w.get_by_role("heading", level=1)).to_have_text(greeting("Emily Clarke"))

    # The school adds an extra class starting in a little over 6 hours (the cutoff): it can
    # be cancelled for a few more seconds, enough to open the page, not to confirm it.
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=6, seconds=30)
    session = "ses-e2e-extra-soon"
    push(widget, "demo-sk", [
        ("sessions", {"id": session, "programme_id": "prog-pripravka", "starts_at": iso(start),
                      "ends_at": iso(start + timedelta(minutes=45)), "capacity": 1,
                      "location": "Sála A"}),
        ("attendance", {"id": "att-e2e-extra-soon", "booking_id": EMILY_BOOKING,
                        "session_id": session, "status": "expected"}),
    ])
    frame = open_in_widget(page, widget, f"bookings/{EMILY_BOOKING}/sessions", "demo-sk")
    frame.locator(f"#session-{session} a.cp-text-action[href$='/cancel']").click()
    confirm = w.get_by_role("button", name="Yes, cancel it")
    expect(confirm).to_be_visible()
    expect(w.locator(".cp-consequences")).to_contain_text("You can cancel until")
    cutoff = start - timedelta(hours=6)
    wait = (cutoff - datetime.now(UTC)).total_seconds() + 1
    assert wait > 0, "the page opened after the cutoff: the test was too slow"
    time.sleep(wait)
    confirm.click()

    notice = w.locator(".cp-notice[role=status]")
    expect(notice).to_contain_text("It is too late to cancel online.")
    words = " ".join(notice.inner_text().split())
    local = cutoff.astimezone(ZoneInfo("Europe/Bratislava"))
    until = f"{local.hour % 12 or 12}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}"
    assert re.search("Sessions can be cancelled up to 6 hours before they start, so until "
                     rf"\w+, \w+ {local.day}, {until}\.", words), words
    assert "please tell the provider (Tanečná škola Piruetka) directly" in words
    expect(w.get_by_role("button", name="Yes, cancel it")).to_have_count(0)
    expect(w.locator(".cp-error")).to_have_count(0)  # said once, not twice
    shoot(page, "phone-states-6-too-late")

    frame = open_in_widget(page, widget, f"bookings/{EMILY_BOOKING}/sessions", "demo-sk")
    row = frame.locator(f"#session-{session}")
    expect(row).to_have_attribute("data-status", "scheduled")  # nothing changed
    expect(row).to_contain_text("Too late to cancel or reschedule")
    expect(row.locator("a.cp-text-action")).to_have_count(0)


# --- 6. Login codes used up, links cut off --------------------------------------------------

def test_five_wrong_codes_offer_a_new_code_and_a_cut_link_offers_a_new_link(
        open_context, provider_sites, inbox, shoot, console):
    console.allow(r"status of 422 \(Unprocessable (Content|Entity)\)")  # wrong codes
    console.allow(r"status of 410 \(Gone\)")  # the dead links
    context = open_context("phone")
    page = context.new_page()
    page.goto(provider_sites.url("provider.test", "/my-profile"))
    w = widget_of(page)
    ask_for_code(w, DANIEL)
    first = inbox.next_to(DANIEL)
    code = re.search(r"\b(\d{6})\b", first["Subject"])[1]
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(4):
        enter_code(w, wrong)
        expect(w.get_by_text("That code is not right.")).to_be_visible()
    enter_code(w, wrong)  # the fifth
    expect(w.get_by_role("alert")).to_have_text(
        "A wrong code was entered five times, so this code is used up. "
        "We can send you a new one.")
    expect(w.get_by_label("E-mail address")).to_have_value(DANIEL)
    resend = w.get_by_role("button", name="Send me a new code")
    expect(resend).to_be_visible()
    shoot(page, "phone-states-7-code-used-up")
    resend.click()
    second = inbox.next_to(DANIEL)
    enter_code(w, re.search(r"\b(\d{6})\b", second["Subject"])[1])
    expect(w.get_by_role("heading", level=1)).to_have_text(greeting("Daniel Hughes"))

    # The first e-mail's link is dead too, and says why.
    mail_tab = context.new_page()
    mail_tab.goto(login_link(first))
    m = widget_of(mail_tab)
    m.get_by_role("button", name="Continue").click()
    expect(m.get_by_role("heading", name="This login e-mail no longer works")).to_be_visible()

    # A link cut short when copied: it says so, and one click sends a new one.
    cut = login_link(second)[:-6]
    mail_tab.goto("about:blank")
    mail_tab.goto(cut)
    m.get_by_role("button", name="Continue").click()
    expect(m.get_by_role("heading", name="This login link is not complete")).to_be_visible()
    expect(m.get_by_text("It may have been cut off or changed when it was copied.")) \
        .to_be_visible()
    expect(m.get_by_text("expired")).to_have_count(0)
    shoot(mail_tab, "phone-states-8-link-cut")
    field = m.get_by_label("E-mail address")
    if not field.input_value():
        field.fill(DANIEL)
    m.get_by_role("button", name="Send me a new login link").click()
    expect(m.get_by_role("heading", name="Check your inbox")).to_be_visible()
    third = inbox.next_to(DANIEL)
    assert re.search(r"\b\d{6}\b", third["Subject"]) and login_link(third) != login_link(second)


# --- 7. A cancelled booking offers nothing to do ------------------------------------------

def _martins_booking(status: str) -> dict[str, Any]:
    [item] = [item for resource, item in demo_items("demo-sk", date.today())
              if resource == "bookings" and item["id"] == MARTIN_BOOKING]
    return {**item, "status": status}


def test_a_booking_the_school_cancelled_offers_no_actions_on_its_sessions(
        open_context, provider_sites, widget, inbox, shoot):
    page = open_context("phone").new_page()
    page.goto(provider_sites.url("provider.test", "/piruetka"))
    w = widget_of(page)
    log_in_any_language(w, inbox, MARTIN)
    expect(w.locator("nav.cp-nav")).to_be_attached()
    path = f"bookings/{MARTIN_BOOKING}/sessions"
    frame = open_in_widget(page, widget, path, "demo-sk")
    expect(frame.locator("#upcoming-title")).to_be_visible()
    upcoming = frame.locator("ol.cp-sessions:not(.cp-sessions-past) > li").count()
    assert upcoming > 0 and frame.locator("a.cp-text-action[href$='/cancel']").count() > 0

    push(widget, "demo-sk", [("bookings", _martins_booking("cancelled"))])
    try:
        frame = open_in_widget(page, widget, path, "demo-sk")
        expect(frame.locator("#upcoming-title")).to_be_visible()
        assert frame.locator("ol.cp-sessions:not(.cp-sessions-past) > li").count() == upcoming
        expect(frame.locator("a.cp-text-action")).to_have_count(0)
        expect(frame.locator("a[href$='.ics']")).to_have_count(0)
        expect(frame.locator(".cp-closed")).to_have_count(0)  # no "too late" either
        shoot(page, "phone-states-9-cancelled-booking")
        page.set_viewport_size({"width": 1280, "height": 800})  # the same on a computer
        frame = open_in_widget(page, widget, path, "demo-sk")
        expect(frame.locator("#upcoming-title")).to_be_visible()
        expect(frame.locator("a.cp-text-action")).to_have_count(0)
        shoot(page, "desktop-states-cancelled-booking")
    finally:
        push(widget, "demo-sk", [("bookings", _martins_booking("confirmed"))])
    frame = open_in_widget(page, widget, path, "demo-sk")
    expect(frame.locator("a.cp-text-action[href$='/cancel']").first).to_be_visible()
