"""The OpenAPI 3.1 document of the sync API, generated from the very schemas that validate."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic.json_schema import models_json_schema

from widget_server import __version__
from widget_server.api.resources import RESOURCES

REF = "#/components/schemas/{model}"


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


def _responses(ok: dict[str, Any]) -> dict[str, Any]:
    problem = {"application/problem+json": {"schema": {"$ref": REF.format(model="Problem")}}}
    return ok | {
        "401": {"description": "Missing or wrong API key", "content": problem},
        "404": {"description": "No such resource or item", "content": problem},
        "422": {"description": "Validation failed; each error names its field", "content": problem},
    }


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    """Build the document once; it only depends on the code."""
    models = [(r.schema, "validation") for r in RESOURCES.values()]
    refs, defs = models_json_schema(models, ref_template=REF)
    schemas = dict(defs.get("$defs", {}))
    schemas["Problem"] = _problem()
    id_param = {"name": "external_id", "in": "path", "required": True,
                "description": "The provider's own id", "schema": {"type": "string"}}
    key_header = {"name": "Idempotency-Key", "in": "header", "required": False,
                  "schema": {"type": "string", "maxLength": 255},
                  "description": "A retry with the same key and body gets the same answer"}
    paths: dict[str, Any] = {}
    for name, resource in RESOURCES.items():
        ref = refs[(resource.schema, "validation")]
        item = {"allOf": [ref, {"type": "object", "required": ["id"]}]}
        paths[f"/api/v1/{name}"] = {
            "get": {
                "summary": f"List {name}",
                "operationId": f"list_{name.replace('-', '_')}",
                "parameters": [
                    {"name": "limit", "in": "query",
                     "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
                    {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": _responses({"200": {"description": "One page", "content": {
                    "application/json": {"schema": {
                        "type": "object", "required": ["items", "next_cursor"],
                        "properties": {"items": {"type": "array", "items": item},
                                       "next_cursor": {"type": ["string", "null"]}}}}}}}),
            }
        }
        paths[f"/api/v1/{name}/{{external_id}}"] = {
            "parameters": [id_param],
            "get": {"summary": f"Read one of {name}",
                    "operationId": f"get_{name.replace('-', '_')}",
                    "responses": _responses({"200": {"description": "The item", "content": {
                        "application/json": {"schema": item}}}})},
            "put": {"summary": f"Create or replace one of {name}",
                    "operationId": f"put_{name.replace('-', '_')}",
                    "parameters": [key_header],
                    "requestBody": {"required": True,
                                    "content": {"application/json": {"schema": ref}}},
                    "responses": _responses({
                        "200": {"description": "Replaced", "content": {
                            "application/json": {"schema": item}}},
                        "201": {"description": "Created", "content": {
                            "application/json": {"schema": item}}}})},
            "delete": {"summary": f"Delete one of {name}",
                       "operationId": f"delete_{name.replace('-', '_')}",
                       "parameters": [key_header],
                       "responses": _responses({
                           "204": {"description": "Deleted"},
                           "409": {"description": "Still referenced by other items"}})},
        }
    paths["/api/v1/import"] = {
        "post": {
            "summary": "Bulk import newline-delimited JSON",
            "description": 'One line per item: {"resource": "clients", "item": {"id": ...}}. '
                           "Good lines are kept; bad ones are reported with line number and field.",
            "operationId": "bulk_import",
            "requestBody": {"required": True, "content": {
                "application/x-ndjson": {"schema": {"type": "string"}}}},
            "responses": _responses({"200": {"description": "Per-line results", "content": {
                "application/json": {"schema": {"type": "object", "properties": {
                    "imported": {"type": "integer"}, "failed": {"type": "integer"},
                    "results": {"type": "array", "items": {"type": "object"}}}}}}}}),
        }
    }
    paths["/api/v1/profile-url"] = {
        "get": {
            "summary": "WIDGET_PROFILE_URL for one client",
            "description": "The URL a provider's own e-mail should link to; it carries a signed "
                           "hint that pre-fills the login form (never a login by itself).",
            "operationId": "profile_url",
            "parameters": [{"name": "email", "in": "query", "required": True,
                            "schema": {"type": "string", "format": "email"}}],
            "responses": _responses({"200": {"description": "The URL", "content": {
                "application/json": {"schema": {"type": "object", "properties": {
                    "email": {"type": "string"}, "url": {"type": "string"}}}}}}}),
        }
    }
    delivery = {"type": "object", "description": "A webhook event and how its delivery went"}
    paths["/api/v1/webhook-deliveries"] = {
        "get": {
            "summary": "Webhook deliveries, newest first",
            "operationId": "list_webhook_deliveries",
            "parameters": [
                {"name": "limit", "in": "query",
                 "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
                {"name": "cursor", "in": "query", "schema": {"type": "string"}},
            ],
            "responses": _responses({"200": {"description": "One page", "content": {
                "application/json": {"schema": {"type": "object", "properties": {
                    "items": {"type": "array", "items": delivery},
                    "next_cursor": {"type": ["string", "null"]}}}}}}}),
        }
    }
    paths["/api/v1/webhook-deliveries/{webhook_id}"] = {
        "get": {
            "summary": "One webhook delivery",
            "operationId": "get_webhook_delivery",
            "parameters": [{"name": "webhook_id", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "responses": _responses({"200": {"description": "The delivery", "content": {
                "application/json": {"schema": delivery}}}}),
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Client Profile provider sync API", "version": __version__},
        "components": {
            "schemas": schemas,
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"apiKey": []}],
        "paths": paths,
    }
