"""A family with fifty bookings costs the database no more queries than a family with one."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from profile_support import NOW, browser, counting_statements, freeze

PAGES = ["", "bookings/BOOKING", "bookings/BOOKING/sessions", "benefits", "orders", "account"]


def family(prefix: str, email: str, bookings: int) -> list[dict]:
    """A family whose first child has `bookings` bookings, each with everything around it."""
    client, child = f"{prefix}-client", f"{prefix}-child"
    lines = [
        {"resource": "clients", "item": {"id": client, "email": email, "name": "Big Family"}},
        {"resource": "attendees", "item": {"id": child, "client_id": client, "name": "Kim"}},
        {"resource": "attendees", "item": {"id": f"{child}-2", "client_id": client,
                                           "name": "Lee"}},
    ]
    for n in range(1, bookings + 1):
        booking, programme = f"{prefix}-bk-{n}", f"{prefix}-prog-{n}"
        lines.append({"resource": "programmes", "item": {
            "id": programme, "name": f"Class {n}", "venue": "Pool", "price": 9000,
            "currency": "GBP", "addons": [{"id": "towel", "name": "Towel", "price": 150}]}})
        lines.append({"resource": "bookings", "item": {
            "id": booking, "client_id": client, "attendee_id": child,
            "programme_id": programme, "addons": ["towel"], "booked_at": "2026-09-01T10:00:00Z"}})
        for week, status in ((-2, "attended"), (-1, "missed"), (1, "expected"), (2, "expected")):
            starts = NOW.replace(hour=9) + timedelta(weeks=week)
            session = f"{prefix}-s-{n}-{week}"
            lines.append({"resource": "sessions", "item": {
                "id": session, "programme_id": programme, "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(minutes=45)).isoformat(),
                "livestream_url": "https://meet.example.com/x"}})
            lines.append({"resource": "attendance", "item": {
                "id": f"{prefix}-at-{n}-{week}", "booking_id": booking, "session_id": session,
                "status": status}})
        lines += [
            {"resource": "makeup-credits", "item": {
                "id": f"{prefix}-mk-{n}", "client_id": client, "attendee_id": child,
                "source_attendance_id": f"{prefix}-at-{n}--1",
                "expires_at": "2027-01-31T23:59:00Z"}},
            {"resource": "orders", "item": {
                "id": f"{prefix}-ord-{n}", "client_id": client, "currency": "GBP",
                "ordered_at": "2026-11-01T10:00:00Z", "promo_code": "SAVE",
                "items": [{"name": "Cap", "quantity": 1, "unit_price": 500, "vat_rate": "20",
                           "vat_amount": 83}]}},
            {"resource": "payments", "item": {
                "id": f"{prefix}-pay-{n}", "client_id": client, "amount": 9000,
                "booking_id": booking, "currency": "GBP",
                "due_date": "2026-12-01"}},
            {"resource": "payments", "item": {
                "id": f"{prefix}-paid-{n}", "client_id": client, "amount": 500,
                "order_id": f"{prefix}-ord-{n}", "currency": "GBP", "status": "paid",
                "paid_at": "2026-11-01T10:00:00Z"}},
            {"resource": "invoices", "item": {
                "id": f"{prefix}-inv-{n}", "client_id": client, "payment_id": f"{prefix}-paid-{n}",
                "number": f"INV-{n}", "issue_date": "2026-11-01",
                "url": "https://example.com/i.pdf"}},
            {"resource": "entry-passes", "item": {
                "id": f"{prefix}-pass-{n}", "client_id": client, "order_id": f"{prefix}-ord-{n}",
                "name": "Pass", "total_entries": 10, "used_entries": 1,
                "uses": [{"used_at": "2026-11-08T09:00:00Z",
                          "session_id": f"{prefix}-s-{n}--2"}]}},
            {"resource": "discounts", "item": {
                "id": f"{prefix}-disc-{n}", "client_id": client, "name": "Deal", "value": 10}},
            {"resource": "credits", "item": {
                "id": f"{prefix}-cr-{n}", "client_id": client, "amount": 1000, "currency": "GBP",
                "occurred_at": "2026-11-01T10:00:00Z"}},
        ]
    return lines


@pytest.fixture
def families(app, api):
    freeze(app)
    body = "\n".join(json.dumps(line) for line in
                     family("one", "one@example.com", 1) + family("big", "big@example.com", 50))
    result = api.import_ndjson(body).json()
    assert result["failed"] == 0, [r for r in result["results"] if r["status"] == "error"][:3]
    return app


def statements_per_page(app, visitor, booking: str) -> dict[str, int]:
    counts = {}
    for page in PAGES:
        path = page.replace("BOOKING", booking)
        visitor.open(path)  # once to warm up (a first request may set up the pool)
        with counting_statements(app) as statements:
            response = visitor.open(path)
        assert response.status_code == 200, (path, response.text[:300])
        counts[page or "home"] = len(statements)
    return counts


def test_every_page_costs_the_same_few_queries_for_1_or_50_bookings(families, mailbox):
    one = browser(families, mailbox, "one@example.com")
    big = browser(families, mailbox, "big@example.com")
    small_family = statements_per_page(families, one, "one-bk-1")
    large_family = statements_per_page(families, big, "big-bk-50")
    assert "Class 50" in big.open("").text  # the big family's home really lists 50 bookings
    assert big.open("").text.count('class="cp-booking"') == 50
    assert small_family == large_family
    # The login session and its client are one statement on every page (home's with the
    # family's members too); home's totals come with the family's discounts and how many
    # offers the member has; home's bookings and a booking's dashboard come with each one's
    # next session (the dashboard's also with its sessions counted by how they show, its latest
    # change of class, and whether any offer follows it); these families have no offers, so
    # neither page reads any. The sessions tab's places come with their origins (an entry pass,
    # a session moved from) and the family's notes in its rows' statement, and the members'
    # places with the sessions they could move to in one (`options.have_options`).
    assert small_family == {"home": 4, "bookings/BOOKING": 4, "bookings/BOOKING/sessions": 5,
                            "benefits": 7, "orders": 7, "account": 5}


def test_every_page_is_one_piece_of_database_work(families, mailbox, monkeypatch):
    """The login session, the client and the page's data are read in one transaction, on the
    event loop itself (on PostgreSQL each statement awaited there); never a hop to a thread,
    nor one transaction per query or per step."""
    import widget_server.core.db as db

    trips, on_the_loop = [], []
    real_thread = db.to_thread
    sqlite = families.state.engine.dialect.name == "sqlite"
    # SQLite's piece of work runs straight on the loop; PostgreSQL's in a greenlet there.
    name = "_on_the_loop" if sqlite else "_in_session"
    real_loop = getattr(db, name)

    class Counting:
        @staticmethod
        async def run_sync(work, *args, **kwargs):
            trips.append(work)
            return await real_thread.run_sync(work, *args, **kwargs)

    visitor = browser(families, mailbox, "big@example.com")
    monkeypatch.setattr(db, "to_thread", Counting)
    monkeypatch.setattr(db, name, lambda *args: on_the_loop.append(1) or real_loop(*args))
    for page in PAGES:
        trips.clear()
        on_the_loop.clear()
        response = visitor.open(page.replace("BOOKING", "big-bk-50"))
        assert response.status_code == 200
        assert (len(on_the_loop), len(trips)) == (1, 0), page


def test_the_pages_read_records_and_build_no_orm_objects(families, mailbox):
    """What a page only shows is read as records (core.records): the ORM's loading and
    per-object state cost more than the statements (a booking's payments were the last)."""
    from sqlalchemy import event
    from sqlalchemy.orm import Mapper

    built: list[str] = []

    def loaded(target, context):
        built.append(type(target).__name__)

    visitor = browser(families, mailbox, "big@example.com")
    event.listen(Mapper, "load", loaded)
    try:
        for page in PAGES:
            built.clear()
            response = visitor.open(page.replace("BOOKING", "big-bk-50"))
            assert response.status_code == 200
            assert built == [], (page, built)
    finally:
        event.remove(Mapper, "load", loaded)
    assert "due 1 Dec 2026" in visitor.open("bookings/big-bk-50").text  # its payment is shown


def test_a_session_row_is_lean_html(families, mailbox):
    """The sessions tab repeats one row per session: icons take their style from the
    stylesheet and rows share their links' making, so a row stays a few hundred bytes."""
    visitor = browser(families, mailbox, "big@example.com")
    page = visitor.open("bookings/big-bk-50/sessions").text
    rows = re.findall(r'<li class="cp-session.*?</li>', page, re.S)
    assert len(rows) == 4
    assert 'focusable="false"' not in page and 'stroke-linecap="round"' not in page
    assert max(len(row.encode()) for row in rows) < 1000, max(rows, key=len)


def test_the_sessions_tab_reads_of_each_session_only_what_it_uses(families, mailbox):
    """The tab reads a row per session: not the session's tenant, nor when the provider
    created and last changed it (two time stamps a row, each converted to be thrown away)."""
    visitor = browser(families, mailbox, "big@example.com")
    visitor.open("bookings/big-bk-50/sessions")  # statements are built once
    with counting_statements(families) as seen:
        page = visitor.open("bookings/big-bk-50/sessions").text
    [rows] = [sql for sql, _, _ in seen if "session_note" in sql]
    columns = rows.split(" FROM ")[0]
    assert "session.starts_at" in columns and "session.livestream_url" in columns
    for unused in ("session.tenant", "session.created_at", "session.updated_at"):
        assert unused not in columns
    assert len(re.findall(r'<li class="cp-session', page)) == 4  # the rows still show


def test_a_page_s_statements_are_built_once_for_every_family(families, mailbox):
    """Statements are built with bound parameters for whoever looks, once per kind of visitor
    (a client, or an adult with shares only); another family's visit builds none, and sees
    its own bookings, not the first family's."""
    from widget_server.core import access

    one = browser(families, mailbox, "one@example.com")
    big = browser(families, mailbox, "big@example.com")
    statements_per_page(families, one, "one-bk-1")
    built = dict(access._PREPARED)
    assert len(built) >= 10
    statements_per_page(families, big, "big-bk-50")
    assert access._PREPARED == built  # the same statement objects, none new
    assert "Class 50" in big.open("").text and "Class 50" not in one.open("").text
    assert big.open("bookings/one-bk-1").status_code == 404


def test_a_page_without_offers_or_notices_does_not_build_their_macros(families, mailbox,
                                                                       monkeypatch):
    """The offer cards' macros are imported with the page's context, which Jinja builds anew
    on every render: home and a booking build them only when there is an offer to show, and
    a sessions tab its notices' and make-ups' macros only when it shows one."""
    from jinja2.environment import Template

    built: list[str] = []
    real = Template.make_module
    monkeypatch.setattr(Template, "make_module",
                        lambda self, *args, **kwargs: built.append(self.name) or real(
                            self, *args, **kwargs))
    visitor = browser(families, mailbox, "one@example.com")
    notice = visitor.open("bookings/one-bk-1/sessions?done=moved")
    assert notice.status_code == 200 and "The session is rescheduled" in notice.text
    assert "widget/_places.html" in built  # imported with context there: seen being built
    built.clear()
    assert visitor.open("bookings/one-bk-1/sessions").status_code == 200
    assert "widget/_places.html" not in built, built  # nothing of it shown
    for page in ("", "bookings/one-bk-1"):
        built.clear()
        response = visitor.open(page)
        assert response.status_code == 200 and "cp-offer" not in response.text
        assert "widget/_offers.html" not in built, (page, built)
