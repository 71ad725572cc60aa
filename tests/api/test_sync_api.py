"""A provider's booking system pushes its data through the sync API."""

from __future__ import annotations

import pytest
from profile_support import counting_statements
from samples import BASE, FRESH, load_base

from widget_server.api.resources import RESOURCES

CONTRACT = ["clients", "attendees", "programmes", "sessions", "bookings", "attendance",
            "payments", "invoices", "orders", "entry-passes", "discounts", "credits", "shares"]


def test_every_contract_resource_exists():
    assert set(CONTRACT) <= set(RESOURCES)


@pytest.mark.parametrize("resource", list(FRESH))
def test_upsert_read_list_delete(api, resource):
    load_base(api)
    external_id, body, (field, new_value) = FRESH[resource]

    created = api.put(resource, external_id, body)
    assert created.status_code == 201, created.text
    item = created.json()
    assert item["id"] == external_id
    for key, value in body.items():
        assert item[key] == value, key

    read = api.get(resource, external_id)
    assert read.status_code == 200
    assert read.json() == item
    # Read back carries exactly the field names a provider writes, plus id (and for offers
    # the family's answer, which only the portal writes).
    assert set(item) == set(RESOURCES[resource].read_schema.model_fields)

    again = api.put(resource, external_id, body)
    assert again.status_code == 200
    assert again.json() == item
    listed = api.get(resource, limit=1000).json()["items"]
    assert [i["id"] for i in listed].count(external_id) == 1

    changed = api.put(resource, external_id, body | {field: new_value})
    assert changed.status_code == 200
    assert changed.json()[field] == new_value
    assert api.get(resource, external_id).json()[field] == new_value

    assert api.delete(resource, external_id).status_code == 204
    assert api.get(resource, external_id).status_code == 404
    assert api.delete(resource, external_id).status_code == 404


def test_list_pages_with_a_cursor(api):
    for n in range(7):
        api.put("clients", f"c{n}", {"email": f"p{n}@example.com", "name": f"Parent {n}"})
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = api.get("clients", **params).json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"c{n}" for n in range(7)]
    assert pages == 3


def test_bad_cursor_and_limit_name_the_parameter(api):
    bad_limit = api.get("clients", limit=0)
    assert bad_limit.status_code == 422
    assert bad_limit.json()["errors"][0]["field"] == "limit"
    bad_cursor = api.get("clients", cursor="nonsense!")
    assert bad_cursor.status_code == 422
    assert bad_cursor.json()["errors"][0]["field"] == "cursor"


def test_nested_items_are_replaced_not_appended(api):
    load_base(api)
    order = dict(BASE[7][2])
    order["items"] = [{"name": "Goggles", "quantity": 1, "unit_price": 1200, "vat_rate": "20",
                       "vat_amount": 200}]
    api.put("orders", "o1", order)
    items = api.get("orders", "o1").json()["items"]
    assert [i["name"] for i in items] == ["Goggles"]
    assert items[0]["vat_rate"] == "20"


def test_references_use_provider_ids_and_unknown_ones_are_named(api):
    load_base(api)
    response = api.put("bookings", "b9", {"client_id": "c1", "attendee_id": "nobody",
                                          "programme_id": "p1"})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors == [{"field": "attendee_id", "path": ["attendee_id"],
                       "reason": "no attendees item with id 'nobody'"}]


def test_validation_errors_name_each_field(api):
    load_base(api)
    response = api.put("orders", "o2", {
        "client_id": "c1", "ordered_at": "2026-11-01T10:00:00", "currency": "gbp",
        "items": [{"name": "Cap", "unit_price": 4.5}], "colour": "red"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"]: e["reason"] for e in response.json()["errors"]}
    assert set(fields) == {"ordered_at", "currency", "items.0.unit_price", "colour"}
    assert fields["colour"] == "unknown field"
    assert "timezone" in fields["ordered_at"]


def test_money_refuses_floats(api):
    response = api.put("programmes", "p1", {"name": "Dolphins", "price": 96.0})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "price"


def test_a_programme_has_an_age_range_in_order(api):
    made = api.put("programmes", "p1", {"name": "Dolphins", "min_age": 5, "max_age": 7})
    assert made.status_code == 201
    read = api.get("programmes", "p1").json()
    assert (read["min_age"], read["max_age"]) == (5, 7)
    response = api.put("programmes", "p1", {"name": "Dolphins", "min_age": 9, "max_age": 6})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "max_age"


def test_body_id_must_match_url(api):
    response = api.put("clients", "c1", {"id": "c2", "email": "a@example.com", "name": "A"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "id"


def test_malformed_json_is_400(api):
    response = api.client.put("/api/v1/clients/c1", content=b"{not json",
                              headers=api.headers | {"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]


def test_oversized_body_is_refused(api, app):
    big = "x" * (app.state.settings.max_body_bytes + 1)
    response = api.put("clients", "c1", {"email": "a@example.com", "name": big})
    assert response.status_code == 413


def test_duplicate_email_names_the_other_client(api):
    api.put("clients", "c1", {"email": "sarah@example.com", "name": "Sarah"})
    response = api.put("clients", "c2", {"email": "SARAH@example.com", "name": "Other"})
    assert response.status_code == 422
    assert response.json()["errors"][0] == {
        "field": "email", "path": ["email"], "reason": "already used by client 'c1'"}


def test_deleting_a_referenced_item_is_refused_and_loses_nothing(api):
    load_base(api)
    response = api.delete("clients", "c1")
    assert response.status_code == 409
    assert api.get("clients", "c1").status_code == 200
    assert api.get("attendees", "a1").status_code == 200


def test_unknown_resource_is_404(api):
    response = api.get("widgets")
    assert response.status_code == 404
    assert "clients" in response.json()["detail"]


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic abc", "Bearer "])
def test_missing_or_wrong_key_is_401_with_json(client, header):
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/v1/clients", headers=headers)
    assert response.status_code == 401
    assert response.json()["title"] == "Unauthorized"


def test_idempotency_key_replays_the_first_answer(api):
    body = {"email": "a@example.com", "name": "A"}
    first = api.put("clients", "c1", body, **{"Idempotency-Key": "k-1"})
    assert first.status_code == 201
    # Meanwhile the item changes; the retry still gets the first answer, and writes nothing.
    api.put("clients", "c1", body | {"name": "B"})
    retry = api.put("clients", "c1", body, **{"Idempotency-Key": "k-1"})
    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert api.get("clients", "c1").json()["name"] == "B"


def test_idempotency_key_with_another_body_is_refused(api):
    api.put("clients", "c1", {"email": "a@example.com", "name": "A"}, **{"Idempotency-Key": "k"})
    response = api.put("clients", "c1", {"email": "a@example.com", "name": "Z"},
                       **{"Idempotency-Key": "k"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert api.get("clients", "c1").json()["name"] == "A"


def test_idempotency_keys_are_scoped_per_tenant(api):
    body = {"email": "a@example.com", "name": "A"}
    assert api.put("clients", "c1", body, **{"Idempotency-Key": "same"}).status_code == 201
    other = api.as_tenant("demo-sk")
    assert other.put("clients", "c1", body, **{"Idempotency-Key": "same"}).status_code == 201
    assert other.get("clients", "c1").status_code == 200


def test_openapi_document_lists_every_resource(client):
    document = client.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.")
    for name in RESOURCES:
        assert f"/api/v1/{name}/{{external_id}}" in document["paths"]
    assert {"/api/v1/import", "/api/v1/profile-url", "/api/v1/webhook-deliveries"} <= set(
        document["paths"])
    schemas = document["components"]["schemas"]
    assert schemas["ClientIn"]["additionalProperties"] is False
    assert "email" in schemas["ClientIn"]["required"]


def test_healthz(client):
    assert client.get("/healthz").text == "ok"


@pytest.mark.parametrize("resource,external_id,body", BASE)
def test_openapi_request_schemas_accept_what_the_api_accepts(client, resource, external_id,
                                                              body):
    import jsonschema

    document = client.get("/api/v1/openapi.json").json()
    operation = document["paths"][f"/api/v1/{resource}/{{external_id}}"]["put"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    resolver = {"components": document["components"], **schema}
    jsonschema.validate(body, resolver)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(body | {"unknown_field": 1}, resolver)


def test_a_put_looks_up_each_reference_once_and_an_email_only_when_it_changes(app, api):
    """The booking system pushes one change as it happens: the write resolves the ids it
    names, reads the item, writes it, and answers with it, the references' ids as sent
    (not looked up again); a client's e-mail is checked against the others only when new."""
    load_base(api)
    booking = dict(BASE[4][2], price=9700)
    with counting_statements(app) as sent:
        answer = api.put("bookings", "b1", booking)
    assert answer.status_code == 200
    assert {k: answer.json()[k] for k in ("client_id", "attendee_id", "programme_id")} == {
        "client_id": "c1", "attendee_id": "a1", "programme_id": "p1"}
    reads = [s for s, _, _ in sent if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 4, reads  # client, attendee, programme by provider id; the booking

    client = dict(BASE[0][2], name="Sarah T.")
    with counting_statements(app) as sent:
        assert api.put("clients", "c1", client).status_code == 200
    assert not [s for s, _, _ in sent if "client.email =" in s]
    api.put("clients", "c2", {"email": "james@example.com", "name": "James"})
    with counting_statements(app) as sent:
        taken = api.put("clients", "c1", dict(client, email="james@example.com"))
    assert taken.status_code == 422 and "already used by client 'c2'" in taken.text
    assert len([s for s, _, _ in sent if "client.email =" in s]) == 1
