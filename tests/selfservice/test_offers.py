"""A family is offered a place for next term: it sees the offer on the home page and on the
booking's dashboard, keeps the place in two taps (the offer, then the confirm step) or says
no, thanks; the provider hears of either by webhook. Places are real: a held place counts
against capacity, and fifty families racing for the last place get it once. An offer ends at
the end of its deadline day in the school's time zone."""

from __future__ import annotations

import asyncio
import base64
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from threading import Barrier

import pytest
from profile_support import counting_statements, freeze, section, text_of
from self_service_support import DAY, School
from sqlmodel import Session, select
from standardwebhooks.webhooks import Webhook

from widget_server import scheduler
from widget_server.core.errors import Refused, ViewOnly
from widget_server.core.models import Attendance, ClassSession, Offer
from widget_server.core.tenants import TenantRegistry
from widget_server.delivery.outbox import drain_once
from widget_server.delivery.webhooks import WEBHOOK, WebhookSender
from widget_server.selfservice import capacity, offers


@pytest.fixture
def school(app, client) -> School:
    s = School(app)  # Piruetka, Bratislava; NOW is Sunday 22 November 2026, 13:00 there
    with s.batch():
        s.programme("ballet", name="Ballet 1")  # this term
        s.programme("ballet2", name="Ballet 2", price=9000)
        s.programme("jazz", name="Jazz")
        s.session("now-1", "ballet", 2 * DAY)
        for week in range(3):
            s.session(f"b2-{week}", "ballet2", (30 + 7 * week) * DAY, capacity=2)
            s.session(f"jz-{week}", "jazz", (31 + 7 * week) * DAY, capacity=5)
        for key in ("ann", "bob"):
            s.family(key, locale="en-GB")
            s.booking(f"b-{key}", f"{key}-parent", f"{key}-child", "ballet")
    return s


def offer(s: School, key: str, family: str = "ann", **body) -> str:
    base = {"client_id": f"{family}-parent", "attendee_id": f"{family}-child",
            "booking_id": f"b-{family}", "kind": "reenrolment", "title": "Spring term 2027",
            "deadline": "2026-12-15",
            "options": [{"key": "ballet2", "label": "Ballet 2, Tuesdays 17:00",
                         "programme_id": "ballet2", "first_session_id": "b2-0", "sessions": 3,
                         "price": 9000, "currency": "EUR", "discount": 900},
                        {"key": "jazz", "programme_id": "jazz", "first_session_id": "jz-0",
                         "price": 8000, "currency": "EUR"}]}
    return s.put("offers", key, **(base | body))


def status_of(s: School, key: str) -> str:
    return s.one(Offer, Offer.external_id == key).status


def test_a_bookings_dashboard_reads_offers_only_when_one_follows_that_booking(school, mailbox):
    """Most bookings have no offer: their dashboard reads none (a round trip on PostgreSQL).
    Another family's offer, or one on another booking, is never shown there."""
    s = school
    s.booking("b-ann-jazz", "ann-parent", "ann-child", "jazz")
    ann = s.browser(mailbox, "ann@example.com")

    def dashboard(booking: str) -> tuple[str, int]:
        ann.open(f"bookings/{booking}")  # warm: statements are built once
        with counting_statements(s.app) as seen:
            page = ann.open(f"bookings/{booking}")
        assert page.status_code == 200
        return text_of(page.text), sum(sql.startswith("SELECT offer.id") for sql, *_ in seen)

    words, offer_reads = dashboard("b-ann")
    assert "Keep my place" not in words and offer_reads == 0
    offer(s, "of-bob", family="bob")  # Bob's booking's offer
    offer(s, "of-jazz", booking_id="b-ann-jazz", title="Jazz next term")
    words, offer_reads = dashboard("b-ann")
    assert "Keep my place" not in words and "Jazz next term" not in words and offer_reads == 0
    words, offer_reads = dashboard("b-ann-jazz")
    assert "Jazz next term" in words and "Keep my place" in words and offer_reads == 1
    offer(s, "of-1")
    words, offer_reads = dashboard("b-ann")
    assert "Spring term 2027" in words and "Jazz next term" not in words and offer_reads == 1
    assert "Spring term 2027" not in dashboard("b-ann-jazz")[0]


def test_home_reads_offers_only_when_one_is_made_to_the_member_shown(school, mailbox):
    s = school
    ann = s.browser(mailbox, "ann@example.com")

    def home() -> tuple[str, int]:
        ann.open("")  # warm: statements are built once
        with counting_statements(s.app) as seen:
            page = ann.open("")
        assert page.status_code == 200
        return text_of(page.text), sum(sql.startswith("SELECT offer.id") for sql, *_ in seen)

    words, offer_reads = home()
    assert "Keep my place" not in words and offer_reads == 0
    offer(s, "of-bob", family="bob")  # made to another family's child
    words, offer_reads = home()
    assert "Keep my place" not in words and offer_reads == 0
    offer(s, "of-1")
    words, offer_reads = home()
    assert "Spring term 2027" in words and "Keep my place" in words and offer_reads == 1


def test_the_family_keeps_the_place_in_two_taps(school, mailbox):
    s = school
    offer(s, "of-1")
    ann = s.browser(mailbox, "ann@example.com")
    home = text_of(ann.open("").text)
    assert ("A place next term: Kid Answer by 15 Dec 2026 Spring term 2027 2 classes to choose "
            "from Places are not held: answer by 15 Dec 2026 to be sure of one. Keep my place "
            "No, thanks") in home
    assert "Keep my place" in text_of(ann.open("bookings/b-ann").text)  # the dashboard too

    page = ann.open("offers/of-1")
    words = text_of(page.text)
    assert "Choose a class" in words and "Ballet 2, Tuesdays 17:00" in words
    assert "€90.00 €81.00" in words and "€80.00" in words
    assert "Nothing is charged here" in words and "Places are not held" in words
    answer = ann.post("offers/of-1/accept", {"option": "ballet2"})
    assert answer.status_code == 303 and answer.headers["location"].endswith(
        "/offers/of-1?done=accepted")
    done = text_of(ann.open("offers/of-1?done=accepted").text)
    assert "Your place is kept." in done and "Place kept" in done
    assert "You kept the place in Ballet 2, Tuesdays 17:00." in text_of(ann.open("").text)

    assert status_of(s, "of-1") == "accepted"
    [event] = s.events("offer.accepted")
    assert event["data"] == {"client_id": "ann-parent", "attendee_id": "ann-child",
                             "offer_id": "of-1", "option": "ballet2", "programme_id": "ballet2",
                             "first_session_id": "b2-0", "email": "ann@example.com",
                             "accepted_at": "2026-11-22T12:00:00Z", "payment_id": None}
    [letter] = s.emails("offer_accepted")
    assert letter["to"] == "ann@example.com"
    assert letter["subject"] == "Place kept: Kid Ann, Ballet 2"
    # Answered once: a second answer is refused with the reason.
    again = ann.post("offers/of-1/accept", {"option": "jazz"})
    assert again.status_code == 409 and "already been answered" in text_of(again.text)


def test_no_thanks_with_a_reason(school, mailbox):
    s = school
    offer(s, "of-1")
    ann = s.browser(mailbox, "ann@example.com")
    words = text_of(ann.open("offers/of-1/decline").text)
    assert "Say no, thanks?" in words and "The day or time does not suit us" in words
    answer = ann.post("offers/of-1/decline", {"reason": "schedule", "note": "Tuesdays clash"})
    assert answer.status_code == 303
    assert "Thank you for letting us know." in text_of(ann.open("offers/of-1?done=declined").text)
    assert status_of(s, "of-1") == "declined"
    [event] = s.events("offer.declined")
    assert event["data"] | {"declined_at": None} == {
        "client_id": "ann-parent", "attendee_id": "ann-child", "offer_id": "of-1",
        "reason": "schedule", "note": "Tuesdays clash", "email": "ann@example.com",
        "declined_at": None}
    assert len(s.emails("offer_declined")) == 1
    assert ann.post("offers/of-1/decline", {"reason": "nonsense"}).status_code == 409


def test_a_held_place_counts_against_capacity(school, mailbox):
    s = school
    s.put("bookings", "b-cat", client_id="bob-parent", attendee_id="bob-child",
          programme_id="ballet2")
    for week in range(3):
        s.attend(f"t{week}", "b-cat", f"b2-{week}")  # one of two places taken
    offer(s, "of-bob", family="bob", hold_places=True)  # holds the other until 15 Dec
    offer(s, "of-ann")
    ann = s.browser(mailbox, "ann@example.com")
    page = ann.open("offers/of-ann").text
    ballet2 = page[page.index('value="ballet2"') - 200:page.index('value="jazz"')]
    assert "disabled" in ballet2 and "Full" in text_of(ballet2)
    refused = ann.post("offers/of-ann/accept", {"option": "ballet2"})
    assert refused.status_code == 409 and "has just filled up" in text_of(refused.text)

    def taken(db):
        first = db.exec(select(ClassSession).where(ClassSession.external_id == "b2-0")).one()
        return capacity.taken(db, first.id, s.now)
    assert s.run(taken) == 2  # the attendance and the held place
    bob = s.browser(mailbox, "bob@example.com")
    assert bob.post("offers/of-bob/decline", {}).status_code == 303  # the hold is freed
    assert s.run(taken) == 1
    assert ann.post("offers/of-ann/accept", {"option": "ballet2"}).status_code == 303
    assert s.run(taken) == 2  # the accepted offer's place, until the provider books it
    s.put("bookings", "b-ann2", client_id="ann-parent", attendee_id="ann-child",
          programme_id="ballet2")
    s.attend("ann-b2-0", "b-ann2", "b2-0")
    assert s.run(taken) == 2  # the booking arrived: its place, counted once


def test_offers_places_are_counted_only_where_a_class_is_offered(school, mailbox):
    """Most programmes have no class offered most of the year: a session's room asks first
    whether its programme has one (a probe of an index) and counts offers' places only then
    (on PostgreSQL the count built a hash of the offers for every session checked). Where a
    class is offered, a held place still counts."""
    s = school
    room = str(capacity.has_room(s.now).compile(s.app.state.engine))
    count = room.index("FROM offer_option JOIN offer")
    assert "CASE WHEN" in room[:count] and "EXISTS (SELECT" in room[room.index("CASE WHEN"):count]
    offer(s, "of-bob", family="bob", hold_places=True)  # holds a place in ballet2
    s.attend("p-now", "b-ann", "now-1")

    def taken(db, ref):
        session = db.exec(select(ClassSession).where(ClassSession.external_id == ref)).one()
        return capacity.taken(db, session.id, s.now)

    def places(db, ref):
        return len(db.exec(select(Attendance.id).join(
            ClassSession, ClassSession.id == Attendance.session_id).where(
            ClassSession.external_id == ref, Attendance.status.in_(capacity.COUNTING))).all())
    assert s.run(lambda db: taken(db, "b2-0")) == 1  # the held place
    # Nothing offered in Ballet 1: its families' places alone.
    assert s.run(lambda db: taken(db, "now-1")) == s.run(lambda db: places(db, "now-1")) > 0


def test_fifty_families_racing_for_the_last_place_get_it_once(app):
    s = School(app)
    with s.batch():
        s.programme("ballet2", name="Ballet 2")
        s.session("last", "ballet2", 30 * DAY, capacity=1)
        for n in range(50):
            s.family(f"f{n}")
            offer(s, f"of-{n}", family=f"f{n}", booking_id=None,
                  options=[{"key": "ballet2", "programme_id": "ballet2",
                            "first_session_id": "last"}])
    accesses = [s.access(f"f{n}@example.com") for n in range(50)]
    notices = s.notices()
    start = Barrier(50)

    def attempt(n: int) -> str:
        start.wait()  # all fifty at the same moment, each on its own connection
        try:
            with Session(s.engine, expire_on_commit=False) as db:
                offers.accept(db, s.tenant, accesses[n], f"of-{n}", "ballet2", s.now, notices)
                db.commit()
            return "accepted"
        except Refused as refused:
            return refused.reason

    with ThreadPoolExecutor(50) as pool:
        results = Counter(pool.map(attempt, range(50)))
    assert results == {"accepted": 1, "offer_full": 49}
    assert len(s.rows(Offer, Offer.status == "accepted")) == 1
    assert len(s.events("offer.accepted")) == 1


def test_the_deadline_ends_at_midnight_where_the_school_is(school, mailbox):
    s = school
    offer(s, "of-1", deadline="2026-11-22")
    tz = s.tenant.config.timezone
    late = datetime(2026, 11, 22, 22, 30, tzinfo=UTC)  # 23:30 in Bratislava: still open
    after = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)  # 00:30 on the 23rd there (UTC: 22nd)
    who = s.access("ann@example.com")
    assert s.run(lambda db: offers.one(db, who, "of-1", late, tz).state) == "open"
    assert s.run(lambda db: offers.one(db, who, "of-1", after, tz).state) == "expired"

    def round_(now):
        return scheduler.run_once(s.engine, [s.tenant], lambda t: s.notices(), now)
    assert round_(late)["offers_expired"] == 0 and status_of(s, "of-1") == "open"
    assert round_(after)["offers_expired"] == 1 and status_of(s, "of-1") == "expired"
    assert round_(after)["offers_expired"] == 0  # once
    [event] = s.events("offer.expired")
    assert event["data"] == {"client_id": "ann-parent", "attendee_id": "ann-child",
                             "offer_id": "of-1", "deadline": "2026-11-22"}
    assert len(s.emails("offer_expired")) == 1
    freeze(s.app, after)
    ann = s.browser(mailbox, "ann@example.com")
    assert "The deadline passed." in text_of(ann.open("").text)
    assert ann.post("offers/of-1/accept", {"option": "jazz"}).status_code == 409


def test_a_view_share_sees_the_offer_and_a_co_parent_answers_it(school, mailbox):
    s = school
    offer(s, "of-1")
    s.put("shares", "sh-gran", booking_id="b-ann", email="gran@example.com", access="view")
    s.put("shares", "sh-dad", booking_id="b-ann", email="dad@example.com", access="full")
    gran = s.browser(mailbox, "gran@example.com")
    card = text_of(gran.open("").text)  # in the school's language: she is not a client
    assert "Miesto na ďalší polrok: Kid" in card
    assert "Na ponuku môže odpovedať len rodina." in card
    assert gran.post("offers/of-1/accept", {"option": "jazz"}).status_code == 403
    with pytest.raises(ViewOnly):
        s.run(lambda db: offers.accept(db, s.tenant, s.access("gran@example.com"), "of-1",
                                       "jazz", s.now, s.notices()))
    dad = s.browser(mailbox, "dad@example.com")
    assert dad.post("offers/of-1/accept", {"option": "jazz"}).status_code == 303
    [event] = s.events("offer.accepted")
    assert event["data"]["email"] == "dad@example.com"
    assert event["data"]["client_id"] == "ann-parent"


@pytest.mark.parametrize("path", ["offers/{o}", "offers/{o}/decline"])
def test_another_familys_offer_is_not_found(school, mailbox, path):
    s = school
    offer(s, "of-bob", family="bob")
    ann = s.browser(mailbox, "ann@example.com")
    assert ann.open(path.format(o="of-bob")).status_code == 404
    assert ann.post("offers/of-bob/accept", {"option": "jazz"}).status_code == 404
    assert ann.post("offers/of-bob/decline", {}).status_code == 404
    assert "A place next term" not in section(ann.open("").text, "home-title")
    assert status_of(s, "of-bob") == "open"


def test_the_home_page_costs_the_same_statements_for_one_offer_or_five(school, mailbox):
    s = school
    offer(s, "of-0")
    ann = s.browser(mailbox, "ann@example.com")

    def statements() -> int:
        ann.open("")  # statements are built once
        with counting_statements(s.app) as seen:
            assert ann.open("").status_code == 200
        return len(seen)

    one = statements()
    for n in range(1, 5):
        offer(s, f"of-{n}", hold_places=n % 2 == 0)
    assert text_of(ann.open("").text).count("A place next term: Kid") == 5
    assert statements() == one


def test_every_answer_reaches_the_provider_signed_per_standard_webhooks(app, receiver):
    """Accepted, declined and expired, each delivered to the provider's endpoint and verified
    with `standardwebhooks`, the library receivers use."""
    s = School(app)  # not started: only this test's sender delivers
    secret = "whsec_" + base64.b64encode(bytes(range(32))).decode()
    school = replace(s.tenant, webhook_secret=secret,
                     config=s.tenant.config.model_copy(update={"webhook_url": receiver.url}))
    with s.batch():
        s.programme("jazz", name="Jazz")
        s.session("jz-0", "jazz", 30 * DAY, capacity=5)
        s.family("ann")
        options = [{"key": "jazz", "programme_id": "jazz", "first_session_id": "jz-0"}]
        for key, deadline in (("of-1", "2026-12-15"), ("of-2", "2026-12-15"),
                              ("of-3", "2026-11-21")):
            offer(s, key, booking_id=None, deadline=deadline, options=options)
    ann, notices = s.access("ann@example.com"), s.notices()
    s.run(lambda db: offers.accept(db, school, ann, "of-1", "jazz", s.now, notices))
    s.run(lambda db: offers.decline(db, school, ann, "of-2", "cost", None, s.now, notices))
    s.run(lambda db: offers.expire(db, school, notices, s.now))
    sender = WebhookSender(TenantRegistry([school]))
    while asyncio.run(drain_once(s.engine, sender, channel=WEBHOOK)):
        pass
    events = [Webhook(secret).verify(r.body, r.headers) for r in receiver.requests]
    assert [(e["type"], e["data"]["offer_id"]) for e in events] == [
        ("offer.accepted", "of-1"), ("offer.declined", "of-2"), ("offer.expired", "of-3")]
    assert events[1]["data"]["reason"] == "cost"
