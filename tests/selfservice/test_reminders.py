"""Reminders a day before a session and a week before a make-up runs out, by e-mail and, where
the school offers it and the family chose it, WhatsApp; never twice, however many schedulers
run; WhatsApp messages go through the Cloud API (a local fake speaking its format) with
retries."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from threading import Barrier

import pytest
from self_service_support import DAY, NOW, School
from sqlalchemy import event
from sqlmodel import Session, select
from whatsapp_fake import PIRUETKA_ENV, FakeCloudApi, cloud_api_for

from widget_server.core.models import OutboxMessage, Reminder
from widget_server.core.tenants import TenantRegistry
from widget_server.delivery import whatsapp
from widget_server.delivery.outbox import drain_once
from widget_server.selfservice import reminders

HOUR = timedelta(hours=1)
ENV = PIRUETKA_ENV


@pytest.fixture
def school(app) -> School:
    """Piruetka (WhatsApp on): Ema's parent has a phone and chose WhatsApp; Max's has none."""
    s = School(app)
    with s.batch():
        s.programme("ballet", name="Ballet")
        s.family("ema", phone="+421 905 123 456", notify_whatsapp=True)
        s.family("max", locale="en-GB")
        for key in ("ema", "max"):
            s.booking(f"b-{key}", f"{key}-parent", f"{key}-child", "ballet")
        s.session("tomorrow", "ballet", 20 * HOUR, capacity=9)
        s.session("later", "ballet", 30 * HOUR, capacity=9)
        s.session("gone", "ballet", -HOUR, capacity=9)
        for key in ("ema", "max"):
            s.attend(f"t-{key}", f"b-{key}", "tomorrow")
            s.attend(f"l-{key}", f"b-{key}", "later")
            s.attend(f"g-{key}", f"b-{key}", "gone")
        s.attend("excused", "b-ema", "gone", "excused")
        s.credit("mk-soon", "max-parent", "max-child", None, expires=6 * DAY)
        s.credit("mk-far", "max-parent", "max-child", None, expires=10 * DAY)
    return s


def schedule(s: School, now=NOW) -> int:
    return s.run(lambda db: reminders.schedule_reminders(db, s.tenant, s.notices(), now))


def outbox(s: School, channel: str) -> list[OutboxMessage]:
    with Session(s.engine) as db:
        return list(db.exec(select(OutboxMessage).where(OutboxMessage.channel == channel)
                            .order_by(OutboxMessage.id)).all())


def test_a_session_tomorrow_and_a_make_up_running_out_are_reminded_once(school):
    assert schedule(school) == 3  # two places tomorrow, one credit within a week
    assert schedule(school) == 0
    assert schedule(school, NOW + HOUR) == 0
    kinds = sorted((r.kind, r.subject_id) for r in school.rows(Reminder))
    assert [k for k, _ in kinds] == ["makeup_expiry", "session", "session"]
    mails = school.emails()
    assert sorted(m["kind"] for m in mails) == ["makeup_expiring", "session_reminder",
                                                "session_reminder"]
    max_session = next(m for m in mails if m["to"] == "max@example.com"
                       and m["kind"] == "session_reminder")
    assert max_session["subject"].startswith("Reminder: Ballet,")
    assert "If Kid Max cannot come, you can cancel in your profile" in max_session["text"]
    ema_session = next(m for m in mails if m["to"] == "ema@example.com")
    assert "Pripomienka" in ema_session["subject"] or "Reminder" in ema_session["subject"]
    # Ten hours later the 30-hour session is within a day: its own reminder, once.
    assert schedule(school, NOW + 10 * HOUR) == 2
    assert schedule(school, NOW + 10 * HOUR) == 0


def test_schedulers_running_at_the_same_time_still_remind_once(school):
    start = Barrier(6)

    def run(_: int) -> int:
        start.wait()
        return schedule(school)

    with ThreadPoolExecutor(6) as pool:
        counts = list(pool.map(run, range(6)))
    assert sum(counts) == 3
    assert len(school.rows(Reminder)) == 3
    assert len(school.emails()) == 3


def test_a_round_writes_its_reminders_in_sets_not_one_by_one(school):
    # A serving process runs the rounds: 500 reminders claimed one INSERT each (and each
    # flushing the message before it) took it about a second, its pages waiting meanwhile.
    inserts: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT"):
            inserts.append(statement.split("(")[0].split()[-1].strip('"'))

    event.listen(school.engine, "before_cursor_execute", note)
    try:
        assert schedule(school) == 3  # two places tomorrow, one credit
    finally:
        event.remove(school.engine, "before_cursor_execute", note)
    # One claim per kind of reminder (sessions, make-ups), whatever the batch's size; then
    # the messages of those that went (two e-mails and a WhatsApp copy, then one e-mail:
    # PostgreSQL's driver writes each kind's in one statement, SQLite's one by one).
    assert [table for n, table in enumerate(inserts) if inserts[n - 1:n] != [table]] == [
        "reminder", "outbox_message", "reminder", "outbox_message"]
    assert len(school.emails()) == 3 and len(outbox(school, "whatsapp")) == 1
    # Claimed once: a second round finds nothing to send (six rounds at once, each claiming
    # the same batch, still send each reminder once: the test above).
    assert schedule(school) == 0
    assert len(school.rows(Reminder)) == 3


def test_a_moved_session_earns_a_new_reminder_and_a_cancelled_place_none(school):
    assert schedule(school) == 3
    school.session("tomorrow", "ballet", 22 * HOUR, capacity=9)  # the provider moves it
    school.attend("t-max", "b-max", "tomorrow", "excused")
    assert schedule(school) == 1  # Ema's, for the new time; Max is not coming


def test_whatsapp_goes_only_where_offered_chosen_and_reachable(school):
    schedule(school)
    [message] = outbox(school, "whatsapp")
    body = message.payload["message"]
    assert body["to"] == "421905123456" and body["type"] == "template"
    assert body["template"]["name"] == "session_reminder"
    assert body["template"]["language"] == {"code": "sk"}
    assert [p["text"] for p in body["template"]["components"][0]["parameters"]][:2] == [
        "Kid Ema", "Ballet"]


def test_families_who_turned_reminders_off_get_none_but_the_reminder_still_counts(school):
    school.put("clients", "ema-parent", email="ema@example.com", name="Parent Ema",
               phone="+421 905 123 456", notify_email=False, notify_whatsapp=False)
    assert schedule(school) == 3
    assert [m["to"] for m in school.emails()] == ["max@example.com", "max@example.com"]
    assert outbox(school, "whatsapp") == []


@pytest.mark.parametrize("raw, expected", [
    ("+421 905 123 456", "421905123456"), ("00421905123456", "421905123456"),
    ("0905 123 456", None), ("+1", None), (None, None),
])
def test_phone_numbers_must_be_international(raw, expected):
    assert whatsapp.phone_number(raw) == expected


@pytest.fixture
def cloud_api():
    with cloud_api_for(ENV) as api:
        yield api


def sender(school: School, api: FakeCloudApi, env=ENV) -> whatsapp.WhatsAppSender:
    return whatsapp.WhatsAppSender(TenantRegistry([school.tenant]), env, api_url=api.url)


def drain(school: School, send: whatsapp.WhatsAppSender, now=None) -> int:
    return asyncio.run(drain_once(school.engine, send, now=now, channel=whatsapp.WHATSAPP))


def test_whatsapp_reminders_go_through_the_cloud_api_with_retries(school, cloud_api):
    schedule(school)
    cloud_api.fail_next = [503]
    assert drain(school, sender(school, cloud_api)) == 0
    [message] = outbox(school, "whatsapp")
    assert message.status == "pending" and message.attempts == 1
    assert message.last_error.startswith("HTTP 503: Service temporarily unavailable")
    assert drain(school, sender(school, cloud_api), now=message.next_attempt_at) == 1
    [sent] = cloud_api.delivered
    assert sent.phone_number_id == "106540352242922"
    assert sent.token == "Bearer EAAG-test-token"
    assert sent.body["template"]["name"] == "session_reminder"
    assert outbox(school, "whatsapp")[0].status == "sent"


def test_a_wrong_token_or_missing_settings_keep_messages_waiting_and_say_why(school,
                                                                           cloud_api):
    schedule(school)
    wrong = ENV | {"WIDGET_WHATSAPP_TOKEN_DEMO_SK": "expired"}
    assert drain(school, sender(school, cloud_api, wrong)) == 0
    assert "HTTP 401: Invalid OAuth access token. (code 190)" in \
        outbox(school, "whatsapp")[0].last_error
    later = outbox(school, "whatsapp")[0].next_attempt_at
    assert drain(school, sender(school, cloud_api, {}), now=later) == 0
    assert outbox(school, "whatsapp")[0].last_error == (
        "WIDGET_WHATSAPP_TOKEN_DEMO_SK and WIDGET_WHATSAPP_PHONE_ID_DEMO_SK not set: the "
        "tenant's WhatsApp Business access token and phone-number id")


def test_a_whatsapp_reminder_later_than_12_hours_is_given_up(school, cloud_api):
    schedule(school)
    cloud_api.fail_next = [503] * 50
    message = outbox(school, "whatsapp")[0]
    at = message.created_at
    while message.status == "pending":
        drain(school, sender(school, cloud_api), now=max(message.next_attempt_at, at))
        message = outbox(school, "whatsapp")[0]
        at = message.next_attempt_at
    assert message.status == "failed"
    assert message.next_attempt_at - message.created_at >= timedelta(hours=12)
