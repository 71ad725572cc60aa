"""Money inside the provider's page, on a phone, in the cross-site iframe:

1. a co-parent the owner shares a booking with at full access sees its payment to pay, opens
   it and pays it online (the fake Stripe), and everyone sees it paid; an adult the same
   booking is shared with to view only sees no payment and reaches none;
2. a Slovak parent who says "Prevod je odoslaný" (I have sent the transfer) sees the overdue
   payment turn "Prevod oznámený, čaká na potvrdenie" on its page and in Orders;
3. an order with a promo code shows VAT on what was charged and the prepaid credit, in both
   schools, and the Slovak invoice's and receipt's VAT recap adds up to the order's total.

Families: the two whose payments change here are new, pushed the way the school's booking
system sends them (`push`, the sync code behind `/api/v1`), so no other browser story sees
their data move: the demo's only unpaid booking payments (Sarah's and James's) are other
stories' data. Story 3 only reads Sarah Thompson's and Jana
Kováčová's first orders.
"""

from __future__ import annotations

import io
import re
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from playwright.sync_api import FrameLocator, Page, expect
from pypdf import PdfReader

from e2e.conftest import settled
from e2e.test_login_in_iframe import greeting
from e2e.test_profile_journeys import section_link
from e2e.test_self_service_states import frame_of, push

SARAH = "sarah.thompson@example.com"  # demo: order SPL-5001 (promo SPLASH10, £12 credit)
JANA = "jana.kovacova@example.com"  # demo-sk: order OBJ-5001 (promo PIRUETKA10, 12 € credit)
RACHEL = "rachel.moore@example.com"  # demo, pushed here: Leo's online class, £48.00 to pay
EVA = "eva.mrazova@example.com"  # demo-sk, pushed here: Tobiáš's stretching, 45,00 € overdue


@pytest.fixture
def inbox(inbox):
    """The mailbox, read by subject from where the test began."""
    inbox.start, inbox.used = len(inbox.mailbox.messages), []
    return inbox


def widget_of(page: Page) -> FrameLocator:
    return page.frame_locator("iframe[title='Client Profile']")


def _stamp(day: date) -> str:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC).isoformat().replace(
        "+00:00", "Z")


def push_family(widget, tenant: str, n: int, email: str, parent: str, child: str,
                programme: str, price: int, currency: str, due: int, reference: str) -> str:
    """A family with one child, one booking and that booking's unpaid payment (due `due` days
    from today); returns the payment's id."""
    today = date.today()
    push(widget, tenant, [
        ("clients", {"id": f"cl-{n}", "email": email, "name": parent,
                     "locale": "en_GB" if tenant == "demo" else "sk"}),
        ("attendees", {"id": f"at-{n}-1", "client_id": f"cl-{n}", "name": child,
                       "birth_date": (today - timedelta(days=7 * 365)).isoformat()}),
        ("bookings", {"id": f"bk-{n}", "client_id": f"cl-{n}", "attendee_id": f"at-{n}-1",
                      "programme_id": programme, "status": "confirmed", "price": price,
                      "currency": currency, "addons": [],
                      "booked_at": _stamp(today - timedelta(days=20))}),
        ("payments", {"id": f"pay-{n}", "client_id": f"cl-{n}", "booking_id": f"bk-{n}",
                      "description": None, "amount": price, "currency": currency,
                      "due_date": (today + timedelta(days=due)).isoformat(),
                      "status": "unpaid", "method": "bank_transfer",
                      "bank_reference": reference}),
    ])
    return f"pay-{n}"


def mail(inbox, email: str, subject: str, timeout: float = 10.0):
    """The first message to `email` whose subject matches `subject` (a regex) since the test
    began, waiting for it if need be (share notices and login codes may arrive in any order,
    so `Inbox.next_to`, which takes the newest, is not enough here)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in inbox.mailbox.messages[inbox.start:]:
            if email in message["To"] and re.search(subject, message["Subject"]) \
                    and message not in inbox.used:
                inbox.used.append(message)
                return message
        time.sleep(0.1)
    raise AssertionError(f"no e-mail to {email} matching {subject!r} within {timeout} s")


def share(widget: FrameLocator, inbox, email: str, relation: str, access: str) -> None:
    """On the booking's Sharing tab: share it with `email`, who is told by e-mail."""
    widget.locator("#share-email").fill(email)
    # Keyboard, not taps: a tap aimed while the provider's page still scrolls the frame into
    # view can land beside the radio (CI saw "did not change its state").
    for name, value in (("relation", relation), ("access", access)):
        radio = widget.locator(f"input[name={name}][value={value}]")
        radio.focus()
        radio.press("Space")
        expect(radio).to_be_checked()
    widget.locator("form[action$='/sharing'] button[type=submit]").click()
    expect(widget.locator("p.cp-notice[role=status]")).to_contain_text(email)
    mail(inbox, email, r"^Rachel Moore shared Leo Moore's booking with you$")


def logged_in(open_context, provider_sites, inbox, email: str,
              path: str = "/my-profile") -> tuple[Page, FrameLocator]:
    """A phone on the provider's page, logged in by the code e-mailed (in any language)."""
    page = open_context("phone").new_page()
    page.goto(provider_sites.url("provider.test", path))
    widget = widget_of(page)
    widget.locator("input[name=email]").fill(email)
    widget.locator("form:has(input[name=email]) button[type=submit]").click()
    expect(widget.locator("input[name=code]")).to_be_visible()
    code = re.search(r"\b(\d{6})\b", mail(inbox, email, r"\b\d{6}\b")["Subject"]).group(1)
    widget.locator("input[name=code]").fill(code)
    widget.locator("form:has(input[name=code]) button[type=submit]").click()
    expect(widget.locator("nav.cp-nav")).to_be_attached()
    return page, widget


def test_a_co_parent_with_full_access_pays_the_shared_booking_a_viewer_cannot(
        open_context, provider_sites, widget, fake_stripe, inbox, shoot, console):
    console.allow(r"status of 404 \(Not Found\)")  # the viewer trying the payment's address
    payment = push_family(widget, "demo", 9101, RACHEL, "Rachel Moore", "Leo Moore",
                          "prog-water-safety", 4800, "GBP", due=7, reference="SPLASH-9101")
    run = uuid.uuid4().hex[:8]
    coparent, viewer = f"coparent.{run}@example.com", f"viewer.{run}@example.com"

    # Rachel shares Leo's booking: his father at full access, an aunt to look at it.
    owner, mine = logged_in(open_context, provider_sites, inbox, RACHEL)
    expect(mine.get_by_role("heading", level=1)).to_have_text(greeting("Rachel Moore"))
    settled(mine.owner.page)
    mine.locator("a.cp-stretch").first.click()
    expect(mine.get_by_role("heading", level=1)).to_have_text("Water Safety Online")
    settled(owner)
    settled(mine.owner.page)
    mine.locator("nav.cp-tabs a[href$='/sharing']").click()
    share(mine, inbox, coparent, "parent", "full")
    share(mine, inbox, viewer, "other", "view")
    expect(mine.locator(".cp-share-list")).to_contain_text("Full access")
    # The father hears of the aunt without her address.
    mail(inbox, coparent, r"^One more adult can now see Leo Moore's booking$")

    # The father, on his own phone: the booking's payment is his to pay.
    page, his = logged_in(open_context, provider_sites, inbox, coparent)
    section_link(his, "Orders").click()
    to_pay = his.locator("#to-pay")
    expect(to_pay).to_contain_text("£48.00")
    expect(to_pay).to_contain_text("Water Safety Online")
    expect(to_pay).not_to_contain_text("Nothing to pay")
    settled(page)
    to_pay.get_by_role("link", name=re.compile("^Pay")).click()
    expect(his.get_by_role("heading", level=1)).to_have_text("£48.00")  # not a 404
    expect(his.locator("#transfer")).to_contain_text("SPLASH-9101")
    expect(his.get_by_role("button", name="I have sent the transfer")).to_be_visible()
    pay_online = his.get_by_role("button", name="Pay £48.00 online")
    expect(pay_online).to_be_visible()
    shoot(page, "phone-money-coparent-to-pay")

    deliveries = len(fake_stripe.deliveries)  # the fake serves the whole run
    settled(page)
    with page.expect_popup() as opened:
        pay_online.click()
    gateway = opened.value
    expect(gateway.get_by_role("heading", name="Pay 48.00 GBP")).to_be_visible()
    checkout = fake_stripe.calls[-1].form
    assert checkout["customer_email"] == coparent  # his own address, not Rachel's
    assert checkout["metadata"]["payment_id"] == payment
    gateway.get_by_role("button", name="Pay").click()
    expect(gateway).to_have_url(re.compile(r"/my-profile"))
    assert fake_stripe.deliveries[deliveries:] == [("checkout.session.completed", 200)]
    expect(his.get_by_role("heading", name="Paid. Thank you!")).to_be_visible(timeout=15_000)
    expect(his.get_by_role("link", name="Receipt (PDF)")).to_have_count(0)  # the family's
    section_link(his, "Orders").click()
    expect(his.locator("#to-pay")).to_contain_text("Nothing to pay")

    # Rachel sees it paid too.
    section_link(mine, "Orders").click()
    expect(mine.locator("#to-pay")).to_contain_text("Nothing to pay")
    expect(mine.locator("#payments")).to_contain_text("£48.00")

    # The aunt sees the booking, but no payment and no way to pay.
    aunt_page, hers = logged_in(open_context, provider_sites, inbox, viewer)
    settled(hers.owner.page)
    hers.locator("a.cp-stretch").first.click()
    expect(hers.get_by_role("heading", level=1)).to_have_text("Water Safety Online")
    expect(hers.locator("#payments-title")).to_have_count(0)
    expect(hers.get_by_role("link", name=re.compile("^Pay"))).to_have_count(0)
    section_link(hers, "Orders").click()
    expect(hers.locator("#to-pay")).to_contain_text("Nothing to pay")
    expect(hers.locator("main")).not_to_contain_text("£48.00")
    frame_of(aunt_page).goto(widget.url(f"payments/{payment}"))
    expect(hers.locator(".cp-error-page")).to_be_visible()
    expect(hers.get_by_role("button", name=re.compile("^Pay"))).to_have_count(0)


def test_a_slovak_parent_reports_the_transfer_and_it_stops_being_overdue(
        open_context, provider_sites, widget, inbox, shoot):
    payment = push_family(widget, "demo-sk", 9201, EVA, "Eva Mrázová", "Tobiáš Mráz",
                          "prog-strecing-online", 4500, "EUR", due=-5, reference="2026009201")
    page, w = logged_in(open_context, provider_sites, inbox, EVA, "/piruetka")
    section_link(w, "Objednávky", "Sekcie").click()
    to_pay = w.locator("#to-pay")
    expect(to_pay).to_contain_text("45,00 €")
    expect(to_pay).to_contain_text("Po splatnosti")  # overdue
    settled(page)
    to_pay.get_by_role("link", name=re.compile("^Zaplatiť")).click()
    expect(w.get_by_role("heading", level=1)).to_have_text("45,00 €")
    head = w.locator(".cp-pay-head")
    expect(head).to_contain_text("Po splatnosti")
    expect(w.get_by_role("button", name=re.compile("^Zaplatiť .* online"))).to_have_count(0)

    settled(page)
    w.get_by_role("button", name="Prevod je odoslaný").click()
    state = w.locator("section[data-state=reported]")
    expect(state).to_be_visible()
    expect(state.get_by_role("heading")).to_have_text("Prevod oznámený, čaká na potvrdenie")
    expect(state).to_contain_text("45,00 €")
    expect(head).to_contain_text("Prevod oznámený")
    expect(head).to_contain_text("oznámené")
    expect(head).not_to_contain_text("Po splatnosti")
    expect(head).not_to_contain_text("bola splatná")
    expect(w.get_by_role("button", name="Prevod je odoslaný")).to_have_count(0)
    expect(w.locator("#transfer")).to_contain_text("2026009201")  # the details stay at hand
    shoot(page, "phone-money-transfer-reported")

    # Orders says the same, and the provider's page shows it after a reload too.
    page.reload()
    w = widget_of(page)
    expect(w.locator("section[data-state=reported]")).to_be_visible()
    section_link(w, "Objednávky", "Sekcie").click()
    row = w.locator("#to-pay li").filter(has_text="45,00 €")
    expect(row).to_contain_text("Prevod oznámený")
    expect(row).to_contain_text("čaká na potvrdenie")
    expect(row).not_to_contain_text("Po splatnosti")
    expect(row).not_to_have_class(re.compile("cp-overdue"))
    expect(row.locator(f"a[href$='/payments/{payment}']")).to_have_count(1)  # details
    expect(row.get_by_role("link", name=re.compile("^Zaplatiť"))).to_have_count(0)


def footer(widget: FrameLocator) -> list[str]:
    """The order's recap, row by row: 'label value'."""
    rows = widget.locator(".cp-order tfoot tr")
    expect(rows.first).to_be_visible()
    return [" ".join(text.split()) for text in rows.all_inner_texts()]


def test_a_promo_order_shows_vat_on_what_was_charged_and_the_credit(
        open_context, provider_sites, inbox, shoot):
    page, w = logged_in(open_context, provider_sites, inbox, SARAH)
    section_link(w, "Orders").click()
    # The new screen first, then its scrolling into view: settling before the frame had begun
    # to load the orders let the click land while the page still moved (CI, once).
    expect(w.locator("#orders")).to_be_visible()
    settled(page)
    w.locator("#orders").get_by_role("link", name="Order SPL-5001").click()
    expect(w.get_by_role("heading", level=1)).to_have_text("Order SPL-5001")
    # £80.00 of items, 10 % off; the 20 % VAT is on the £27.00 the kit cost after the
    # discount (£4.50), not on its £30.00 list price (£5.00); £12.00 came from credit.
    assert footer(w) == ["Subtotal £80.00", "Promo code SPLASH10 −£8.00", "Total £72.00",
                         "Including VAT £4.50", "Paid with prepaid credit −£12.00",
                         "Amount after credit £60.00"]
    shoot(page, "phone-money-order-vat")

    page, w = logged_in(open_context, provider_sites, inbox, JANA, "/piruetka")
    section_link(w, "Objednávky", "Sekcie").click()
    expect(w.locator("#orders")).to_be_visible()
    settled(page)
    w.locator("#orders").get_by_role("link", name="Objednávka OBJ-5001").click()
    expect(w.get_by_role("heading", level=1)).to_have_text("Objednávka OBJ-5001")
    assert footer(w) == ["Medzisúčet 97,80 €", "Zľavový kód PIRUETKA10 −9,78 €",
                         "Spolu 88,02 €", "Z toho DPH 6,36 €",
                         "Uhradené z predplateného kreditu −12,00 €",
                         "Suma po odpočítaní kreditu 76,02 €"]

    # Its payment's invoice and receipt, downloaded inside the frame: each VAT recap adds up
    # to the total, the credit shown.
    settled(page)
    w.locator("section[aria-labelledby=order-payments-title] a").click()
    expect(w.get_by_role("heading", level=1)).to_have_text("76,02 €")
    documents = w.locator("#documents a")
    expect(documents).to_have_count(2)  # "Faktúra FA…" and the receipt
    for link, kind in zip(documents.all(), ("Faktúra", "Potvrdenie o platbe"), strict=True):
        settled(page)
        with page.expect_download() as event:
            link.click()
        done = event.value
        assert done.failure() is None, done.failure()
        body = open(done.path(), "rb").read()
        assert body.startswith(b"%PDF")
        text = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(
            io.BytesIO(body)).pages)).replace("\xa0", " ")
        for fact in ("Medzisúčet 97,80 €", "Zľavový kód PIRUETKA10 −9,78 €", "Spolu 88,02 €",
                     "Z toho DPH 6,36 €", "Uhradené z predplateného kreditu −12,00 €",
                     "Zaplatená suma 76,02 €", "REKAPITULÁCIA DPH", "0 % 54,00 € 0,00 € 54,00 €",
                     "23 % 27,66 € 6,36 € 34,02 €"):
            assert fact in text, (fact, text)
        assert f"{kind} Číslo: " in text, text
        grosses = [int(a + b) for a, b in re.findall(
            r"\d+ % [\d ]+,\d\d € [\d ]+,\d\d € (\d+),(\d\d) €", text)]
        assert sum(grosses) == 8802, (grosses, text)  # 88,02 €: the total, not 97,80 €
