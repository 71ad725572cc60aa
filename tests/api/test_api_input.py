"""A provider's system (or someone holding its key) sends the sync API what it should not: NUL
bytes and other control characters in fields, ids and the address; ids in the URL no body may
carry; numbers for dates; an empty import. Each gets the usual JSON error (400 or 422, naming
the field), on SQLite and on PostgreSQL, and nothing is stored. Tabs and line breaks in free
text, such as a billing address, are kept."""

from __future__ import annotations

import itertools

import pytest
from asgi_support import drive
from conftest import API_KEYS
from samples import BASE, load_base

from widget_server.core.plain_text import REASON

CONTROL = ["a\x00b", "a\x01b", "a\x1bb", "a\x7fb", "a\x85b"]
BAD_IDS = ["a b", "a'b", 'a"b', "čaj", "日本", "x" * 300, "x" * 10_000]


def fresh(resource: str) -> tuple[str, dict]:
    """A new item of `resource` (id and body) whose references exist after `load_base`."""
    external_id, body = next((i, b) for r, i, b in BASE if r == resource)
    body = dict(body)
    if resource == "clients":
        body["email"] = "someone.else@example.com"
    return f"{external_id}-x", body


def errors_of(response) -> list[dict]:
    assert response.headers["content-type"] == "application/problem+json", response.text
    return response.json()["errors"]


# --- control characters -----------------------------------------------------------------------

def text_fields() -> list[tuple[str, str]]:
    """(resource, field) for every top-level text field a sample body fills."""
    return [(resource, name) for resource, _, body in BASE for name, value in body.items()
            if isinstance(value, str)]


@pytest.mark.parametrize(("resource", "field"), text_fields())
def test_a_nul_in_any_text_field_is_refused_and_nothing_stored(api, resource, field):
    load_base(api)
    external_id, body = fresh(resource)
    response = api.put(resource, external_id, body | {field: body[field] + "\x00"})
    assert response.status_code == 422, response.text
    assert field in [error["field"] for error in errors_of(response)]
    assert api.get(resource, external_id).status_code == 404


@pytest.mark.parametrize("value", CONTROL)
def test_control_characters_are_refused_with_the_field_named(api, value):
    load_base(api)
    response = api.put("clients", "c9", {"email": "c9@example.com", "name": f"Ann{value}"})
    assert response.status_code == 422
    assert errors_of(response) == [{"field": "name", "path": ["name"], "reason": REASON}]


def test_nested_items_name_the_nested_field(api):
    load_base(api)
    _, order = fresh("orders")
    order["items"] = [{"name": "Cap", "unit_price": 1}, {"name": "Go\x00ggles", "unit_price": 1}]
    response = api.put("orders", "o9", order)
    assert [e["field"] for e in errors_of(response)] == ["items.1.name"]
    _, programme = fresh("programmes")
    programme["addons"] = [{"id": "towel", "name": "Towel\x00", "price": 1}]
    assert [e["field"] for e in errors_of(api.put("programmes", "p9", programme))] \
        == ["addons.0.name"]
    _, booking = fresh("bookings")
    booking["addons"] = ["towel\x00"]
    assert api.put("bookings", "b9", booking).status_code == 422


def test_tabs_and_line_breaks_in_free_text_are_kept_other_controls_are_not(api):
    refused = api.put("clients", "c1", {"email": "sarah@example.com", "name": "Sarah",
                                        "address": "Flat 2\x0c1 High Street"})
    assert refused.status_code == 422
    address = "Flat 2\r\n1 High Street\n\tLondon"
    response = api.put("clients", "c1", {"email": "sarah@example.com", "name": "Sarah",
                                         "address": address})
    assert response.status_code == 201, response.text
    assert api.get("clients", "c1").json()["address"] == address
    response = api.put("programmes", "p1", {"name": "Dolphins",
                                            "description": "Week 1:\tfloats\nWeek 2:\tdives"})
    assert response.status_code == 201


@pytest.mark.parametrize("raw", ['"Ann\\ud800"', '"\\udc00"', '"\\ud83d"'])
def test_a_lone_surrogate_escape_is_refused_not_a_server_error(api, raw):
    body = f'{{"email": "c9@example.com", "name": {raw}}}'.encode()
    response = api.client.put("/api/v1/clients/c9", content=body,
                              headers=api.headers | {"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "surrogate" in response.json()["detail"]
    unknown = f'{{"email": "c9@example.com", "name": "Ann", {raw}: 1}}'.encode()
    assert api.client.put("/api/v1/clients/c9", content=unknown,
                          headers=api.headers).status_code == 400
    assert api.get("clients", "c9").status_code == 404
    emoji = b'{"email": "c9@example.com", "name": "Ann \\ud83d\\ude00"}'  # a proper pair
    response = api.client.put("/api/v1/clients/c9", content=emoji, headers=api.headers)
    assert response.status_code == 201
    assert response.json()["name"] == "Ann \N{GRINNING FACE}"


@pytest.mark.parametrize("path", [
    "/api/v1/clients/c%001", "/api/v1/clients/c1%0A", "/api/v1/cli%00ents",
    "/api/v1/clients?cursor=%00", "/api/v1/clients?limit=1%00",
    "/api/v1/profile-url?email=sarah%00@example.com", "/api/v1/webhook-deliveries/msg_%00",
    "/api/v1/clients/c1?x=%01",
])
def test_a_control_character_in_the_address_is_a_bad_request(api, path):
    load_base(api)
    for method in ("GET", "PUT", "DELETE"):
        response = api.client.request(method, path, headers=api.headers,
                                      json={"email": "a@example.com", "name": "A"})
        assert response.status_code == 400, (method, path, response.text)
        assert errors_of(response)[0]["reason"] == REASON
    assert api.get("clients", "c1").status_code == 200


def test_a_nul_in_an_import_line_fails_that_line_only(api):
    load_base(api)
    lines = ['{"resource": "clients", "item": {"id": "c7", "email": "c7@example.com", '
             '"name": "Ann\\u0000"}}',
             '{"resource": "clie\\u0000nts", "item": {"id": "c8"}}',
             '{"resource": "clients", "item": {"id": "c\\u00009", "email": "c9@example.com", '
             '"name": "Ann"}}',
             '{"resource": "clients", "item": {"id": "c6", "email": "c6@example.com", '
             '"name": "Ann \\ud800"}}',
             '{"resource": "clients", "item": {"id": "c5", "email": "c5@example.com", '
             '"name": "Ann\\tLee"}}']
    report = api.import_ndjson("\n".join(lines)).json()
    assert [r["status"] for r in report["results"]] == ["error"] * 4 + ["created"]
    assert api.get("clients", "c7").status_code == 404


# --- ids in the URL ---------------------------------------------------------------------------

@pytest.mark.parametrize("bad", BAD_IDS)
def test_an_id_in_the_url_follows_the_rule_for_ids_in_bodies(api, bad):
    body = {"email": "ann@example.com", "name": "Ann"}
    in_body = api.put("clients", "c-ok", body | {"id": bad.replace("%FF", "\ufffd")})
    assert in_body.status_code == 422
    in_url = api.put("clients", bad, body)
    assert in_url.status_code == 422, in_url.text
    assert errors_of(in_url) == errors_of(in_body)
    assert api.get("clients", bad).status_code == 422
    assert api.delete("clients", bad).status_code == 422
    assert api.get("clients").json()["items"] == []
    longest = "A-z0._:~9" + "x" * 119  # what the rule allows still works
    assert api.put("clients", longest, body).status_code == 201
    assert api.get("clients", longest).json()["id"] == longest


def test_an_address_that_is_not_utf8_is_a_bad_request_before_any_id_rule(api):
    """Bytes that are not UTF-8 are refused for the whole address (400), as the document says,
    before the id in it is read."""
    for answer in (api.put("clients", "a%FFb", {"email": "ann@example.com", "name": "Ann"}),
                   api.get("clients", "a%FFb"), api.delete("clients", "a%FFb")):
        assert answer.status_code == 400, answer.text
        assert errors_of(answer)[0]["field"] == "path"
    assert api.get("clients").json()["items"] == []


def test_a_webhook_id_in_the_url_is_checked_too(api):
    assert api.get("webhook-deliveries", "msg_nope").status_code == 404
    for bad in ("msg nope", "msg'1", "x" * 65, "msg-ü", "msg.1"):
        response = api.get("webhook-deliveries", bad)
        assert response.status_code == 422, bad
        assert errors_of(response)[0]["field"] == "webhook_id"


# --- dates and an empty import ----------------------------------------------------------------

@pytest.mark.parametrize("value", [0, 1_700_000_000, "0", "1700000000", 1.5, True])
def test_a_number_is_not_a_birth_date(api, value):
    load_base(api)
    response = api.put("attendees", "a9", {"client_id": "c1", "name": "Mia",
                                           "birth_date": value})
    assert response.status_code == 422
    assert [e["field"] for e in errors_of(response)] == ["birth_date"]
    assert "YYYY-MM-DD" in errors_of(response)[0]["reason"]
    assert api.get("attendees", "a9").status_code == 404
    assert api.get("attendees", "a1").json()["birth_date"] == "2019-03-02"  # as text: fine


@pytest.mark.parametrize("value", [0, 1_700_000_000, "1700000000"])
def test_a_number_is_not_a_moment_either(api, value):
    load_base(api)
    response = api.put("sessions", "s9", {"programme_id": "p1", "starts_at": value,
                                          "ends_at": "2026-12-05T09:45:00Z"})
    assert [e["field"] for e in errors_of(response)] == ["starts_at"]
    assert api.get("sessions", "s1").json()["starts_at"] == "2026-12-05T09:00:00Z"


@pytest.mark.parametrize("body", ["", "\n", "  \r\n\n "])
def test_an_empty_import_is_a_bad_request(api, body):
    response = api.import_ndjson(body)
    assert response.status_code == 400
    assert "empty" in response.json()["detail"]


# --- how much the API takes -------------------------------------------------------------------

def test_a_streamed_body_past_the_limit_is_cut_off(app, client):
    """The API limited its bodies already (`read_body`); this keeps it so for chunked ones."""
    chunk = b"x" * 4096
    headers = {"Authorization": f"Bearer {API_KEYS['demo']}",
               "Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    status, read = drive(app, "/api/v1/clients/c1", headers, itertools.repeat(chunk, 100_000),
                         method="PUT")
    assert status == 413
    assert read <= app.state.settings.max_body_bytes // len(chunk) + 1
