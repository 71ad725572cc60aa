"""The school's owner opens the console and sees what families did themselves in the last 30
days and this term: logins, cancellations, make-ups, online payments and their total,
downloads, shares, answers. The numbers are counted where each thing happens; a scripted
month of activity adds up to exactly what the dashboard says."""

from __future__ import annotations

import re
from datetime import timedelta

from console_support import staff_browser
from profile_support import NOW, SARAH, browser, freeze, text_of
from sqlmodel import Session

from widget_server.console import dashboard
from widget_server.core import activity
from widget_server.core.db import session_scope
from widget_server.delivery.webhooks import enqueue_event


def row(page: str, label: str) -> tuple[str, str]:
    found = re.search(rf"{re.escape(label)} (\S+(?: \([^)]*\))?) (\S+(?: \([^)]*\))?)", page)
    assert found, label
    return found.group(1), found.group(2)


def test_a_scripted_month_adds_up_on_the_dashboard(demo, mailbox):
    tenant = demo.state.tenants.get("demo")
    # Before the month (this term, since 1 September): 4 cancellations, one £54 payment.
    # In the month: 3 cancellations, 2 make-ups, 2 payments (£54 and £12.50), 1 share,
    # 1 offer accepted, 1 declined; and one day too old for either (last school year).
    script = [(-40, "session.cancelled", 0)] * 4 + [(-45, "payment.paid", 5400)] + \
        [(-3, "session.cancelled", 0)] * 3 + [(-1, "makeup.booked", 0)] * 2 + \
        [(-2, "payment.paid", 5400), (-29, "payment.paid", 1250), (-5, "share.added", 0),
         (-6, "offer.accepted", 0), (-7, "offer.declined", 0), (-120, "makeup.booked", 0)]
    with session_scope(demo.state.engine) as db:
        for days, kind, amount in script:
            activity.count(db, "demo", kind, NOW + timedelta(days=days), amount)
        activity.count(db, "demo-sk", "session.cancelled", NOW)  # another school's
    # And what really happens counts too: Sarah logs in, cancels a session (a webhook event).
    sarah = browser(demo, mailbox, SARAH)
    with session_scope(demo.state.engine) as db:
        enqueue_event(db, tenant, "session.cancelled", client_id=None, at=NOW, data={
            "attendee_id": "a", "booking_id": "b", "session_id": "s", "attendance_id": "x",
            "starts_at": NOW, "makeup_credit_id": None})
    assert sarah.open("").status_code == 200

    owner = staff_browser(demo, mailbox)  # a staff login is not a family's
    page = text_of(owner.open("").text)
    assert row(page, "Sessions cancelled") == ("4", "8")
    assert row(page, "Make-ups booked") == ("2", "2")
    assert row(page, "Payments made online") == ("2 (£66.50)", "3 (£120.50)")
    assert row(page, "Bookings shared") == ("1", "1")
    assert row(page, "Offers answered") == ("2", "2")
    assert row(page, "Logins") == ("1", "1")
    assert "Since 1 Sept 2026" in page
    assert "11 requests handled by families themselves in the last 30 days · 16 this term" \
        in page

    with Session(demo.state.engine) as db:  # the numbers are the domain's, not the page's
        board = dashboard.dashboard(db, tenant, NOW)
    assert board.saved == (11, 16)


def test_the_dashboard_reads_a_few_rows_however_busy_the_school(demo, mailbox):
    """Its statement reads the (tenant, day) index, a row per kind and day."""
    from test_query_plans import problems_of, statements_of

    owner = staff_browser(demo, mailbox)
    with statements_of(demo) as statements:
        assert owner.open("").status_code == 200
    assert not problems_of(demo, statements)


def test_a_look_from_the_console_is_not_counted(demo, mailbox):
    freeze(demo, NOW)
    owner = staff_browser(demo, mailbox)
    owner.open("families/cl-1001")
    owner.post("families/cl-1001/view-as")
    page = text_of(staff_browser(demo, mailbox).open("").text)
    assert row(page, "Logins") == ("0", "0")
