"""The embed check: the snippet reports each page it runs on (origin and path, from any site,
without cookies); the console's Get started page lists where the widget was seen in the last
30 days, working or refused, next to the snippet and WIDGET_PROFILE_URL. The browser half (the
snippet's report, its fallback link on a refused site) is in e2e/test_embed_check.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from console_support import OWNER, staff_browser
from profile_support import NOW, SARAH, browser, freeze, load_demo_families, text_of
from sqlalchemy import event
from sqlmodel import Session, select
from starlette.testclient import TestClient

from widget_server.app import create_app
from widget_server.console import embed_check
from widget_server.core.models import EmbedSighting

SCHOOL = "https://www.splashswim.example"  # in the demo tenant's allowed_origins
STRANGER = "https://splashswim.example"  # not: the same school without www
DEMO_PAGES = "http://127.0.0.1:8000"  # the demo's provider pages (settings.frame_origins)
SK_OWNER = "kancelaria@piruetka.example"


def report(client: TestClient, page: str | bytes, tenant: str = "demo", origin: str | None = None,
           **headers: str):
    """What the snippet sends: a cross-site POST of `location.origin + location.pathname`,
    with the page's Origin and no cookie."""
    body = page.encode() if isinstance(page, str) else page
    if origin is None and isinstance(page, str):
        origin = embed_check.origin_of(page)
    sent = {"Content-Type": "text/plain;charset=UTF-8", "Sec-Fetch-Site": "cross-site",
            **({"Origin": origin} if origin else {}), **headers}
    return client.post(f"/embed/seen/{tenant}", content=body, headers=sent)


def kept(app) -> list[tuple]:
    with Session(app.state.engine) as db:
        return [(s.tenant, s.origin, s.path, s.allowed, s.first_seen, s.last_seen)
                for s in db.exec(select(EmbedSighting).order_by(EmbedSighting.id)).all()]


@pytest.fixture
def embed_app(settings):
    """The app with the demo's provider pages allowed for every tenant, as `widget-server demo`
    runs it, started (its outbox sends the staff's login codes), the clock at NOW."""
    application = create_app(replace(settings, frame_origins=(DEMO_PAGES,)))
    with TestClient(application):
        freeze(application)
        yield application
    application.state.engine.dispose()


def test_a_page_on_an_allowed_and_on_a_refused_origin_is_kept_with_its_path(embed_app):
    client = TestClient(embed_app)
    for page in (f"{SCHOOL}/my-profile", f"{STRANGER}/", f"{DEMO_PAGES}/demo/demo"):
        answer = report(client, page)
        assert answer.status_code == 204, answer.text
        assert answer.headers["access-control-allow-origin"] == "*"
        assert "set-cookie" not in answer.headers
    assert [row[:4] for row in kept(embed_app)] == [
        ("demo", SCHOOL, "/my-profile", True),
        ("demo", STRANGER, "/", False),
        ("demo", DEMO_PAGES, "/demo/demo", True),  # allowed like the CSP: settings' origins
    ]
    # Another school's list is its own: the same page is refused there.
    assert report(client, f"{SCHOOL}/my-profile", tenant="demo-sk").status_code == 204
    assert kept(embed_app)[-1][:4] == ("demo-sk", SCHOOL, "/my-profile", False)


def test_a_browser_that_hides_the_origin_still_reports(embed_app):
    """A page with `Referrer-Policy: no-referrer` sends `Origin: null`: the body names it."""
    client = TestClient(embed_app)
    assert report(client, f"{SCHOOL}/a", origin="null").status_code == 204
    assert report(client, f"{SCHOOL}/b", origin=None).status_code == 204  # and curl sends none
    assert [row[2] for row in kept(embed_app)] == ["/a", "/b"]


HOSTILE = [
    b"",
    b"not an address",
    b'{"origin": "https://www.splashswim.example", "path": "/"}',
    b"https://www.splashswim.example/my-profile?email=sarah@example.com",
    b"https://www.splashswim.example/my-profile#cp-login=token",
    b"https://sarah@www.splashswim.example/",
    b"https://www.splashswim.example/unsubscribe/sarah@example.com",
    b"javascript:alert(1)//https://www.splashswim.example/",
    b"ftp://www.splashswim.example/",
    b"https:///my-profile",
    b"https://www.splashswim.example:99999/",
    b"https://[::1/",  # what makes urlsplit raise
    b"https://[::1]]/",
    b"https://www.splash swim.example/",
    b"https://www.splashswim.example/a\x00b",
    b"https://www.splashswim.example/\x1b[31mred",
    b"https://www.splashswim.example/\r\nSet-Cookie: x=1",
    "https://www.splashswim.example/ž".encode(),
    b"\xff\xfe\xfd",
    b"https://www.splashswim.example/" + b"a" * 3000,  # past the report's 2 KB
    b"https://www.splashswim.example/" + b"a" * 100_000,  # past every form's 16 KB
]


@pytest.mark.parametrize("body", HOSTILE, ids=range(len(HOSTILE)))
def test_junk_gets_a_clear_4xx_and_nothing_is_stored(embed_app, body):
    answer = report(TestClient(embed_app, raise_server_exceptions=False), body,
                    origin=SCHOOL)
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:200])
    assert answer.text.strip()  # says what is wrong
    assert kept(embed_app) == []


def test_what_is_not_a_report_is_refused(embed_app):
    client = TestClient(embed_app, raise_server_exceptions=False)
    lying = report(client, f"{SCHOOL}/my-profile", origin="https://rogue.example")
    assert lying.status_code == 400 and "origin" in lying.text
    assert report(client, f"{SCHOOL}/", origin="https://[::1").status_code == 400
    assert report(client, f"{SCHOOL}/", tenant="nobody").status_code == 404
    assert report(client, f"{SCHOOL}/", tenant="%00").status_code == 400
    assert client.get("/embed/seen/demo").status_code == 405
    upload = client.post("/embed/seen/demo", files={"page": ("p.txt", b"https://x.example/")})
    assert upload.status_code == 415
    chunked = client.post("/embed/seen/demo", content=iter([f"{SCHOOL}/".encode()] + [b"a"] * 3000))
    assert chunked.status_code == 413
    assert kept(embed_app) == []


def test_a_busy_page_is_written_once_per_quiet_spell(embed_app):
    client = TestClient(embed_app)
    writes = []
    event.listen(embed_app.state.engine, "before_cursor_execute",
                 lambda *args: writes.append(args[2]) if "embed_sighting" in args[2] else None)
    for _ in range(50):
        assert report(client, f"{SCHOOL}/my-profile").status_code == 204
    assert len([w for w in writes if w.lstrip().upper().startswith("INSERT")]) == 1
    freeze(embed_app, NOW + timedelta(minutes=9))
    report(client, f"{SCHOOL}/my-profile")
    assert kept(embed_app)[0][5] == NOW  # still the first sighting
    freeze(embed_app, NOW + timedelta(minutes=11))
    report(client, f"{SCHOOL}/my-profile")
    [(_, _, _, allowed, first, last)] = kept(embed_app)
    assert (allowed, first, last) == (True, NOW, NOW + timedelta(minutes=11))


def test_a_tenant_keeps_a_bounded_number_of_pages(embed_app, monkeypatch):
    monkeypatch.setattr(embed_check, "MAX_PAGES", 3)
    client = TestClient(embed_app)
    for n in range(3):
        assert report(client, f"{STRANGER}/page-{n}").status_code == 204
    writes = []
    event.listen(embed_app.state.engine, "before_cursor_execute", lambda *args: writes.append(
        args[2]) if args[2].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")) else None)
    for n in range(3, 6):  # a flood of made-up pages, once full, writes nothing
        assert report(client, f"{STRANGER}/page-{n}").status_code == 204
    assert writes == []
    assert [row[2] for row in kept(embed_app)] == ["/page-0", "/page-1", "/page-2"]
    report(client, f"{STRANGER}/page-0")  # a known page is still updated
    # Pages not seen for 30 days make room.
    freeze(embed_app, NOW + timedelta(days=31))
    report(client, f"{SCHOOL}/my-profile")
    assert [row[2] for row in kept(embed_app)] == ["/my-profile"]


def test_the_console_lists_where_the_widget_was_seen(embed_app, mailbox):
    client = TestClient(embed_app)
    report(client, f"{SCHOOL}/my-profile")
    report(client, f"{STRANGER}/")
    report(client, f"{STRANGER}/classes")
    freeze(embed_app, NOW - timedelta(days=31))
    report(client, "https://old.splashswim.example/")  # seen long ago: not listed
    freeze(embed_app, NOW + timedelta(minutes=2))
    owner = staff_browser(embed_app, mailbox)
    page = owner.open("start")
    assert page.status_code == 200
    words = text_of(page.text)
    assert f"Seen on {SCHOOL}/my-profile 2 minutes ago – working" in words
    assert f"Refused on {STRANGER} (not in allowed origins: add it) 2 pages · last seen " \
           "2 minutes ago" in words
    assert "old.splashswim.example" not in words
    # The snippet, ready to copy, and the allowed origins.
    assert ('&lt;div data-client-profile data-tenant=&#34;demo&#34;&gt;&lt;a href=&#34;'
            'http://testserver/t/demo/&#34;&gt;My profile&lt;/a&gt;&lt;/div&gt;\n'
            '&lt;script src=&#34;http://testserver/embed.js&#34; async&gt;&lt;/script&gt;'
            ) in page.text
    assert 'class="cp-copy-button" data-copy' in page.text
    assert f"<code>{SCHOOL}</code>" in page.text
    assert f"Also allowed, for every provider: {DEMO_PAGES}" in words
    # WIDGET_PROFILE_URL: the API call and the command.
    assert ('curl -H "Authorization: Bearer $API_KEY" '
            '"http://testserver/api/v1/profile-url?email=parent%40example.com"') in words
    assert "widget-server profile-url --tenant demo --email parent@example.com" in words
    assert f"Families' e-mailed links open this page: {SCHOOL}/my-profile" in words
    # The way there: the console's menu and its home page.
    home = owner.open("").text
    assert home.count('href="http://testserver/console/demo/start"') == 2


def test_once_the_origin_is_allowed_the_console_says_to_check_again(settings, mailbox):
    application = create_app(replace(settings, frame_origins=(STRANGER,)))
    with TestClient(application) as client:
        freeze(application)
        with Session(application.state.engine) as db:  # seen before it was allowed
            embed_check.record(db, "demo", embed_check.Page(STRANGER, "/"), False, NOW)
            db.commit()
        words = text_of(staff_browser(application, mailbox).open("start").text)
        assert f"Refused on {STRANGER} (now in allowed origins: open that page again to " \
               "check)" in words
        report(client, f"{STRANGER}/")
        words = text_of(staff_browser(application, mailbox).open("start").text)
        assert f"Seen on {STRANGER}/ just now – working" in words
    application.state.engine.dispose()


def test_another_schools_staff_see_only_their_own(embed_app, mailbox):
    client = TestClient(embed_app)
    report(client, f"{SCHOOL}/my-profile")
    report(client, "https://www.piruetka.example/profil", tenant="demo-sk")
    sk = staff_browser(embed_app, mailbox, SK_OWNER, tenant="demo-sk")
    words = text_of(sk.open("start").text)
    assert "Videné na https://www.piruetka.example/profil" in words
    assert "splashswim" not in words
    assert 'data-tenant=&#34;demo-sk&#34;' in sk.open("start").text
    # Their session opens nothing of the other school's console.
    other = sk.client.get("/console/demo/start", follow_redirects=False)
    assert other.status_code == 303 and other.headers["location"].endswith("/console/demo/login")


def test_a_familys_session_gets_the_console_login(embed_app, mailbox):
    load_demo_families(embed_app, "demo")
    sarah = browser(embed_app, mailbox, SARAH)
    answer = sarah.client.get("/console/demo/start", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "http://testserver/console/demo/login"
    assert OWNER not in answer.text


def test_the_list_reads_by_the_tenant_and_last_seen_index(embed_app):
    postgres = embed_app.state.engine.dialect.name == "postgresql"
    statements = []
    event.listen(embed_app.state.engine, "before_cursor_execute",
                 lambda conn, cursor, sql, params, *_: statements.append((sql, params)))
    tenant = embed_app.state.tenants.get("demo")
    with Session(embed_app.state.engine) as db:
        embed_check.sightings(db, tenant, embed_app.state.settings, NOW)
        [(sql, params)] = [s for s in statements if "embed_sighting" in s[0]]
        connection = db.connection()
        if postgres:  # whole-table reads priced out: what is left is the index, or nothing
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = " ".join(str(row[-1]) for row in connection.exec_driver_sql(
            ("EXPLAIN " if postgres else "EXPLAIN QUERY PLAN ") + sql, params).all())
    assert "ix_embed_sighting_tenant_last_seen" in plan, plan
    assert "TEMP B-TREE" not in plan and "Seq Scan" not in plan, plan
