"""A provider's staff log in to the console with the same passwordless code or link as
parents, into a session of their own: a staff session never opens a family's profile, a
family's never opens the console, and a staff member of one school sees nothing of
another's."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from console_support import COACH, LINK, OWNER, Staff, console_login_mails, staff_browser
from profile_support import SARAH, browser, text_of
from smtp import MAIL_WAIT
from starlette.testclient import TestClient


def test_the_owner_logs_in_with_the_emailed_code(demo, mailbox):
    owner = staff_browser(demo, mailbox)
    home = text_of(owner.open("").text)
    assert "Splash Swim School · Console" in home and "Logged in as " + OWNER in home
    assert "Owner" in home and "Audit log" in home
    [mail] = console_login_mails(mailbox, OWNER)
    assert mail["From"].startswith("Splash Swim School")


def test_the_scanner_safe_link_logs_in_on_a_second_tap(demo, mailbox):
    staff = Staff(TestClient(demo))
    staff.open("login")
    staff.post("login", {"email": COACH})
    deadline = time.monotonic() + MAIL_WAIT
    while not (mails := console_login_mails(mailbox, COACH)):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    link = LINK.search(mails[-1].get_body(("plain",)).get_content()).group(1)
    path = link.split("://", 1)[1].split("/", 1)[1]
    page = staff.client.get("/" + path)  # what a mail scanner does: nothing happens
    assert page.status_code == 200 and "Continue as " + COACH in text_of(page.text)
    assert staff.open("").status_code == 303  # not logged in yet
    staff._remember(page)
    answer = staff.client.post("/console/demo/login/link", data={
        "csrf_token": staff.csrf, "token": path.split("token=")[1]}, follow_redirects=False)
    assert answer.status_code == 303
    words = text_of(staff.open("").text)
    assert "Staff" in words and "Audit log" not in words  # a staff member, not the owner
    assert staff.open("audit").status_code == 404


def test_an_address_not_on_the_staff_list_gets_the_same_answer_and_no_email(demo, mailbox):
    stranger = Staff(TestClient(demo))
    stranger.open("login")
    answer = stranger.post("login", {"email": SARAH})  # a parent, not staff
    assert answer.status_code == 200 and "Check your inbox" in text_of(answer.text)
    time.sleep(0.3)
    assert console_login_mails(mailbox, SARAH) == []


def test_a_staff_session_never_opens_a_familys_profile(demo, mailbox):
    owner = staff_browser(demo, mailbox)
    # The console's cookie is its own: the widget sees no session and asks to log in.
    widget = owner.client.get("/t/demo/", follow_redirects=False)
    assert widget.status_code == 303 and widget.headers["location"].endswith("/t/demo/login")
    # Even presented as the widget's cookie, a staff session is refused there.
    sid = owner.client.cookies.get("cp_staff")
    bare = TestClient(demo)
    bare.cookies.set("cp_sid", sid)
    assert bare.get("/t/demo/", follow_redirects=False).status_code == 303


def test_a_familys_session_never_opens_the_console(demo, sarah):
    assert sarah.client.get("/console/demo/", follow_redirects=False).status_code == 303
    sid = sarah.client.cookies.get("cp_sid")
    bare = TestClient(demo)
    bare.cookies.set("cp_staff", sid)
    answer = bare.get("/console/demo/", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].endswith("/login")


def test_a_parents_login_code_does_not_open_the_console(demo, mailbox):
    parent = browser(demo, mailbox, SARAH)  # used one code; ask for another, try it there
    parent.request_code(SARAH)
    code = [m for m in mailbox.to(SARAH) if "Your login code" in m["Subject"]][-1]["Subject"][-6:]
    staff = Staff(TestClient(demo))
    staff.open("login")
    answer = staff.post("login/code", {"email": SARAH, "code": code})
    assert answer.status_code == 422 and staff.open("").status_code == 303


def test_logging_out_everywhere_ends_every_console_session(demo, mailbox):
    first, second = staff_browser(demo, mailbox), staff_browser(demo, mailbox)
    assert first.post("logout/everywhere").status_code == 303
    assert first.open("").status_code == 303 and second.open("").status_code == 303


def test_removing_someone_from_the_staff_list_ends_their_access(demo, mailbox):
    coach = staff_browser(demo, mailbox, COACH)
    registry = demo.state.tenants
    tenant = registry.get("demo")
    console = tenant.config.console
    fewer = console.model_copy(update={"staff": [m for m in console.staff if m.email != COACH]})
    registry._by_slug["demo"] = replace(tenant, config=tenant.config.model_copy(
        update={"console": fewer}))  # the tenant file edited and reloaded
    try:
        assert coach.open("").status_code == 303
    finally:
        registry._by_slug["demo"] = tenant


@pytest.mark.parametrize("path", ["", "families?q=thompson", "families/cl-1001", "audit",
                                  "start", "webhooks", "theme", "theme/home"])
def test_another_schools_staff_see_nothing_here(demo, mailbox, api, path):
    """Piruetka's owner, logged in to Piruetka's console, tries Splash's addresses and ids."""
    assert api.put("clients", "cl-splash-only", {"email": "only@splash.example",
                                                 "name": "Only Splash"}).status_code == 201
    piruetka = staff_browser(demo, mailbox, "kancelaria@piruetka.example", tenant="demo-sk")
    splash = Staff(piruetka.client, "demo")
    assert splash.open(path).status_code == 303  # no session of this school: log in
    ids = Staff(piruetka.client, "demo-sk")
    ids.open("")
    assert ids.open("families/cl-splash-only").status_code == 404  # Splash's client id
    assert ids.post("families/cl-splash-only/view-as").status_code == 404
    assert "Sarah" not in text_of(ids.open("families/cl-1001").text)  # its own cl-1001
    found = text_of(ids.open("families?q=thompson").text)
    assert "Sarah Thompson" not in found and "Žiadna rodina sa nenašla" in found
