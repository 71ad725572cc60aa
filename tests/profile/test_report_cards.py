"""When the provider publishes a report card, the family is told by e-mail once, finds it on the
Progress screen marked new, reads it, and downloads it as a PDF; a completed level gives a
certificate. The provider hears when each person first opened the card."""

from __future__ import annotations

import io
import re

import pytest
from account_support import events
from profile_support import NOW, browser, counting_statements, freeze, section, text_of
from progress_support import SKILLS, assess, push_family
from pypdf import PdfReader

from widget_server import scheduler
from widget_server.delivery.notices import Notices
from widget_server.web.forms import wake_senders

CARD = {"attendee_id": "a-child", "level_id": "a-l1", "term": "Autumn term 2026",
        "comment": "A great term.\nKeep practising the glide.", "instructor": "Coach Kim",
        "published": True}


@pytest.fixture
def families(app, api):
    freeze(app)
    return {"mine": push_family(api, "a", "ann@example.com", "Alfie Ann"),
            "other client": push_family(api, "b", "bob@example.com", "Bella Bob"),
            "other tenant": push_family(api.as_tenant("demo-sk"), "c", "cyril@example.com",
                                        "Cilka Cyril")}


@pytest.fixture
def ann(app, families, mailbox):
    return browser(app, mailbox, "ann@example.com")


def publish(api, external_id: str = "rc-1", **changes) -> None:
    response = api.put("report-cards", external_id, CARD | changes)
    assert response.status_code in (200, 201), response.text


def scheduler_round(app) -> dict:
    tenants = [app.state.tenants.get("demo")]
    done = scheduler.run_once(app.state.engine, tenants,
                              lambda tenant: Notices.of(app, tenant), NOW)
    wake_senders(app)
    return done


def pdf_text(body: bytes) -> str:
    return re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(
        io.BytesIO(body)).pages))


def test_a_published_card_is_announced_by_e_mail_once(app, api, ann, mailbox):
    before = len(mailbox.to("ann@example.com"))
    publish(api, published=False)
    assert scheduler_round(app)["report_cards"] == 0  # a draft is nobody's business yet
    publish(api)
    assert scheduler_round(app)["report_cards"] == 1
    mailbox.wait_for(before + 1)
    letter = mailbox.to("ann@example.com")[-1]
    assert letter["Subject"] == "Alfie Ann's report card is ready"
    body = letter.get_body(("plain",)).get_content()
    assert "Splash Swim School has published a report card: Alfie Ann." in body
    assert "Autumn term 2026 · Tadpoles a" in body
    assert "my-profile#cp-path=%2Freport-cards%2Frc-1" in body  # the provider's page
    publish(api, comment="Edited after publishing")
    assert scheduler_round(app)["report_cards"] == 0  # told once
    assert len(mailbox.to("ann@example.com")) == before + 1


def test_a_family_that_turned_off_progress_e_mails_is_not_told(app, api, ann, mailbox):
    ann.post("account/notifications", {"reminders.email": "on"})  # progress e-mails off
    before = len(mailbox.to("ann@example.com"))
    publish(api)
    assert scheduler_round(app)["report_cards"] == 1
    assert len(mailbox.to("ann@example.com")) == before
    assert "Autumn term 2026" in text_of(ann.open("progress").text)  # still there to read


def test_the_card_is_new_until_opened_and_the_provider_hears_of_the_first_open(app, api, ann):
    assess(api, "a", "as-1", "a-l1", "float", 4, "2026-11-14")
    assess(api, "a", "as-2", "a-l1", "glide", 2, "2026-11-14")
    publish(api)
    cards = section(ann.open("progress").text, "cards-title")
    assert "Autumn term 2026 · Tadpoles a" in cards and "New" in cards

    page = ann.open("report-cards/rc-1")
    assert page.status_code == 200
    words = text_of(page.text)
    assert "Autumn term 2026 · Tadpoles a" in words and "Alfie Ann · Swim A" in words
    assert "1 of 3 skills achieved" in words
    assert re.search(r"Floats on back Assessed on 14 Nov 2026 Achieved", words)
    assert "A great term. Keep practising the glide. Coach Kim" in words
    assert "New" not in section(ann.open("progress").text, "cards-title")

    with counting_statements(app) as statements:  # opened again: only read, nothing written
        assert ann.open("report-cards/rc-1").status_code == 200
    assert statements and all(s.lstrip().upper().startswith("SELECT") for s, *_ in statements)
    viewed = events(app, "report_card.viewed")
    assert len(viewed) == 1
    assert viewed[0]["data"] == {"client_id": "a-client", "attendee_id": "a-child",
                                 "report_card_id": "rc-1", "email": "ann@example.com",
                                 "opened_at": "2026-11-22T12:00:00Z"}


def test_the_pdf_has_the_child_the_level_the_ratings_and_the_comment(app, api, ann):
    assess(api, "a", "as-1", "a-l1", "float", 4, "2026-11-14")
    publish(api)
    scheduler_round(app)  # published (and announced) at NOW
    pdf = ann.open("report-cards/rc-1.pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == \
        'attachment; filename="report-card-alfie-ann-2026-11-22.pdf"'
    assert pdf.headers["cache-control"] == "private, no-store"
    text = pdf_text(pdf.content)
    for words in ("Splash Swim School", "Report card", "Alfie Ann", "Autumn term 2026",
                  "Tadpoles a", "1 of 3 skills achieved", "Floats on back", "Achieved",
                  "Push and glide", "Not assessed yet", "A great term.", "Coach Kim"):
        assert words in text, words


def test_a_slovak_family_gets_the_pdf_in_slovak(app, api, mailbox):
    freeze(app)
    school = api.as_tenant("demo-sk")
    push_family(school, "c", "cyril@example.com", "Cilka Cyril")
    school.put("report-cards", "rc-9", CARD | {"attendee_id": "c-child", "level_id": "c-l1",
                                               "term": "Jeseň 2026"})
    cyril = browser(app, mailbox, "cyril@example.com", tenant="demo-sk")
    text = pdf_text(cyril.open("report-cards/rc-9.pdf").content)
    assert "Hodnotenie" in text and "Cilka Cyril" in text and "Zvládnuté: 0 z 3" in text


def test_a_completed_level_gives_a_certificate(api, ann):
    for n, skill in enumerate(s["id"] for s in SKILLS):
        assess(api, "a", f"done-{n}", "a-l1", skill, 4, "2026-11-14")
    progress = ann.open("progress").text
    assert "/t/demo/progress/certificates/a-l1.pdf?member=a-child" in progress
    pdf = ann.open("progress/certificates/a-l1.pdf?member=a-child")
    assert pdf.status_code == 200
    text = pdf_text(pdf.content)
    assert "Certificate" in text and "Alfie Ann" in text and "has completed Tadpoles a" in text
    assert "14 Nov 2026" in text
    # Not completed yet, or not a level of this child: nothing.
    assert ann.open("progress/certificates/a-l2.pdf?member=a-child").status_code == 404
    assert ann.open("progress/certificates/b-l1.pdf?member=a-child").status_code == 404


@pytest.mark.parametrize("path", ["report-cards/{card}", "report-cards/{card}.pdf"])
def test_nobody_else_opens_a_card(app, api, families, ann, path):
    publish(api.as_tenant("demo"), "rc-b", attendee_id="b-child", level_id="b-l1")
    publish(api.as_tenant("demo-sk"), "rc-c", attendee_id="c-child", level_id="c-l1")
    publish(api, "rc-draft", published=False)
    for card in ("rc-b", "rc-c", "rc-draft", "rc-missing"):
        assert ann.open(path.format(card=card)).status_code == 404, card
    publish(api)
    assert ann.open(path.format(card="rc-1")).status_code == 200


def test_a_view_share_sees_the_shared_programmes_card_only(app, api, families, mailbox):
    publish(api)  # Swim A's level: shared
    publish(api, "rc-dance", level_id="a-d1")  # Dance A: not shared
    publish(api, "rc-term", level_id=None)  # the family's term report
    api.put("shares", "share-1", {"booking_id": "a-b1", "email": "gran@example.com",
                                  "relation": "grandparent", "access": "view"})
    gran = browser(app, mailbox, "gran@example.com")
    cards = section(gran.open("progress").text, "cards-title")
    assert "Tadpoles a" in cards and "Ballet a" not in cards
    assert cards.count("Published on") == 1
    assert gran.open("report-cards/rc-1").status_code == 200
    assert gran.open("report-cards/rc-dance").status_code == 404
    assert gran.open("report-cards/rc-term").status_code == 404
    viewed = events(app, "report_card.viewed")
    assert viewed[-1]["data"]["client_id"] is None
    assert viewed[-1]["data"]["email"] == "gran@example.com"
