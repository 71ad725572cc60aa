"""Initial loads arrive as newline-delimited JSON; good lines are kept, bad ones explained."""

from __future__ import annotations

import json
from dataclasses import replace

from conftest import Api
from samples import BASE
from sqlalchemy import event
from starlette.testclient import TestClient

from widget_server.app import create_app


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
