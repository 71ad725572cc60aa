"""The OpenAPI document states what the API answers beyond its schemas (malformed JSON, the
cursor, a session's end after its start, a reused Idempotency-Key, oversized bodies), and each
statement is held against a real answer. tests/api/test_schemathesis.py does the fuzzing."""

from __future__ import annotations

import re
from dataclasses import replace

import jsonschema
import pytest
from conftest import Api
from samples import BASE, load_base
from starlette.testclient import TestClient

from widget_server.api.openapi import document
from widget_server.app import create_app

PUTS = [(path, item["put"]) for path, item in document()["paths"].items() if "put" in item]
OPERATIONS = [(path, method, operation) for path, item in document()["paths"].items()
              for method, operation in item.items() if method != "parameters"]


def answers_as_documented(answer, operation: dict) -> None:
    """The answer's status is documented for the operation, and its body fits that schema."""
    documented = operation["responses"].get(str(answer.status_code))
    assert documented is not None, f"{answer.status_code} is not documented"
    media_type = answer.headers["content-type"].split(";")[0]
    schema = documented["content"][media_type]["schema"]
    jsonschema.validate(answer.json(), {"components": document()["components"], **schema})


@pytest.mark.parametrize("path,method,operation", OPERATIONS,
                         ids=[f"{m.upper()} {p}" for p, m, _ in OPERATIONS])
def test_every_operation_documents_a_missing_key_and_a_bad_address(path, method, operation):
    assert {"400", "401"} <= set(operation["responses"])


def test_malformed_json_is_documented_and_answered(api):
    for _, operation in PUTS:
        if "application/json" in operation["requestBody"]["content"]:  # not documents' files
            assert "not JSON" in operation["responses"]["400"]["description"]
    answer = api.client.put("/api/v1/clients/c1", content=b'{"name": ',
                            headers=api.headers | {"Content-Type": "application/json"})
    assert answer.status_code == 400
    answers_as_documented(answer, document()["paths"]["/api/v1/clients/{external_id}"]["put"])


def test_the_cursor_is_documented_in_the_form_the_api_gives_it(api):
    load_base(api)
    listing = document()["paths"]["/api/v1/attendees"]["get"]
    cursor = next(p for p in listing["parameters"] if p["name"] == "cursor")
    assert "next_cursor" in cursor["description"]
    page = api.get("attendees", limit=1)
    answers_as_documented(page, listing)
    next_cursor = page.json()["next_cursor"]
    assert next_cursor is None or re.fullmatch(cursor["schema"]["pattern"], next_cursor)
    api.put("attendees", "a2", {"client_id": "c1", "name": "Mia"})
    next_cursor = api.get("attendees", limit=1).json()["next_cursor"]
    assert re.fullmatch(cursor["schema"]["pattern"], next_cursor)
    refused = api.get("attendees", cursor="bm90LWEtY3Vyc29y")  # base64, but none of ours
    assert refused.status_code == 422
    answers_as_documented(refused, listing)


def test_a_session_ends_after_it_starts_as_documented(api):
    load_base(api)
    ends_at = document()["components"]["schemas"]["SessionIn"]["properties"]["ends_at"]
    assert "after `starts_at`" in ends_at["description"]
    answer = api.put("sessions", "s2", {"programme_id": "p1",
                                        "starts_at": "2026-12-05T09:00:00Z",
                                        "ends_at": "2026-12-05T09:00:00Z"})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["path"] == ["ends_at"]
    answers_as_documented(answer, document()["paths"]["/api/v1/sessions/{external_id}"]["put"])


def test_a_reused_idempotency_key_is_documented_and_refused(api):
    put = document()["paths"]["/api/v1/clients/{external_id}"]["put"]
    key = next(p for p in put["parameters"] if p["name"] == "Idempotency-Key")
    assert "another method, path or body answers 422" in key["description"]
    assert "Idempotency-Key" in put["responses"]["422"]["description"]
    body = {"email": "a@example.com", "name": "A"}
    assert api.put("clients", "c1", body, **{"Idempotency-Key": "k"}).status_code == 201
    answer = api.put("clients", "c1", body | {"name": "B"}, **{"Idempotency-Key": "k"})
    assert answer.status_code == 422
    answers_as_documented(answer, put)


def test_an_oversized_body_is_documented_and_refused(settings):
    small = replace(settings, max_body_bytes=1000, max_import_bytes=1000)
    app = create_app(small)
    with TestClient(app) as client:
        api = Api(client)
        answer = api.put("clients", "c1", {"email": "a@example.com", "name": "A" * 2000})
        assert answer.status_code == 413
        answers_as_documented(answer, document()["paths"]["/api/v1/clients/{external_id}"]["put"])
        line = '{"resource": "clients", "item": {"id": "c1", "name": "%s"}}\n' % ("A" * 2000)
        answer = api.import_ndjson(line)
        assert answer.status_code == 413
        answers_as_documented(answer, document()["paths"]["/api/v1/import"]["post"])
    app.state.engine.dispose()


def test_a_missing_key_is_answered_as_documented(client):
    answer = client.get("/api/v1/clients")
    assert answer.status_code == 401
    answers_as_documented(answer, document()["paths"]["/api/v1/clients"]["get"])


def test_deleting_a_referenced_item_is_answered_as_documented(api):
    load_base(api)
    answer = api.delete("clients", BASE[0][1])
    assert answer.status_code == 409
    answers_as_documented(answer,
                          document()["paths"]["/api/v1/clients/{external_id}"]["delete"])
