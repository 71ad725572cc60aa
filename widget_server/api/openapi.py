"""The OpenAPI 3.1 document of the sync API, generated from the very schemas that validate.

What JSON Schema cannot say (a session ends after it starts, references name stored items, a
reused Idempotency-Key) is said in descriptions, and the answers each operation can give are
listed in full: `tests/api/test_schemathesis.py` holds the running API to this document.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import models_json_schema

from widget_server import __version__
from widget_server.api.documents import DocumentIn, DocumentOut
from widget_server.api.fields import ExternalId
from widget_server.api.resources import RESOURCES, Resource
from widget_server.core.storage import ALLOWED_TYPES

REF = "#/components/schemas/{model}"
PROBLEM = {"application/problem+json": {"schema": {"$ref": REF.format(model="Problem")}}}

DESCRIPTION = """\
Every item is keyed by the provider's own id. Fields ending in `_id` hold the provider's id of
another item, which must already be stored (else 422). Unknown fields are refused, and so are
control characters in any string (tab and line breaks are allowed in free text). Every error
answers `application/problem+json` with the path of each bad field. Bodies larger than the
server's limit (1 MB by default, 200 MB for imports, 10 MB for a document's file) answer 413.
Documents are uploaded as files, not JSON (see `PUT /api/v1/documents/{external_id}`)."""

# Rules between fields that JSON Schema cannot state; the validators in `resources` enforce them.
CROSS_FIELD_RULES = {
    ("SessionIn", "ends_at"): "Must be after `starts_at`: a session ends after it starts.",
    ("ProgrammeIn", "max_age"): "Not below `min_age`.",
    ("EntryPassIn", "used_entries"): "At most `total_entries`.",
}

CURSOR_PATTERN = "^[A-Za-z0-9_-]*$"
CURSOR = {
    "name": "cursor", "in": "query", "required": False,
    "description": "Where the page starts: the `next_cursor` of the previous page, passed back "
                   "unchanged (URL-safe base64 of the last item's position, without padding). "
                   "Leave it out, or empty, for the first page; a cursor this API did not give "
                   "answers 422.",
    "schema": {"type": "string", "pattern": CURSOR_PATTERN},
}
LIMIT = {"name": "limit", "in": "query", "required": False,
         "description": "Items per page; a value outside 1 to 1000 answers 422.",
         "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "A retry with the same key, method, path and body gets the first answer "
                   "again; the same key with another method, path or body answers 422.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}

BAD_ADDRESS = "The address (path or query) is not UTF-8 or holds a control character"
NOT_JSON = ("Malformed JSON: the body is not JSON, or holds an unpaired UTF-16 surrogate "
            "escape; or the address is not UTF-8 or holds a control character")
TOO_LARGE = "The body is larger than the server's limit"
INVALID = "Validation failed; each error names its field"
WRITE_INVALID = INVALID + ", or the Idempotency-Key was used before with another request"


def _problem() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["status", "title", "detail"],
        "properties": {
            "status": {"type": "integer"},
            "title": {"type": "string"},
            "detail": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["field", "path", "reason"],
                    "properties": {
                        "field": {"type": "string",
                                  "description": "Dotted path, e.g. items.0.name"},
                        "path": {"type": "array", "items": {"type": ["string", "integer"]}},
                        "reason": {"type": "string"},
                    },
                },
            },
        },
    }


def _answers(ok: dict[str, Any], problems: dict[str, str]) -> dict[str, Any]:
    """The operation's good answers, its problems, and the 400 and 401 every operation has."""
    answers = ok | {status: {"description": text, "content": PROBLEM}
                    for status, text in ({"400": BAD_ADDRESS} | problems).items()}
    answers["401"] = {"description": "Missing or wrong API key", "content": PROBLEM,
                      "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}}}
    return dict(sorted(answers.items()))


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _page(item: dict[str, Any]) -> dict[str, Any]:
    return _json("One page", {
        "type": "object", "required": ["items", "next_cursor"],
        "properties": {"items": {"type": "array", "items": item},
                       "next_cursor": {"type": ["string", "null"], "pattern": CURSOR_PATTERN,
                                       "description": "The next page's cursor; null on the "
                                                      "last page"}}})


def _filter(name: str, values: tuple[str, ...]) -> dict[str, Any]:
    """A list's `?name=a,b` query parameter."""
    one = "|".join(values)
    return {"name": name, "in": "query", "required": False,
            "description": f"Only the items whose `{name}` is one of these, separated by commas "
                           f"(e.g. `{values[0]},{values[-1]}`); any other value answers 422. "
                           "Send it again with each page's `cursor`.",
            "schema": {"type": "string", "pattern": f"^({one})(,({one}))*$"}}


def _resource_paths(resource: Resource, refs: dict[Any, Any],
                    id_param: dict[str, Any]) -> dict[str, Any]:
    name, ref = resource.name, refs[(resource.schema, "validation")]
    item = {"allOf": [refs[(resource.read_schema, "validation")],
                      {"type": "object", "required": ["id"]}]}
    operation = name.replace("-", "_")
    *others, last = ["limit", "cursor", *resource.filters]
    conflict = {"409": resource.replace_rule.conflict} if resource.replace_rule else {}
    return {
        f"/api/v1/{name}": {"get": {
            "summary": f"List {name}", "operationId": f"list_{operation}",
            "parameters": [LIMIT, CURSOR, *(_filter(column, values)
                                            for column, values in resource.filters.items())],
            "responses": _answers({"200": _page(item)},
                                  {"422": f"Invalid {', '.join(others)} or {last}"}),
        }},
        f"/api/v1/{name}/{{external_id}}": {
            "parameters": [id_param],
            "get": {"summary": f"Read one of {name}", "operationId": f"get_{operation}",
                    "responses": _answers({"200": _json("The item", item)},
                                          {"404": "No such item", "422": "Invalid id"})},
            "put": {"summary": f"Create or replace one of {name}",
                    "operationId": f"put_{operation}",
                    "parameters": [IDEMPOTENCY_KEY],
                    "requestBody": {"required": True,
                                    "content": {"application/json": {"schema": ref}}},
                    "responses": _answers(
                        {"200": _json("Replaced", item), "201": _json("Created", item)},
                        {"400": NOT_JSON, "413": TOO_LARGE, "422": WRITE_INVALID} | conflict)},
            "delete": {"summary": f"Delete one of {name}",
                       "operationId": f"delete_{operation}",
                       "parameters": [IDEMPOTENCY_KEY],
                       "responses": _answers({"204": {"description": "Deleted"}}, {
                           "404": "No such item",
                           "409": "Still referenced by other items; delete or re-point those",
                           "422": "Invalid id, or the Idempotency-Key was used before with "
                                  "another request"})},
        },
    }


def _schemas() -> tuple[dict[Any, Any], dict[str, Any]]:
    """Each resource's reference and every schema, with the rules between fields described."""
    models = [(r.schema, "validation") for r in RESOURCES.values()]
    models += [(r.output, "validation") for r in RESOURCES.values() if r.output]
    models += [(DocumentIn, "validation"), (DocumentOut, "serialization")]
    refs, defs = models_json_schema(models, ref_template=REF)
    schemas = dict(defs.get("$defs", {}))
    for (model, field), rule in CROSS_FIELD_RULES.items():
        schemas[model]["properties"][field]["description"] = rule
    schemas["Problem"] = _problem()
    return refs, schemas


DOCUMENT_UPLOAD = """\
The file itself, never JSON: either `multipart/form-data` with the file in a part named `file`
(its filename is the default `filename`) and the fields as form fields or query parameters (not
both), or the raw file as the body with the fields as query parameters. `title` and `audience`
are required; the audience's own reference (`client_id`, `attendee_id` or `programme_id`) is
required and the others refused; every reference must be stored. The content decides the type,
not the name or the declared Content-Type: PDF, PNG, JPEG, WebP or plain UTF-8 text (no control
characters but tab and line breaks, no markup); anything else answers 415. Files larger than the
server's limit (`WIDGET_MAX_DOCUMENT_BYTES`, 10 MB by default) answer 413 as soon as the limit is
passed. A refused upload stores nothing; a replaced file's old bytes are dropped."""


def _document_paths(upload: dict[str, Any], item: dict[str, Any],
                    id_param: dict[str, Any]) -> dict[str, Any]:
    """The documents: read, listed and deleted like the other resources, written as files."""
    text = {"type": "string", "minLength": 1, "maxLength": 200}
    reference = TypeAdapter(ExternalId).json_schema()
    fields = {"title": text, "filename": text,
              "audience": {"type": "string", "enum": ["client", "attendee", "programme",
                                                      "tenant"]},
              "client_id": reference, "attendee_id": reference, "programme_id": reference,
              "published_at": {"type": "string", "format": "date-time"}}
    # An address never holds a control character (400), not even a tab or a line break.
    plain = {"pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"}
    query = [{"name": name, "in": "query", "required": False,
              "schema": schema | plain if schema is text else schema,
              "description": "See the request body's fields"} for name, schema in fields.items()]
    binary = {"type": "string", "format": "binary"}
    form = {"type": "object", "required": ["file"], "additionalProperties": False,
            "properties": fields | {"file": binary}}
    raw = {media: {"schema": binary} for media in (*ALLOWED_TYPES, "application/octet-stream")}
    return {
        "/api/v1/documents": {"get": {
            "summary": "List documents", "operationId": "list_documents",
            "parameters": [LIMIT, CURSOR],
            "responses": _answers({"200": _page(item)}, {"422": "Invalid limit or cursor"}),
        }},
        "/api/v1/documents/{external_id}": {
            "parameters": [id_param],
            "get": {"summary": "Read one document's metadata", "operationId": "get_documents",
                    "responses": _answers({"200": _json("The document", item)},
                                          {"404": "No such item", "422": "Invalid id"})},
            "put": {"summary": "Upload (create or replace) one document",
                    "description": DOCUMENT_UPLOAD + f"\n\nThe fields: see `{upload['$ref']}`.",
                    "operationId": "put_documents",
                    "parameters": [*query, IDEMPOTENCY_KEY],
                    "requestBody": {"required": True, "content": {
                        "multipart/form-data": {"schema": form}, **raw}},
                    "responses": _answers(
                        {"200": _json("Replaced", item), "201": _json("Created", item)},
                        {"400": BAD_ADDRESS + "; or the multipart body could not be read",
                         "413": "The file is larger than the server's limit",
                         "415": "The content is not a PDF, PNG, JPEG, WebP or plain-text file, "
                                "or the body is JSON",
                         "422": WRITE_INVALID + "; or the file is missing or empty"})},
            "delete": {"summary": "Delete one document and its file",
                       "operationId": "delete_documents",
                       "parameters": [IDEMPOTENCY_KEY],
                       "responses": _answers({"204": {"description": "Deleted"}}, {
                           "404": "No such item",
                           "422": "Invalid id, or the Idempotency-Key was used before with "
                                  "another request"})},
        },
    }


SWITCH = {"type": "object", "description": (
    "A family's change of a booking's class for the rest of the term. `sessions` lists the "
    "places that moved, or would move when confirmed: attendance, from session, to session "
    "(provider ids). `price_difference` is for the rest of the term, in minor units (shown to "
    "the family, not charged)."),
    "required": ["id", "status", "booking_id", "attendee_id", "from_programme_id",
                 "to_programme_id", "sessions", "price_difference", "currency", "requested_by",
                 "requested_at", "decided_at", "message"],
    "properties": {
        "id": {"type": "string"},
        "status": {"enum": ["requested", "switched", "declined", "cancelled"]},
        "booking_id": {"type": "string"}, "attendee_id": {"type": "string"},
        "from_programme_id": {"type": "string"}, "to_programme_id": {"type": "string"},
        "sessions": {"type": "array", "items": {"type": "object", "properties": {
            "attendance_id": {"type": ["string", "null"]},
            "from_session_id": {"type": ["string", "null"]},
            "to_session_id": {"type": ["string", "null"]}}}},
        "price_difference": {"type": ["integer", "null"]},
        "currency": {"type": ["string", "null"]},
        "requested_by": {"type": ["string", "null"]},
        "requested_at": {"type": "string", "format": "date-time"},
        "decided_at": {"type": ["string", "null"], "format": "date-time"},
        "message": {"type": ["string", "null"]}}}
SWITCH_ID = {"name": "switch_id", "in": "path", "required": True,
             "description": "The change's id, as the booking.switch_requested webhook gave it",
             "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"}}
SWITCH_CONFLICT = ("The change was already answered or taken back, or (confirm) the class has "
                   "no free place left in every session the booking would move to; nothing "
                   "moved")


def _switch_paths() -> dict[str, Any]:
    """Class changes: the portal makes them; the provider lists, confirms or declines."""
    one = _json("The change", SWITCH)
    return {
        "/api/v1/switches": {"get": {
            "summary": "Class changes, oldest first",
            "description": "`?status=requested` lists those waiting for the provider.",
            "operationId": "list_switches",
            "parameters": [LIMIT, CURSOR, {
                "name": "status", "in": "query", "required": False,
                "schema": {"enum": ["requested", "switched", "declined", "cancelled"]}}],
            "responses": _answers({"200": _page(SWITCH)},
                                  {"422": "Invalid limit, cursor or status"})}},
        "/api/v1/switches/{switch_id}": {"get": {
            "summary": "One class change", "operationId": "get_switch",
            "parameters": [SWITCH_ID],
            "responses": _answers({"200": one}, {"404": "No such change",
                                                 "422": "Invalid id"})}},
        "/api/v1/switches/{switch_id}/confirm": {"post": {
            "summary": "Confirm a requested change: the places move now",
            "description": "Checked against capacity now, all places or none.",
            "operationId": "confirm_switch", "parameters": [SWITCH_ID, IDEMPOTENCY_KEY],
            "responses": _answers({"200": one}, {
                "404": "No such change", "409": SWITCH_CONFLICT,
                "413": TOO_LARGE, "422": "Invalid id or Idempotency-Key"})}},
        "/api/v1/switches/{switch_id}/decline": {"post": {
            "summary": "Decline a requested change, with a message for the family",
            "operationId": "decline_switch", "parameters": [SWITCH_ID, IDEMPOTENCY_KEY],
            "requestBody": {"required": False, "content": {"application/json": {"schema": {
                "type": "object", "additionalProperties": False,
                "properties": {"message": {"type": ["string", "null"], "maxLength": 500}}}}}},
            "responses": _answers({"200": one}, {
                "404": "No such change", "409": SWITCH_CONFLICT, "413": TOO_LARGE,
                "422": "Invalid id, body or Idempotency-Key"})}},
    }


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    """Build the document once; it only depends on the code."""
    refs, schemas = _schemas()
    id_param = {"name": "external_id", "in": "path", "required": True,
                "description": "The provider's own id",
                "schema": TypeAdapter(ExternalId).json_schema()}
    paths: dict[str, Any] = {}
    for resource in RESOURCES.values():
        paths |= _resource_paths(resource, refs, id_param)
    paths |= _document_paths(refs[(DocumentIn, "validation")],
                             refs[(DocumentOut, "serialization")], id_param)
    paths["/api/v1/import"] = {"post": {
        "summary": "Bulk import newline-delimited JSON",
        "description": 'One line per item: {"resource": "clients", "item": {"id": ...}}. '
                       "Good lines are kept; every other non-blank line is reported with its "
                       "line number and field. Blank lines are skipped.",
        "operationId": "bulk_import",
        "requestBody": {"required": True, "content": {"application/x-ndjson": {"schema": {
            "type": "string", "pattern": "[^ \\t\\n\\r\\f\\v]",
            "description": "At least one non-blank line"}}}},
        "responses": _answers({"200": _json("One result per non-blank line", {
            "type": "object", "required": ["imported", "failed", "results"],
            "properties": {"imported": {"type": "integer"}, "failed": {"type": "integer"},
                           "results": {"type": "array", "items": {
                               "type": "object", "required": ["status", "line"]}}}})},
            {"400": "The body is empty or blank; " + BAD_ADDRESS, "413": TOO_LARGE}),
    }}
    paths["/api/v1/profile-url"] = {"get": {
        "summary": "WIDGET_PROFILE_URL for one client",
        "description": "The URL a provider's own e-mail should link to; it carries a signed "
                       "hint that pre-fills the login form (never a login by itself).",
        "operationId": "profile_url",
        "parameters": [{"name": "email", "in": "query", "required": True,
                        "schema": {"type": "string", "format": "email"}}],
        "responses": _answers(
            {"200": _json("The URL", {"type": "object", "required": ["email", "url"],
                                      "properties": {"email": {"type": "string"},
                                                     "url": {"type": "string"}}})},
            {"404": "No client or shared booking with this e-mail address",
             "422": "No e-mail address given"}),
    }}
    delivery = {"type": "object", "description": "A webhook event and how its delivery went"}
    paths["/api/v1/webhook-deliveries"] = {"get": {
        "summary": "Webhook deliveries, newest first",
        "operationId": "list_webhook_deliveries",
        "parameters": [LIMIT, CURSOR],
        "responses": _answers({"200": _page(delivery)}, {"422": "Invalid limit or cursor"}),
    }}
    paths["/api/v1/webhook-deliveries/{webhook_id}"] = {"get": {
        "summary": "One webhook delivery",
        "operationId": "get_webhook_delivery",
        "parameters": [{"name": "webhook_id", "in": "path", "required": True,
                        "description": "The webhook-id header of the delivery",
                        "schema": {"type": "string", "pattern": "^[A-Za-z0-9_]{1,64}$"}}],
        "responses": _answers({"200": _json("The delivery", delivery)},
                              {"404": "No such delivery", "422": "Invalid webhook-id"}),
    }}
    paths |= _switch_paths()
    return {
        "openapi": "3.1.0",
        "info": {"title": "Client Profile provider sync API", "version": __version__,
                 "description": DESCRIPTION},
        "components": {
            "schemas": schemas,
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"apiKey": []}],
        "paths": paths,
    }
