"""Sarah rings the swimming school: "the app shows Oliver's Saturday class twice". The owner
finds her in the console and opens her profile exactly as she sees it, read-only: a banner
says whose it is, every action is refused, nothing is marked as opened for her, and the look
is written to the audit log."""

from __future__ import annotations

import re

import pytest
from console_support import COACH, OWNER, staff_browser
from profile_support import NOW, text_of
from sqlmodel import Session
from starlette.routing import Route
from visitor import Visitor

from widget_server.core.errors import ReadOnly
from widget_server.core.models import AuditEntry, FirstOpen, WebhookDelivery, WebSession
from widget_server.money import payments


def test_staff_find_a_family_by_email_name_or_childs_name(demo, mailbox):
    coach = staff_browser(demo, mailbox, COACH)
    for query in ("sarah.thompson@", "Thompson", "oliver"):
        found = text_of(coach.open(f"families?q={query}").text)
        assert "Sarah Thompson" in found and "Mia Thompson, Oliver Thompson" in found, query
    assert "No family found" in text_of(coach.open("families?q=nobody-here").text)
    family = text_of(coach.open("families/cl-1001").text)
    assert "sarah.thompson@example.com" in family and "Beginners (Stage 1)" in family
    assert "View as this family" in family


def open_as_sarah(demo, mailbox, email=OWNER) -> Visitor:
    staff = staff_browser(demo, mailbox, email)
    staff.open("families/cl-1001")
    answer = staff.post("families/cl-1001/view-as")
    assert answer.status_code == 303 and answer.headers["location"].endswith("/t/demo/")
    look = Visitor(staff.client, "demo")
    look.open("")
    return look


def test_the_owner_sees_the_profile_as_the_family_does_read_only(demo, mailbox):
    look = open_as_sarah(demo, mailbox)
    home = text_of(look.open("").text)
    assert ("Read-only view This is the profile as the family sees it: Sarah Thompson. Opened "
            f"from the provider console by {OWNER}; nothing can be changed here.") in home
    assert "Beginners (Stage 1)" in home
    assert 'class="cp-read-only"' in look.open("bookings/bk-1001/sessions").text
    [entry] = [e for e in rows(demo, AuditEntry)]
    assert (entry.action, entry.staff_email) == ("view_as", OWNER)
    audit = staff_browser(demo, mailbox).open("audit")
    assert "Viewed the profile" in text_of(audit.text) and "Sarah Thompson" in audit.text


def post_routes(app) -> list[str]:
    """Every form address of the widget (its POST routes under /t/<tenant>/)."""
    return [r.path for r in app.routes if isinstance(r, Route) and "POST" in (r.methods or ())
            and r.path.startswith("/t/{tenant}/") and "/login" not in r.path
            and not r.path.endswith(("/logout", "/logout/everywhere"))]


def test_every_action_is_refused_while_viewing(demo, mailbox):
    look = open_as_sarah(demo, mailbox)
    paths = post_routes(demo)
    assert len(paths) > 20
    ids = {"tenant": "demo", "booking": "bk-1001", "session": "x", "credit": "x",
           "offer": "of-1", "entry_pass": "x", "payment": "x", "share": "x", "order": "x"}
    for path in paths:
        address = re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), "x"), path)
        answer = look.client.post(address, data={"csrf_token": look.csrf},
                                  follow_redirects=False)
        assert answer.status_code == 403, (path, answer.status_code)
        if path.endswith("/checkout"):  # a new tab's form: its pay token, checked below
            continue
        assert "This is a read-only view" in text_of(answer.text), path
    # "Pay online" opens a new tab carrying the session in a pay token: it is refused too.
    [look_session] = [w for w in rows(demo, WebSession) if w.kind == "view_as"]
    tenant = demo.state.tenants.get("demo")
    with Session(demo.state.engine) as db, pytest.raises(ReadOnly):
        payments.begin_with_pay_token(db, tenant, look_session.id, "pay-1", "stripe",
                                      NOW, ("a", "b"))
    # Logging out ends the look.
    assert look.post("logout", {}).status_code == 303
    assert look.open("", follow_redirects=False).status_code == 303


def test_opening_a_report_card_while_viewing_leaves_it_new_for_the_family(demo, mailbox, sarah):
    look = open_as_sarah(demo, mailbox)
    progress = look.open("progress?member=at-1001-1").text
    card = re.search(r'href="[^"]*/report-cards/([\w-]+)"', progress).group(1)
    assert look.open(f"report-cards/{card}").status_code == 200
    assert rows(demo, FirstOpen) == []  # not opened for anyone
    assert not [d for d in rows(demo, WebhookDelivery) if d.event_type == "report_card.viewed"]
    # Sarah herself still sees it as new.
    assert "New" in text_of(sarah.open("progress?member=at-1001-1").text)


@pytest.mark.parametrize("staff_email", [OWNER, COACH])
def test_a_view_lasts_an_hour_and_logging_out_of_the_console_ends_it(demo, mailbox,
                                                                     staff_email):
    look = open_as_sarah(demo, mailbox, staff_email)
    staff = staff_browser(demo, mailbox, staff_email)
    staff.post("logout/everywhere")
    assert look.open("", follow_redirects=False).status_code == 303


def rows(app, model) -> list:
    from sqlmodel import Session, select

    with Session(app.state.engine) as db:
        return list(db.exec(select(model)).all())
