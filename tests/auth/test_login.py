"""A parent logs in with the e-mail they booked with: a code or a link, never a password."""

from __future__ import annotations

import re
import statistics
import threading
import time
from datetime import timedelta

import pytest
from profile_support import hold_still
from samples import load_base
from sqlmodel import Session, select
from starlette.testclient import TestClient
from visitor import Visitor, code_of, hosted_link, link_of, token_of

from widget_server.auth import login as auth
from widget_server.auth.login import LoginFailed
from widget_server.core.db import session_scope
from widget_server.core.models import LoginChallenge, utcnow
from widget_server.core.signing import FORM, LOGIN_LINK, Signer

SARAH = "sarah@example.com"


@pytest.fixture
def family(api):
    load_base(api)


@pytest.fixture
def parent(client, family) -> Visitor:
    return Visitor(client)


def another_browser(app, **kwargs) -> TestClient:
    return TestClient(app, **kwargs)


def test_code_login_end_to_end(parent, mailbox):
    inbox = parent.request_code(SARAH)
    assert inbox.status_code == 200
    assert "Check your inbox" in inbox.text
    message = mailbox.wait_for(1)[0]
    assert message["To"] == SARAH
    assert "Splash Swim School" in message["From"]
    assert message["Reply-To"] == "office@splashswim.example"
    assert code_of(message) in message.get_body(("html",)).get_content()

    response = parent.enter_code(SARAH, code_of(message))
    assert response.status_code == 303
    assert parent.home().status_code == 200
    assert "Hello, Sarah Thompson" in parent.home().text
    assert "Oliver" in parent.home().text


def test_the_code_may_be_typed_with_a_space(parent, mailbox):
    parent.request_code(SARAH)
    code = code_of(mailbox.wait_for(1)[0])
    assert parent.enter_code(SARAH, f"{code[:3]} {code[3:]}").status_code == 303


def test_link_login_get_and_head_change_nothing_post_logs_in_once(parent, client, mailbox):
    parent.request_code(SARAH)
    message = mailbox.wait_for(1)[0]
    assert link_of(message).startswith("https://www.splashswim.example/my-profile#cp-login=")
    path = hosted_link(message)
    for _ in range(3):  # a mail scanner prefetching the link
        assert client.head(path).status_code == 200
        page = client.get(path)
        assert page.status_code == 200
        assert "Continue" in page.text
    token = token_of(message)
    parent.open(path.split("/t/demo/")[1])
    first = parent.post("login/link", {"token": token})
    assert first.status_code == 303
    assert parent.home().status_code == 200

    second = Visitor(TestClient(client.app))
    second.open("login")
    again = second.post("login/link", {"token": token})
    assert again.status_code == 410
    assert "This login link has already been used" in again.text
    assert f'value="{SARAH}"' in again.text  # one click to get a new link
    assert "Send me a new login link" in again.text
    assert second.home().status_code == 303


def test_expired_code_and_link(parent, app, mailbox):
    parent.request_code(SARAH)
    message = mailbox.wait_for(1)[0]
    app.state.clock = lambda: utcnow() + timedelta(minutes=16)
    response = parent.enter_code(SARAH, code_of(message))
    assert response.status_code == 422
    assert "That code has expired: codes work for 15 minutes." in response.text
    assert "Send me a new code" in response.text
    link_page = parent.client.get(hosted_link(message))
    assert link_page.status_code == 410
    assert "This login link has expired" in link_page.text
    assert "Send me a new login link" in link_page.text


def test_five_wrong_codes_burn_the_code(parent, mailbox):
    parent.request_code(SARAH)
    code = code_of(mailbox.wait_for(1)[0])
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for attempt in range(1, 5):
        response = parent.enter_code(SARAH, wrong)
        assert response.status_code == 422
        assert f"{5 - attempt} attempt" in response.text
    assert parent.enter_code(SARAH, wrong).status_code == 422
    burned = parent.enter_code(SARAH, code)
    assert burned.status_code == 422
    assert "A wrong code was entered five times, so this code is used up." in burned.text
    # One tap sends a new one: the form posts the address to the login e-mail request.
    assert "Send me a new code" in burned.text and f'value="{SARAH}"' in burned.text
    assert 'action="http://testserver/t/demo/login"' in burned.text
    # Its link is dead too, and says why.
    link_page = parent.client.get(hosted_link(mailbox.wait_for(1)[0]))
    assert link_page.status_code == 410
    assert "This login e-mail no longer works" in link_page.text


def test_a_superseded_or_tampered_link_says_which(parent, mailbox):
    parent.request_code(SARAH)
    parent.request_code(SARAH)
    first, _ = mailbox.wait_for(2)
    older = parent.client.get(hosted_link(first))
    assert older.status_code == 410 and "A newer login e-mail was sent" in older.text
    cut = hosted_link(first)[:-6]
    tampered = parent.client.get(cut)
    assert tampered.status_code == 410 and "This login link is not complete" in tampered.text
    assert "Send me a new login link" in tampered.text


def test_a_new_request_supersedes_older_codes(parent, mailbox):
    parent.request_code(SARAH)
    parent.request_code(SARAH)
    first, second = mailbox.wait_for(2)
    assert code_of(first) != code_of(second) or first["Message-ID"] != second["Message-ID"]
    assert parent.enter_code(SARAH, code_of(first)).status_code in (303, 422)
    if code_of(first) != code_of(second):
        assert parent.enter_code(SARAH, code_of(first)).status_code == 422
    assert parent.enter_code(SARAH, code_of(second)).status_code == 303


def test_codes_are_stored_only_as_hashes(parent, app, mailbox):
    parent.request_code(SARAH)
    code = code_of(mailbox.wait_for(1)[0])
    with Session(app.state.engine) as session:
        row = session.exec(select(LoginChallenge)).one()
    assert code not in row.code_hash and len(row.code_hash) == 64


def test_no_account_enumeration(parent, mailbox):
    known = parent.request_code(SARAH)
    unknown = parent.request_code("stranger@example.com")
    assert known.status_code == unknown.status_code == 200
    def shape(response, email: str) -> str:
        text = response.text.replace(email, "X").replace(email.replace("@", "%40"), "X")
        return re.sub(r'name="csrf_token" value="[^"]+"', "", text)

    assert shape(known, SARAH) == shape(unknown, "stranger@example.com")
    assert len(mailbox.wait_for(1)) == 1
    time.sleep(0.3)
    assert [m["To"] for m in mailbox.messages] == [SARAH]


def test_known_and_unknown_addresses_take_similar_time(client, family):
    def timings(email: str) -> list[float]:
        out = []
        for n in range(8):
            visitor = Visitor(TestClient(client.app, client=(f"10.0.{n}.1", 1)))
            visitor.open("login")
            start = time.perf_counter()
            visitor.post("login", {"email": email})
            out.append(time.perf_counter() - start)
        return out

    known, unknown = statistics.median(timings(SARAH)), statistics.median(timings("no@x.example"))
    assert abs(known - unknown) < 0.05, (known, unknown)


def test_rate_limit_per_address(app, parent):
    hold_still(app)
    for _ in range(5):
        assert parent.request_code(SARAH).status_code == 200
    limited = parent.request_code(SARAH)
    assert limited.status_code == 429
    assert "Too many attempts" in limited.text


def test_rate_limit_per_ip(app, client, family):
    hold_still(app)
    visitor = Visitor(client)
    codes = [visitor.request_code(f"p{n}@example.com").status_code for n in range(21)]
    assert codes[:20] == [200] * 20 and codes[20] == 429


def test_rate_limit_on_trying_codes_per_ip(app, parent):
    hold_still(app)
    parent.request_code(SARAH)
    statuses = [parent.enter_code(f"x{n}@example.com", "000000").status_code for n in range(31)]
    assert statuses[-1] == 429 and 429 not in statuses[:30]


def test_slovak_tenant_answers_in_slovak(client, api):
    api.as_tenant("demo-sk").put("clients", "k1", {"email": "jana@example.com", "name": "Jana"})
    visitor = Visitor(client, "demo-sk")
    page = visitor.open("login")
    assert 'lang="sk"' in page.text
    assert "Prihláste sa" in page.text


def test_logout_and_log_out_everywhere(app, parent, mailbox):
    parent.log_in(SARAH, mailbox)
    phone = Visitor(another_browser(app))
    phone.log_in(SARAH, mailbox)
    laptop = Visitor(another_browser(app))
    laptop.log_in(SARAH, mailbox)

    parent.open("")
    assert parent.post("logout", {}).status_code == 303
    assert parent.home().status_code == 303  # back to the login page
    assert phone.home().status_code == 200

    phone.open("")
    assert phone.post("logout/everywhere", {}).status_code == 303
    assert phone.home().status_code == 303
    assert laptop.home().status_code == 303


def test_logout_revokes_the_session_even_if_the_cookie_is_replayed(app, parent, mailbox):
    parent.log_in(SARAH, mailbox)
    stolen = dict(parent.client.cookies)
    parent.open("")
    parent.post("logout", {})
    thief = TestClient(app, cookies=stolen)
    assert thief.get("/t/demo/", follow_redirects=False).status_code == 303


def test_each_login_gets_a_new_session_id(app, parent, mailbox):
    parent.client.cookies.set("cp_sid", "planted-by-an-attacker", domain="testserver.local")
    parent.log_in(SARAH, mailbox)
    first = parent.client.cookies["cp_sid"]
    assert first != "planted-by-an-attacker"
    assert len(first) >= 43  # 256 random bits
    other = Visitor(another_browser(app))
    other.log_in(SARAH, mailbox)
    assert other.client.cookies["cp_sid"] != first


def test_forms_without_a_csrf_token_are_refused(parent):
    parent.open("login")
    parent.csrf = "forged"
    assert parent.post("login", {"email": SARAH}).status_code == 403


def test_cross_site_posts_are_refused(parent):
    parent.open("login")
    response = parent.post("login", {"email": SARAH}, headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403


def test_a_code_or_link_from_one_tenant_is_useless_at_another(client, api, mailbox):
    load_base(api)
    load_base(api.as_tenant("demo-sk"))
    demo = Visitor(client, "demo")
    demo.request_code(SARAH)
    message = mailbox.wait_for(1)[0]
    sk = Visitor(TestClient(client.app), "demo-sk")
    sk.open("login")
    assert sk.enter_code(SARAH, code_of(message)).status_code == 422
    token = token_of(message)
    assert sk.client.get(f"/t/demo-sk/login/link?token={token}").status_code == 410
    assert sk.post("login/link", {"token": token}).status_code == 410
    # The demo session does not open the Slovak tenant's profile.
    assert demo.enter_code(SARAH, code_of(message)).status_code == 303
    assert client.get("/t/demo-sk/", follow_redirects=False).status_code == 303


def test_two_simultaneous_posts_of_one_link_log_in_once(app, family):
    engine, signer, now = app.state.engine, app.state.signer, utcnow()
    with session_scope(engine) as session:
        mail = auth.request_login(session, signer, "demo", SARAH, now)
    barrier, results = threading.Barrier(2), []

    def attempt() -> None:
        barrier.wait()
        try:
            with session_scope(engine) as session:
                results.append(auth.login_with_link(session, signer, "demo", mail.link_token,
                                                    now).email)
        except LoginFailed as failed:
            results.append(failed.reason)

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [SARAH, "used"]


def test_shared_adults_can_log_in_and_strangers_cannot(app, family):
    with session_scope(app.state.engine) as session:
        assert auth.request_login(session, app.state.signer, "demo", "grandma@example.com",
                                  utcnow()) is not None
        assert auth.request_login(session, app.state.signer, "demo", "nobody@example.com",
                                  utcnow()) is None


def test_signing_keys_rotate_and_purposes_do_not_mix():
    old = Signer(("old-key",))
    token = old.sign(LOGIN_LINK, {"c": 1})
    assert Signer(("new-key", "old-key")).check(LOGIN_LINK, token) == {"c": 1}
    assert Signer(("new-key",)).check(LOGIN_LINK, token) is None
    assert old.check(FORM, token) is None
    assert old.check(LOGIN_LINK, token + "x") is None
    assert Signer(("new-key", "old-key")).mac_matches("p", "m", old.mac("p", "m"))


def test_session_cookie_is_partitioned_over_https(app, family, mailbox):
    browser = Visitor(TestClient(app, base_url="https://widget.example"))
    browser.request_code(SARAH)
    response = browser.enter_code(SARAH, code_of(mailbox.wait_for(1)[0]))
    cookie = next(v for k, v in response.headers.raw if k == b"set-cookie"
                  and v.startswith(b"__Host-cp_sid="))
    assert cookie.endswith(b"; Path=/; Secure; HttpOnly; SameSite=None; Partitioned")


def test_blocked_cookies_lead_to_a_new_tab_not_a_loop(client, family, mailbox):
    visitor = Visitor(client)
    visitor.open("login")
    client.cookies.clear()  # the browser refused the probe cookie
    page = visitor.post("login", {"email": SARAH})
    assert "Open my profile in a new tab" in page.text
    assert 'target="_blank"' in page.text
    after_login = client.get("/t/demo/?welcome=1", follow_redirects=False)
    assert "Open my profile in a new tab" in after_login.text


def test_widget_pages_may_be_framed_only_by_the_tenants_sites(client):
    policy = client.get("/t/demo/login").headers["content-security-policy"]
    assert "frame-ancestors 'self' https://www.splashswim.example" in policy
    assert "piruetka" not in policy
    api_policy = client.get("/api/v1/openapi.json").headers["content-security-policy"]
    assert api_policy.endswith("frame-ancestors 'none'")
    assert client.get("/t/demo/login").headers["referrer-policy"] == "no-referrer"


def test_unknown_tenant_is_a_friendly_404(client):
    response = client.get("/t/nobody/login")
    assert response.status_code == 404
    assert "no client profile at this address" in response.text


def test_a_login_link_opened_while_logged_in_says_what_it_is(parent, mailbox):
    """The link pages show to someone already logged in too (they opened an older login
    e-mail, or a newer one): their forms work, and say why the link no longer logs in,
    never "This page has expired"."""
    parent.request_code(SARAH)
    first = mailbox.wait_for(1)[0]
    parent.request_code(SARAH)
    second = mailbox.wait_for(2)[1]
    assert parent.enter_code(SARAH, code_of(second)).status_code == 303
    parent.open("login/link")  # the page the e-mailed link opens: the token in its fragment
    older = parent.post("login/link", {"token": token_of(first)})
    assert older.status_code == 410 and "A newer login e-mail was sent" in older.text
    again = parent.post("login", {"email": SARAH})  # "Send me a new login link" on it
    assert again.status_code == 200 and "Check your inbox" in again.text
    third = mailbox.wait_for(3)[2]
    assert parent.enter_code(SARAH, code_of(third)).status_code == 303
