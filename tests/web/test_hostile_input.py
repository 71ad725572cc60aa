"""Someone sends the widget what no browser would: NUL bytes and other control characters in
the address and in forms, forms of many megabytes (declared or streamed), files to a form that
takes none. Each gets a clear 4xx page, on SQLite and on PostgreSQL, and nothing is stored;
a tab in what a parent types still works."""

from __future__ import annotations

import itertools
import re
from dataclasses import replace
from urllib.parse import unquote

import pytest
from asgi_support import drive
from profile_support import BEGINNERS, OVERDUE, demo_app
from sqlmodel import Session, select
from starlette.routing import Route
from starlette.testclient import TestClient
from visitor import Visitor

from widget_server.core.models import Client
from widget_server.web.input_guard import address_problem

NUL_AND_FRIENDS = ["a\x00b", "a\x01b", "a\x1bb", "a\x7fb", "a\x85b"]


def widget_routes(app, method: str) -> list[Route]:
    """Every route of the widget (under /t/<tenant>/) answering `method`."""
    return [route for route in app.routes if isinstance(route, Route)
            and route.path.startswith("/t/{tenant}") and method in (route.methods or ())]


def filled(route: Route, nul_in: str | None = None) -> str:
    """The route's path for the demo tenant, other parameters "x", a NUL in `nul_in`."""
    values = {name: "x" for name in route.param_convertors} | {"tenant": "demo"}
    if nul_in is not None:
        values[nul_in] = "x%00y"
    return re.sub(r"\{([^}:]+)[^}]*\}", lambda found: values[found.group(1)], route.path)


# --- the address ------------------------------------------------------------------------------

@pytest.mark.parametrize("raw_path, query, refused", [
    (b"/t/demo/bookings/b-1/sessions", b"past=all&x=a+b~", False),  # plain: the quick check
    (b"/t/demo/caf%C3%A9", b"", False),                              # escaped UTF-8 is fine
    (b"/t/demo/a%00b", b"", True), (b"/t/demo/", b"q=a%1Bb", True),  # escaped controls
    (b"/t/demo/a%FFb", b"", True), (b"/t/demo/", b"q=%FF", True),    # not UTF-8
    (b"/t/demo/a\x7fb", b"", True), (b"/t/demo/", b"q=a\x01", True),  # raw controls
])
def test_only_an_address_with_nothing_to_decode_skips_the_decoding(raw_path, query, refused):
    path = unquote(raw_path.decode("latin-1"), errors="replace")
    assert (address_problem({"path": path, "raw_path": raw_path, "query_string": query})
            is not None) is refused
    # A path that says otherwise than its raw bytes is still read as it is.
    assert address_problem({"path": "/t/demo/a\x00", "raw_path": b"/t/demo/a",
                            "query_string": b""}) is not None


@pytest.mark.parametrize("character", ["%00", "%01", "%1B", "%7F", "%C2%85", "%09", "%0A"])
def test_a_control_character_in_a_booking_address_is_a_bad_request(sarah, character):
    page = sarah.client.get(f"/t/demo/bookings/{BEGINNERS}{character}")
    assert page.status_code == 400
    assert "characters we cannot take" in page.text
    assert "Back to my profile" in page.text  # the widget's own error page, in its theme


def test_the_refusal_speaks_the_tenant_s_language(client):
    page = client.get("/t/demo-sk/bookings/x%00")
    assert page.status_code == 400
    assert "Obsahovalo to znaky, ktoré nemôžeme prijať" in page.text
    big = client.post("/t/demo-sk/login", content=b"email=" + b"a" * 20_000, headers=FORM)
    assert "Toto je viac, než formulár dokáže prijať" in big.text


def test_every_widget_page_refuses_a_nul_in_any_part_of_its_address(sarah):
    for route in widget_routes(sarah.client.app, "GET"):
        for name in route.param_convertors:
            path = filled(route, name)
            assert sarah.client.get(path).status_code == 400, path


def test_a_nul_in_the_query_of_a_logged_in_page_is_a_bad_request(sarah):
    for path in ("?member=%00", f"bookings/{BEGINNERS}/sessions?page=1%00",
                 f"payments/{OVERDUE}?checkout=%00"):
        assert sarah.open(path).status_code == 400, path
    assert sarah.open("").status_code == 200  # and the visit goes on


# --- forms ------------------------------------------------------------------------------------

def test_every_widget_form_refuses_a_nul_in_any_field(sarah):
    """Whatever the form, and before its ids are even looked up: one reader for all forms."""
    app = sarah.client.app
    for route in widget_routes(app, "POST"):
        sarah.open("account")  # a fresh form token
        path = filled(route)
        for field in ("csrf_token", "name", "email", "nothing"):
            data = {"csrf_token": sarah.csrf, field: "a\x00b"}
            answer = sarah.client.post(path, data=data, follow_redirects=False)
            assert answer.status_code == 400, (path, field, answer.status_code)
        assert sarah.client.post(path, data={"a\x00b": "1", "csrf_token": sarah.csrf},
                                 follow_redirects=False).status_code == 400, path


@pytest.mark.parametrize("value", NUL_AND_FRIENDS)
def test_the_account_form_with_a_control_character_changes_nothing(sarah, demo, value):
    sarah.open("account")
    answer = sarah.post("account/details", {"name": f"Sarah{value}Thompson", "phone": ""})
    assert answer.status_code == 400
    assert "characters we cannot take" in answer.text
    with Session(demo.state.engine) as db:
        names = db.exec(select(Client.name).where(Client.tenant == "demo")).all()
    assert not any(value in name for name in names)
    sarah.open("account")  # a tab, though, is only white space in a name
    answer = sarah.post("account/details", {"name": "Sarah\tThompson-Reed", "phone": ""})
    assert answer.status_code == 303
    assert "Hello, Sarah Thompson-Reed" in sarah.open("").text




# --- how much a form may send -----------------------------------------------------------------

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
KB = b"email=" + b"a" * 1018  # 1 KB a chunk
THREE_HUNDRED_MB = 300 * 1024


def test_a_huge_form_declared_as_such_is_refused_before_a_byte_is_read(app, client):
    headers = FORM | {"Content-Length": str(THREE_HUNDRED_MB * 1024)}
    status, read = drive(app, "/t/demo/login", headers, itertools.repeat(KB, THREE_HUNDRED_MB))
    assert (status, read) == (413, 0)
    page = client.post("/t/demo/login", content=b"email=" + b"a" * 20_000, headers=FORM)
    assert page.status_code == 413
    assert "more than this form takes" in page.text
    parent = Visitor(client)
    parent.open("login")  # an ordinary form fits with room to spare
    assert parent.post("login", {"email": "a" * 300 + "@example.com"}).status_code == 200


def test_a_huge_form_streamed_without_a_length_is_cut_off_at_the_limit(app, client):
    status, read = drive(app, "/t/demo/login", FORM | {"Transfer-Encoding": "chunked"},
                         itertools.repeat(KB, THREE_HUNDRED_MB))
    assert status == 413
    assert read <= app.state.settings.max_form_bytes // len(KB) + 1


def test_a_body_that_lies_about_its_length_is_cut_off_too(app, client):
    status, read = drive(app, "/t/demo/login", FORM | {"Content-Length": "100"},
                         itertools.repeat(KB, 1000))
    assert status == 413
    assert read <= app.state.settings.max_form_bytes // len(KB) + 1


def test_a_logged_in_form_is_limited_as_well(sarah):
    sarah.open("account")
    answer = sarah.post("account/details", {"name": "S" * 20_000, "phone": ""})
    assert answer.status_code == 413


def test_the_form_limit_is_a_setting(settings):
    with demo_app(replace(settings, max_form_bytes=100)) as app:
        small = TestClient(app).post("/t/demo/login", content=b"email=" + b"a" * 200,
                                     headers=FORM)
        assert small.status_code == 413


def test_files_sent_to_a_widget_form_are_refused_unread(app, client):
    answer = client.post("/t/demo/login", files={"upload": ("big.bin", b"x" * 1000)},
                         data={"email": "sarah@example.com"})
    assert answer.status_code == 415
    assert "does not take files" in answer.text
    headers = {"Content-Type": "multipart/form-data; boundary=xyz",
               "Transfer-Encoding": "chunked"}
    status, read = drive(app, "/t/demo/login", headers, itertools.repeat(KB, 1000))
    assert (status, read) == (415, 0)


def test_stripe_webhooks_are_limited_too(app):
    too_much = str(app.state.settings.max_body_bytes + 1)
    status, read = drive(app, "/hooks/stripe/demo", {"Content-Type": "application/json",
                                                     "Content-Length": too_much},
                         itertools.repeat(KB, 10_000))
    assert (status, read) == (413, 0)
