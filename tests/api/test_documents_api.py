"""A provider shares files with families through the sync API (issue 15): it uploads a term
letter, a kit list or a photo as the file itself (a multipart form, or the raw body with the
fields in the query), says who it is for, and reads, lists and deletes it like any item.
A file that is too large or is not a PDF, PNG, JPEG, WebP or plain text by its content is
refused with a clear answer and nothing is kept; another tenant never sees or references it.

Every story runs with the bytes in the database and in a folder (`WIDGET_FILES_DIR`)."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import jsonschema
import pytest
from conftest import Api
from profile_support import browser, freeze
from samples import load_base
from sqlalchemy import func
from sqlmodel import Session, select
from starlette.testclient import TestClient

from widget_server.api.openapi import document
from widget_server.app import create_app
from widget_server.core.models import Document, DocumentChunk, FirstOpen

PDF = b"%PDF-1.7\n% Spring term letter\n" + bytes(range(256)) * 1200  # two chunks
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x01" * 500
TEXT = "Kit list\r\n- goggles\n- towel\t(labelled)\n".encode()
LETTER = {"title": "Spring term letter", "audience": "client", "client_id": "c1"}
OPERATIONS = document()["paths"]["/api/v1/documents/{external_id}"]


def answers_as_documented(answer, operation: dict) -> None:
    """The answer's status is documented for the operation, and its body fits that schema."""
    documented = operation["responses"].get(str(answer.status_code))
    assert documented is not None, f"{answer.status_code} is not documented"
    schema = documented["content"][answer.headers["content-type"].split(";")[0]]["schema"]
    jsonschema.validate(answer.json(), {"components": document()["components"], **schema})


@pytest.fixture(params=["in the database", "in a folder"])
def settings(request, settings, tmp_path):
    if request.param == "in a folder":
        return replace(settings, files_dir=tmp_path / "files")
    return settings


@pytest.fixture
def school(app, api):
    """A provider with the sample family: Sarah (c1), her son Oliver (a1) on Dolphins (p1)."""
    freeze(app)
    load_base(api)
    return api


def upload(api, external_id: str, content: bytes, *, raw: bool = False,
           file_name: str = "letter.pdf", content_type: str = "application/pdf", headers=None,
           **fields):
    """PUT a document as a provider's system would: multipart (the file part named
    `file_name`), or the raw body."""
    address = f"/api/v1/documents/{external_id}"
    headers = api.headers | (headers or {})
    if raw:
        return api.client.put(address, params=fields, content=content,
                              headers=headers | {"Content-Type": content_type})
    return api.client.put(address, data=fields, headers=headers,
                          files={"file": (file_name, content, content_type)})


def downloaded(app, mailbox, external_id: str, email: str = "sarah@example.com") -> bytes:
    family = browser(app, mailbox, email)
    answer = family.open(f"documents/{external_id}")
    assert answer.status_code == 200, answer.text
    return answer.content


def stored(app) -> dict[str, int]:
    """What is kept: document rows, chunks in the database, files in the folder."""
    with Session(app.state.engine) as db:
        rows = db.exec(select(func.count()).select_from(Document)).one()
        pieces = db.exec(select(func.count()).select_from(DocumentChunk)).one()
    folder = app.state.files.directory
    on_disk = 0 if folder is None else sum(1 for p in folder.root.rglob("*") if p.is_file())
    return {"documents": rows, "chunks": pieces, "files": on_disk}


NOTHING = {"documents": 0, "chunks": 0, "files": 0}


# --- writing and reading back -------------------------------------------------------------

def test_a_letter_uploaded_as_a_form_downloads_as_the_same_bytes(school, app, mailbox):
    written = upload(school, "doc-1", PDF, **LETTER)
    assert written.status_code == 201, written.text
    item = written.json()
    assert item == {"id": "doc-1", "title": "Spring term letter", "filename": "letter.pdf",
                    "content_type": "application/pdf", "size": len(PDF),
                    "sha256": hashlib.sha256(PDF).hexdigest(), "audience": "client",
                    "client_id": "c1", "attendee_id": None, "programme_id": None,
                    "published_at": "2026-11-22T12:00:00Z"}
    answers_as_documented(written, OPERATIONS["put"])
    assert school.get("documents", "doc-1").json() == item
    assert school.get("documents").json() == {"items": [item], "next_cursor": None}
    assert downloaded(app, mailbox, "doc-1") == PDF


def test_a_raw_body_with_the_fields_in_the_query_round_trips_and_a_second_put_replaces_it(
        school, app, mailbox):
    first = upload(school, "kit", TEXT, raw=True, content_type="text/plain", title="Kit list",
                   audience="attendee", attendee_id="a1", published_at="2026-11-20T08:00:00Z")
    assert first.status_code == 201, first.text
    assert first.json()["filename"] == "Kit list.txt"  # named after its title
    assert first.json()["published_at"] == "2026-11-20T08:00:00Z"
    assert downloaded(app, mailbox, "kit") == TEXT

    again = upload(school, "kit", PDF, raw=True, title="Kit list (PDF)", audience="programme",
                   programme_id="p1", filename="kit.pdf")
    assert again.status_code == 200, again.text
    assert again.json() | {"sha256": ""} == {
        "id": "kit", "title": "Kit list (PDF)", "filename": "kit.pdf",
        "content_type": "application/pdf", "size": len(PDF), "sha256": "",
        "audience": "programme", "client_id": None, "attendee_id": None,
        "programme_id": "p1", "published_at": "2026-11-20T08:00:00Z"}
    assert downloaded(app, mailbox, "kit") == PDF
    kept = stored(app)  # the text's bytes went with it
    assert kept == ({"documents": 1, "chunks": 0, "files": 1} if app.state.files.directory
                    else {"documents": 1, "chunks": 2, "files": 0})


def test_a_file_just_under_ten_megabytes_is_taken_by_default(school, app):
    assert app.state.settings.max_document_bytes == 10_000_000
    big = b"%PDF-1.7\n" + b"\x00" * (9_999_000 - 9)
    answer = upload(school, "big", big, file_name="photos.pdf", **LETTER)
    assert answer.status_code == 201, answer.text[:300]
    assert answer.json()["size"] == 9_999_000


def test_a_png_named_pdf_is_kept_as_the_png_it_is(school, app, mailbox):
    answer = upload(school, "photo", PNG, file_name="gala.pdf", content_type="application/pdf",
                    title="Gala photo", audience="attendee", attendee_id="a1")
    assert answer.status_code == 201, answer.text
    assert (answer.json()["content_type"], answer.json()["filename"]) == ("image/png",
                                                                          "gala.png")
    assert downloaded(app, mailbox, "photo") == PNG


# --- refusals ---------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [False, True], ids=["multipart", "raw"])
def test_a_file_past_the_limit_answers_413_and_nothing_is_kept(settings, raw):
    app = create_app(replace(settings, max_document_bytes=100_000))
    with TestClient(app) as client:
        api = Api(client)
        load_base(api)
        too_big = b"%PDF-1.7\n" + b"\x00" * 100_000
        answer = upload(api, "doc-1", too_big, raw=raw, **LETTER)
        assert answer.status_code == 413
        assert answer.json()["detail"] == ("The file is larger than 100,000 bytes, the most a "
                                           "document may have.")
        answers_as_documented(answer, OPERATIONS["put"])

        def streamed():  # no Content-Length: the limit is kept while the body arrives
            yield b"%PDF-1.7\n"
            for _ in range(50):
                yield b"\x00" * 10_000

        chunked = api.client.put("/api/v1/documents/doc-1", params=LETTER, content=streamed(),
                                 headers=api.headers | {"Content-Type": "application/pdf"})
        assert chunked.status_code == 413
        assert stored(app) == NOTHING
        assert upload(api, "doc-1", too_big[:100_000], raw=raw, **LETTER).status_code == 201
    app.state.engine.dispose()


@pytest.mark.parametrize("content,what", [
    (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff", "a Windows program"),
    (b"PK\x03\x04\x14\x00\x06\x00\x08\x00",
     "a ZIP archive (Word and Excel files are ZIP archives too)"),
    (b"<!DOCTYPE html><html><body><script>alert(1)</script>", "HTML or XML"),
], ids=["executable", "zip", "html"])
@pytest.mark.parametrize("raw", [False, True], ids=["multipart", "raw"])
def test_a_file_that_is_not_an_allowed_type_answers_415_and_nothing_is_kept(school, app,
                                                                            content, what, raw):
    answer = upload(school, "doc-1", content, raw=raw, **LETTER)
    assert answer.status_code == 415
    assert answer.json()["detail"].startswith(f"The file is {what}. Documents may be PDF, PNG, "
                                              "JPEG or WebP files, or plain text")
    answers_as_documented(answer, OPERATIONS["put"])
    assert stored(app) == NOTHING


def test_json_is_refused_with_how_to_send_a_file(school, app):
    answer = school.put("documents", "doc-1", LETTER)
    assert answer.status_code == 415
    assert "multipart/form-data with a part named `file`" in answer.json()["detail"]
    answers_as_documented(answer, OPERATIONS["put"])


@pytest.mark.parametrize("fields,errors", [
    ({"title": "Letter", "audience": "everyone"},
     {"audience": "Input should be 'client', 'attendee', 'programme' or 'tenant'"}),
    ({"audience": "tenant"}, {"title": "Field required"}),
    ({"title": "Letter", "audience": "client"},
     {"client_id": "required when audience is 'client'"}),
    ({"title": "Letter", "audience": "attendee", "attendee_id": "a1", "client_id": "c1"},
     {"client_id": "must be empty when audience is 'attendee'"}),
    ({"title": "Letter", "audience": "programme", "programme_id": "p-nope"},
     {"programme_id": "no programmes item with id 'p-nope'"}),
    ({"title": "Letter", "audience": "tenant", "colour": "blue"}, {"colour": "unknown field"}),
    ({"title": "Letter\x00", "audience": "tenant"},
     {"title": "must not contain control characters"}),
])
@pytest.mark.parametrize("raw", [False, True], ids=["multipart", "raw"])
def test_a_bad_audience_or_reference_answers_422_naming_the_field(school, app, fields, errors,
                                                                  raw):
    answer = upload(school, "doc-1", PDF, raw=raw, **fields)
    assert answer.status_code in (400, 422), answer.text
    if answer.status_code == 422:
        assert {e["field"]: e["reason"] for e in answer.json()["errors"]} == errors
        answers_as_documented(answer, OPERATIONS["put"])
    assert stored(app) == NOTHING


def test_a_form_without_its_file_or_with_an_empty_one_is_refused(school, app):
    no_file = school.client.put("/api/v1/documents/doc-1", data=LETTER,
                                files={"attachment": ("a.pdf", PDF, "application/pdf")},
                                headers=school.headers)
    assert no_file.status_code == 422
    assert {e["field"] for e in no_file.json()["errors"]} == {"attachment", "file"}
    empty = upload(school, "doc-1", b"", **LETTER)
    assert empty.status_code == 422
    assert empty.json()["errors"] == [{"field": "file", "path": ["file"],
                                       "reason": "must not be empty"}]
    twice = school.client.put("/api/v1/documents/doc-1?title=Other", data=LETTER,
                              files={"file": ("a.pdf", PDF, "application/pdf")},
                              headers=school.headers)
    assert twice.status_code == 422
    assert stored(app) == NOTHING


def test_a_retry_with_the_same_idempotency_key_gets_the_first_answer(school):
    key = {"Idempotency-Key": "upload-1"}
    first = upload(school, "doc-1", PDF, headers=key, **LETTER)
    retry = upload(school, "doc-1", PDF, headers=key, **LETTER)  # a new multipart boundary
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    other = upload(school, "doc-1", PNG, headers=key, **LETTER)
    assert other.status_code == 422
    assert "Idempotency-Key" in other.json()["detail"]


# --- listing, deleting, other tenants ----------------------------------------------------------

def test_documents_list_in_pages(school):
    for n in range(5):
        assert upload(school, f"doc-{n}", TEXT, raw=True, content_type="text/plain",
                      title=f"Notice {n}", audience="tenant").status_code == 201
    seen, cursor = [], None
    while True:
        page = school.get("documents", limit=2, **({"cursor": cursor} if cursor else {}))
        answers_as_documented(page, document()["paths"]["/api/v1/documents"]["get"])
        seen += [item["id"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"doc-{n}" for n in range(5)]


def test_deleting_a_document_removes_its_bytes_and_who_opened_it(school, app, mailbox):
    upload(school, "doc-1", PDF, **LETTER)
    downloaded(app, mailbox, "doc-1")
    assert school.delete("documents", "doc-1").status_code == 204
    assert stored(app) == NOTHING
    with Session(app.state.engine) as db:
        assert db.exec(select(FirstOpen)).all() == []
    assert school.get("documents", "doc-1").status_code == 404
    assert school.delete("documents", "doc-1").status_code == 404


def test_a_client_with_documents_is_not_deleted_from_under_them(school):
    upload(school, "doc-1", PDF, **LETTER)
    assert school.delete("clients", "c1").status_code == 409


def test_another_tenant_neither_sees_nor_references_a_document(school, app):
    upload(school, "doc-1", PDF, **LETTER)
    intruder = school.as_tenant("demo-sk")
    assert intruder.get("documents", "doc-1").status_code == 404
    assert intruder.get("documents").json()["items"] == []
    assert intruder.delete("documents", "doc-1").status_code == 404
    answer = upload(intruder, "doc-2", PDF, title="Letter", audience="attendee",
                    attendee_id="a1")
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["reason"] == "no attendees item with id 'a1'"
    assert school.get("documents", "doc-1").status_code == 200
    assert stored(app)["documents"] == 1


def test_the_api_key_is_required(client):
    assert client.put("/api/v1/documents/doc-1", content=PDF).status_code == 401
    assert client.get("/api/v1/documents").status_code == 401


def test_a_folder_that_is_no_longer_set_up_gives_a_clear_answer(settings, tmp_path, mailbox):
    """Files kept in a folder, then the server restarted without WIDGET_FILES_DIR: the
    document cannot be read or deleted, and both say why (503), not a server error."""
    folder = replace(settings, files_dir=tmp_path / "kept")
    with TestClient(create_app(folder)) as client:
        api = Api(client)
        load_base(api)
        assert upload(api, "doc-1", PDF, **LETTER).status_code == 201
    app = create_app(replace(folder, files_dir=None))
    with TestClient(app) as client:
        freeze(app)
        answer = Api(client).client.delete("/api/v1/documents/doc-1", headers=Api(client).headers)
        assert answer.status_code == 503
        assert "WIDGET_FILES_DIR" in answer.json()["detail"]
        family = browser(app, mailbox, "sarah@example.com")
        assert family.open("documents/doc-1").status_code == 503
