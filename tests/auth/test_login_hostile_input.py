"""The login pages take what a browser sends and refuse the rest: a NUL byte or another control
character in the e-mail, the code, the link's token (in the form or in the address) is a bad
request (400), never a server error on PostgreSQL, and no login e-mail or code comes of it."""

from __future__ import annotations

import pytest
from samples import load_base
from sqlmodel import Session, select
from visitor import Visitor

from widget_server.core.models import LoginChallenge

CONTROL = ["a\x00b", "a\x01b", "a\x0bb", "a\x1fb", "a\x7fb", "a\x9fb"]


@pytest.fixture
def parent(client, api) -> Visitor:
    load_base(api)
    visitor = Visitor(client)
    visitor.open("login")
    return visitor


def challenges(app) -> int:
    with Session(app.state.engine) as db:
        return len(db.exec(select(LoginChallenge)).all())


@pytest.mark.parametrize("value", CONTROL)
def test_a_control_character_in_the_login_e_mail_is_refused(parent, app, mailbox, value):
    answer = parent.post("login", {"email": f"sarah@exam{value}ple.com"})
    assert answer.status_code == 400
    assert "characters we cannot take" in answer.text
    assert challenges(app) == 0
    assert parent.post("login", {"email": "sarah@example.com"}).status_code == 200


@pytest.mark.parametrize("value", CONTROL)
def test_a_control_character_in_the_code_or_the_link_token_is_refused(parent, value):
    assert parent.post("login/code", {"email": "sarah@example.com",
                                      "code": f"12{value}34"}).status_code == 400
    assert parent.post("login/code", {"email": f"sarah{value}@example.com",
                                      "code": "123456"}).status_code == 400
    assert parent.post("login/link", {"token": value}).status_code == 400
    assert parent.post("logout", {"everything": value}).status_code == 400


@pytest.mark.parametrize("query", ["token=a%00b", "token=a%01b", "token=%7F",
                                   "token=ok&other=%00", "tok%00en=1"])
def test_a_control_character_in_the_link_address_is_refused(client, query):
    page = client.get(f"/t/demo/login/link?{query}")
    assert page.status_code == 400
    assert "characters we cannot take" in page.text


@pytest.mark.parametrize("query", ["email=sarah%00@example.com", "hint=%00"])
def test_a_control_character_in_the_login_page_address_is_refused(client, query):
    assert client.get(f"/t/demo/login?{query}").status_code == 400

