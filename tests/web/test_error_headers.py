"""Every answer carries the security headers and says what the HTTP standard asks of its
status: a server error and a refused cross-site post too, a 401 how to authenticate, a 405
which methods there are."""

from __future__ import annotations

import pytest
from conftest import API_KEYS
from starlette.testclient import TestClient

from widget_server.api import views as api_views

SECURITY = ("content-security-policy", "x-content-type-options", "referrer-policy",
            "cache-control")


def has_security_headers(response) -> bool:
    return all(name in response.headers for name in SECURITY) \
        and response.headers["x-content-type-options"] == "nosniff"


def test_a_server_error_page_has_the_security_headers(app, monkeypatch):
    def broken():
        raise RuntimeError("a bug")

    monkeypatch.setattr(api_views, "document", broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/openapi.json")
    assert response.status_code == 500
    assert has_security_headers(response)
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_a_server_error_inside_the_widget_can_still_be_shown_in_the_providers_frame(
        app, monkeypatch):
    from widget_server.auth import views as auth_views

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(auth_views, "hinted_email", broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/t/demo/login")
    assert response.status_code == 500
    assert has_security_headers(response)
    assert "https://www.splashswim.example" in response.headers["content-security-policy"]


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
