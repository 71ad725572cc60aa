"""Signed tokens (login links, form tokens, pay buttons, login hints) last exactly as long as
their purpose says, measured by the application's clock: a token is good up to its last second
and refused one second later, and tests move time by setting the clock, never by sleeping."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta

import pytest
from itsdangerous import URLSafeTimedSerializer

from widget_server.core import signing
from widget_server.core.signing import FORM, LOGIN_HINT, LOGIN_LINK, PAY, Purpose, Signer

SIGNED_AT = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
# Every purpose signing.py defines, found by reading the module, so a new one is covered too.
PURPOSES = {name: value for name, value in vars(signing).items() if isinstance(value, Purpose)}


class Clock:
    """The injected clock: whatever moment a story sets."""

    def __init__(self, moment: datetime):
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


def test_every_purpose_is_covered_with_its_documented_lifetime():
    assert PURPOSES == {"LOGIN_LINK": LOGIN_LINK, "FORM": FORM, "LOGIN_HINT": LOGIN_HINT,
                        "PAY": PAY}
    assert {name: p.max_age for name, p in PURPOSES.items()} == {
        "LOGIN_LINK": 24 * 60 * 60, "FORM": 4 * 60 * 60, "LOGIN_HINT": 7 * 24 * 60 * 60,
        "PAY": 2 * 60 * 60}


@pytest.mark.parametrize("name", sorted(PURPOSES))
def test_a_token_is_good_until_its_last_second_and_refused_one_second_later(name):
    purpose = PURPOSES[name]
    clock = Clock(SIGNED_AT)
    signer = Signer(("test-secret",), clock=clock)
    token = signer.sign(purpose, {"purpose": name})

    clock.moment = SIGNED_AT + timedelta(seconds=purpose.max_age)
    assert signer.check(purpose, token) == {"purpose": name}
    clock.moment = SIGNED_AT + timedelta(seconds=purpose.max_age + 1)
    assert signer.check(purpose, token) is None


@pytest.mark.parametrize("name", sorted(PURPOSES))
def test_a_token_stamped_in_the_future_of_the_clock_is_refused(name):
    """The stamp comes from the clock too: signed "later" than the checker's now is no good."""
    purpose = PURPOSES[name]
    token = Signer(("test-secret",), clock=Clock(SIGNED_AT + timedelta(hours=1))).sign(
        purpose, {"purpose": name})
    assert Signer(("test-secret",), clock=Clock(SIGNED_AT)).check(purpose, token) is None


def test_the_app_signs_and_checks_by_its_own_clock(app):
    """`app.state.clock` (what tests freeze) is what the app's signer reads, at every call."""
    app.state.clock = lambda: SIGNED_AT
    token = app.state.signer.sign(FORM, {"t": "demo"})
    app.state.clock = lambda: SIGNED_AT + timedelta(seconds=FORM.max_age)
    assert app.state.signer.check(FORM, token) == {"t": "demo"}
    app.state.clock = lambda: SIGNED_AT + timedelta(seconds=FORM.max_age + 1)
    assert app.state.signer.check(FORM, token) is None


# A form token's binding (a hash), a login link's and a pay button's payloads.
PAYLOADS = ["3f6c1b0e9d2a47f8b5c4e1a0d9f8b7c6",
            {"t": "demo", "c": 42, "n": "Zq3xK0b_8dWc-1sYp4T2aA"}, {"w": 7, "p": 9},
            {"t": "demo", "e": "ann.lee@example.com"}]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_token_is_itsdangerous_own_and_signing_never_tries_to_compress(monkeypatch, payload):
    """Signing skips itsdangerous' try at zlib (half its cost, and made for every page's form
    token): such payloads never come out shorter, so the token is what itsdangerous makes."""
    clock = Clock(SIGNED_AT)
    stock = URLSafeTimedSerializer(["k-new"], salt=FORM.salt, signer=signing._ClockedSigner,
                                   signer_kwargs={"clock": clock})
    expected = stock.dumps(payload)

    def refuse(*args, **kwargs):
        raise AssertionError("zlib.compress was called")

    monkeypatch.setattr(zlib, "compress", refuse)
    signer = Signer(("k-new",), clock)
    assert signer.sign(FORM, payload) == expected
    assert signer.check(FORM, expected) == payload


def test_a_compressed_token_from_before_is_still_read():
    clock = Clock(SIGNED_AT)
    payload = {"note": "x" * 200}  # long and repetitive: itsdangerous compressed it
    stock = URLSafeTimedSerializer(["k-new"], salt=FORM.salt, signer=signing._ClockedSigner,
                                   signer_kwargs={"clock": clock})
    token = stock.dumps(payload)
    assert token.startswith(".")  # marked as compressed
    assert Signer(("k-new",), clock).check(FORM, token) == payload


def test_a_pages_form_token_is_given_again_for_five_minutes_then_signed_anew(monkeypatch):
    """Every page view prints its forms' token: the one signed for the same session in the
    last five minutes is given again (it lives as long, less those minutes), not signed anew."""
    clock = Clock(SIGNED_AT)
    signer = Signer(("test-secret",), clock=clock)
    signed: list[str] = []
    sign = signer.sign
    monkeypatch.setattr(signer, "sign", lambda *args: signed.append(args[1]) or sign(*args))

    first = signer.sign_again(FORM, "session-a")
    clock.moment = SIGNED_AT + timedelta(minutes=5)
    assert signer.sign_again(FORM, "session-a") == first
    assert signer.sign_again(FORM, "session-b") != first  # another session: its own
    assert signed == ["session-a", "session-b"]

    clock.moment = SIGNED_AT + timedelta(minutes=5, seconds=1)
    later = signer.sign_again(FORM, "session-a")
    assert later != first and signed[-1] == "session-a"
    assert signer.check(FORM, first) == signer.check(FORM, later) == "session-a"
    # A token given again still expires four hours after it was signed, not after it was given.
    clock.moment = SIGNED_AT + timedelta(seconds=FORM.max_age + 1)
    assert signer.check(FORM, first) is None and signer.check(FORM, later) == "session-a"


def test_a_clock_set_back_never_gets_a_token_from_its_future():
    clock = Clock(SIGNED_AT)
    signer = Signer(("test-secret",), clock=clock)
    ahead = signer.sign_again(FORM, "session-a")
    clock.moment = SIGNED_AT - timedelta(minutes=1)
    behind = signer.sign_again(FORM, "session-a")
    assert behind != ahead and signer.check(FORM, behind) == "session-a"


def test_the_tokens_kept_are_bounded(monkeypatch):
    monkeypatch.setattr(signing, "RECENT_KEPT", 3)
    signer = Signer(("test-secret",), clock=Clock(SIGNED_AT))
    for n in range(10):
        signer.sign_again(FORM, f"session-{n}")
        assert len(signer._recent) <= 3
