"""The same hostile payloads against every widget form and every API write: NUL and other
control characters, 100 KB strings, invalid UTF-8 in the address, script tags, oversized bodies.
Each gets a clear 4xx and changes nothing stored; a script tag that is plain text where text
is taken is stored as text and shown as text, never run."""

from __future__ import annotations

import re

import pytest
from conftest import API_KEYS
from profile_support import SARAH, browser
from samples import BASE, DOCUMENTS, load_base, load_documents
from sqlalchemy import MetaData, select
from starlette.routing import Route

# What changes with every request whatever it carries (counters, sessions, the login probe).
BOOKKEEPING = {"rate_limit", "web_session", "alembic_version", "scheduler_lease"}
REFUSED = ["a\x00b", "a\x01b", "a\x7fb", "x" * 100_000]
SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def stored(engine) -> dict[str, list[tuple]]:
    """Every row of every table but the bookkeeping ones."""
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as db:
        return {name: sorted(map(tuple, db.execute(select(table)).all()), key=repr)
                for name, table in meta.tables.items() if name not in BOOKKEEPING}


def widget_forms(app) -> list[str]:
    """The address of every widget form (POST route), the demo tenant's, other ids "x"."""
    paths = []
    for route in app.routes:
        if isinstance(route, Route) and route.path.startswith("/t/{tenant}") \
                and "POST" in (route.methods or ()):
            values = {name: "x" for name in route.param_convertors} | {"tenant": "demo"}
            paths.append(re.sub(r"\{([^}:]+)[^}]*\}", lambda m, v=values: v[m.group(1)],
                                route.path))
    return paths


def test_every_widget_form_refuses_every_hostile_payload_and_nothing_changes(demo, mailbox):
    sarah = browser(demo, mailbox, SARAH)
    before = stored(demo.state.engine)
    forms = widget_forms(demo)
    assert len(forms) > 20
    for path in forms:
        for payload in REFUSED:
            sarah.open("account")  # a fresh, valid form token: only the payload is wrong
            data = {"csrf_token": sarah.csrf, "name": payload, "email": payload,
                    "phone": payload, "reason": payload, "code": payload}
            answer = sarah.client.post(path, data=data, follow_redirects=False)
            assert 400 <= answer.status_code < 500, (path, payload[:8], answer.status_code)
            assert "<h1" in answer.text  # a page that says what happened, not a bare status
    assert stored(demo.state.engine) == before


def test_invalid_utf8_in_any_widget_or_api_address_is_a_clear_4xx(demo, mailbox, client):
    sarah = browser(demo, mailbox, SARAH)
    api = {"Authorization": f"Bearer {API_KEYS['demo']}"}
    for path in ("/t/demo/bookings/%FF%FE", "/t/demo/payments/%C3%28", "/t/demo/makeups/%80",
                 "/t/demo/login?email=%FF"):
        assert 400 <= sarah.client.get(path).status_code < 500, path
    for method in ("GET", "PUT", "DELETE"):
        answer = client.request(method, "/api/v1/clients/%FF%FE", headers=api, json={})
        assert answer.status_code in (400, 404, 422), (method, answer.status_code)
        assert answer.headers["content-type"] == "application/problem+json"


def api_writes() -> list[tuple[str, str, dict, str]]:
    """(resource, id, body, field) for every top-level text field of every sample body."""
    return [(resource, external_id, body, name) for resource, external_id, body in BASE
            for name, value in body.items() if isinstance(value, str) and name != "id"]


def test_every_api_write_refuses_every_hostile_payload_and_nothing_changes(app, api):
    load_base(api)
    before = stored(app.state.engine)
    for resource, external_id, body, name in api_writes():
        for payload in REFUSED:
            answer = api.put(resource, external_id, body | {name: payload})
            assert answer.status_code in (400, 413, 422), \
                (resource, name, payload[:8], answer.status_code, answer.text[:200])
            assert answer.json()["detail"]  # says what is wrong
        big = api.put(resource, external_id, body | {name: "x" * 2_000_000})
        assert big.status_code == 413, (resource, big.status_code)
    assert stored(app.state.engine) == before
    lines = "\n".join(f'{{"resource": "clients", "item": {{"id": "c1", "name": {p!r}}}}}'
                      .replace("'", '"') for p in ("a\\u0000b", "x" * 100_000))
    report = api.import_ndjson(lines).json()
    assert report["imported"] == 0 and report["failed"] == 2
    assert stored(app.state.engine) == before


def test_every_document_field_refuses_every_hostile_payload_and_nothing_changes(app, api):
    load_base(api)
    load_documents(api)
    before = stored(app.state.engine)
    for external_id, fields, (name, content) in DOCUMENTS:
        for field in [*fields, "filename"]:
            for payload in REFUSED:
                changed = fields | {field: payload}
                as_form = api.client.put(f"/api/v1/documents/{external_id}", data=changed,
                                         files={"file": (name, content)}, headers=api.headers)
                # An address holds at most 64 KB: the long payload is cut to 10,000 there.
                raw = api.client.put(f"/api/v1/documents/{external_id}", params=changed | {
                    field: payload[:10_000]}, content=content, headers=api.headers)
                for answer in (as_form, raw):
                    assert answer.status_code in (400, 413, 422), \
                        (field, payload[:8], answer.status_code, answer.text[:200])
                    assert answer.json()["detail"]  # says what is wrong
    assert stored(app.state.engine) == before


@pytest.mark.parametrize("where", ["api", "account form"])
def test_a_script_tag_is_only_ever_text(demo, mailbox, api, where):
    sarah = browser(demo, mailbox, SARAH)
    if where == "api":
        client = next(b for r, i, b in BASE if r == "clients")
        assert api.put("clients", "script-client", client | {
            "email": SARAH, "name": SCRIPT}).status_code in (200, 201, 409, 422)
    sarah.open("account")
    answer = sarah.post("account/details", {"name": SCRIPT, "phone": ""})
    assert answer.status_code in (303, 400, 422)
    for page in ("", "account"):
        html = sarah.open(page).text
        assert "<script>alert" not in html and "onerror=alert" not in html.replace(
            "onerror=alert(1)&gt;", "")
        if answer.status_code == 303:
            assert "&lt;script&gt;alert(" in html
