"""A provider's system offers a family a place (issue 16): next term's class (re-enrolment), a
class after a trial, or the next level (move up), with one to ten classes to choose from, open
until the end of a deadline where the provider is. The family answers in the portal; the
provider writes, reads, lists, imports and deletes offers like any other sync resource, and
whatever it writes never erases a family's answer."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import jsonschema
import pytest
from profile_support import freeze
from samples import load_base
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from widget_server.api import bulk_import
from widget_server.api.openapi import document
from widget_server.core.db import session_scope
from widget_server.core.models import Client, Offer, OfferOption, OutboxMessage

TENTH_OF_DECEMBER = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)
SATURDAYS = {"key": "sat-9", "label": "Saturdays 9:00, Harbourside", "programme_id": "p1",
             "first_session_id": "s1", "sessions": 12, "price": 11400, "currency": "GBP",
             "discount": 1140}
WEDNESDAYS = {"key": "wed-1630", "label": "Wednesdays 16:30, Harbourside",
              "programme_id": "p2", "first_session_id": None, "sessions": 12, "price": 11400,
              "currency": "GBP", "discount": 0}
OFFER = {"client_id": "c1", "attendee_id": "a1", "booking_id": "b1", "level_id": None,
         "kind": "reenrolment", "title": "Spring term 2027",
         "message": "Oliver's Saturday place is kept for him.\nOr would Wednesdays suit better?",
         "deadline": "2026-12-15", "hold_places": True, "pay_on_accept": True, "status": "open",
         "options": [SATURDAYS, WEDNESDAYS]}
# What only the portal writes, before the family answers.
NO_ANSWER = {"chosen_option": None, "decline_reason": None, "decline_note": None,
             "answered_at": None, "answered_by": None}
ACCEPTED = {"status": "accepted", "chosen_option": "wed-1630",
            "answered_at": datetime(2026, 12, 3, 18, 4, tzinfo=UTC),
            "answered_by": "sarah@example.com"}
DECLINED = {"status": "declined", "decline_reason": "schedule",
            "decline_note": "Saturdays no longer work for us.",
            "answered_at": datetime(2026, 12, 4, 7, 30, tzinfo=UTC),
            "answered_by": "sarah@example.com"}


def provider(api, tenant: str = "demo"):
    """A provider with the sample family (Oliver, booked on Dolphins) and a second class."""
    school = api.as_tenant(tenant)
    load_base(school)
    assert school.put("programmes", "p2", {"name": "Dolphins, Wednesdays"}).status_code == 201
    return school


@pytest.fixture
def school(app, api):
    """The demo provider on 10 December (in London)."""
    freeze(app, TENTH_OF_DECEMBER)
    return provider(api)


def family_answers(app, offer_id: str, tenant: str = "demo", **answer) -> None:
    """What the portal writes on the offer when the family answers (or the scheduler, when the
    deadline passes)."""
    with session_scope(app.state.engine) as session:
        offer = session.exec(select(Offer).where(Offer.tenant == tenant,
                                                 Offer.external_id == offer_id)).one()
        for name, value in answer.items():
            setattr(offer, name, value)
        session.add(offer)


def as_read(answer: dict) -> dict:
    """An answer as the API shows it."""
    return NO_ANSWER | answer | {"answered_at": answer["answered_at"].isoformat().replace(
        "+00:00", "Z")}


def errors_of(response) -> dict[str, str]:
    """The refusal's errors, field -> reason."""
    assert response.status_code == 422, response.text
    return {error["field"]: error["reason"] for error in response.json()["errors"]}


# --- writing and reading ------------------------------------------------------------------------

def test_a_provider_offers_next_term_with_two_classes_to_choose_from(school):
    written = school.put("offers", "of-spring", OFFER)
    assert written.status_code == 201, written.text
    assert written.json() == {"id": "of-spring", **OFFER, **NO_ANSWER}
    assert school.get("offers", "of-spring").json() == written.json()
    assert written.json() in school.get("offers").json()["items"]
    again = school.put("offers", "of-spring", OFFER)
    assert again.status_code == 200 and again.json() == written.json()
    # Options are replaced as a whole, in the order sent.
    swapped = school.put("offers", "of-spring", OFFER | {"options": [WEDNESDAYS]})
    assert swapped.json()["options"] == [WEDNESDAYS]


def test_a_trial_offer_needs_little_and_the_rest_has_defaults(school):
    trial = {"client_id": "c1", "attendee_id": "a1", "kind": "trial", "deadline": "2026-12-12",
             "options": [{"key": "sat", "programme_id": "p1"}]}
    item = school.put("offers", "of-trial", trial).json()
    assert item == {"id": "of-trial", **trial, "booking_id": None, "level_id": None,
                    "title": None, "message": None, "hold_places": False,
                    "pay_on_accept": False, "status": "open", **NO_ANSWER,
                    "options": [{"key": "sat", "label": None, "programme_id": "p1",
                                 "first_session_id": None, "sessions": None, "price": None,
                                 "currency": None, "discount": 0}]}


# --- what is refused ----------------------------------------------------------------------------

ELEVEN = [{"key": f"class-{n}", "programme_id": "p1"} for n in range(11)]


@pytest.mark.parametrize("change,field,reason", [
    ({"options": []}, "options", "List should have at least 1 item"),
    ({"options": None}, "options", "Input should be a valid list"),
    ({"options": ELEVEN}, "options", "List should have at most 10 items"),
    ({"options": [SATURDAYS, WEDNESDAYS | {"key": "sat-9"}]}, "options",
     "option key 'sat-9' is listed twice (options.0 and options.1)"),
    ({"options": [SATURDAYS | {"discount": 11401}]}, "options.0.discount",
     "cannot exceed price (11400)"),
    ({"options": [SATURDAYS, WEDNESDAYS | {"programme_id": "p-gone"}]},
     "options.1.programme_id", "no programmes item with id 'p-gone'"),
    ({"options": [SATURDAYS | {"first_session_id": "s-gone"}]}, "options.0.first_session_id",
     "no sessions item with id 's-gone'"),
    ({"options": [SATURDAYS | {"sessions": 0}]}, "options.0.sessions", "greater than or equal"),
    ({"kind": "move_up", "level_id": "lv-gone"}, "level_id", "no levels item with id 'lv-gone'"),
    ({"kind": "upgrade"}, "kind", "'reenrolment', 'trial' or 'move_up'"),
    ({"deadline": 20261215}, "deadline", "a date written as YYYY-MM-DD"),
    ({"status": "accepted"}, "status", "'open' or 'withdrawn'"),
    ({"chosen_option": "sat-9"}, "chosen_option", "unknown field"),
    ({"message": "x" * 2001}, "message", "at most 2000 characters"),
], ids=["no-options", "options-null", "eleven-options", "key-twice", "discount-above-price",
        "unknown-programme", "unknown-session", "sessions-0", "unknown-level", "kind-upgrade",
        "deadline-number", "status-accepted", "answer-written", "long-message"])
def test_a_bad_offer_is_refused_naming_the_field_and_nothing_is_stored(school, change, field,
                                                                       reason):
    reasons = errors_of(school.put("offers", "of-bad", OFFER | change))
    assert field in reasons, reasons
    assert reason in reasons[field]
    assert school.get("offers", "of-bad").status_code == 404


def test_an_offer_without_options_is_refused(school):
    body = {name: value for name, value in OFFER.items() if name != "options"}
    assert errors_of(school.put("offers", "of-bad", body)) == {"options": "Field required"}


# --- the family's answer ------------------------------------------------------------------------

@pytest.mark.parametrize("answer", [ACCEPTED, DECLINED], ids=["accepted", "declined"])
def test_a_familys_answer_survives_the_providers_next_push(app, school, answer):
    school.put("offers", "of-spring", OFFER)
    family_answers(app, "of-spring", **answer)
    changed = OFFER | {"title": "Spring term 2027 (new times)", "deadline": "2026-12-20",
                       "options": [SATURDAYS | {"label": "Saturdays 9:15"}, WEDNESDAYS]}
    pushed = school.put("offers", "of-spring", changed)
    assert pushed.status_code == 200, pushed.text
    assert pushed.json() == {"id": "of-spring", **changed, **as_read(answer)}
    assert school.get("offers", "of-spring").json() == pushed.json()


def test_an_answered_offer_cannot_be_withdrawn_and_nothing_changes(app, school):
    school.put("offers", "of-spring", OFFER)
    family_answers(app, "of-spring", **ACCEPTED)
    before = school.get("offers", "of-spring").json()
    refused = school.put("offers", "of-spring", OFFER | {"status": "withdrawn",
                                                         "title": "Taken back"})
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["detail"] == (
        "offer 'of-spring' was already accepted by the family on 2026-12-03T18:04:00Z; "
        "an answered offer cannot be withdrawn.")
    assert refused.json()["errors"] == [{
        "field": "status", "path": ["status"],
        "reason": "the family already accepted the offer on 2026-12-03T18:04:00Z"}]
    assert school.get("offers", "of-spring").json() == before


def test_an_expired_offer_opens_again_only_with_a_deadline_not_yet_passed(app, school):
    school.put("offers", "of-spring", OFFER | {"deadline": "2026-12-05"})
    family_answers(app, "of-spring", status="expired")  # as the scheduler does
    for deadline, status in [("2026-12-05", "expired"), ("2026-12-09", "expired"),
                             ("2026-12-10", "open")]:  # today, 10 December
        pushed = school.put("offers", "of-spring", OFFER | {"deadline": deadline})
        assert pushed.status_code == 200
        assert (pushed.json()["deadline"], pushed.json()["status"]) == (deadline, status)


@pytest.mark.parametrize("tenant,status", [("demo", "open"), ("demo-sk", "expired")])
def test_a_deadline_ends_at_the_end_of_that_day_where_the_provider_is(app, api, tenant,
                                                                      status):
    """At 23:30 on 10 December in London it is already 11 December in Bratislava: an offer
    due by the 10th may open again in London, not in Bratislava."""
    freeze(app, datetime(2026, 12, 10, 23, 30, tzinfo=UTC))
    school = provider(api, tenant)
    school.put("offers", "of-spring", OFFER | {"deadline": "2026-12-01"})
    family_answers(app, "of-spring", tenant, status="expired")
    pushed = school.put("offers", "of-spring", OFFER | {"deadline": "2026-12-10"})
    assert pushed.json()["status"] == status


def test_a_provider_withdraws_an_offer_and_offers_it_again(app, school):
    school.put("offers", "of-spring", OFFER)
    assert school.put("offers", "of-spring", OFFER | {"status": "withdrawn"}).json()[
        "status"] == "withdrawn"
    assert school.put("offers", "of-spring", OFFER).json()["status"] == "open"
    family_answers(app, "of-spring", status="expired")
    assert school.put("offers", "of-spring", OFFER | {"status": "withdrawn"}).json()[
        "status"] == "withdrawn"


# --- withdrawing, and telling the family -------------------------------------------------------

SORRY = "Sorry: the Saturday class closes in spring.\nWe will call you about Wednesdays."


def withdrawal_letters(app) -> list[dict]:
    """The "offer withdrawn" e-mails queued so far (the outbox sends each once)."""
    with Session(app.state.engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.channel == "email")
                            .order_by(OutboxMessage.id)).all()
    return [m.payload for m in rows if m.payload.get("kind") == "offer_withdrawn"]


def test_withdrawing_an_open_offer_tells_the_family_once(app, school, mailbox):
    school.put("offers", "of-spring", OFFER)
    withdrawn = school.put("offers", "of-spring", OFFER | {"status": "withdrawn",
                                                           "message": SORRY})
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    [letter] = mailbox.wait_for(1)
    assert letter["To"] == "sarah@example.com"
    assert letter["Subject"] == "Offer withdrawn: Oliver"
    words = letter.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "This offer has been withdrawn" in words
    assert "Splash Swim School has withdrawn the offer of a place for Oliver:" in words
    assert "Spring term 2027" in words
    assert "Saturdays 9:00, Harbourside" in words and "Wednesdays 16:30, Harbourside" in words
    assert SORRY in words  # the provider's own words, line break kept
    # Pushed again (a retry, tonight's sync, a replayed request): nothing more to tell.
    school.put("offers", "of-spring", OFFER | {"status": "withdrawn", "message": SORRY})
    for _ in range(2):
        school.put("offers", "of-spring", OFFER | {"status": "withdrawn", "title": "Spring"},
                   **{"Idempotency-Key": "sync-7"})
    assert len(withdrawal_letters(app)) == 1
    # Offered again, then withdrawn again: that is news again.
    school.put("offers", "of-spring", OFFER)
    school.put("offers", "of-spring", OFFER | {"status": "withdrawn"})
    assert len(withdrawal_letters(app)) == 2


def test_no_withdrawal_e_mail_for_an_offer_the_family_could_not_answer(app, school):
    school.put("offers", "of-never", OFFER | {"status": "withdrawn"})  # never open
    school.put("offers", "of-late", OFFER | {"deadline": "2026-12-09"})  # closed yesterday
    school.put("offers", "of-late", OFFER | {"deadline": "2026-12-09", "status": "withdrawn"})
    school.put("offers", "of-expired", OFFER)
    family_answers(app, "of-expired", status="expired")
    school.put("offers", "of-expired", OFFER | {"status": "withdrawn"})
    school.put("offers", "of-kept", OFFER)
    family_answers(app, "of-kept", **ACCEPTED)
    assert school.put("offers", "of-kept", OFFER | {"status": "withdrawn"}).status_code == 409
    assert withdrawal_letters(app) == []
    school.put("offers", "of-open", OFFER)  # one the family could answer: told
    school.put("offers", "of-open", OFFER | {"status": "withdrawn"})
    assert len(withdrawal_letters(app)) == 1


def family_wants_places_offered_e_mails(app, wanted: bool) -> None:
    """Sarah's choice for "places offered" e-mails, as the account page saves it."""
    with session_scope(app.state.engine) as session:
        sarah = session.exec(select(Client).where(Client.tenant == "demo",
                                                  Client.external_id == "c1")).one()
        sarah.notifications = {"class_offers": {"email": wanted, "whatsapp": False}}
        session.add(sarah)


def test_a_family_that_wants_no_places_offered_e_mails_is_not_told(app, school):
    family_wants_places_offered_e_mails(app, False)
    school.put("offers", "of-spring", OFFER)
    assert school.put("offers", "of-spring", OFFER | {"status": "withdrawn"}).status_code == 200
    assert withdrawal_letters(app) == []
    family_wants_places_offered_e_mails(app, True)
    school.put("offers", "of-spring", OFFER)
    school.put("offers", "of-spring", OFFER | {"status": "withdrawn"})
    assert [letter["to"] for letter in withdrawal_letters(app)] == ["sarah@example.com"]


@pytest.mark.parametrize("other_way", ["the set write", "line by line"])
def test_an_import_that_withdraws_an_open_offer_tells_the_family_once(app, school, monkeypatch,
                                                                      other_way):
    school.put("offers", "of-spring", OFFER)
    school.put("offers", "of-autumn", OFFER | {"status": "withdrawn"})
    if other_way == "line by line":
        def forced(session, tenant, batch, **context):
            raise IntegrityError("forced", None, Exception("forced"))
        monkeypatch.setattr(bulk_import, "_write_set", forced)
    lines = [("of-spring", OFFER | {"status": "withdrawn", "message": SORRY}),
             ("of-spring", OFFER | {"status": "withdrawn", "message": SORRY}),
             ("of-autumn", OFFER | {"status": "withdrawn"}),
             ("of-new", OFFER | {"status": "withdrawn"})]
    body = "".join(json.dumps({"resource": "offers", "item": {"id": key, **item}}) + "\n"
                   for key, item in lines)
    assert school.import_ndjson(body).json()["failed"] == 0
    [letter] = withdrawal_letters(app)
    assert (letter["to"], letter["subject"]) == ("sarah@example.com", "Offer withdrawn: Oliver")
    assert SORRY in letter["text"]


# --- following a campaign -----------------------------------------------------------------------

def pages(school, **params) -> list[list[str]]:
    """The ids of every page of offers, following the cursor with the same parameters."""
    out, cursor = [], None
    while True:
        answer = school.get("offers", **params, **({"cursor": cursor} if cursor else {}))
        assert answer.status_code == 200, answer.text
        out.append([item["id"] for item in answer.json()["items"]])
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            return out


def test_a_campaign_is_followed_by_status_page_by_page(app, school):
    for n in range(1, 10):
        school.put("offers", f"of-{n}", OFFER)
    family_answers(app, "of-2", **ACCEPTED)
    family_answers(app, "of-3", **DECLINED)
    family_answers(app, "of-5", **ACCEPTED | {"chosen_option": "sat-9"})
    family_answers(app, "of-6", status="expired")
    school.put("offers", "of-7", OFFER | {"status": "withdrawn"})
    school.delete("offers", "of1")  # the sample offer
    assert pages(school, status="open", limit=3) == [["of-1", "of-4", "of-8"], ["of-9"]]
    assert pages(school, status="accepted,declined", limit=2) == [["of-2", "of-3"], ["of-5"]]
    assert pages(school, status=["expired", "withdrawn"]) == [["of-6", "of-7"]]
    everything = pages(school, status="open,accepted,declined,expired,withdrawn,open")
    assert everything == pages(school) == [[f"of-{n}" for n in range(1, 10)]]
    accepted = school.get("offers", status="accepted").json()["items"]
    assert [(o["id"], o["chosen_option"]) for o in accepted] == [("of-2", "wed-1630"),
                                                                 ("of-5", "sat-9")]


@pytest.mark.parametrize("value", ["upgrade", "", "open,", "Open", "open, expired"])
def test_an_unknown_status_is_refused_naming_the_ones_there_are(school, value):
    reasons = errors_of(school.get("offers", status=value))
    assert list(reasons) == ["status"]
    assert "give one or more of open, accepted, declined, expired, withdrawn" in \
        reasons["status"]


# --- other providers ----------------------------------------------------------------------------

def test_another_provider_neither_sees_nor_points_at_an_offer(school, api):
    school.put("offers", "of-spring", OFFER)
    school.put("sessions", "s-jan", {"programme_id": "p1", "starts_at": "2027-01-09T09:00:00Z",
                                     "ends_at": "2027-01-09T09:45:00Z"})
    other = provider(api, "demo-sk")  # the same sample ids, its own family and classes
    assert other.get("offers", "of-spring").status_code == 404
    assert other.delete("offers", "of-spring").status_code == 404
    assert [o["id"] for o in other.get("offers", status="open").json()["items"]] == ["of1"]
    refused = other.put("offers", "of-spring", OFFER | {"options": [
        SATURDAYS | {"first_session_id": "s-jan"}]})
    assert errors_of(refused) == {"options.0.first_session_id": "no sessions item with id 's-jan'"}
    assert school.get("offers", "of-spring").json() == {"id": "of-spring", **OFFER, **NO_ANSWER}


# --- deleting -----------------------------------------------------------------------------------

def option_count(app, offer_id: str) -> int:
    with Session(app.state.engine) as session:
        return session.exec(select(func.count()).select_from(OfferOption).join(Offer).where(
            Offer.tenant == "demo", Offer.external_id == offer_id)).one()


def test_an_offer_is_deleted_with_its_options_and_then_its_classes_may_go(app, school):
    school.put("offers", "of-spring", OFFER)
    family_answers(app, "of-spring", **ACCEPTED)
    assert option_count(app, "of-spring") == 2
    # A class an option names, and the family member, stay while the offer does.
    assert school.delete("programmes", "p2").status_code == 409
    assert school.delete("offers", "of-spring").status_code == 204
    assert school.get("offers", "of-spring").status_code == 404
    assert option_count(app, "of-spring") == 0
    with Session(app.state.engine) as session:
        assert session.exec(select(func.count()).select_from(OfferOption)).one() == 2  # of1's
    assert school.delete("programmes", "p2").status_code == 204


# --- the bulk import ----------------------------------------------------------------------------

def campaign_lines() -> list[dict]:
    """The spring campaign in one file, sent after families answered some offers."""
    def line(resource: str, external_id: str, item: dict) -> dict:
        return {"resource": resource, "item": {"id": external_id, **item}}
    return [
        line("offers", "of-new", OFFER),
        line("offers", "of-accepted", OFFER | {"title": "Spring term 2027, new times"}),
        line("offers", "of-declined", OFFER | {"status": "withdrawn"}),
        line("offers", "of-expired", OFFER | {"deadline": "2026-12-20"}),
        line("offers", "of-expired-2", OFFER | {"deadline": "2026-12-09"}),
        line("offers", "of-bad", OFFER | {"options": [SATURDAYS, SATURDAYS]}),
        line("offers", "of-new", OFFER | {"status": "withdrawn"}),
        line("offers", "of-accepted", OFFER | {"status": "withdrawn"}),
        line("programmes", "p3", {"name": "Sharks"}),
        line("offers", "of-sharks", OFFER | {"options": [SATURDAYS | {"programme_id": "p3"}]}),
    ]


def answered_campaign(app, school, tenant: str) -> None:
    """Before the file: four offers the families answered, or let expire."""
    for offer_id, answer in [("of-accepted", ACCEPTED), ("of-declined", DECLINED),
                             ("of-expired", {"status": "expired"}),
                             ("of-expired-2", {"status": "expired"})]:
        school.put("offers", offer_id, OFFER | {"deadline": "2026-12-05"})
        family_answers(app, offer_id, tenant, **answer)


@pytest.mark.parametrize("other_way", ["one PUT per line", "the import line by line"])
def test_an_import_keeps_answers_and_answers_each_line_as_a_put_would(app, api, school,
                                                                      monkeypatch, other_way):
    other = provider(api, "demo-sk")
    for tenant, provider_api in (("demo", school), ("demo-sk", other)):
        answered_campaign(app, provider_api, tenant)
    body = "".join(json.dumps(line) + "\n" for line in campaign_lines())
    if other_way == "one PUT per line":
        monkeypatch.setattr(bulk_import, "_upsert_line", None)  # demo's batch: the set write
    report = school.import_ndjson(body).json()
    answers = [(r["line"], r["status"], r["id"], [e["field"] for e in r.get("errors", [])])
               for r in report["results"]]
    assert answers == [
        (1, "created", "of-new", []),
        (2, "updated", "of-accepted", []),
        (3, "error", "of-declined", ["item.status"]),  # answered: not withdrawn
        (4, "updated", "of-expired", []),
        (5, "updated", "of-expired-2", []),
        (6, "error", "of-bad", ["item.options"]),
        (7, "updated", "of-new", []),
        (8, "error", "of-accepted", ["item.status"]),
        (9, "created", "p3", []),
        (10, "created", "of-sharks", []),
    ]
    assert report["results"][2]["errors"][0]["reason"] == \
        "the family already declined the offer on 2026-12-04T07:30:00Z"
    offers = {o["id"]: o for o in school.get("offers").json()["items"]}
    assert offers["of-accepted"] == {"id": "of-accepted", **OFFER, **as_read(ACCEPTED),
                                     "title": "Spring term 2027, new times"}
    assert offers["of-declined"] == {"id": "of-declined", **OFFER, **as_read(DECLINED),
                                     "deadline": "2026-12-05"}
    assert [(offers[i]["status"], offers[i]["deadline"]) for i in (
        "of-expired", "of-expired-2", "of-new", "of-sharks")] == [
        ("open", "2026-12-20"), ("expired", "2026-12-09"), ("withdrawn", "2026-12-15"),
        ("open", "2026-12-15")]

    if other_way == "one PUT per line":
        codes, one_by_one = [], []
        for line in campaign_lines():
            item = dict(line["item"])
            answer = other.put(line["resource"], item.pop("id"), item)
            codes.append(answer.status_code)
            one_by_one.append(({201: "created", 200: "updated"}.get(answer.status_code, "error"),
                               [f"item.{e['field']}" for e in answer.json().get("errors", [])]))
        assert one_by_one == [(status, fields) for _, status, _, fields in answers]
        assert codes == [201, 200, 409, 200, 200, 422, 200, 409, 201, 201]
    else:
        def line_by_line(session, tenant, batch, **context):
            if tenant == "demo-sk":
                raise IntegrityError("forced", None, Exception("forced"))
            return write_set(session, tenant, batch, **context)

        write_set = bulk_import._write_set
        monkeypatch.setattr(bulk_import, "_write_set", line_by_line)
        assert other.import_ndjson(body).json() == report
    assert other.get("offers").json() == school.get("offers").json()
    assert other.get("programmes", "p3").json() == school.get("programmes", "p3").json()


# --- the OpenAPI document -----------------------------------------------------------------------

def answers_as_documented(answer, operation: dict) -> None:
    documented = operation["responses"][str(answer.status_code)]
    schema = documented["content"][answer.headers["content-type"]]["schema"]
    jsonschema.validate(answer.json(), {"components": document()["components"], **schema})


def test_the_document_states_what_is_read_only_and_how_to_follow_a_campaign(app, school):
    schemas = document()["components"]["schemas"]
    read = schemas["OfferOut"]["properties"]
    assert all(read[name]["readOnly"] for name in NO_ANSWER)
    assert read["status"]["enum"] == ["open", "accepted", "declined", "expired", "withdrawn"]
    written = schemas["OfferIn"]["properties"]
    assert written["status"]["enum"] == ["open", "withdrawn"]
    assert not set(NO_ANSWER) & set(written)
    assert "end of this day in the provider's time zone" in written["deadline"]["description"]
    assert "each `key` once" in written["options"]["description"]
    assert "at most the price" in schemas["OfferOptionIn"]["properties"]["discount"][
        "description"]

    paths = document()["paths"]
    listing, one = paths["/api/v1/offers"]["get"], paths["/api/v1/offers/{external_id}"]
    status = next(p for p in listing["parameters"] if p["name"] == "status")["schema"]
    assert re.fullmatch(status["pattern"], "open,expired")
    assert not re.fullmatch(status["pattern"], "upgrade")
    school.put("offers", "of-spring", OFFER)
    family_answers(app, "of-spring", **ACCEPTED)
    answers_as_documented(school.get("offers", "of-spring"), one["get"])
    answers_as_documented(school.get("offers", status="accepted"), listing)
    answers_as_documented(school.get("offers", status="upgrade"), listing)
    answers_as_documented(school.put("offers", "of-spring", OFFER), one["put"])
    answers_as_documented(school.put("offers", "of-spring", OFFER | {"status": "withdrawn"}),
                          one["put"])
