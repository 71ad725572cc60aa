"""The running API answers only what its OpenAPI document says. schemathesis sends generated
requests, valid and invalid, to the real uvicorn on SQLite and on PostgreSQL and runs every check
on each answer: no server error, and status code, content type, headers and body as documented,
invalid data refused, valid data accepted. A small graph of every resource is stored first and
generated ids are often swapped for its ids, so reads, replaces and deletes of stored items (and
writes whose references resolve) are tried, not only 404s and 422s."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from conftest import API_KEYS, DATABASES, truncate_postgres
from hypothesis import strategies as st
from live_server import serving
from pydantic import TypeAdapter, ValidationError
from samples import BASE, DOCUMENTS
from smtp import Mailbox

from widget_server.api.fields import ExternalId
from widget_server.api.openapi import document
from widget_server.api.resources import RESOURCE_OF_MODEL, RESOURCES
from widget_server.app import create_app
from widget_server.core.settings import Settings
from widget_server.demo import TENANTS_DIR as DEMO_TENANTS

# Enough to reach every documented answer of an operation while the whole module stays within
# about two minutes per database on two slow cores (the coverage phase adds its own cases).
EXAMPLES_PER_OPERATION = 40

ID = TypeAdapter(ExternalId)
STORED = {resource: external_id for resource, external_id, _ in BASE}
STORED["documents"] = DOCUMENTS[0][0]
# A document's references, by the resource each names.
DOCUMENT_REFERENCES = {"client_id": "clients", "attendee_id": "attendees",
                       "programme_id": "programmes"}

# The import's body is text: one JSON object per line; a document's raw body is its bytes.
schemathesis.serializer.alias("application/x-ndjson", "text/plain")
schemathesis.serializer.alias(["application/pdf", "image/png", "image/jpeg", "image/webp"],
                              "application/octet-stream")
schema = schemathesis.openapi.from_dict(document(), config=schemathesis.Config.from_dict({
    "auth": {"openapi": {"apiKey": {"bearer": API_KEYS["demo"]}}},
    "generation": {"max-examples": EXAMPLES_PER_OPERATION, "database": "none"},
    "checks": {"positive_data_acceptance": {
        # Valid JSON may still be refused for what JSON Schema cannot state, each said in the
        # document: a reference to an item not stored, a session that ends before it starts,
        # a control character in a string; and a document's bytes that are none of the
        # allowed types (415), which only its content tells.
        "expected-statuses": ["2xx", "401", "404", "409", "415", "422"]}},
    # Text is text on the wire: a "body that is not a string" cannot be sent to the import.
    "operations": [{"include-operation-id": "bulk_import", "generation": {"mode": "positive"}}],
}))


def valid_id(value: Any) -> bool:
    try:
        ID.validate_python(value, strict=True)
    except ValidationError:
        return False
    return True


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: dict | None) -> Any:
    """Half of the time a valid id in the URL is that of a stored item (an invalid one stays:
    the case is meant to be refused)."""
    resource = context.operation.path.split("/")[3]
    if (resource not in STORED or not path_parameters
            or not valid_id(path_parameters.get("external_id"))):
        return st.just(path_parameters)
    return st.sampled_from([path_parameters,
                            path_parameters | {"external_id": STORED[resource]}])


@schema.hook
def flatmap_body(context: Any, body: Any) -> Any:
    """Half of the time each valid reference in a body names a stored item."""
    name = context.operation.path.split("/")[3]
    resource = RESOURCES.get(name)
    if not isinstance(body, dict) or (resource is None and name != "documents"):
        return st.just(body)
    targets = DOCUMENT_REFERENCES if resource is None else {
        field: RESOURCE_OF_MODEL[model] for field, model in resource.refs.items()}
    fields = [field for field in targets if valid_id(body.get(field))]
    swaps = st.fixed_dictionaries({
        field: st.sampled_from([body[field], STORED[targets[field]]]) for field in fields})
    return swaps.map(lambda chosen: body | chosen)


@pytest.fixture(scope="module", params=DATABASES)
def live_api(request, tmp_path_factory) -> Iterator[str]:
    """One server per database for the whole module, the sample graph stored in it."""
    if request.param == "postgres":
        database_url = request.getfixturevalue("postgres_ready")
        truncate_postgres(database_url)
    else:
        path = tmp_path_factory.mktemp("fuzz") / "widget.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        database_url = f"sqlite:///{path}"
    mailbox = Mailbox()
    mailbox.start()
    settings = Settings(
        database_url=database_url,
        secret_keys=("test-secret-new", "test-secret-old"),
        base_url="http://testserver",
        tenants_dir=DEMO_TENANTS,
        smtp_host="127.0.0.1",
        smtp_port=mailbox.port,
        smtp_tls="none",
        environ={f"WIDGET_API_KEY_{slug.upper().replace('-', '_')}": key
                 for slug, key in API_KEYS.items()},
    )
    try:
        with serving(create_app(settings)) as base_url:
            headers = {"Authorization": f"Bearer {API_KEYS['demo']}"}
            for resource, external_id, body in BASE:
                answer = httpx.put(f"{base_url}/api/v1/{resource}/{external_id}", json=body,
                                   headers=headers)
                assert answer.status_code == 201, answer.text
            for external_id, fields, (name, content) in DOCUMENTS:
                answer = httpx.put(f"{base_url}/api/v1/documents/{external_id}", data=fields,
                                   files={"file": (name, content)}, headers=headers)
                assert answer.status_code == 201, answer.text
            yield base_url
    finally:
        mailbox.stop()


@schema.parametrize()
def test_the_api_answers_as_its_document_says(case, live_api):
    case.call_and_validate(base_url=live_api)
