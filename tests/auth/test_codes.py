"""The one-time codes e-mailed for logging in and for changing the login e-mail: six digits
that work once, for 15 minutes, until a newer code is sent or five wrong tries burn them.

Each story runs for both kinds of code (a `LoginChallenge` and an `EmailChange` row)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from widget_server.auth import codes
from widget_server.core.db import session_scope
from widget_server.core.models import Client, EmailChange, LoginChallenge, utcnow
from widget_server.core.signing import EMAIL_CHANGE_CODE, LOGIN_CODE, Signer

SARAH = "sarah@example.com"
SIGNER = Signer(("test-secret-new", "test-secret-old"))
NOW = utcnow()

Row = LoginChallenge | EmailChange


@pytest.fixture
def client_id(engine) -> int:
    """Sarah's account, whose new login e-mail an `EmailChange` row waits to confirm."""
    with session_scope(engine) as session:
        sarah = Client(tenant="demo", external_id="cl-1", email=SARAH, name="Sarah Thompson")
        session.add(sarah)
        session.flush()
        return sarah.id


@pytest.fixture(params=["login", "email_change"])
def kind(request, client_id) -> tuple[type[Row], str, Callable[[], Row], tuple]:
    """A kind of code: its table, its hashing purpose, a new row, and whose codes it ends."""
    if request.param == "login":
        return (LoginChallenge, LOGIN_CODE,
                lambda: LoginChallenge(tenant="demo", email=SARAH, link_nonce="n"),
                (LoginChallenge.tenant == "demo", LoginChallenge.email == SARAH))
    return (EmailChange, EMAIL_CHANGE_CODE,
            lambda: EmailChange(tenant="demo", client_id=client_id, new_email="new@example.com"),
            (EmailChange.client_id == client_id,))


def send_code(engine: Engine, kind, at=NOW) -> tuple[Row, str]:
    """What asking for a code does: end the older ones, then store a new one."""
    model, purpose, new_row, owner = kind
    with session_scope(engine) as session:
        codes.supersede(session, model, at, *owner)
        row = new_row()
        return row, codes.issue(session, SIGNER, purpose, row, at)


def reload(engine: Engine, row: Row) -> Row:
    with Session(engine) as session:
        return session.get(type(row), row.id)


def wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def test_a_code_is_six_digits_kept_only_as_a_hash(engine, kind):
    row, code = send_code(engine, kind)
    stored = reload(engine, row)
    assert len(code) == 6 and code.isdigit()
    assert code not in stored.code_hash and len(stored.code_hash) == 64
    assert stored.expires_at - stored.created_at == timedelta(minutes=15)
    assert stored.attempts == 0 and stored.ended_at is None


def test_a_code_may_be_typed_with_spaces_but_fits_only_its_own_row_and_purpose(engine, kind):
    _, purpose, _, _ = kind
    row, code = send_code(engine, kind)
    assert codes.matches(SIGNER, purpose, row, f" {code[:3]} {code[3:]} ")
    other = LOGIN_CODE if purpose == EMAIL_CHANGE_CODE else EMAIL_CHANGE_CODE
    assert not codes.matches(SIGNER, other, row, code)
    newer, _ = send_code(engine, kind)
    newer.code_hash = row.code_hash  # the same hash copied to another row is no use there
    assert not codes.matches(SIGNER, purpose, newer, code)


def test_a_used_code_cannot_be_used_again(engine, kind):
    row, _ = send_code(engine, kind)
    with session_scope(engine) as session:
        assert codes.use(session, row, NOW + timedelta(minutes=1), "consumed")
    with session_scope(engine) as session:
        assert not codes.use(session, row, NOW + timedelta(minutes=2), "consumed")
    assert reload(engine, row).ended_reason == "consumed"


def test_two_tries_at_the_same_moment_cannot_both_win(engine, kind):
    row, _ = send_code(engine, kind)
    first, second = Session(engine), Session(engine)
    with first, second:
        mine, theirs = first.get(type(row), row.id), second.get(type(row), row.id)
        assert codes.use(first, mine, NOW, "consumed")  # both read the row while it was open
        first.commit()
        assert not codes.use(second, theirs, NOW, "consumed")


def test_a_new_code_supersedes_the_older_one(engine, kind):
    older, _ = send_code(engine, kind)
    newer, _ = send_code(engine, kind, NOW + timedelta(minutes=1))
    assert reload(engine, older).ended_reason == codes.SUPERSEDED
    assert reload(engine, newer).ended_at is None
    with session_scope(engine) as session:
        assert not codes.use(session, older, NOW + timedelta(minutes=2), "consumed")
        assert codes.use(session, newer, NOW + timedelta(minutes=2), "consumed")


def test_superseding_leaves_other_peoples_codes_alone(engine):
    with session_scope(engine) as session:
        theirs = LoginChallenge(tenant="demo", email="james@example.com", link_nonce="n")
        codes.issue(session, SIGNER, LOGIN_CODE, theirs, NOW)
        codes.supersede(session, LoginChallenge, NOW,
                        LoginChallenge.tenant == "demo", LoginChallenge.email == SARAH)
    assert reload(engine, theirs).ended_at is None


def test_a_code_runs_out_after_fifteen_minutes(engine, kind):
    row, _ = send_code(engine, kind)
    almost, late = NOW + timedelta(minutes=15) - timedelta(seconds=1), NOW + timedelta(minutes=15)
    assert not codes.expired(row, almost)
    assert codes.expired(row, late)
    with session_scope(engine) as session:
        assert not codes.use(session, row, late, "consumed")


def test_five_wrong_tries_burn_the_code(engine, kind):
    row, code = send_code(engine, kind)
    _, purpose, _, _ = kind
    left = []
    for _ in range(6):
        with session_scope(engine) as session:
            assert not codes.matches(SIGNER, purpose, row, wrong(code))
            left.append(codes.count_wrong_try(session, row, NOW))
    assert left == [4, 3, 2, 1, 0, 0]  # the sixth finds it burned and counts nothing
    burned = reload(engine, row)
    assert (burned.attempts, burned.ended_reason) == (5, codes.BURNED)
    with session_scope(engine) as session:  # now even the right code does nothing
        assert not codes.use(session, row, NOW, "consumed")


def test_wrong_tries_below_the_limit_leave_the_code_working(engine, kind):
    row, _ = send_code(engine, kind)
    with session_scope(engine) as session:
        for _ in range(4):
            codes.count_wrong_try(session, row, NOW)
        assert codes.use(session, row, NOW, "consumed")
