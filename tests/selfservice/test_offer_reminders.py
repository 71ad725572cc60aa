"""A family that has not answered an offer of a place is reminded before it closes: a week and a
day before the end of its deadline day where the school is (or as many days as the school's
file says), by e-mail and, where the school offers WhatsApp and the family chose it, WhatsApp;
once each, never late, never for an offer answered or withdrawn, and only as the family wants
"places offered" messages."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from self_service_support import DAY, School
from smtp import MAIL_WAIT
from tenant_support import GOOD, problems, write
from whatsapp_fake import PIRUETKA_ENV, cloud_api_for

from widget_server import scheduler
from widget_server.core.models import Offer, Reminder
from widget_server.core.tenants import Offers
from widget_server.selfservice import offer_notices

ENV = PIRUETKA_ENV
# The offers close at the end of Tuesday 15 December in Bratislava (23:00 UTC): the week's
# reminder is due from 09:00 there on the 9th (08:00 UTC), the day's from 09:00 on the 15th.
WEEK_BEFORE = datetime(2026, 12, 9, 8, 0, tzinfo=UTC)
DAY_BEFORE = datetime(2026, 12, 15, 8, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
SUBJECT = "Reminder: answer by 15 Dec 2026"


@pytest.fixture
def cloud_api():
    with cloud_api_for(ENV) as api:
        yield api


@pytest.fixture
def settings(settings, cloud_api):
    """Piruetka's WhatsApp messages go to the local fake of the Cloud API."""
    return replace(settings, environ=settings.environ | ENV, whatsapp_api_url=cloud_api.url)


@pytest.fixture
def school(app, client) -> School:
    """Piruetka (Bratislava, WhatsApp on), started, so its messages really go out: Ann reads
    English and takes e-mail only; Ema's parent has a phone and chose WhatsApp too."""
    s = School(app)  # NOW is Sunday 22 November 2026
    with s.batch():
        s.programme("ballet", name="Ballet 1")
        s.programme("ballet2", name="Ballet 2")
        s.session("b2-0", "ballet2", 30 * DAY, capacity=8)
        s.family("ann", locale="en-GB")
        s.family("ema", phone="+421 905 123 456", notify_whatsapp=True)
        for key in ("ann", "ema"):
            s.booking(f"b-{key}", f"{key}-parent", f"{key}-child", "ballet")
    return s


def offer(s: School, key: str, family: str = "ann", **body) -> str:
    base = {"client_id": f"{family}-parent", "attendee_id": f"{family}-child",
            "booking_id": f"b-{family}", "kind": "reenrolment", "title": "Spring term 2027",
            "deadline": "2026-12-15", "hold_places": True,
            "options": [{"key": "tue", "label": "Ballet 2, Tuesdays 17:00",
                         "programme_id": "ballet2", "first_session_id": "b2-0"}]}
    return s.put("offers", key, **(base | body))


def round_at(s: School, now: datetime, tenant=None) -> int:
    """One scheduler round, as the worker runs it; returns the offer reminders it sent."""
    done = scheduler.run_once(s.engine, [tenant or s.tenant], lambda t: s.notices(), now)
    return done["offer_reminders"]


def received(mailbox, address: str, subject: str, count: int = 1) -> list:
    """The e-mails to `address` whose subject starts so, once `count` have arrived."""
    deadline = time.monotonic() + MAIL_WAIT
    while len(found := [m for m in mailbox.to(address)
                        if m["Subject"].startswith(subject)]) < count:
        assert time.monotonic() < deadline, f"no {subject!r} e-mail to {address}"
        time.sleep(0.02)
    return found


def text(message) -> str:
    return message.get_body(("plain",)).get_content()


def test_a_family_is_reminded_a_week_and_a_day_before_the_offer_closes(school, mailbox):
    s = school
    offer(s, "of-ann")
    assert round_at(s, WEEK_BEFORE - MINUTE) == 0  # 08:59 on the 9th in Bratislava
    assert set(s.run(lambda db: db.execute(
        offer_notices.due_tenants([s.tenant], WEEK_BEFORE)).scalars())) == {"demo-sk"}
    assert round_at(s, WEEK_BEFORE) == 1
    [week] = received(mailbox, "ann@example.com", SUBJECT)
    assert week["Subject"] == "Reminder: answer by 15 Dec 2026 – Kid Ann"
    words = text(week)
    assert "The offer of a place for Kid Ann is open until the end of 15 Dec 2026." in words
    assert "Ballet 2, Tuesdays 17:00" in words and "Spring term 2027" in words
    assert "The place is held until then" in words
    assert "Today is the last day" not in words
    assert "#cp-path=%2Foffers%2Fof-ann" in words  # straight to the offer's page
    # Once: later rounds the same day find nothing to do (not even the school to visit).
    assert round_at(s, WEEK_BEFORE + 10 * MINUTE) == 0
    assert round_at(s, WEEK_BEFORE + 20 * 60 * MINUTE) == 0
    assert set(s.run(lambda db: db.execute(
        offer_notices.due_tenants([s.tenant], WEEK_BEFORE + MINUTE)).scalars())) == set()

    assert round_at(s, DAY_BEFORE - MINUTE) == 0
    assert round_at(s, DAY_BEFORE) == 1
    assert round_at(s, DAY_BEFORE + 60 * MINUTE) == 0
    _, last_day = received(mailbox, "ann@example.com", SUBJECT, 2)
    assert "Today is the last day to answer." in text(last_day)
    assert sorted(r.moment.replace(tzinfo=UTC) for r in s.rows(Reminder)) == [WEEK_BEFORE,
                                                                             DAY_BEFORE]
    assert len(s.emails("offer_reminder")) == 2


def test_a_reminder_whose_day_has_passed_is_not_sent_late(school, mailbox):
    """An offer sent two days before its deadline gets no week's reminder; nor does one whose
    week's reminder fell on a day the scheduler did not run."""
    s = school
    offer(s, "of-early")  # there since 22 November: its week's reminder was due on the 9th
    assert round_at(s, WEEK_BEFORE + DAY) == 0  # the scheduler was down on the 9th
    offer(s, "of-late", deadline="2026-12-15")  # sent on the 13th
    assert round_at(s, datetime(2026, 12, 13, 12, 0, tzinfo=UTC)) == 0
    assert round_at(s, DAY_BEFORE) == 2  # the day's reminder, for both
    assert len(s.emails("offer_reminder")) == 2


def test_no_reminder_for_an_offer_answered_or_withdrawn(school, mailbox):
    s = school
    for key in ("of-kept", "of-declined", "of-withdrawn", "of-open"):
        offer(s, key)
    ann = s.browser(mailbox, "ann@example.com")
    assert ann.post("offers/of-kept/accept", {"option": "tue"}).status_code == 303
    assert ann.post("offers/of-declined/decline", {"reason": "cost"}).status_code == 303
    offer(s, "of-withdrawn", status="withdrawn")
    assert round_at(s, WEEK_BEFORE) == 1
    [reminder] = s.rows(Reminder)
    assert reminder.subject_id == s.one(Offer, Offer.external_id == "of-open").id
    [letter] = s.emails("offer_reminder")
    assert "#cp-path=%2Foffers%2Fof-open" in letter["text"]


def test_whatsapp_too_where_the_school_offers_it_and_the_family_chose_it(school, cloud_api,
                                                                         mailbox):
    s = school
    offer(s, "of-ema", family="ema")
    assert round_at(s, WEEK_BEFORE) == 1
    [letter] = received(mailbox, "ema@example.com", "Pripomienka: odpovedzte do")
    assert letter["Subject"] == "Pripomienka: odpovedzte do 15. 12. 2026 – Kid Ema"
    assert "Ponuka miesta (dieťa: Kid Ema) platí do konca dňa 15. 12. 2026." in text(letter)
    deadline = time.monotonic() + MAIL_WAIT
    while not cloud_api.delivered:
        assert time.monotonic() < deadline, "no WhatsApp message reached the Cloud API"
        time.sleep(0.02)
    [sent] = cloud_api.delivered
    assert sent.body["to"] == "421905123456"
    template = sent.body["template"]
    assert template["name"] == "offer_deadline" and template["language"] == {"code": "sk"}
    assert [p["text"] for p in template["components"][0]["parameters"]] == [
        "Kid Ema", "Ballet 2, Tuesdays 17:00", "15. 12. 2026"]


def test_families_who_turned_places_offered_messages_off_get_none(school, cloud_api, mailbox):
    """Ema's parent keeps "places offered" on WhatsApp only; Ann turns it off altogether. The
    reminders still count as sent, so turning them on again later sends no late ones."""
    s = school
    offer(s, "of-ann")
    offer(s, "of-ema", family="ema")
    everything_else = {f"{kind}.{channel}": "on" for kind in (
        "reminders", "makeup_offers", "payment_notices", "progress")
        for channel in ("email", "whatsapp")}
    ema = s.browser(mailbox, "ema@example.com")
    assert ema.post("account/notifications",
                    everything_else | {"class_offers.whatsapp": "on"}).status_code == 303
    ann = s.browser(mailbox, "ann@example.com")
    assert ann.post("account/notifications", everything_else).status_code == 303
    assert round_at(s, WEEK_BEFORE) == 2
    assert s.emails("offer_reminder") == []
    deadline = time.monotonic() + MAIL_WAIT
    while not cloud_api.delivered:
        assert time.monotonic() < deadline, "no WhatsApp message reached the Cloud API"
        time.sleep(0.02)
    assert [m.body["template"]["name"] for m in cloud_api.delivered] == ["offer_deadline"]
    assert round_at(s, WEEK_BEFORE + MINUTE) == 0


def test_a_school_chooses_its_own_reminder_days(school, mailbox):
    s = school
    three_days = replace(s.tenant, config=s.tenant.config.model_copy(
        update={"offers": Offers(reminder_days=[3])}))
    offer(s, "of-ann")
    assert round_at(s, WEEK_BEFORE, three_days) == 0
    assert round_at(s, DAY_BEFORE, three_days) == 0
    assert round_at(s, DAY_BEFORE - 2 * DAY, three_days) == 1  # 09:00 on the 13th
    none = replace(s.tenant, config=s.tenant.config.model_copy(
        update={"offers": Offers(reminder_days=[])}))
    assert round_at(s, DAY_BEFORE, none) == 0


@pytest.mark.parametrize("days,reason", [
    ("[0]", "0 is not a whole number of days from 1 to 60"),
    ("[61]", "61 is not a whole number of days from 1 to 60"),
    ("[7.5]", "Input should be a valid integer"),
    ('["7"]', "Input should be a valid integer"),
    ("[7, 7]", "7 is listed twice"),
    ("[1, 2, 3, 4, 5, 6]", "at most 5 items"),
])
def test_a_bad_reminder_setting_is_named_by_tenants_check(tmp_path, days, reason):
    path = write(tmp_path, "bad.toml", GOOD.format(slug="bad")
                 + f"[offers]\nreminder_days = {days}\n")
    [problem] = problems(tmp_path)
    assert problem.startswith(f"{path}: offers.reminder_days")
    assert reason in problem
