"""Tenants never see each other: one provider's key never reaches another's data."""

from __future__ import annotations

import pytest
from samples import BASE, FRESH, load_base


@pytest.mark.parametrize("resource,external_id", [(r, i) for r, i, _ in BASE])
def test_other_tenants_key_gets_404_on_every_item(api, resource, external_id):
    load_base(api)
    intruder = api.as_tenant("demo-sk")
    assert intruder.get(resource, external_id).status_code == 404
    assert intruder.delete(resource, external_id).status_code == 404
    assert intruder.get(resource).json()["items"] == []
    assert api.get(resource, external_id).status_code == 200


@pytest.mark.parametrize("resource", [r for r in FRESH if r != "clients" and r != "programmes"])
def test_references_cannot_point_into_another_tenant(api, resource):
    load_base(api)
    external_id, body, _ = FRESH[resource]
    response = api.as_tenant("demo-sk").put(resource, external_id, body)
    assert response.status_code == 422
    assert all(e["reason"].startswith("no ") for e in response.json()["errors"])


def test_same_provider_ids_in_two_tenants_are_separate_rows(api):
    api.put("clients", "c1", {"email": "a@example.com", "name": "Demo parent"})
    other = api.as_tenant("demo-sk")
    other.put("clients", "c1", {"email": "a@example.com", "name": "Rodič"})
    assert api.get("clients", "c1").json()["name"] == "Demo parent"
    assert other.get("clients", "c1").json()["name"] == "Rodič"
    other.delete("clients", "c1")
    assert api.get("clients", "c1").status_code == 200
