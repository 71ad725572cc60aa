"""Bulk import of newline-delimited JSON for initial loads.

Each line is `{"resource": "<name>", "item": {"id": "...", ...}}`. Lines are validated one by
one, each inside a savepoint so one bad line loses nothing else, and committed in batches; a
batch is atomic on SQLite too (its transaction is opened before the first savepoint).
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from widget_server.api.resources import RESOURCES
from widget_server.api.sync import RefResolver, upsert
from widget_server.core.db import begin_writing
from widget_server.core.errors import AppError, field_error

BATCH_SIZE = 500


def import_lines(session: Session, tenant: str, lines: Iterable[bytes | str],
                 batch_size: int | None = None) -> dict[str, Any]:
    """Upsert every good line; report each line's outcome by line number."""
    batch_size = batch_size or BATCH_SIZE
    resolver = RefResolver(session, tenant)
    results: list[dict[str, Any]] = []
    ok = failed = pending = 0
    begin_writing(session)
    for number, raw in enumerate(lines, start=1):
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
        if not text.strip():
            continue
        outcome = _import_line(session, tenant, text, resolver)
        outcome["line"] = number
        results.append(outcome)
        if outcome["status"] == "error":
            failed += 1
            continue
        ok += 1
        pending += 1
        if pending >= batch_size:
            session.commit()
            begin_writing(session)
            pending = 0
    session.commit()
    return {"imported": ok, "failed": failed, "results": results}


def _import_line(session: Session, tenant: str, text: str, resolver: RefResolver) -> dict:
    try:
        line = json.loads(text)
    except json.JSONDecodeError as exc:
        reason = f"malformed JSON: {exc.msg} at column {exc.colno}"
        return _error(None, None, [field_error([], reason)])
    if not isinstance(line, dict) or set(line) - {"resource", "item"}:
        return _error(None, None, [field_error([], 'expected {"resource": ..., "item": {...}}')])
    resource, item = line.get("resource"), line.get("item")
    if resource not in RESOURCES:
        return _error(resource, None, [field_error(["resource"], f"unknown resource {resource!r}")])
    if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
        return _error(resource, None, [field_error(["item", "id"], "required (the provider's id)")])
    external_id = item["id"]
    try:
        with session.begin_nested():
            _, created = upsert(session, tenant, resource, external_id, item, resolver,
                                read_back=False)
    except AppError as exc:
        resolver.forget(RESOURCES[resource].model, external_id)
        return _error(resource, external_id, _under_item(exc.errors) or
                      [field_error(["item"], exc.detail)])
    except IntegrityError:
        resolver.forget(RESOURCES[resource].model, external_id)
        return _error(resource, external_id, [field_error(["item"], "conflicts with stored data")])
    return {"status": "created" if created else "updated", "resource": resource, "id": external_id}


def _under_item(errors: list[dict]) -> list[dict]:
    return [field_error(["item", *e["path"]], e["reason"]) for e in errors]


def _error(resource: str | None, external_id: str | None, errors: list[dict]) -> dict:
    return {"status": "error", "resource": resource, "id": external_id, "errors": errors}
