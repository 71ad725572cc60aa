"""Every answer carries the security headers and says what the HTTP standard asks of its
status: a server error and a refused cross-site post too, a 401 how to authenticate, a 405
which methods there are."""

from __future__ import annotations

import importlib

import pytest
from conftest import API_KEYS
from starlette.testclient import TestClient

SECURITY = ("content-security-policy", "x-content-type-options", "referrer-policy",
            "cache-control")


def has_security_headers(response) -> bool:
    return all(name in response.headers for name in SECURITY) \
        and response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("module, name, path, framing", [
    # The API's pages are never framed; the widget's may be, by its provider's site.
    ("widget_server.api.views", "document", "/api/v1/openapi.json", "frame-ancestors 'none'"),
    ("widget_server.auth.views", "hinted_email", "/t/demo/login",
     "https://www.splashswim.example"),
])
def test_a_server_error_has_the_security_headers_and_the_right_framing(
        app, monkeypatch, module, name, path, framing):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(importlib.import_module(module), name, broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get(path)
    assert response.status_code == 500
    assert has_security_headers(response)
    assert framing in response.headers["content-security-policy"]


def test_a_refused_cross_site_post_has_the_security_headers(client):
    response = client.post("/t/demo/login", data={"email": "a@example.com"},
                           headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403
    assert has_security_headers(response)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"},
                                     {"Authorization": "Basic abc"}])
def test_an_api_call_without_a_good_key_is_told_to_use_a_bearer_token(client, headers):
    response = client.get("/api/v1/clients", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert has_security_headers(response)


def test_a_wrong_method_is_told_which_methods_there_are(client):
    api = {"Authorization": f"Bearer {API_KEYS['demo']}"}
    for method, path, allowed in (("GET", "/api/v1/import", "POST"),
                                  ("PUT", "/api/v1/import", "POST"),
                                  ("DELETE", "/t/demo/login", "GET"),
                                  ("PATCH", "/api/v1/clients/c1", None)):
        response = client.request(method, path, headers=api)
        assert response.status_code == 405, (method, path, response.text)
        if allowed:
            assert allowed in response.headers["allow"], (method, path)
        else:
            assert response.headers["allow"]
        assert has_security_headers(response)
