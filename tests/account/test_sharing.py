"""A parent shares a child's booking with another adult: a co-parent with full access, or a
grandparent who looks and gets the e-mails. The invitee logs in with their own address and
sees the booking; the owner takes access back and it ends at once, even mid-session."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest
from account_support import body, events, mail_to, subjects
from profile_support import (
    BEGINNERS,
    DAD,
    GRANDMA,
    IMPROVERS,
    NOW,
    SARAH,
    browser,
    freeze,
    section,
    text_of,
)
from sqlmodel import Session, select

from widget_server.account.sharing import recipients_for_booking
from widget_server.core import access as scope
from widget_server.core.access import Access
from widget_server.core.models import Booking, BookingShare, Client


def share(visitor, booking: str, email: str, relation: str = "parent", access: str = "full"):
    visitor.open(f"bookings/{booking}/sharing")  # a fresh form token
    return visitor.post(f"bookings/{booking}/sharing",
                        {"email": email, "relation": relation, "access": access})


def share_id(app, booking: str, email: str) -> str:
    with Session(app.state.engine) as db:
        return db.exec(select(BookingShare.external_id)
                       .join(Booking, Booking.id == BookingShare.booking_id)
                       .where(Booking.tenant == "demo", Booking.external_id == booking,
                              BookingShare.email == email)
                       .order_by(BookingShare.id.desc())).first()


def recipients(app, booking: str = BEGINNERS, kind: str | None = None) -> list[str]:
    with Session(app.state.engine) as db:
        row = db.exec(select(Booking).where(Booking.tenant == "demo",
                                            Booking.external_id == booking)).one()
        return recipients_for_booking(db, row, kind)


# --- the story --------------------------------------------------------------------------------

def test_share_invite_log_in_see_get_emails_then_lose_access_at_once(demo, sarah, mailbox):
    page = sarah.open(f"bookings/{BEGINNERS}/sharing").text
    who = section(page, "shared-title")
    assert "Sarah Thompson You, who made the booking Owner" in who
    assert f"{GRANDMA} Grandparent · View and notifications" in who

    answer = share(sarah, BEGINNERS, DAD.upper(), "parent", "full")
    assert answer.status_code == 303
    done = sarah.open(answer.headers["location"].split("/t/demo/")[1]).text
    assert f"{DAD} can now see this booking. We have e-mailed them how to log in." in done
    assert f"{DAD} Another parent · Full access" in section(done, "shared-title")

    invite = mail_to(mailbox, DAD)[0]
    assert invite["Subject"] == "Sarah Thompson shared Oliver Thompson's booking with you"
    text = body(invite)
    assert "Sarah Thompson has shared Oliver Thompson's booking of Beginners (Stage 1) at " \
           "Splash Swim School with you." in text
    assert "You have full access: you see the sessions and payments" in text
    # WIDGET_PROFILE_URL: the school's profile page, the login form pre-filled for them.
    assert re.search(r"https://www\.splashswim\.example/my-profile#cp-hint=\S+", text)
    # Everyone already on the booking hears of the newcomer: the owner, who typed the
    # address, by name; grandma without it (one adult's address is never shown to another).
    news = f"{DAD} can now see Oliver Thompson's booking"
    assert news in subjects(mailbox, SARAH, news)
    anonymous = "One more adult can now see Oliver Thompson's booking"
    assert anonymous in subjects(mailbox, GRANDMA, anonymous)
    [to_grandma] = [m for m in mail_to(mailbox, GRANDMA) if m["Subject"] == anonymous]
    assert DAD not in to_grandma.as_string().lower()
    assert "Sarah Thompson has shared Oliver Thompson's booking of Beginners (Stage 1) with " \
           "one more adult." in body(to_grandma)
    assert recipients(demo) == [SARAH, GRANDMA, DAD]

    dad = browser(demo, mailbox, DAD)
    home = dad.open("")
    assert f"Hello, {DAD}" in home.text
    assert "Beginners (Stage 1)" in section(home.text, "active-title")
    assert "Improvers" not in text_of(home.text)  # Mia's booking is not shared
    board = dad.open(f"bookings/{BEGINNERS}")
    assert board.status_code == 200 and "Shared with you" in text_of(board.text)
    assert "£97.50" in section(board.text, "payments-title")  # full access: the payments
    assert dad.open(f"bookings/{BEGINNERS}/sessions").status_code == 200
    assert dad.open(f"bookings/{IMPROVERS}").status_code == 404

    share(sarah, BEGINNERS, "aunt@example.com", "other", "view")  # news of the booking...
    news = "One more adult can now see Oliver Thompson's booking"
    assert news in subjects(mailbox, DAD, news)  # ...reaches dad too, without her address
    assert all("aunt@example.com" not in m.as_string() for m in mail_to(mailbox, DAD))
    assert all(SARAH not in m.as_string().split("\n\n", 1)[1] for m in mail_to(mailbox, DAD))

    page = sarah.open(f"bookings/{BEGINNERS}/sharing").text
    dads = share_id(demo, BEGINNERS, DAD)
    revoked = sarah.post(f"bookings/{BEGINNERS}/sharing/{dads}/revoke", {})
    assert revoked.status_code == 303
    after = sarah.open(revoked.headers["location"].split("/t/demo/")[1]).text
    assert "Their access has ended" in after and DAD not in section(after, "shared-title")

    # Dad's browser is still logged in, and the booking is gone from it on the next request.
    assert dad.open(f"bookings/{BEGINNERS}").status_code == 404
    assert dad.open(f"bookings/{BEGINNERS}/sessions").status_code == 404
    assert "No bookings yet" in text_of(dad.open("").text)
    assert DAD not in recipients(demo)

    added, removed = events(demo, "share.added"), events(demo, "share.revoked")
    assert added[0]["data"] == {"client_id": "cl-1001", "booking_id": BEGINNERS,
                                "share_id": dads, "email": DAD, "relation": "parent",
                                "access": "full"}
    assert removed == [{"type": "share.revoked", "timestamp": removed[0]["timestamp"],
                        "data": {"client_id": "cl-1001", "booking_id": BEGINNERS,
                                 "share_id": dads, "email": DAD}}]


def test_the_share_is_in_the_sync_api_for_the_provider(demo, sarah, api):
    share(sarah, BEGINNERS, DAD, "grandparent", "view")
    item = api.get("shares", share_id(demo, BEGINNERS, DAD)).json()
    assert item | {"id": None} == {"id": None, "booking_id": BEGINNERS, "email": DAD,
                                   "relation": "grandparent", "access": "view",
                                   "status": "active"}


# --- what a shared adult may do ----------------------------------------------------------------

def test_a_shared_adult_cannot_share_further_nor_remove_the_owner(demo, sarah, mailbox):
    share(sarah, BEGINNERS, DAD, "parent", "full")
    dad = browser(demo, mailbox, DAD)
    page = dad.open(f"bookings/{BEGINNERS}/sharing").text
    words = text_of(page)
    assert "Sarah Thompson shares this booking with you. Full access:" in words
    assert "Share the booking" not in words and GRANDMA not in words  # nor who else sees it
    assert share(dad, BEGINNERS, "friend@example.com").status_code == 403
    grandma = share_id(demo, BEGINNERS, GRANDMA)
    assert dad.post(f"bookings/{BEGINNERS}/sharing/{grandma}/revoke", {}).status_code == 404
    assert dad.post(f"bookings/{BEGINNERS}/sharing/cl-1001/revoke", {}).status_code == 404
    with Session(demo.state.engine) as db:
        assert len(db.exec(select(BookingShare).where(BookingShare.status == "active")).all()) \
            >= 2
        assert db.exec(select(BookingShare).where(BookingShare.email == "friend@example.com")
                       ).first() is None

    # They may leave it themselves.
    own = share_id(demo, BEGINNERS, DAD)
    left = dad.post(f"bookings/{BEGINNERS}/sharing/{own}/revoke", {})
    assert left.status_code == 303 and left.headers["location"].endswith("/t/demo/?left=1")
    assert dad.open(f"bookings/{BEGINNERS}").status_code == 404
    assert DAD not in text_of(sarah.open(f"bookings/{BEGINNERS}/sharing").text)


def test_view_only_looks_full_access_may_act(demo, sarah, mailbox):
    share(sarah, BEGINNERS, DAD, "parent", "full")
    with Session(demo.state.engine) as db:
        booking = db.exec(select(Booking).where(Booking.tenant == "demo",
                                                Booking.external_id == BEGINNERS)).one()
        sarah_id = db.exec(select(Client.id).where(Client.tenant == "demo",
                                                   Client.email == SARAH)).one()
        owner, dad = Access("demo", SARAH, sarah_id), Access("demo", DAD, None)
        gran = Access("demo", GRANDMA, None)
        for who, allowed in ((owner, True), (dad, True), (gran, False)):
            view = scope.get_booking(db, who, BEGINNERS)
            assert scope.can_act(who, view) is allowed
            assert scope.can_act(who, booking, db) is allowed
        with pytest.raises(ValueError):
            scope.can_act(gran, booking)  # a plain booking needs the database to tell

    grandma = browser(demo, mailbox, GRANDMA)
    board = grandma.open(f"bookings/{BEGINNERS}").text
    assert "view only" in text_of(board) and "payments-title" not in board
    makeups = section(grandma.open("benefits").text, "makeups-title")
    assert "2 make-up sessions are available." in makeups and "Book it" not in makeups
    assert "Mia" not in makeups  # only the shared child's

    dads = section(browser(demo, mailbox, DAD).open("benefits").text, "makeups-title")
    assert dads.count("Book it") == 2


# --- limits -------------------------------------------------------------------------------------

def test_at_most_five_people_per_booking(demo, sarah):
    for n in range(1, 5):  # grandma has the first place
        assert share(sarah, BEGINNERS, f"friend{n}@example.com").status_code == 303
    page = sarah.open(f"bookings/{BEGINNERS}/sharing").text
    assert "A booking can be shared with 5 people." in section(page, "invite-title")
    refused = share(sarah, BEGINNERS, "sixth@example.com")
    assert refused.status_code == 422
    assert "A booking can be shared with 5 people. Remove someone's access" in refused.text
    assert share(sarah, IMPROVERS, "sixth@example.com").status_code == 303  # per booking


def test_at_most_ten_invitations_a_day(demo, sarah):
    for n in range(10):
        assert share(sarah, IMPROVERS, f"guest{n}@example.com").status_code == 303
        sarah.open(f"bookings/{IMPROVERS}/sharing")
        assert sarah.post(f"bookings/{IMPROVERS}/sharing/"
                          f"{share_id(demo, IMPROVERS, f'guest{n}@example.com')}/revoke",
                          {}).status_code == 303
    refused = share(sarah, IMPROVERS, "one-more@example.com")
    assert refused.status_code == 429
    assert "You have sent as many invitations as we allow in one day." in refused.text
    freeze(demo, NOW + timedelta(days=1))
    assert share(sarah, IMPROVERS, "one-more@example.com").status_code == 303


@pytest.mark.parametrize("email, message", [
    ("not-an-address", "Please enter a valid e-mail address."),
    (SARAH, "That is your own e-mail address."),
    (GRANDMA, "This booking is already shared with that address."),
])
def test_a_share_that_cannot_be_made_says_why(demo, sarah, email, message):
    answer = share(sarah, BEGINNERS, email)
    assert answer.status_code == 422 and message in answer.text
    assert 'aria-invalid="true"' in answer.text
    assert len(events(demo, "share.added")) == 0


# --- providers' shares -----------------------------------------------------------------------

def test_a_share_the_provider_makes_logs_in_and_its_revocation_ends_access(demo, api, mailbox):
    body_ = {"booking_id": IMPROVERS, "email": "aunt@example.com", "relation": "other",
             "access": "view", "status": "active"}
    assert api.put("shares", "prov-9", body_).status_code == 201
    aunt = browser(demo, mailbox, "aunt@example.com")
    assert aunt.open(f"bookings/{IMPROVERS}").status_code == 200
    assert "aunt@example.com" in recipients(demo, IMPROVERS)
    assert api.put("shares", "prov-9", body_ | {"status": "revoked"}).status_code == 200
    assert aunt.open(f"bookings/{IMPROVERS}").status_code == 404
    assert "aunt@example.com" not in recipients(demo, IMPROVERS)


def test_the_booking_emails_go_to_the_owner_if_they_want_them_and_every_sharer(demo, sarah):
    assert recipients(demo) == [SARAH, GRANDMA]
    assert recipients(demo, kind="reminders") == [SARAH, GRANDMA]
    sarah.open("account")
    sarah.post("account/notifications", {"payment_notices.email": "on"})  # reminders off
    assert recipients(demo, kind="reminders") == [GRANDMA]
    assert recipients(demo, kind="payment_notices") == [SARAH, GRANDMA]
    assert recipients(demo) == [SARAH, GRANDMA]  # no kind: an account matter, always sent


def test_a_slovak_family_invites_in_slovak(demo, mailbox):
    jana = browser(demo, mailbox, "jana.kovacova@example.com", "demo-sk")
    share(jana, "bk-1001", "otec@example.com", "parent", "full")
    invite = mail_to(mailbox, "otec@example.com")[0]
    # The child's name stands in the nominative, in brackets (not "pre Ema Kováčová").
    assert invite["Subject"] == "Jana Kováčová s vami zdieľa rezerváciu (Ema Kováčová)"
    assert "Máte plný prístup" in body(invite)
    page = jana.open("bookings/bk-1001/sharing").text
    assert "Kto vidí túto rezerváciu" in page and 'lang="sk"' in page


def test_sharing_is_off_where_the_school_does_not_offer_it(demo, sarah, monkeypatch):
    tenant = demo.state.tenants.get("demo")
    features = tenant.config.features.model_copy(update={"sharing": False})
    monkeypatch.setitem(demo.state.tenants._by_slug, "demo", replace(
        tenant, config=tenant.config.model_copy(update={"features": features})))
    assert sarah.open(f"bookings/{BEGINNERS}/sharing").status_code == 404
    assert "Sharing" not in text_of(sarah.open(f"bookings/{BEGINNERS}").text).split("What")[0]


# --- isolation and forged forms ----------------------------------------------------------------

JAMES = "james.patel@example.com"  # demo family 2, booking bk-1010
SHARING_ROUTES = [("GET", "bookings/{booking}/sharing"),
                  ("POST", "bookings/{booking}/sharing"),
                  ("POST", "bookings/{booking}/sharing/{share}/revoke")]


@pytest.fixture
def strangers(demo, api):
    """Shares James must never reach: another family's here, and ones at the Slovak school
    (whose provider ids are the same as here, which must not matter)."""
    sk = api.as_tenant("demo-sk")
    assert sk.put("bookings", "bk-sk-only", {"client_id": "cl-1002", "attendee_id": "at-1002-1",
                                             "programme_id": "prog-pripravka"}).status_code == 201
    assert sk.put("shares", "sk-share", {"booking_id": "bk-1010",
                                         "email": "teta@example.com"}).status_code == 201
    assert api.put("shares", "james-share", {"booking_id": "bk-1010",
                                             "email": "uncle@example.com"}).status_code == 201
    return {"other client": ("bk-1001", "sh-1"), "other client's share": ("bk-1010", "sh-1"),
            "other tenant's share": ("bk-1010", "sk-share"),
            "other tenant's booking": ("bk-sk-only", "sk-share")}


@pytest.mark.parametrize("case, method, route", [
    (case, method, route) for case in ("other client", "other client's share",
                                       "other tenant's share", "other tenant's booking")
    for method, route in SHARING_ROUTES
    if not (case.endswith("share") and "{share}" not in route)])  # a share id needs a route
def test_someone_elses_booking_or_share_is_not_found(demo, strangers, mailbox, case, method,
                                                     route):
    james = browser(demo, mailbox, JAMES)
    booking, share_ = strangers[case]
    path = route.format(booking=booking, share=share_)
    james.open("account")  # a valid form token
    answer = james.open(path) if method == "GET" else james.post(
        path, {"email": "x@example.com", "relation": "other", "access": "view"})
    assert answer.status_code == 404
    with Session(demo.state.engine) as db:
        live = db.exec(select(BookingShare.external_id).where(BookingShare.status == "active")
                       ).all()
    # Both schools' sh-1 and the two made above, all still active; nothing added.
    assert sorted(live) == ["james-share", "sh-1", "sh-1", "sk-share"]
    own = route.format(booking="bk-1010", share="james-share")
    if method == "GET":
        assert james.open(own).status_code == 200


@pytest.mark.parametrize("route", ["bookings/bk-1001/sharing",
                                   "bookings/bk-1001/sharing/sh-1/revoke"])
@pytest.mark.parametrize("token", ["missing", "forged", "another session's"])
def test_sharing_forms_need_their_token(demo, sarah, mailbox, route, token):
    laptop = browser(demo, mailbox, SARAH)
    laptop.open("account")
    csrf = {"missing": "", "forged": "forged", "another session's": laptop.csrf}[token]
    answer = sarah.client.post(f"/t/demo/{route}", data={
        "csrf_token": csrf, "email": "x@example.com", "relation": "other", "access": "view"},
        follow_redirects=False)
    assert answer.status_code == 403
    assert events(demo, "share.added") == events(demo, "share.revoked") == []
