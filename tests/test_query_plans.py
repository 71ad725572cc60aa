"""A page's cost depends on what it shows, never on how big the tables are: every statement a
logged-in page or a provider API list/get sends is EXPLAINed, and none may read a whole table
that grows with clients, or a tenant's whole share of one.

SQLite: `EXPLAIN QUERY PLAN` must not `SCAN` such a table (nor its index from end to end), nor
`SEARCH` it by the tenant alone or the tenant and a range of times (unless it reads a LIMITed
page in index order, and wants no other column's value). PostgreSQL
(CI): `EXPLAIN` with sequential scans and hash/merge joins priced out must show no `Seq Scan`
on one (one remains only where no index fits at all).
"""

from __future__ import annotations

import html
import re
from collections import deque
from contextlib import contextmanager
from datetime import timedelta
from typing import Iterator

import pytest
from profile_support import NOW, SARAH, browser, counting_statements
from sqlalchemy import select, update

from widget_server import scheduler
from widget_server.api.resources import RESOURCES
from widget_server.core import access as scope
from widget_server.core.db import session_scope
from widget_server.core.models import Booking, Client, Programme
from widget_server.delivery.notices import Notices
from widget_server.profile import report_cards
from widget_server.selfservice import offer_notices, offers, switching

# Tables that grow with the number of clients (and their bookings, sessions, messages).
GROWING = {
    "client", "attendee", "booking", "attendance", "session", "payment", "invoice", "order",
    "order_item", "makeup_credit", "makeup_waitlist", "booking_share", "outbox_message",
    "web_session", "login_challenge", "email_change", "entry_pass", "entry_pass_use",
    "payment_checkout", "payment_transaction", "credit_entry", "discount", "calendar_feed",
    "webhook_delivery", "gateway_event", "attendance_origin", "reminder", "idempotency_record",
    "assessment", "session_note", "report_card", "first_open", "document", "document_chunk",
    "rate_limit_counter", "offer", "offer_option", "booking_switch", "audit_entry",
    "activity_count", "programme",
}
# One row per tenant, day and kind: a range of days reads just the days a page shows.
BY_DAY = {"activity_count"}
SKIP_PATHS = ("/logout",)  # a POST form's address; following it as a link means nothing
MAX_PAGES = 120


@contextmanager
def statements_of(app) -> Iterator[list[tuple[str, object]]]:
    """The page's SELECT/UPDATE/DELETE statements, with their parameters, sent in the block."""
    with counting_statements(app) as sent:
        reads: list[tuple[str, object]] = []
        yield reads
    reads += [(statement, parameters) for statement, parameters, many in sent
              if not many and statement.lstrip().split(None, 1)[0].upper()
              in ("SELECT", "WITH", "UPDATE", "DELETE")]


def aliases(statement: str) -> dict[str, str]:
    """`attendance AS attendance_1` -> {"attendance_1": "attendance"}; tables name themselves."""
    found = {t: t for t in GROWING}
    for table, alias in re.findall(r'"?(\w+)"? AS "?(\w+)"?', statement):
        if table in GROWING:
            found[alias] = table
    return found


def sqlite_problems(cursor, statement: str, parameters, windows: bool = False) -> list[str]:
    """`windows`: a read of the tenant's rows within a range of times is what the statement
    is for (the scheduler's jobs: tomorrow's sessions, the credits' validity window)."""
    cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
    names = aliases(statement)
    plan = [detail for *_, detail in cursor.fetchall()]
    # A page of a list read in index order stops at its LIMIT: that reads what it shows.
    paged = " LIMIT " in statement and not any("TEMP B-TREE" in d for d in plan)
    out = []
    for detail in plan:
        scan = re.match(r"SCAN (\w+)", detail)
        if scan and scan.group(1) in names:
            out.append(f"{detail} ({names[scan.group(1)]})")
        # By the tenant alone, or the tenant and a range of times: every row of the tenant's
        # (in that range, for every client).
        search = re.match(r"SEARCH (\w+) USING (?:COVERING )?INDEX \w+ "
                          r"\(tenant=\?((?: AND \w+[<>]=?\?)*)\)$", detail)
        if not search or search.group(1) not in names \
                or (search.group(2) and (windows or names[search.group(1)] in BY_DAY)):
            continue
        # A LIMITed page in index order stops early, unless the statement also wants a value
        # of another column (`booking_id = ?`): then it walks the tenant's rows until it finds
        # them, every row when there are none.
        wanted = {column for column in re.findall(
            rf"\b{search.group(1)}\.(\w+) = [?]", statement) if column != "tenant"}
        if not paged or wanted:
            out.append(f"{detail}: the tenant's every row"
                       + (f" (looking for {', '.join(sorted(wanted))})" if wanted else ""))
    return out


def postgres_problems(cursor, statement: str, parameters, windows: bool = False) -> list[str]:
    # A backstop: with sequential scans and whole-table joins priced out, a Seq Scan remains
    # only where no index fits at all. Which index PostgreSQL reads on these tiny tables depends
    # on whether autovacuum has analysed them (it may read a small one from end to end rather
    # than search it), so the strict check of which index serves a query is SQLite's, whose
    # planner does not look at table sizes.
    for method in ("seqscan", "hashjoin", "mergejoin"):
        cursor.execute(f"SET enable_{method} = off")
    cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
    plan = cursor.fetchone()[0][0]["Plan"]
    return [f"Seq Scan on {node['Relation Name']}" for node in nodes(plan)
            if node["Node Type"] == "Seq Scan" and node.get("Relation Name") in GROWING]


def nodes(plan: dict) -> Iterator[dict]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def problems_of(app, statements: list[tuple[str, object]], windows: bool = False) -> list[str]:
    engine = app.state.engine
    check = postgres_problems if engine.dialect.name == "postgresql" else sqlite_problems
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        out = []
        for statement, parameters in statements:
            out += [f"{p}\n    in: {' '.join(statement.split())[:400]}"
                    for p in check(cursor, statement, parameters, windows)]
        raw.rollback()
        return out
    finally:
        raw.close()


def links_on(page: str, tenant: str) -> list[str]:
    """Same-tenant addresses a page links to (absolute or not), without their #fragments."""
    found = re.findall(rf'href="(?:https?://[^/"]+)?(/t/{tenant}/[^"#]*)', page)
    return [html.unescape(link) for link in found]


def crawl(app, visitor, tenant: str = "demo") -> dict[str, list[str]]:
    """Every page reachable by links from the home page; for each, its plan problems."""
    queue, seen, report = deque([f"/t/{tenant}/"]), {f"/t/{tenant}/"}, {}
    while queue and len(report) < MAX_PAGES:
        path = queue.popleft()
        with statements_of(app) as statements:
            response = visitor.client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        report[path] = problems_of(app, statements)
        if "text/html" in response.headers.get("content-type", ""):
            for link in links_on(response.text, tenant):
                if link not in seen and not link.endswith(SKIP_PATHS):
                    seen.add(link)
                    queue.append(link)
    return report


def by_problem(report: dict[str, list[str]]) -> dict[str, str]:
    """Each problem once, with the first page (or request) that showed it."""
    found: dict[str, str] = {}
    for where, problems in report.items():
        for problem in problems:
            found.setdefault(problem, where)
    return found


@pytest.mark.postgres
def test_every_page_a_parent_can_reach_reads_by_index(demo, sarah):
    report = crawl(demo, sarah)
    screens = {re.sub(r"/[\w-]+\d+", "/<id>", p.split("?")[0]) for p in report}
    # The crawl really went everywhere: bookings, sessions, make-ups, payments, orders, account,
    # progress.
    for screen in ("/t/demo/", "/t/demo/bookings/<id>/sessions", "/t/demo/makeups",
                   "/t/demo/payments/<id>", "/t/demo/orders", "/t/demo/account",
                   "/t/demo/benefits", "/t/demo/bookings/<id>/sharing", "/t/demo/progress",
                   "/t/demo/documents", "/t/demo/documents/doc-letter",
                   "/t/demo/bookings/<id>/switch"):
        assert screen in screens, sorted(screens)
    assert len(report) >= 25
    found = by_problem(report)
    assert not found, "\n\n".join(f"{where}: {problem}" for problem, where in found.items())


@pytest.mark.postgres
def test_every_page_of_a_parent_another_family_shares_a_booking_with_reads_by_index(
        demo, api, sarah):
    # Sarah has no share of her own in the demo, so the crawl above reads her family by her
    # client alone; with one, each family rule has its shares' half too.
    with session_scope(demo.state.engine) as db:
        theirs = db.exec(select(Booking.external_id).join(Client, Client.id == Booking.client_id)
                         .where(Client.tenant == "demo", Client.external_id == "cl-1002")
                         ).first()[0]
    assert api.put("shares", "sh-plan", {"booking_id": theirs, "email": SARAH,
                                         "access": "full", "status": "active"}
                   ).status_code == 201
    report = crawl(demo, sarah)
    assert f"/t/demo/bookings/{theirs}" in report  # the shared booking is in Sarah's profile
    assert len(report) >= 25
    found = by_problem(report)
    assert not found, "\n\n".join(f"{where}: {problem}" for problem, where in found.items())


@pytest.mark.postgres
def test_every_api_list_and_get_reads_by_index(demo, api):
    programme = api.get("programmes", limit=1).json()["items"][0]["id"]
    assert api.put("offers", "of-plan", {
        "client_id": "cl-1001", "attendee_id": "at-1001-1", "kind": "reenrolment",
        "deadline": "2026-12-15", "options": [{"key": "a", "programme_id": programme}],
    }).status_code in (200, 201)
    tenant = demo.state.tenants.get("demo")
    with session_scope(demo.state.engine) as db:  # a family changes class: one to list
        who = scope.for_email(db, "demo", SARAH)
        plan = switching.plan(db, tenant, who, "bk-1001", NOW)
        target = next(t for t in plan.targets if t.available)
        switching.switch(db, tenant, who, "bk-1001", target.key, NOW, Notices.of(demo, tenant))
    report = {}
    lists = [(name, {}) for name in [*RESOURCES, "webhook-deliveries", "documents"]]
    for name, filters in [*lists, ("offers", {"status": "open"}),
                          ("switches", {}), ("switches", {"status": "switched"})]:
        with statements_of(demo) as statements:
            listed = api.get(name, limit=5, **filters)
        assert listed.status_code == 200, (name, listed.text[:200])
        assert not filters or listed.json()["items"], (name, filters)
        report[f"GET {name}?{'&'.join(f'{k}={v}' for k, v in filters.items())}"] = \
            problems_of(demo, statements)
        for item in listed.json()["items"][:1]:
            with statements_of(demo) as statements:
                one = api.get(name, item["id"])
            assert one.status_code == 200, (name, one.text[:200])
            report[f"GET {name}/{item['id']}"] = problems_of(demo, statements)
    with statements_of(demo) as statements:
        assert api.client.get("/api/v1/profile-url", params={"email": SARAH},
                              headers=api.headers).status_code == 200
    report["GET profile-url"] = problems_of(demo, statements)
    assert len(report) > len(RESOURCES)
    found = by_problem(report)
    assert not found, "\n\n".join(f"{where}: {problem}" for problem, where in found.items())


@pytest.mark.postgres
def test_the_check_sees_a_full_scan(demo, mailbox):
    """The checker itself: a query that reads every attendance row is reported."""
    visitor = browser(demo, mailbox, SARAH)
    assert visitor.client.get("/t/demo/").status_code == 200
    with demo.state.engine.connect() as conn, statements_of(demo) as statements:
        conn.exec_driver_sql("SELECT count(*) FROM attendance WHERE makeup = true")
        conn.exec_driver_sql("SELECT id FROM booking WHERE tenant = 'demo'")
    found = problems_of(demo, statements)
    assert any("attendance" in p for p in found), found
    if demo.state.engine.dialect.name == "sqlite":
        assert any("the tenant's every row" in p for p in found), found


@pytest.mark.postgres
def test_a_whole_scheduler_round_with_reminders_due_reads_by_index(demo):
    """Every job of a round (credits, free places, session and make-up reminders, report
    cards, offers) for the tenants with something due reads what is due by index: a time
    window of the tenant's timetable at most, never all its places or every reminder sent."""
    engine, tenants = demo.state.engine, list(demo.state.tenants)
    friday = NOW + timedelta(days=5)  # Saturday morning classes start within a day
    with statements_of(demo) as statements:
        done = scheduler.run_once(engine, tenants, lambda t: Notices.of(demo, t), friday)
    assert done["reminders"] > 0
    found = problems_of(demo, statements, windows=True)
    assert len(statements) >= 10 and not found, found


@pytest.mark.postgres
def test_the_report_card_round_reads_by_index(demo, api):
    """The scheduler finds newly published report cards across tenants by index, and reads
    each card's family by its keys."""
    api.put("report-cards", "rc-new", {"attendee_id": "at-1001-1", "level_id": "lvl-1",
                                       "term": "Spring", "published": True})
    tenant = demo.state.tenants.get("demo")
    with statements_of(demo) as statements, session_scope(demo.state.engine) as db:
        assert set(db.execute(report_cards.due_tenants()).scalars()) == {"demo"}
        assert report_cards.announce(db, tenant, Notices.of(demo, tenant), NOW) == 1
    found = problems_of(demo, statements)
    assert len(statements) >= 2 and not found, found


@pytest.mark.postgres
def test_the_offer_deadline_round_reads_by_index(demo):
    """The scheduler finds open offers past their deadline across tenants by index."""
    tenant, later = demo.state.tenants.get("demo"), NOW + timedelta(days=30)
    with statements_of(demo) as statements, session_scope(demo.state.engine) as db:
        assert set(db.execute(offers.due_tenants(later)).scalars()) == {"demo", "demo-sk"}
        assert offers.expire(db, tenant, Notices.of(demo, tenant), later) == 2
    found = problems_of(demo, statements)
    assert len(statements) >= 2 and not found, found


@pytest.mark.postgres
def test_the_offer_reminder_round_reads_by_index(demo):
    """The scheduler finds the offers whose reminder is due across tenants by index (each time
    zone and its reminder days giving their own deadlines), and reads each one's family and
    classes by their keys."""
    tenants, school = list(demo.state.tenants), demo.state.tenants.get("demo-sk")
    late = NOW.replace(day=23, hour=8, minute=30)  # 09:30 in Bratislava, 08:30 in London
    with statements_of(demo) as statements, session_scope(demo.state.engine) as db:
        assert set(db.execute(offer_notices.due_tenants(tenants, late)).scalars()) == {
            "demo-sk"}  # its trial offer closes in 7 days there
        assert offer_notices.remind(db, school, Notices.of(demo, school), late) == 1
    found = problems_of(demo, statements)
    assert len(statements) >= 3 and not found, found


@pytest.mark.postgres
def test_an_offer_paid_on_acceptance_reads_its_payment_by_index(demo, sarah):
    sarah.open("offers/of-2")  # Mia's trial, paid on acceptance
    assert sarah.post("offers/of-2/accept", {"option": "online"}).status_code == 303
    with statements_of(demo) as statements:
        page = sarah.open("offers/of-2")
    assert page.status_code == 200 and 'id="payment-title"' in page.text
    found = problems_of(demo, statements)
    assert not found, found


@pytest.mark.postgres
def test_a_make_up_from_a_class_in_a_make_up_group_reads_the_group_by_index(demo, sarah):
    """The classes a make-up may go to are read by the group's index (and a booked programme
    by its id), not by testing every programme of the tenant."""
    with session_scope(demo.state.engine) as db:
        db.execute(update(Programme).where(Programme.tenant == "demo")
                   .values(makeup_group="swimming"))
    for path in ("/t/demo/", "/t/demo/makeups"):
        with statements_of(demo) as statements:
            assert sarah.client.get(path).status_code == 200
        assert any("programme.makeup_group IN" in s for s, _ in statements), path
        found = problems_of(demo, statements)
        assert not found, found
