"""The account tab: a parent keeps their details, notices and login e-mail up to date, takes
their data with them, and can ask the school to delete the account. Every change reaches the
provider at once, as a webhook and in the sync API."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from account_support import body, events, mail_to, no_login_mail, subjects
from profile_support import (
    GRANDMA,
    JAMES,
    JANA,
    NOW,
    SARAH,
    browser,
    freeze,
    section,
    text_of,
)
from sqlmodel import Session, select

from widget_server.account.details import region_of
from widget_server.core.models import Client, EmailChange
from widget_server.delivery.preferences import wants

NEW = "sarah.t@example.net"


def post(visitor, path: str, data: dict):
    visitor.open("account")  # a fresh form token, as the page would give
    return visitor.post(path, data)


def client_row(app, email: str = SARAH, tenant: str = "demo") -> Client:
    with Session(app.state.engine) as db:
        return db.exec(select(Client).where(Client.tenant == tenant,
                                            Client.external_id == "cl-1001")).one()


# --- name and phone ---------------------------------------------------------------------------

def test_a_parent_updates_name_and_phone_and_the_provider_sees_it_at_once(demo, sarah, api):
    answer = post(sarah, "account/details", {"name": "  Sarah   Thompson-Reed ",
                                             "phone": "07911 123456"})
    assert answer.status_code == 303 and answer.headers["location"].endswith(
        "/account?saved=details#details")
    page = sarah.open("account?saved=details").text
    details = section(page, "details-title")
    assert "Your details are saved." in details
    assert "Name Sarah Thompson-Reed" in details and "Phone +44 7911 123456" in details
    assert "Hello, Sarah Thompson-Reed" in sarah.open("").text

    item = api.get("clients", "cl-1001").json()
    assert item["name"] == "Sarah Thompson-Reed" and item["phone"] == "+447911123456"
    [event] = events(demo, "account.updated")
    assert event["data"] == {"client_id": "cl-1001", "changes": {
        "name": "Sarah Thompson-Reed", "phone": "+447911123456"}}

    post(sarah, "account/details", {"name": "Sarah Thompson-Reed", "phone": "+44 7911 123456"})
    assert len(events(demo, "account.updated")) == 1  # nothing changed, nothing sent
    post(sarah, "account/details", {"name": "Sarah Thompson-Reed", "phone": ""})
    assert api.get("clients", "cl-1001").json()["phone"] is None
    assert events(demo, "account.updated")[-1]["data"]["changes"] == {"phone": None}


def test_the_phone_the_school_gave_is_kept_when_only_the_name_changes(demo, sarah):
    # "+44 7700 900123" is a drama number that no check accepts; the provider stored it.
    assert post(sarah, "account/details", {"name": "Sarah T", "phone": "+44 7700 900123"}) \
        .status_code == 303
    assert client_row(demo).phone == "+44 7700 900123"
    assert events(demo, "account.updated")[-1]["data"]["changes"] == {"name": "Sarah T"}


@pytest.mark.parametrize("phone", ["12345", "call me", "+44 20 7946 09", "0905 123 456"])
def test_a_phone_number_that_is_not_one_is_refused(demo, sarah, phone):
    answer = post(sarah, "account/details", {"name": "Sarah Thompson", "phone": phone})
    assert answer.status_code == 422
    assert "That does not look like a phone number." in answer.text
    assert 'id="phone" name="phone" type="tel"' in answer.text and 'aria-invalid="true"' in \
        answer.text
    assert f'value="{phone}"' in answer.text  # what they typed stays in the field
    assert client_row(demo).phone == "+44 7700 900123" and events(demo) == []


def test_the_phone_hint_shows_numbers_that_are_accepted(demo, sarah, mailbox):
    """The hint's examples are real numbers of the school's country (not the UK's 07700
    900xxx drama range, which the check refuses), written nationally and internationally;
    either way they are accepted and stored in E.164."""
    refused = post(sarah, "account/details", {"name": "Sarah Thompson", "phone": "07700 900456"})
    assert refused.status_code == 422
    hint = re.search(r'id="phone-error">(.*?)</p>', refused.text, re.S).group(1)
    national, international = re.findall(r"like ([+0-9][0-9 ]+[0-9])", hint)
    assert "7700" not in hint and national.startswith("0") and international.startswith("+44")
    for written in (national, international):
        assert post(sarah, "account/details", {"name": "Sarah Thompson", "phone": written}) \
            .status_code == 303
        assert client_row(demo).phone == "+" + "".join(c for c in international if c.isdigit())
    jana = browser(demo, mailbox, JANA, "demo-sk")
    slovak = post(jana, "account/details", {"name": "Jana Kováčová", "phone": "12"})
    assert "+421" in re.search(r'id="phone-error">(.*?)</p>', slovak.text, re.S).group(1)


def test_a_name_is_needed(demo, sarah):
    answer = post(sarah, "account/details", {"name": "   ", "phone": ""})
    assert answer.status_code == 422 and "Please enter your name." in answer.text
    assert client_row(demo).name == "Sarah Thompson"


def test_phone_numbers_are_read_in_the_schools_country(demo, mailbox):
    assert region_of("en-GB") == "GB" and region_of("sk") == "SK"
    jana = browser(demo, mailbox, JANA, "demo-sk")
    assert post(jana, "account/details", {"name": "Jana Kováčová", "phone": "0905 111 222"}) \
        .status_code == 303
    assert client_row(demo, tenant="demo-sk").phone == "+421905111222"
    assert "+421 905 111 222" in section(jana.open("account").text, "details-title")


# --- notifications ----------------------------------------------------------------------------

def test_notifications_per_kind_and_channel_reach_the_provider(demo, mailbox, api):
    jana = browser(demo, mailbox, JANA, "demo-sk")  # Piruetka offers WhatsApp; Jana has a phone
    page = jana.open("account").text
    assert "WhatsApp" in section(page, "notify-title")
    answer = post(jana, "account/notifications", {
        "reminders.email": "on", "reminders.whatsapp": "on", "makeup_offers.whatsapp": "on",
        "news.email": "on"})
    assert answer.headers["location"].endswith("/account?saved=notifications#notifications")
    row = client_row(demo, tenant="demo-sk")
    assert wants(row, "reminders", "whatsapp") and not wants(row, "payment_notices", "email")
    assert wants(row, "news", "email") and not wants(row, "news", "whatsapp")
    item = api.as_tenant("demo-sk").get("clients", "cl-1001").json()
    assert item["notify_email"] is True and item["notify_whatsapp"] is True
    changes = events(demo, "account.updated")[-1]["data"]["changes"]
    assert changes["notifications"]["makeup_offers"] == {"email": False, "whatsapp": True}
    page = jana.open("account").text
    assert 'name="payment_notices.email" aria-labelledby' in page
    assert 'name="news.email" aria-labelledby="kind-news channel-email-news" checked' in page

    post(jana, "account/notifications", {})  # everything off
    item = api.as_tenant("demo-sk").get("clients", "cl-1001").json()
    assert item["notify_email"] is False and item["notify_whatsapp"] is False
    assert events(demo, "account.updated")[-1]["data"]["changes"]["notify_email"] is False


def test_news_waits_for_consent_and_the_provider_switch_wins(demo, sarah, api):
    row = client_row(demo)
    assert wants(row, "reminders") and not wants(row, "news")
    assert re.search(r'name="news.email" aria-labelledby="[^"]+"\s*>', sarah.open("account").text)
    assert "WhatsApp" not in section(sarah.open("account").text, "notify-title")  # not offered
    item = api.get("clients", "cl-1001").json()
    api.put("clients", "cl-1001", {k: v for k, v in item.items() if k != "id"} |
            {"notify_email": False})
    assert not wants(client_row(demo), "reminders")


# --- the login e-mail -------------------------------------------------------------------------

def test_changing_the_login_email_needs_the_code_sent_to_the_new_address(demo, sarah, mailbox,
                                                                         api):
    assert post(sarah, "account/email", {"email": NEW}).status_code == 303
    page = sarah.open("account/email").text
    assert f"We have sent a 6-digit code to {NEW}." in text_of(page)
    message = mail_to(mailbox, NEW)[0]
    code = message["Subject"].rsplit(" ", 1)[1]
    assert message["Subject"] == f"Your code to confirm this e-mail address: {code}"
    assert code in body(message)
    with Session(demo.state.engine) as db:
        assert code not in db.exec(select(EmailChange.code_hash)).one()  # kept as a hash
    assert client_row(demo).email == SARAH  # nothing changes before the code
    assert f"We sent a code to {NEW}." in text_of(sarah.open("account").text)

    wrong = post(sarah, "account/email/confirm", {"code": "000000" if code != "000000"
                                                  else "111111"})
    assert wrong.status_code == 422 and "4 attempts left." in wrong.text
    done = post(sarah, "account/email/confirm", {"code": code})
    assert done.headers["location"].endswith("/account?saved=email#details")
    page = sarah.open("account?saved=email").text  # the same browser stays logged in
    assert f"Your login e-mail is now {NEW}." in page
    assert f"Login e-mail {NEW}" in section(page, "details-title")

    told = "Your login e-mail at Splash Swim School was changed"
    assert told in subjects(mailbox, SARAH, told)
    assert NEW in body(mailbox.to(SARAH)[-1])
    assert api.get("clients", "cl-1001").json()["email"] == NEW
    assert events(demo, "account.updated")[-1]["data"] == {"client_id": "cl-1001",
                                                           "changes": {"email": NEW}}
    assert no_login_mail(demo, mailbox, SARAH)  # the old address no longer logs in
    assert "Hello, Sarah Thompson" in browser(demo, mailbox, NEW).open("").text


def test_an_email_change_that_cannot_happen_says_why(demo, sarah, mailbox):
    for email, status, message in (
            ("nonsense", 422, "Please enter a valid e-mail address."),
            (SARAH, 422, "That is already your login e-mail.")):
        answer = post(sarah, "account/email", {"email": email})
        assert answer.status_code == status and message in answer.text, email
    for n in range(5):
        assert post(sarah, "account/email", {"email": f"new{n}@example.com"}).status_code == 303
    answer = post(sarah, "account/email", {"email": "new9@example.com"})
    assert answer.status_code == 429 and "Please wait an hour" in answer.text


def test_the_email_form_does_not_tell_whether_another_account_uses_an_address(demo, sarah,
                                                                               mailbox):
    """James's address is taken, NEW is free: Sarah cannot tell them apart, James is told."""
    seen = []
    for address in (JAMES, NEW):
        answer = post(sarah, "account/email", {"email": address})
        code_page = sarah.open("account/email")
        account_page = sarah.open("account")
        seen.append((answer.status_code, answer.headers.get("location"),
                     code_page.status_code, text_of(code_page.text).replace(address, "@"),
                     account_page.status_code, text_of(account_page.text).replace(address, "@")))
    assert seen[0] == seen[1]
    assert "We have sent a 6-digit code to @." in seen[0][3]

    code = mail_to(mailbox, NEW)[0]["Subject"].rsplit(" ", 1)[1]  # the free address: a code
    [notice] = mail_to(mailbox, JAMES)  # the taken one: no code, a word of what happened
    assert notice["Subject"] == "Someone tried to use this address at Splash Swim School"
    words = " ".join(body(notice).split())
    assert "This address already has its own profile there, so nothing was changed" in words
    assert "please log in with this address instead" in words
    assert SARAH not in words and "Sarah" not in words  # who tried stays private
    assert not re.search(r"\b\d{6}\b", words)
    assert post(sarah, "account/email/confirm", {"code": code}).status_code == 303
    assert client_row(demo).email == NEW


def test_the_code_cannot_move_an_account_onto_an_address_taken_meanwhile(demo, sarah, mailbox,
                                                                         api):
    post(sarah, "account/email", {"email": NEW})
    code = mail_to(mailbox, NEW)[0]["Subject"].rsplit(" ", 1)[1]
    assert api.put("clients", "cl-new", {"email": NEW, "name": "Someone Else"}).status_code \
        in (200, 201)  # the school gives the address to another client in the meantime
    refused = post(sarah, "account/email/confirm", {"code": code})
    assert refused.status_code == 422
    # Whoever has the code reads that inbox, so this tells them nothing new.
    assert "Another account at Splash Swim School uses that address." in text_of(refused.text)
    assert client_row(demo).email == SARAH


def test_email_changes_are_limited_per_ip_across_accounts(demo, mailbox, monkeypatch):
    monkeypatch.setattr("widget_server.account.email_change.REQUESTS_PER_IP_PER_HOUR", 3)
    sarah, james = browser(demo, mailbox, SARAH), browser(demo, mailbox, JAMES)  # one IP
    assert post(sarah, "account/email", {"email": "a@example.net"}).status_code == 303
    assert post(sarah, "account/email", {"email": JANA}).status_code == 303
    assert post(james, "account/email", {"email": "b@example.net"}).status_code == 303
    limited = post(james, "account/email", {"email": SARAH})  # taken or free, the same
    assert limited.status_code == 429
    assert "You have asked for several codes already. Please wait an hour and try again." \
        in text_of(limited.text)
    assert post(sarah, "account/email", {"email": "c@example.net"}).status_code == 429
    freeze(demo, NOW + timedelta(hours=1))
    assert post(james, "account/email", {"email": "b@example.net"}).status_code == 303


def test_an_email_change_code_expires_and_five_wrong_tries_burn_it(demo, sarah, mailbox):
    post(sarah, "account/email", {"email": NEW})
    code = mail_to(mailbox, NEW)[0]["Subject"].rsplit(" ", 1)[1]
    freeze(demo, NOW + timedelta(minutes=16))
    late = post(sarah, "account/email/confirm", {"code": code})
    assert late.status_code == 422 and "has expired" in late.text
    freeze(demo, NOW + timedelta(minutes=17))
    post(sarah, "account/email", {"email": NEW})
    code = mail_to(mailbox, NEW, 2)[-1]["Subject"].rsplit(" ", 1)[1]
    bad = "000000" if code != "000000" else "111111"
    for _ in range(5):
        answer = post(sarah, "account/email/confirm", {"code": bad})
    assert "has expired or was tried too many times" in answer.text
    assert post(sarah, "account/email/confirm", {"code": code}).status_code == 422
    assert client_row(demo).email == SARAH


# --- my data -------------------------------------------------------------------------------------

def test_download_all_my_data(demo, sarah):
    answer = sarah.open("account/my-data.json")
    assert answer.status_code == 200
    assert answer.headers["content-disposition"] == \
        'attachment; filename="my-data-demo-2026-11-22.json"'
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    data = json.loads(answer.text)
    assert data["client"]["email"] == SARAH and data["login_email"] == SARAH
    assert {a["name"] for a in data["attendees"]} == {"Oliver Thompson", "Mia Thompson"}
    assert {b["id"] for b in data["bookings"]} == {"bk-1001", "bk-1002", "bk-1003", "bk-1004",
                                                   "bk-1005"}
    assert all(a["booking_id"].startswith("bk-100") for a in data["attendance"])
    assert len(data["attendance"]) > 20 and len(data["sessions"]) > 20
    assert {p["name"] for p in data["programmes"]} >= {"Beginners (Stage 1)"}
    assert any(p["status"] == "paid" for p in data["payments"])
    assert data["invoices"] and all("pdf_base64" not in i and "has_pdf" in i
                                    for i in data["invoices"])
    assert data["orders"][0]["items"]
    assert {e["name"] for e in data["entry_passes"]} >= {"Family Fun Swim 10-visit pass"}
    assert data["entry_passes"][0]["uses"] or data["entry_passes"][1]["uses"]
    assert {d["name"] for d in data["discounts"]} >= {"Sibling discount"}
    assert sum(c["amount"] for c in data["credits"]) == 3000
    assert [s["email"] for s in data["shares"]] == [GRANDMA]
    assert len(data["makeup_credits"]) == 4
    assert data["settings"]["notifications"]["reminders"] == {"email": True, "whatsapp": False}
    # The children's progress: assessments, the notes for the family (not staff notes), the
    # published report cards.
    assert {a["attendee_id"] for a in data["assessments"]} == {"at-1001-1", "at-1001-2"}
    assert len(data["session_notes"]) == 3
    assert all(n["visibility"] == "family" for n in data["session_notes"])
    assert [c["id"] for c in data["report_cards"]] == ["rc-1", "rc-2"]
    assert {d["title"] for d in data["documents"]} == {"Spring term letter",
                                                       "Photos from the swimming gala"}
    assert "james.patel" not in answer.text and "Aisha" not in answer.text  # another family


def test_a_grandparent_downloads_what_is_held_about_them(demo, mailbox):
    data = json.loads(browser(demo, mailbox, GRANDMA).open("account/my-data.json").text)
    assert set(data) == {"exported_at", "provider", "login_email", "shared_with_me"}
    assert data["shared_with_me"][0] | {"share_id": None} == {
        "booking_id": "bk-1001", "share_id": None, "programme": "Beginners (Stage 1)",
        "child": "Oliver Thompson", "owner": "Sarah Thompson", "access": "view"}


# --- deleting the account ------------------------------------------------------------------------

def test_asking_to_delete_the_account(demo, sarah, mailbox):
    page = sarah.open("account/delete").text
    assert "This is what happens next:" in page
    assert "Yes, ask to delete my account" in page and events(demo) == []
    answer = sarah.post("account/delete", {})
    assert answer.headers["location"].endswith("/account?saved=deletion#delete")
    delete = section(sarah.open("account?saved=deletion").text, "delete-title")
    assert "We have passed on your request to Splash Swim School" in delete
    assert "You asked Splash Swim School to delete your account on 22 Nov 2026." in delete
    assert events(demo, "account.deletion_requested")[0]["data"] == {"client_id": "cl-1001",
                                                                     "email": SARAH}
    subject = "We have asked Splash Swim School to delete your account"
    assert subject in subjects(mailbox, SARAH, subject)
    sarah.open("account/delete")
    sarah.post("account/delete", {})  # asking twice sends nothing twice
    assert len(events(demo, "account.deletion_requested")) == 1


# --- who may use which form ----------------------------------------------------------------------

ACCOUNT_POSTS = {"account/details": {"name": "X", "phone": ""},
                 "account/notifications": {},
                 "account/email": {"email": NEW},
                 "account/email/confirm": {"code": "123456"},
                 "account/delete": {}}


@pytest.mark.parametrize("path", ACCOUNT_POSTS)
def test_account_forms_need_their_token(demo, sarah, mailbox, path):
    laptop = browser(demo, mailbox, SARAH)
    laptop.open("account")
    for token in ("", "forged", laptop.csrf):
        answer = sarah.client.post(f"/t/demo/{path}", data={"csrf_token": token,
                                                             **ACCOUNT_POSTS[path]},
                                   follow_redirects=False)
        assert answer.status_code == 403
    assert events(demo) == [] and client_row(demo).name == "Sarah Thompson"


@pytest.mark.parametrize("path", ACCOUNT_POSTS)
def test_a_grandparent_has_no_family_account_to_change(demo, mailbox, path):
    grandma = browser(demo, mailbox, GRANDMA)
    assert post(grandma, path, ACCOUNT_POSTS[path]).status_code == 404
    assert grandma.open("account/delete").status_code == 404
    assert "Change name or phone" not in grandma.open("account").text


@pytest.mark.parametrize("path", [*ACCOUNT_POSTS, "account/email", "account/delete",
                                  "account/my-data.json"])
def test_the_account_pages_ask_to_log_in_first(demo, client, path):
    answer = client.get(f"/t/demo/{path}", follow_redirects=False)
    if answer.status_code == 405:  # POST-only
        answer = client.post(f"/t/demo/{path}", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "http://testserver/t/demo/login"
