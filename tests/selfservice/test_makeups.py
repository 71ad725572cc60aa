"""Make-ups against real capacity: which sessions a credit may go to (each rule), why there is
nothing when there is nothing, booking the last place when fifty families try at once, and
credits earned, spent and given back, with the provider told every time."""

from __future__ import annotations

import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from threading import Barrier

import pytest
from profile_support import counting_statements, text_of
from self_service_support import DAY, NOW, School
from sqlalchemy import event
from sqlmodel import Session, select

from widget_server import scheduler
from widget_server.core.errors import Refused
from widget_server.core.models import Attendance, ClassSession, MakeupCredit, MakeupWaitlist
from widget_server.selfservice import capacity, makeups, options


@pytest.fixture
def school(app) -> School:
    """Piruetka (programme groups allowed, 6 h cutoff) with a ballet family: Kid Ema has
    excused last week's ballet and holds a credit for 20 days."""
    s = School(app)
    with s.batch():
        s.programme("ballet", makeup_policy="programme_group", makeup_group="dance")
        s.programme("jazz", makeup_policy="programme_group", makeup_group="dance")
        s.programme("tap", makeup_policy="programme_group", makeup_group="other")
        s.programme("hiphop", makeup_policy="none", makeup_group="dance")
        s.family("ema")
        s.family("other")
        s.booking("b-ema", "ema-parent", "ema-child", "ballet")
        s.booking("b-ema-tap", "ema-parent", "ema-child", "tap")
        s.booking("b-other", "other-parent", "other-child", "ballet")
        s.session("last-week", "ballet", -7 * DAY, capacity=8)
        s.attend("a-last", "b-ema", "last-week", "excused")
        s.credit("mk-1", "ema-parent", "ema-child", "a-last", expires=20 * DAY)
    return s


def ids_of(page: options.Page) -> list[str]:
    return [o.session.external_id for o in page.options]


def search(school: School, credit: str = "mk-1", now=NOW) -> options.Search:
    def work(db):
        found = db.exec(select(MakeupCredit).where(MakeupCredit.external_id == credit)).one()
        return makeups.search_for(db, school.tenant, found, makeups.source_of(db, found), now)
    return school.run(work)


def find(school: School, credit: str = "mk-1") -> options.Page:
    return school.run(lambda db: options.find(db, search(school, credit)))


def why(school: School, credit: str = "mk-1") -> str | None:
    return school.run(lambda db: options.why_none(db, search(school, credit)))


def test_only_sessions_that_really_have_a_place_for_this_child_are_offered(school):
    s = school
    with s.batch():
        s.session("free", "ballet", DAY, capacity=2)                 # offered
        s.attend("x1", "b-other", "free")
        s.session("too-soon", "ballet", timedelta(hours=5), capacity=9)  # past the 6 h cutoff
        s.session("after-expiry", "ballet", 25 * DAY, capacity=9)    # the credit runs out first
        s.session("called-off", "ballet", 2 * DAY, capacity=9, cancelled=True)
        s.session("full", "ballet", 2 * DAY, capacity=1)
        s.attend("x2", "b-other", "full")
        s.session("excused-frees", "ballet", 4 * DAY, capacity=2)   # offered: excused is free
        s.attend("x3", "b-other", "excused-frees")
        s.family("third")
        s.booking("b-third", "third-parent", "third-child", "ballet")
        s.attend("x4", "b-third", "excused-frees", "excused")
        s.session("already-in", "ballet", 5 * DAY, capacity=9)      # Ema has a place there
        s.attend("x5", "b-ema", "already-in")
        s.session("tap-clash", "tap", 6 * DAY, capacity=9)           # Ema's tap class...
        s.attend("x6", "b-ema-tap", "tap-clash")
        s.session("jazz-clashing", "jazz", 6 * DAY + timedelta(minutes=30), capacity=9)  # overlaps
        s.session("jazz", "jazz", 7 * DAY, capacity=9)               # offered: same group
        s.session("tap-other-group", "tap", 8 * DAY, capacity=9)
        s.session("hiphop-no-makeups", "hiphop", 9 * DAY, capacity=9)
        s.session("makeup-counts", "ballet", 10 * DAY, capacity=1)
        s.attend("x7", "b-other", "makeup-counts", makeup=True)
        s.session("no-limit", "ballet", 12 * DAY)                     # offered: no capacity set
        s.session("last-week-again", "ballet", 13 * DAY, capacity=9)  # offered
    assert ids_of(find(s)) == ["free", "excused-frees", "jazz", "no-limit", "last-week-again"]
    free = find(s).options
    assert [o.free for o in free] == [1, 1, 9, None, 9]


@pytest.mark.parametrize("age, offered", [(5, ["ballet-next"]), (7, ["ballet-next", "jazz"]),
                                         (8, ["ballet-next", "jazz"]), (12, ["ballet-next"])])
def test_make_ups_in_other_programmes_respect_their_ages(school, age, offered):
    """Jazz is for 7-11: a younger or older child is not offered it (their own programme,
    where the credit was earned, always)."""
    s = school
    born = (NOW - timedelta(days=365 * age + age // 4 + 30)).date().isoformat()
    with s.batch():
        s.put("attendees", "ema-child", client_id="ema-parent", name="Kid Ema", birth_date=born)
        s.programme("jazz", makeup_policy="programme_group", makeup_group="dance",
                    min_age=7, max_age=11)
        s.session("ballet-next", "ballet", 2 * DAY, capacity=9)
        s.session("jazz", "jazz", 3 * DAY, capacity=9)
    assert ids_of(find(s)) == offered
    if "jazz" not in offered:
        with pytest.raises(Refused):
            book(s, "ema@example.com", "mk-1", "jazz")


def test_the_credit_that_runs_out_first_is_spent_first(school):
    """Booking with the longer credit spends the one that would expire sooner, so the
    family keeps the longer one."""
    s = school
    with s.batch():
        s.session("earlier", "ballet", -3 * DAY, capacity=8)
        s.attend("a-earlier", "b-ema", "earlier", "excused")
        s.credit("mk-soon", "ema-parent", "ema-child", "a-earlier", expires=5 * DAY)
        s.session("next", "ballet", 2 * DAY, capacity=9)
    book(s, "ema@example.com", "mk-1", "next")
    soon = s.one(MakeupCredit, MakeupCredit.external_id == "mk-soon")
    later = s.one(MakeupCredit, MakeupCredit.external_id == "mk-1")
    assert soon.used_attendance_id is not None and later.used_attendance_id is None
    assert s.events("makeup.booked")[0]["data"]["makeup_credit_id"] == "mk-soon"


def test_a_place_held_for_the_waiting_list_counts_as_taken(school):
    s = school
    with s.batch():
        s.session("one-left", "ballet", 2 * DAY, capacity=1)
        s.credit("mk-other", "other-parent", "other-child", None)
    def hold(db):
        credit = db.exec(select(MakeupCredit).where(MakeupCredit.external_id == "mk-other")).one()
        session = db.exec(select(ClassSession).where(ClassSession.external_id == "one-left")).one()
        db.add(MakeupWaitlist(tenant="demo-sk", credit_id=credit.id, client_id=credit.client_id,
                              status="offered", offered_session_id=session.id,
                              offered_at=NOW, hold_until=NOW + timedelta(hours=12)))
    s.run(hold)
    assert ids_of(find(s)) == []
    assert why(s) == "full"
    s.now = NOW + timedelta(hours=13)  # the hold ran out
    assert s.run(lambda db: options.find(db, search(s, now=s.now))).total == 1


@pytest.mark.parametrize("setup, reason", [
    (lambda s: None, "none_scheduled"),
    (lambda s: s.session("soon", "ballet", timedelta(hours=3), capacity=9), "past_cutoff"),
    (lambda s: (s.session("mine", "ballet", 3 * DAY, capacity=9),
                s.attend("m", "b-ema", "mine")), "already_booked"),
    (lambda s: (s.session("tap", "tap", 3 * DAY, capacity=9), s.attend("t", "b-ema-tap", "tap"),
                s.session("ballet", "ballet", 3 * DAY, capacity=9)), "clash"),
    (lambda s: (s.session("full", "ballet", 3 * DAY, capacity=1),
                s.attend("f", "b-other", "full")), "full"),
])
def test_when_nothing_qualifies_the_reason_is_the_rule_that_left_nothing(school, setup, reason):
    setup(school)
    assert find(school).total == 0
    assert why(school) == reason


def test_options_are_paged_and_grouped_by_week_never_cut_short(school):
    s = school
    with s.batch():
        for n in range(45):
            s.session(f"s{n:02d}", "ballet", DAY + n * timedelta(hours=10), capacity=5)
    first = s.run(lambda db: options.find(db, search(s), page=1, tz="Europe/Bratislava"))
    third = s.run(lambda db: options.find(db, search(s), page=3, tz="Europe/Bratislava"))
    assert (first.total, first.pages, len(first.options), len(third.options)) == (45, 3, 20, 5)
    assert (third.first, third.last) == (41, 45)
    assert sum(len(w.options) for w in first.weeks) == 20
    assert all(w.starts.weekday() == 0 for w in first.weeks)


def book(school: School, email: str, credit: str, session: str, now=NOW):
    who = school.access(email)
    return school.run(lambda db: makeups.book(db, school.tenant, who, credit, session, now,
                                              school.notices()))


def test_a_booking_reads_make_up_credits_only_for_a_child_with_one_not_yet_used(
        school, client, mailbox):
    """Most children have no make-up credit: their booking's dashboard and sessions tab read
    none (a round trip on PostgreSQL), and say nothing of make-ups."""
    s = school
    s.session("jazz", "jazz", 3 * DAY, capacity=4)
    s.session("ballet", "ballet", 4 * DAY, capacity=8)
    s.attend("a-ballet", "b-other", "ballet", "expected")

    def page(email: str, path: str) -> tuple[str, int]:
        parent = s.browser(mailbox, email)
        parent.open(path)  # warm: statements are built once
        with counting_statements(s.app) as seen:
            shown = parent.open(path)
        assert shown.status_code == 200
        return (text_of(shown.text),
                sum(sql.startswith("SELECT makeup_credit.id") for sql, *_ in seen))

    # The school writes in Slovak: "1 make-up available", "1 make-up to book".
    words, credit_reads = page("ema@example.com", "bookings/b-ema")
    assert "1 náhrada k dispozícii" in words and credit_reads == 1
    words, credit_reads = page("ema@example.com", "bookings/b-ema/sessions")
    assert "1 náhrada na rezerváciu" in words and credit_reads == 1
    for path in ("bookings/b-other", "bookings/b-other/sessions"):  # Ema's class, no credit
        words, credit_reads = page("other@example.com", path)
        assert "1 náhrad" not in words and "k dispozícii" not in words, path
        assert credit_reads == 0, path
    book(s, "ema@example.com", "mk-1", "jazz")
    for path in ("bookings/b-ema", "bookings/b-ema/sessions"):  # her credit is spent
        words, credit_reads = page("ema@example.com", path)
        assert "1 náhrad" not in words and "k dispozícii" not in words, path
        assert credit_reads == 0, path


def test_booking_spends_the_credit_and_tells_the_provider_and_the_family(school):
    s = school
    s.session("jazz", "jazz", 3 * DAY, capacity=4)
    booked = book(s, "ema@example.com", "mk-1", "jazz")
    credit = s.one(MakeupCredit, MakeupCredit.external_id == "mk-1")
    place = s.one(Attendance, Attendance.id == credit.used_attendance_id)
    assert credit.used_at == NOW and place.makeup and place.status == "expected"
    assert booked.booking.external_id == "b-ema"  # no jazz booking: under the ballet one
    [event] = s.events("makeup.booked")
    assert event["data"] == {"client_id": "ema-parent", "attendee_id": "ema-child",
                             "makeup_credit_id": "mk-1", "session_id": "jazz",
                             "attendance_id": place.external_id,
                             "starts_at": "2026-11-25T12:00:00Z"}
    [mail] = s.emails("makeup_booked")
    assert mail["to"] == "ema@example.com"
    assert "Kid Ema" in mail["text"] and "Jazz" in mail["text"]

    with pytest.raises(Refused) as again:  # the same credit, twice
        book(s, "ema@example.com", "mk-1", "jazz")
    assert again.value.reason == "credit_used"


def test_a_make_up_in_a_programme_the_child_is_booked_on_goes_under_that_booking(school):
    s = school
    s.booking("b-ema-jazz", "ema-parent", "ema-child", "jazz")
    s.session("jazz", "jazz", 3 * DAY, capacity=4)
    assert book(s, "ema@example.com", "mk-1", "jazz").booking.external_id == "b-ema-jazz"


@pytest.mark.parametrize("session_key, reason", [
    ("called-off", "none_scheduled"), ("soon", "past_cutoff"), ("full", "full"),
    ("tap-group", "none_scheduled"), ("last-week", "none_scheduled"),
])
def test_a_session_that_is_not_an_option_cannot_be_booked_either(school, session_key, reason):
    s = school
    with s.batch():
        s.session("called-off", "ballet", 2 * DAY, capacity=9, cancelled=True)
        s.session("soon", "ballet", timedelta(hours=2), capacity=9)
        s.session("full", "ballet", 2 * DAY, capacity=1)
        s.attend("f", "b-other", "full")
        s.session("tap-group", "tap", 2 * DAY, capacity=9)
    with pytest.raises(Refused) as refused:
        book(s, "ema@example.com", "mk-1", session_key)
    assert refused.value.reason == reason
    assert s.one(MakeupCredit, MakeupCredit.external_id == "mk-1").used_attendance_id is None
    assert s.events("makeup.booked") == []


def test_fifty_families_trying_for_the_last_place_at_once_get_exactly_one_make_up(app):
    s = School(app)
    with s.batch():
        s.programme("ballet", makeup_policy="same_programme")
        s.session("past", "ballet", -7 * DAY, capacity=60)
        s.session("last-place", "ballet", 3 * DAY, capacity=3)
        for n in range(52):
            s.family(f"f{n}")
            s.booking(f"b{n}", f"f{n}-parent", f"f{n}-child", "ballet")
            s.attend(f"a{n}", f"b{n}", "past", "excused")
        for n in range(50):
            s.credit(f"mk{n}", f"f{n}-parent", f"f{n}-child", f"a{n}")
        s.attend("t1", "b50", "last-place")
        s.attend("t2", "b51", "last-place")  # 2 of 3 taken: one place left
    accesses = [s.access(f"f{n}@example.com") for n in range(50)]
    notices = s.notices()
    start = Barrier(50)

    def attempt(n: int) -> str:
        start.wait()  # all fifty go at the same moment, each with its own connection
        try:
            with Session(s.engine, expire_on_commit=False) as db:
                makeups.book(db, s.tenant, accesses[n], f"mk{n}", "last-place", NOW, notices)
                db.commit()
            return "booked"
        except Refused as refused:
            return refused.reason

    with ThreadPoolExecutor(50) as pool:
        results = Counter(pool.map(attempt, range(50)))
    assert results == {"booked": 1, "full": 49}

    def taken(db):
        last = db.exec(select(ClassSession).where(ClassSession.external_id == "last-place"))
        return capacity.taken(db, last.one().id, NOW)
    assert s.run(taken) == 3
    assert len(s.events("makeup.booked")) == 1
    assert len(s.rows(MakeupCredit, MakeupCredit.used_attendance_id.is_not(None))) == 1


def test_the_loser_of_the_race_sees_a_clear_message_and_fresh_options(app, client, mailbox):
    s = School(app)
    with s.batch():
        s.programme("ballet")
        s.session("past", "ballet", -7 * DAY, capacity=9)
        s.session("one-place", "ballet", 3 * DAY, capacity=1)
        s.session("later", "ballet", 4 * DAY, capacity=5)
        for key in ("ann", "bob"):
            s.family(key, locale="en-GB")
            s.booking(f"b-{key}", f"{key}-parent", f"{key}-child", "ballet")
            s.attend(f"a-{key}", f"b-{key}", "past", "excused")
            s.credit(f"mk-{key}", f"{key}-parent", f"{key}-child", f"a-{key}")
    ann, bob = s.browser(mailbox, "ann@example.com"), s.browser(mailbox, "bob@example.com")
    ann_confirm = ann.open("makeups/mk-ann/sessions/one-place")
    bob.open("makeups/mk-bob/sessions/one-place")
    assert ann.post("makeups/mk-ann/sessions/one-place", {}).status_code == 303
    lost = bob.post("makeups/mk-bob/sessions/one-place", {})
    assert ann_confirm.status_code == 200 and lost.status_code == 409
    assert "someone has just taken the last place" in lost.text
    assert "Here are the sessions that still have room." in lost.text
    offered = re.findall(r'href="[^"]*/sessions/([^"/?]+)"', lost.text)
    assert "later" in offered and "one-place" not in offered


def test_cancelling_a_make_up_gives_the_credit_back(school):
    s = school
    s.session("jazz", "jazz", 3 * DAY, capacity=4)
    booked = book(s, "ema@example.com", "mk-1", "jazz")
    who = s.access("ema@example.com")
    from widget_server.selfservice import places as self_service

    done = s.run(lambda db: self_service.cancel(db, s.tenant, who, booked.booking.external_id,
                                                "jazz", NOW))
    assert done.returned == "credit" and done.credit.external_id == "mk-1"
    credit = s.one(MakeupCredit, MakeupCredit.external_id == "mk-1")
    assert credit.used_attendance_id is None and credit.used_at is None
    place = s.one(Attendance, Attendance.external_id == booked.attendance.external_id)
    assert place.status == "excused"
    [event] = s.events("makeup.cancelled")
    assert event["data"]["makeup_credit_id"] == "mk-1"
    assert event["data"]["attendance_id"] == place.external_id
    assert s.events("session.cancelled") == []
    # The session just cancelled is never offered back, not even to the credit it gave back.
    assert "jazz" not in ids_of(find(s))
    with pytest.raises(Refused):
        book(s, "ema@example.com", "mk-1", "jazz")
    # Booked in another session, the credit is spent again; cancelled again, it comes back
    # with the expiry it always had (cancelling cannot stretch a make-up's validity).
    s.session("jazz-2", "jazz", 4 * DAY, capacity=4)
    expiry = credit.expires_at
    again = book(s, "ema@example.com", "mk-1", "jazz-2")
    s.run(lambda db: self_service.cancel(db, s.tenant, who, again.booking.external_id,
                                         "jazz-2", NOW))
    [credit] = s.rows(MakeupCredit, MakeupCredit.attendee_id == credit.attendee_id)
    assert credit.external_id == "mk-1" and credit.used_attendance_id is None
    assert credit.expires_at == expiry


def test_missed_sessions_earn_credits_when_the_school_says_so_once_each(app):
    s = School(app)
    with s.batch():
        s.programme("ballet", makeup_validity_days=30)
        s.programme("hiphop", makeup_policy="none")
        s.family("ema")
        s.booking("b1", "ema-parent", "ema-child", "ballet")
        s.booking("b2", "ema-parent", "ema-child", "hiphop")
        s.session("recent", "ballet", -3 * DAY, capacity=9)
        s.session("long-ago", "ballet", -40 * DAY, capacity=9)  # a credit would have run out
        s.session("hip", "hiphop", -3 * DAY, capacity=9)
        s.attend("missed-recent", "b1", "recent", "missed")
        s.attend("missed-long-ago", "b1", "long-ago", "missed")
        s.attend("missed-hip", "b2", "hip", "missed")
    # The provider reports another miss through the sync API later on: the same path.
    s.session("yesterday", "ballet", -DAY, capacity=9)
    s.attend("missed-yesterday", "b1", "yesterday", "missed")

    def round_():
        return scheduler.run_once(s.engine, [s.tenant], lambda t: s.notices(), NOW)
    assert round_()["credits"] == 2
    assert round_()["credits"] == 0
    credits = s.rows(MakeupCredit)
    sources = {c.source_attendance_id for c in credits}
    assert len(credits) == 2 and len(sources) == 2
    assert all(c.external_id.startswith("mc-") for c in credits)


def test_a_credit_naming_no_session_goes_to_the_child_s_running_classes(school):
    """A provider's credit with no source session is good in the programmes the child has a
    running booking of (ballet and tap here, not jazz), each by its own make-up rule."""
    with school.batch():
        school.session("ballet-next", "ballet", 2 * DAY, capacity=8)
        school.session("tap-next", "tap", 3 * DAY, capacity=8)
        school.session("jazz-next", "jazz", 2 * DAY, capacity=8)
        school.credit("mk-free", "ema-parent", "ema-child", None)
    assert sorted(ids_of(find(school, "mk-free"))) == ["ballet-next", "tap-next"]
    with school.batch():
        school.booking("b-ema-tap", "ema-parent", "ema-child", "tap", status="cancelled")
    assert ids_of(find(school, "mk-free")) == ["ballet-next"]


def test_birth_dates_are_read_only_when_a_class_of_the_group_has_ages(school):
    """Which classes a credit may go to needs the child's age only where one has ages to fit;
    without, that statement is not sent (a page counting the family's make-ups sends it)."""
    sent: list[str] = []

    def note(conn, cursor, statement, *args) -> None:
        sent.append(statement)

    def pool(db):
        credit = db.exec(select(MakeupCredit).where(MakeupCredit.external_id == "mk-1")).one()
        return makeups.pool_for(db, school.tenant, [credit], makeups.sources_of(db, [credit]))

    event.listen(school.engine, "before_cursor_execute", note)
    try:
        assert school.run(pool).born == {}
        assert not any("birth_date" in statement for statement in sent)
        with school.batch():
            school.programme("jazz", makeup_policy="programme_group", makeup_group="dance",
                             min_age=7, max_age=11)
        sent.clear()
        assert list(school.run(pool).born.values()) == [None]  # read: Ema's is not known
        assert any("birth_date" in statement for statement in sent)
    finally:
        event.remove(school.engine, "before_cursor_execute", note)


def test_a_credit_good_only_in_another_class_of_its_group_counts_on_the_family_s_pages(
        school, client, mailbox):
    """Eva's ballet has no session to come, so her credit is good only in jazz, the other class
    of ballet's make-up group: home, the booking's dashboard and its sessions tab count it, and
    benefits and the make-ups page offer to book it (on PostgreSQL the group's classes come
    with the credits, or with their sources, in the same statement), not before jazz has a
    session; tap's (another group) and hip hop's (no make-ups) never count."""
    s = school
    with s.batch():
        s.family("eva", locale="en-GB")
        s.booking("b-eva", "eva-parent", "eva-child", "ballet")
        s.attend("a-eva", "b-eva", "last-week", "excused")
        s.credit("mk-eva", "eva-parent", "eva-child", "a-eva", expires=20 * DAY)
        s.session("tap-soon", "tap", 2 * DAY, capacity=8)
        s.session("hiphop-soon", "hiphop", 2 * DAY, capacity=8)
    eva = s.browser(mailbox, "eva@example.com")

    def pages() -> tuple[str, str, str]:
        return (text_of(eva.open("").text), text_of(eva.open("bookings/b-eva").text),
                text_of(eva.open("bookings/b-eva/sessions").text))

    def offered() -> tuple[str, str]:
        return text_of(eva.open("benefits").text), text_of(eva.open("makeups").text)

    home, board, tab = pages()
    assert "Book a make-up" not in home and "No make-ups to book" in board
    assert "Book a make-up" not in tab
    benefits, hub = offered()
    assert "Book it" not in benefits and "No free session now" in hub
    s.session("jazz-soon", "jazz", 2 * DAY, capacity=8)
    home, board, tab = pages()
    assert "Book a make-up 1 make-up available" in home
    assert "1 make-up available" in board
    assert "1 make-up to book" in tab and "Book a make-up" in tab
    benefits, hub = offered()
    assert "Book it" in benefits and "No free session now" not in hub
