"""Initial loads arrive as newline-delimited JSON; good lines are kept, bad ones explained."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from conftest import Api
from samples import BASE
from sqlalchemy import event
from sqlmodel import Session, select
from starlette.testclient import TestClient

from widget_server.app import create_app
from widget_server.core.db import session_scope
from widget_server.core.models import Client


def ndjson(*lines) -> str:
    return "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"


def test_every_resource_imports_in_one_go(api):
    body = ndjson(*[{"resource": r, "item": {"id": i, **b}} for r, i, b in BASE])
    report = api.import_ndjson(body).json()
    assert report["imported"] == len(BASE)
    assert report["failed"] == 0
    for resource, external_id, _ in BASE:
        assert api.get(resource, external_id).status_code == 200
    again = api.import_ndjson(body).json()
    assert {r["status"] for r in again["results"]} == {"updated"}
    assert len(api.get("clients").json()["items"]) == 1


def test_mixed_good_and_bad_lines(api):
    body = ndjson(
        {"resource": "clients", "item": {"id": "c1", "email": "a@example.com", "name": "A"}},
        "{broken json",
        {"resource": "clients", "item": {"id": "c2", "email": "not-an-email", "name": "B"}},
        {"resource": "gadgets", "item": {"id": "g1"}},
        {"resource": "attendees", "item": {"id": "a1", "client_id": "c1", "name": "Kid"}},
        {"resource": "attendees", "item": {"id": "a2", "client_id": "ghost", "name": "Kid"}},
        {"resource": "clients", "item": {"email": "x@example.com", "name": "No id"}},
        {"resource": "clients", "item": {"id": "c3", "email": "a@example.com", "name": "Dup"}},
        {"resource": "clients", "item": {"id": "c4", "email": "d@example.com", "name": "D"}},
    )
    response = api.import_ndjson(body)
    assert response.status_code == 200
    report = response.json()
    assert report["imported"] == 3
    assert report["failed"] == 6
    by_line = {r["line"]: r for r in report["results"]}
    assert by_line[1]["status"] == "created"
    assert "malformed JSON" in by_line[2]["errors"][0]["reason"]
    assert by_line[3]["errors"][0]["field"] == "item.email"
    assert by_line[4]["errors"][0] == {"field": "resource", "path": ["resource"],
                                       "reason": "unknown resource 'gadgets'"}
    assert by_line[5]["status"] == "created"
    assert by_line[6]["errors"][0]["field"] == "item.client_id"
    assert by_line[7]["errors"][0]["field"] == "item.id"
    assert by_line[8]["errors"][0]["reason"] == "already used by client 'c1'"
    assert by_line[9]["status"] == "created"
    ids = [c["id"] for c in api.get("clients").json()["items"]]
    assert ids == ["c1", "c4"]


def test_batches_commit_as_they_go(settings, monkeypatch):
    import widget_server.api.bulk_import as bulk

    # No outbox sender in this app, so every commit counted is the import's own.
    app = create_app(replace(settings, send_in_process=False))
    api = Api(TestClient(app))
    commits = []
    event.listen(app.state.engine, "commit", lambda connection: commits.append(1))
    monkeypatch.setattr(bulk, "BATCH_SIZE", 2)
    lines = [{"resource": "clients", "item": {"id": f"c{n}", "email": f"p{n}@example.com",
                                              "name": f"P{n}"}} for n in range(5)]
    report = api.import_ndjson(ndjson(*lines)).json()
    assert report["imported"] == 5
    assert len(commits) == 3  # 2 + 2 + 1
    assert len(api.get("clients").json()["items"]) == 5


def test_import_is_scoped_to_the_key_tenant(api):
    api.import_ndjson(ndjson({"resource": "clients",
                              "item": {"id": "c1", "email": "a@example.com", "name": "A"}}))
    assert api.as_tenant("demo-sk").get("clients", "c1").status_code == 404


def test_import_requires_a_key(client):
    assert client.post("/api/v1/import", content=b"{}").status_code == 401


@pytest.mark.postgres
def test_a_batch_that_fails_leaves_no_row_of_it(app, monkeypatch):
    """A batch is all or nothing on every database: when the server fails in the middle of
    one (here: the database goes away on its second line), the lines before it in that batch
    are not kept, while the batches already committed are."""
    import widget_server.api.bulk_import as bulk

    monkeypatch.setattr(bulk, "BATCH_SIZE", 3)
    real_upsert = bulk.upsert

    def failing_upsert(session, tenant, resource, external_id, *args, **kwargs):
        if external_id == "c4":
            raise RuntimeError("the database went away")
        return real_upsert(session, tenant, resource, external_id, *args, **kwargs)

    monkeypatch.setattr(bulk, "upsert", failing_upsert)
    lines = [json.dumps({"resource": "clients", "item": {
        "id": f"c{n}", "email": f"p{n}@example.com", "name": f"P{n}"}}) for n in range(6)]
    with pytest.raises(RuntimeError), session_scope(app.state.engine) as session:
        bulk.import_lines(session, "demo", lines)
    with Session(app.state.engine) as session:
        stored = set(session.exec(select(Client.external_id).where(Client.tenant == "demo")))
    assert stored == {"c0", "c1", "c2"}
