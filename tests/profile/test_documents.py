"""A parent opens Documents and finds what the provider shared with them: their family's
letters, each child's kit lists and photos, their children's programmes' notices and the
school's policies, newest first, the unopened ones marked new; photos show in the list, and
each document downloads as its file. Nobody sees another family's documents, another school's,
or, sharing a child's booking to look at, more than that child's and that programme's."""

from __future__ import annotations

import html
import re

import anyio
import pytest
from account_support import events
from conftest import postgres_only
from profile_support import JANA, NOW, browser, counting_statements, freeze, text_of
from sqlalchemy import insert, text
from starlette.testclient import TestClient

from widget_server.core.models import Client

PDF = b"%PDF-1.7\n% a letter\n" + b"\x00" * 3000
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x01" * 1500
TEXT = b"Kit list\n- goggles\n- towel\n"


def push_family(api, key: str, email: str, child: str, programmes: tuple[str, ...]) -> None:
    """A parent whose child is booked on `programmes` (booking `<key>-b1`, `<key>-b2`...)."""
    puts = [("clients", f"{key}-client", {"email": email, "name": f"Parent {key.upper()}"}),
            ("attendees", f"{key}-child", {"client_id": f"{key}-client", "name": child})]
    for n, programme in enumerate(programmes, start=1):
        puts.append(("bookings", f"{key}-b{n}", {"client_id": f"{key}-client",
                                                 "attendee_id": f"{key}-child",
                                                 "programme_id": programme}))
    for resource, external_id, body in puts:
        assert api.put(resource, external_id, body).status_code == 201, (resource, external_id)


def share(api, external_id: str, content: bytes, day: int, **fields) -> None:
    """The provider uploads a document (its file part named "file"), published on `day`
    November 2026."""
    answer = api.client.put(
        f"/api/v1/documents/{external_id}", headers=api.headers,
        data=fields | {"published_at": f"2026-11-{day:02d}T09:00:00Z"},
        files={"file": ("file", content, "application/octet-stream")})
    assert answer.status_code == 201, answer.text


@pytest.fixture
def school(app, api):
    """Ann's Alfie swims (a-p1, shared with his gran to look at) and dances (a-p2); Bob's Bella
    swims in the same class; Cyril is a client of the other school."""
    freeze(app)
    for programme, name in (("a-p1", "Swim"), ("a-p2", "Dance")):
        api.put("programmes", programme, {"name": name})
    push_family(api, "a", "ann@example.com", "Alfie Ann", ("a-p1", "a-p2"))
    push_family(api, "b", "bob@example.com", "Bella Bob", ("a-p1",))
    api.put("shares", "gran", {"booking_id": "a-b1", "email": "gran@example.com",
                               "relation": "grandparent", "access": "view"})
    other = api.as_tenant("demo-sk")
    other.put("programmes", "c-p1", {"name": "Balet"})
    push_family(other, "c", "cyril@example.com", "Cilka Cyril", ("c-p1",))

    share(api, "policy", PDF, 1, title="Safeguarding policy", audience="tenant")
    share(api, "swim-notice", PDF, 3, title="Pool closed on Saturday", audience="programme",
          programme_id="a-p1")
    share(api, "dance-notice", PDF, 5, title="Show rehearsal", audience="programme",
          programme_id="a-p2")
    share(api, "kit", TEXT, 7, title="Alfie's kit list", audience="attendee",
          attendee_id="a-child")
    share(api, "photo", PNG, 9, title="Alfie at the gala", audience="attendee",
          attendee_id="a-child")
    share(api, "letter-ann", PDF, 11, title="Letter to Ann", audience="client",
          client_id="a-client")
    share(api, "letter-bob", PDF, 12, title="Letter to Bob", audience="client",
          client_id="b-client")
    share(other, "letter-cyril", PDF, 12, title="List pre Cyrila", audience="client",
          client_id="c-client")
    return api


@pytest.fixture
def ann(app, school, mailbox):
    return browser(app, mailbox, "ann@example.com")


def listed(visitor) -> list[str]:
    """The titles in the visitor's Documents list, top to bottom."""
    page = visitor.open("documents")
    assert page.status_code == 200, page.text
    return [html.unescape(title) for title in
            re.findall(r'<span class="cp-doc-text"><strong>([^<]+)</strong>', page.text)]


def test_a_parent_sees_what_was_shared_with_them_newest_first(ann):
    assert listed(ann) == ["Letter to Ann", "Alfie at the gala", "Alfie's kit list",
                           "Show rehearsal", "Pool closed on Saturday", "Safeguarding policy"]
    page = ann.open("documents").text
    words = text_of(page)
    assert "Letter to Ann 11 Nov 2026 · 3 kB · PDF New" in words
    assert "Alfie's kit list 7 Nov 2026 · 27 bytes · Text · Alfie Ann New" in words
    assert "Pool closed on Saturday 3 Nov 2026 · 3 kB · PDF · Swim New" in words
    assert words.count("New") == 6
    # The photo shows in the list, from its own address.
    assert re.search(r'<img class="cp-doc-thumb" src="http://testserver/t/demo/documents/photo'
                     r'\?inline=1" alt="Alfie at the gala"', page)
    assert page.count("<img") == 1


def test_a_family_without_documents_is_told_where_they_will_appear(app, api, mailbox):
    freeze(app)
    api.put("clients", "z-client", {"email": "zed@example.com", "name": "Zed"})
    words = text_of(browser(app, mailbox, "zed@example.com").open("documents").text)
    assert "No documents yet" in words
    assert ("When the provider (Splash Swim School) shares a letter, a kit list or photos with "
            "you, you will find them here.") in words


def test_nobody_sees_or_opens_another_familys_documents(app, ann, mailbox):
    bob = browser(app, mailbox, "bob@example.com")
    assert listed(bob) == ["Letter to Bob", "Pool closed on Saturday", "Safeguarding policy"]
    for visitor, theirs in ((bob, ["letter-ann", "kit", "photo", "dance-notice"]),
                            (ann, ["letter-bob"])):
        for external_id in theirs:
            answer = visitor.open(f"documents/{external_id}")
            assert answer.status_code == 404, external_id
            assert "We could not find that page" in text_of(answer.text)


def test_another_schools_documents_are_not_found(app, ann, mailbox):
    assert ann.open("documents/letter-cyril").status_code == 404
    cyril = browser(app, mailbox, "cyril@example.com", tenant="demo-sk")
    assert listed(cyril) == ["List pre Cyrila"]
    assert cyril.client.get("/t/demo-sk/documents/letter-ann").status_code == 404
    # Logged in at one school is not logged in at the other.
    assert cyril.client.get("/t/demo/documents/policy").status_code == 404


def test_a_view_share_sees_the_shared_childs_and_programmes_documents_only(app, ann, mailbox):
    gran = browser(app, mailbox, "gran@example.com")
    assert listed(gran) == ["Alfie at the gala", "Alfie's kit list", "Pool closed on Saturday"]
    for external_id in ("kit", "photo", "swim-notice"):
        assert gran.open(f"documents/{external_id}").status_code == 200
    for external_id in ("letter-ann", "dance-notice", "policy", "letter-bob"):
        assert gran.open(f"documents/{external_id}").status_code == 404, external_id


def test_a_document_is_new_until_opened_and_the_provider_hears_once_per_person(app, ann,
                                                                             mailbox):
    assert ann.open("documents/letter-ann").content == PDF
    assert ann.open("documents/letter-ann").content == PDF
    words = text_of(ann.open("documents").text)
    assert "Letter to Ann 11 Nov 2026 · 3 kB · PDF Download" in words
    assert words.count("New") == 5
    viewed = events(app, "document.viewed")
    assert [e["data"] for e in viewed] == [{
        "client_id": "a-client", "attendee_id": None, "document_id": "letter-ann",
        "email": "ann@example.com", "opened_at": "2026-11-22T12:00:00Z"}]

    gran = browser(app, mailbox, "gran@example.com")
    gran.open("documents/photo")
    photo = ann.open("documents").text.split("<strong>Alfie at the gala</strong>")[1]
    assert "New" in text_of(photo.split("</li>")[0])  # gran's opening is gran's
    assert [e["data"] for e in events(app, "document.viewed")][1] == {
        "client_id": None, "attendee_id": "a-child", "document_id": "photo",
        "email": "gran@example.com", "opened_at": "2026-11-22T12:00:00Z"}


def test_a_download_is_the_file_under_a_safe_name_and_never_cached(app, school, ann):
    share(school, "hostile", PDF, 20, title="Letter", audience="client", client_id="a-client",
          filename='../"evil"\r\n.pdf')
    answer = ann.open("documents/hostile")
    assert answer.content == PDF
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-length"] == str(len(PDF))
    assert answer.headers["cache-control"] == "private, no-store"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["content-disposition"] == (
        "attachment; filename=\"evil.pdf\"; filename*=UTF-8''%22evil%22.pdf")

    photo = ann.open("documents/photo?inline=1")
    assert photo.content == PNG and photo.headers["content-type"] == "image/png"
    assert photo.headers["content-disposition"].startswith('inline; filename="file.png"')
    assert ann.open("documents/letter-ann?inline=1").headers[
        "content-disposition"].startswith("inline;")
    text = ann.open("documents/kit?inline=1")  # text always downloads
    assert text.headers["content-type"] == "text/plain; charset=utf-8"
    assert text.headers["content-disposition"].startswith('attachment; filename="file.txt"')


def test_a_visitor_who_is_not_logged_in_gets_no_file(app, school):
    stranger = TestClient(app).get("/t/demo/documents/policy")
    assert stranger.status_code == 404
    assert stranger.content[:4] != b"%PDF"


def test_the_list_costs_the_same_statements_for_one_or_thirty_documents(app, api, mailbox):
    freeze(app)
    api.put("programmes", "p", {"name": "Swim"})
    push_family(api, "n", "nia@example.com", "Noor Nia", ("p",))
    nia = browser(app, mailbox, "nia@example.com")

    def statements() -> int:
        nia.open("documents")  # warm: statements are built once
        with counting_statements(app) as seen:
            assert nia.open("documents").status_code == 200
        return len(seen)

    share(api, "d-0", PDF, 1, title="Doc 0", audience="client", client_id="n-client")
    one = statements()
    assert one == 2  # the session with its client, the documents with their names
    audiences = [{"audience": "client", "client_id": "n-client"},
                 {"audience": "attendee", "attendee_id": "n-child"},
                 {"audience": "programme", "programme_id": "p"}, {"audience": "tenant"}]
    for n in range(1, 30):
        share(api, f"d-{n}", PNG if n % 2 else TEXT, 1 + n % 28, title=f"Doc {n}",
              **audiences[n % 4])
    assert len(listed(nia)) == 30
    assert statements() == one


def test_documents_are_reachable_from_home_and_from_progress(ann):
    for page in ("", "progress"):
        assert 'href="http://testserver/t/demo/documents"' in ann.open(page).text, page


def test_the_demo_family_finds_its_letter_and_photo_in_its_language(demo, sarah, mailbox):
    assert listed(sarah) == ["Photos from the swimming gala", "Spring term letter"]
    letter = sarah.open("documents/doc-letter")
    assert letter.content.startswith(b"%PDF-") and letter.status_code == 200
    jana = browser(demo, mailbox, JANA, tenant="demo-sk")
    page = text_of(jana.open("documents").text)
    assert "Dokumenty" in page and "Nové" in page and "List k jarnému polroku" in page
    grandma = browser(demo, mailbox, "margaret.thompson@example.com")
    assert listed(grandma) == listed(sarah)  # Oliver's photo and his programme's letter


async def prepared_on_the_pages_connections(app) -> list[tuple]:
    pages = app.state.page_engine
    held = [await pages.connect() for _ in range(pages.sync_engine.pool.checkedin())]
    try:
        return [tuple(row) for db in held for row in await db.execute(text(
            "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"))]
    finally:
        for db in held:
            await db.close()


@postgres_only
def test_postgresql_keeps_one_plan_for_the_list_among_thousands_of_letters(app, api, mailbox):
    """A school that has written to each of its 3,000 families: PostgreSQL plans the list's
    statement once and keeps the plan (a plan made again on every page cost it 0.9 ms)."""
    freeze(app)
    api.put("programmes", "p", {"name": "Swim"})
    push_family(api, "n", "nia@example.com", "Noor Nia", ("p",))
    share(api, "all", PDF, 1, title="Term dates", audience="tenant")
    stamp = {"tenant": "demo", "created_at": NOW, "updated_at": NOW}
    with app.state.engine.begin() as db:
        db.execute(insert(Client), [{**stamp, "external_id": f"f{n}", "name": f"F {n}",
                                     "email": f"f{n}@example.com", "notify_email": True,
                                     "notify_whatsapp": False} for n in range(3000)])
        db.execute(text(
            "INSERT INTO document (tenant, external_id, created_at, updated_at, title, filename,"
            " content_type, size, sha256, audience, client_id, published_at, storage)"
            " SELECT 'demo', 'letter-' || id, now(), now(), 'Letter', 'l.pdf',"
            " 'application/pdf', 1, '', 'client', id, now(), 'db' FROM client"
            " WHERE external_id LIKE 'f%'"))
        db.execute(text("ANALYZE document"))
    nia = browser(app, mailbox, "nia@example.com")
    # psycopg prepares a statement on a connection's fifth run of it, and PostgreSQL makes
    # five plans for the values before it weighs its generic one: enough pages for every
    # pooled connection to get there.
    for _ in range(60):
        assert listed(nia) == ["Term dates"]
    # Prepared statements are each connection's own: look in every one the pages' pool holds.
    every = anyio.run(prepared_on_the_pages_connections, app)
    plans = [(generic, custom) for statement, generic, custom in every
             if "FROM document" in statement]
    assert plans and all(generic > 0 for generic, _ in plans), plans
