"""Requests the fuzzers (tests/api/test_schemathesis.py, test_import_property.py) found to
answer 500, each now refused with a clear 4xx, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from samples import load_base

HUGE_NUMBER = "1" * 5000  # past Python's 4,300 digits for turning text into an int
DEEP = "[" * 100_000 + "]" * 100_000  # past Python's recursion limit


@pytest.mark.parametrize("value", [HUGE_NUMBER, DEEP], ids=["huge-number", "deep-nesting"])
def test_json_that_python_cannot_read_is_malformed(api, value):
    body = '{"email": "a@example.com", "name": "A", "phone": %s}' % value
    answer = api.client.put("/api/v1/clients/c1", content=body,
                            headers=api.headers | {"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert "not valid JSON" in answer.json()["detail"]
    report = api.import_ndjson('{"resource": "clients", "item": %s}\n' % body).json()
    assert report["failed"] == 1
    assert report["results"][0]["errors"][0]["reason"].startswith("malformed JSON")


@pytest.mark.parametrize("resource", [[], {}, 7, None, True])
def test_an_import_line_whose_resource_is_not_a_name(api, resource):
    line = json.dumps({"resource": resource, "item": {"id": "c1"}})
    report = api.import_ndjson(line + "\n").json()
    assert report["results"][0]["errors"][0]["path"] == ["resource"]


@pytest.mark.parametrize("cursor", ["aWQ6OTk5OTk5OTk5OTk5OTk5OTk5OTk5",  # id:99999999999999999999
                                    "aWQ6MQ==", "aWQ6LTU"])  # padded; id:-5
def test_a_cursor_the_api_did_not_give_is_refused(api, cursor):
    answer = api.get("clients", cursor=cursor)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "cursor"


@pytest.mark.parametrize("amount", [2**31, 10**12, -(2**31)])
def test_money_fits_the_column_that_stores_it(api, amount):
    load_base(api)
    refused = api.put("credits", "cr2", {"client_id": "c1", "amount": amount, "currency": "GBP",
                                         "occurred_at": "2026-10-01T12:00:00Z"})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["path"] == ["amount"]
    largest = api.put("payments", "pay2", {"client_id": "c1", "amount": 2**31 - 1,
                                           "currency": "GBP"})
    assert largest.status_code == 201
    assert largest.json()["amount"] == 2**31 - 1


def test_a_405_allows_every_method_the_address_takes(api):
    """Starlette names only the methods of the first route that matched the path, and an item's
    address has a route per method."""
    answer = api.client.request("OPTIONS", "/api/v1/clients/c1", headers=api.headers)
    assert answer.status_code == 405
    assert allowed(answer) == {"DELETE", "GET", "HEAD", "PUT"}
    assert allowed(api.client.post("/api/v1/clients", headers=api.headers)) == {"GET", "HEAD"}


def allowed(answer) -> set[str]:
    return {method.strip() for method in answer.headers["allow"].split(",")}
