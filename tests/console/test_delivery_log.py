"""Helping a family who says "I never got the e-mail": the family's page in the console lists
every e-mail, WhatsApp message and webhook about them with its status in plain words, and
sends the login e-mail again (the widget's own e-mail, under the widget's own limits, written
to the audit log). Nobody sees another school's families."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import replace
from datetime import timedelta

import pytest
from console_support import COACH, Staff, staff_browser
from profile_support import SARAH, demo_app, section, text_of
from self_service_support import School
from sqlalchemy import event
from sqlmodel import Session, select
from starlette.testclient import TestClient
from test_query_plans import problems_of
from visitor import CODE, Visitor

from widget_server.console import deliveries
from widget_server.core.db import session_scope
from widget_server.core.models import Client, OutboxMessage, WebhookDelivery, utcnow
from widget_server.delivery.mailer import SmtpTransport
from widget_server.delivery.notices import Notices
from widget_server.delivery.outbox import drain_once, enqueue_email
from widget_server.selfservice import reminders

PIRUETKA_OWNER = "kancelaria@piruetka.example"


def client_id(app, external_id: str = "cl-1001", tenant: str = "demo") -> int:
    with Session(app.state.engine) as db:
        return db.exec(select(Client.id).where(Client.tenant == tenant,
                                               Client.external_id == external_id)).one()


def messages_about(app, external_id: str = "cl-1001", tenant: str = "demo"):
    """The outbox rows the console's delivery log reads for one family, oldest first."""
    with Session(app.state.engine) as db:
        return list(db.exec(select(OutboxMessage).where(
            OutboxMessage.tenant == tenant,
            OutboxMessage.client_id == client_id(app, external_id, tenant))
            .order_by(OutboxMessage.id)).all())


def eventually(find, timeout: float = 5.0):
    """What `find()` returns once it is truthy (the outbox sends in the background)."""
    deadline = time.monotonic() + timeout
    while not (found := find()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
    return found


def login_mails(mailbox, email: str = SARAH) -> list:
    return [m for m in mailbox.to(email) if CODE.search(m["Subject"])]


def delivery_log(staff: Staff, external_id: str = "cl-1001") -> str:
    return section(staff.open(f"families/{external_id}").text, "log-title")


# --- the delivery log -----------------------------------------------------------------------------

def test_a_login_email_that_failed_while_the_mail_server_was_down_is_retried_and_sent(
        demo, mailbox, settings):
    owner = staff_browser(demo, mailbox)
    mailbox.stop()  # the mail server goes down
    Visitor(TestClient(demo)).request_code(SARAH)  # Sarah asks for a login e-mail meanwhile
    [failed] = eventually(lambda: [m for m in messages_about(demo) if m.attempts == 1])

    log = delivery_log(owner)
    assert "E-mail · Login e-mail (code and link)" in log
    assert f"To {SARAH}" in log and "Retrying" in log and "1 attempt" in log
    assert f"Last error: {failed.last_error}" in log and "next attempt" in log

    mailbox.start()  # the server is back; the outbox's next round sends the e-mail
    asyncio.run(drain_once(demo.state.engine, SmtpTransport(settings),
                           now=utcnow() + timedelta(minutes=1)))
    [mail] = eventually(lambda: login_mails(mailbox))
    code = CODE.search(mail["Subject"]).group(1)

    log = delivery_log(owner)
    assert "Sent" in log and "2 attempts" in log and "Retrying" not in log
    assert "Last error" not in log
    assert code not in owner.open("families/cl-1001").text  # staff never see a login code


def test_every_email_whatsapp_message_and_webhook_about_a_family_is_in_its_log(app, client,
                                                                               mailbox):
    """Piruetka's reminder goes by e-mail and, as Ema's parent chose, by WhatsApp (the school
    has not set up its WhatsApp number yet); she logs in, and her change of phone goes to the
    booking system as a webhook. All four are in her log, newest first, and nobody else's."""
    school = School(app)
    with school.batch():
        school.programme("ballet", name="Ballet")
        school.family("ema", phone="+421 905 123 456", notify_whatsapp=True)
        school.family("max", locale="en-GB")
        for key in ("ema", "max"):
            school.booking(f"b-{key}", f"{key}-parent", f"{key}-child", "ballet")
        school.session("tomorrow", "ballet", timedelta(hours=20), capacity=9)
        school.attend("t-ema", "b-ema", "tomorrow")
    school.run(lambda db: reminders.schedule_reminders(db, school.tenant, school.notices(),
                                                       school.now))
    ema = school.browser(mailbox, "ema@example.com")
    ema.open("account")
    assert ema.post("account/details", {"name": "Parent Ema", "phone": "+421 905 999 888"}) \
        .status_code == 303

    owner = staff_browser(app, mailbox, PIRUETKA_OWNER, tenant="demo-sk")
    page = owner.open("families/ema-parent").text
    log = section(page, "log-title")
    # Newest first: the webhook, the login e-mail, the WhatsApp copy, the reminder e-mail.
    assert log.index("Webhook · account.updated") < log.index("Prihlasovací e-mail") \
        < log.index("WhatsApp · Pripomienka hodiny") < log.index("E-mail · Pripomienka")
    assert "Komu: 421905123456" in log and "Komu: ema@example.com" in log
    assert "WIDGET_WHATSAPP_TOKEN_DEMO_SK" in log  # why it has not gone yet, in its words
    assert "Ballet" in log  # the reminder e-mail's subject
    assert [m.channel for m in messages_about(app, "ema-parent", "demo-sk")] == [
        "email", "whatsapp", "email", "webhook"]  # reminder, its copy, login, phone
    assert messages_about(app, "max-parent", "demo-sk") == []


def test_a_long_log_is_read_fifty_at_a_time(demo, mailbox):
    tenant = demo.state.tenants.get("demo")
    with session_scope(demo.state.engine) as db:
        for n in range(55):
            enqueue_email(db, tenant, to=SARAH, subject=f"Newsletter {n}", text="...",
                          kind="newsletter", client_id=client_id(demo))
    owner = staff_browser(demo, mailbox)
    first = owner.open("families/cl-1001").text
    log = section(first, "log-title")
    assert log.count("E-mail · Newsletter") == 50
    assert log.index("Newsletter 54 ") < log.index("Newsletter 5 ") and "Newsletter 4 " not in log
    older = first.split('href="?before=')[1].split("#")[0]
    rest = section(owner.open(f"families/cl-1001?before={older}").text, "log-title")
    assert rest.count("E-mail · Newsletter") == 5 and "Older messages" not in rest


def test_an_email_to_a_familys_address_is_theirs_even_when_the_sender_did_not_say(demo):
    tenant = demo.state.tenants.get("demo")
    with session_scope(demo.state.engine) as db:
        message = Notices.of(demo, tenant).send(
            db, SARAH.upper(), "deletion_requested", None, lambda: "Deletion", name="Sarah")
        stranger = Notices.of(demo, tenant).send(
            db, "nobody@example.com", "deletion_requested", None, lambda: "x", name="x")
        db.flush()
        assert (message.client_id, stranger.client_id) == (client_id(demo), None)


def test_the_delivery_log_and_the_webhooks_list_read_a_page_by_index(demo, mailbox, sarah):
    """The page helpers leave the outbox's statements out (the drainers poll it), so the two
    lists' own statements are caught here: one query each, in index order (no sort)."""
    sarah.open("account")
    sarah.post("account/details", {"name": "Sarah Thompson", "phone": "07911 123456"})
    sent: list[tuple[str, object]] = []
    here = threading.get_ident()

    def catch(conn, cursor, statement, parameters, context, executemany) -> None:
        if threading.get_ident() == here:  # not the drainers'
            sent.append((statement, parameters))

    report, sarahs = {}, client_id(demo)
    with Session(demo.state.engine) as db:
        for name, read in (
                ("delivery log", lambda: deliveries.family_log(db, "demo", sarahs)),
                ("webhooks", lambda: deliveries.webhooks(db, "demo"))):
            sent.clear()
            event.listen(demo.state.engine, "before_cursor_execute", catch)
            try:
                assert read()[0]
            finally:
                event.remove(demo.state.engine, "before_cursor_execute", catch)
            [statement] = sent
            report[name] = problems_of(demo, [statement]) + [
                "sorted" for detail in plan(demo, statement) if "TEMP B-TREE" in detail]
    assert report == {"delivery log": [], "webhooks": []}


def plan(app, statement: tuple[str, object]) -> list[str]:
    """The statement's plan, a sort in it named as SQLite names it ("TEMP B-TREE"); on
    PostgreSQL with sorts and scans priced out, so a Sort node remains only where no index
    gives the order."""
    raw = app.state.engine.raw_connection()
    try:
        cursor = raw.cursor()
        if app.state.engine.dialect.name == "postgresql":
            for method in ("seqscan", "sort"):
                cursor.execute(f"SET enable_{method} = off")
            cursor.execute("EXPLAIN " + statement[0], statement[1])
            lines = [row[0] for row in cursor.fetchall()]
            raw.rollback()
            return ["TEMP B-TREE" if line.strip().lstrip("-> ").startswith("Sort")
                    else line for line in lines]
        cursor.execute("EXPLAIN QUERY PLAN " + statement[0], statement[1])
        return [row[-1] for row in cursor.fetchall()]
    finally:
        raw.close()


# --- resending the login e-mail -------------------------------------------------------------------

def test_staff_resend_the_login_email_and_the_owner_reads_it_in_the_audit_log(demo, mailbox):
    coach = staff_browser(demo, mailbox, COACH)
    coach.open("families/cl-1001")
    answer = coach.post("families/cl-1001/resend-login")
    assert answer.status_code == 303
    assert answer.headers["location"].endswith("/console/demo/families/cl-1001?resent=1")
    page = coach.open("families/cl-1001?resent=1").text
    assert f"A new login e-mail is on its way to {SARAH}" in text_of(page)

    [mail] = eventually(lambda: login_mails(mailbox))  # the widget's own login e-mail
    sarah = Visitor(TestClient(demo))
    sarah.open("login")
    assert sarah.enter_code(SARAH, CODE.search(mail["Subject"]).group(1)).status_code == 303
    assert "Hello, Sarah" in text_of(sarah.open("").text)

    audit = text_of(staff_browser(demo, mailbox).open("audit").text)
    assert f"Resent the login e-mail {COACH}" in audit and "Sarah Thompson" in audit


def test_resending_counts_against_the_same_limits_as_the_login_form(demo, mailbox):
    limit = demo.state.settings.login_emails_per_address  # 5 per address per 15 minutes
    Visitor(TestClient(demo)).request_code(SARAH)  # Sarah asked twice herself
    Visitor(TestClient(demo)).request_code(SARAH)
    coach = staff_browser(demo, mailbox, COACH)
    coach.open("families/cl-1001")
    for _ in range(limit - 2):
        assert coach.post("families/cl-1001/resend-login").status_code == 303
    refused = coach.post("families/cl-1001/resend-login")
    assert refused.status_code == 429
    words = text_of(refused.text)
    assert "Too many login e-mails were asked for in the last 15 minutes" in words
    assert "Sarah Thompson" in words  # still the family's page
    assert Visitor(TestClient(demo)).request_code(SARAH).status_code == 429  # and the widget's

    eventually(lambda: len(login_mails(mailbox)) == limit)
    time.sleep(0.2)
    assert len(login_mails(mailbox)) == limit
    audit = text_of(staff_browser(demo, mailbox).open("audit").text)
    assert audit.count("Resent the login e-mail") == limit - 2  # the refused one is not there


def test_resends_from_one_connection_count_against_its_per_ip_limit(settings, mailbox):
    """The office's connection asked for its own console login, then resends to two
    families: with a limit of three per IP address, a third family waits."""
    with demo_app(replace(settings, login_emails_per_ip=3)) as app:
        owner = staff_browser(app, mailbox)
        owner.open("families/cl-1001")
        assert owner.post("families/cl-1001/resend-login").status_code == 303
        assert owner.post("families/cl-1002/resend-login").status_code == 303
        refused = owner.post("families/cl-1003/resend-login")
        assert refused.status_code == 429 and "from your connection" in text_of(refused.text)


# --- nobody else's ------------------------------------------------------------------------------

def test_another_schools_staff_get_not_found_for_this_schools_families_and_webhooks(
        demo, mailbox, api, sarah):
    assert api.put("clients", "cl-splash-only", {"email": "only@splash.example",
                                                 "name": "Only Splash"}).status_code == 201
    sarah.open("account")  # a webhook of Splash's, about Sarah
    sarah.post("account/details", {"name": "Sarah Thompson", "phone": "07911 123456"})
    with Session(demo.state.engine) as db:
        webhook_id = db.exec(select(WebhookDelivery.webhook_id)
                             .where(WebhookDelivery.tenant == "demo")).one()

    piruetka = staff_browser(demo, mailbox, PIRUETKA_OWNER, tenant="demo-sk")
    assert piruetka.open("families/cl-splash-only").status_code == 404
    assert piruetka.post("families/cl-splash-only/resend-login").status_code == 404
    assert piruetka.post("families/cl-1001/resend-login").status_code == 303  # its own Jana
    assert piruetka.post(f"webhooks/{webhook_id}/retry").status_code == 404
    assert piruetka.post("webhooks/msg_made_up/retry").status_code == 404
    assert webhook_id not in piruetka.open("webhooks").text
    assert "Sarah" not in delivery_log(piruetka)  # Piruetka's own cl-1001
    splash = Staff(piruetka.client, "demo")  # Splash's console, with Piruetka's session
    for path in ("families/cl-1001", "webhooks"):
        assert splash.open(path).status_code == 303
    assert splash.post("families/cl-1001/resend-login").status_code == 303
    assert splash.post(f"webhooks/{webhook_id}/retry").status_code == 303
    time.sleep(0.2)
    assert mailbox.to("only@splash.example") == [] and len(login_mails(mailbox)) == 1


@pytest.mark.parametrize("method, path", [
    ("post", "families/cl-1001/resend-login"), ("get", "webhooks"),
    ("post", "webhooks/msg_0123/retry"),
])
def test_a_familys_own_session_gets_the_console_login_page(demo, sarah, method, path):
    answer = getattr(sarah.client, method)(f"/console/demo/{path}", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].endswith("/console/demo/login")
