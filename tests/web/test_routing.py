"""The app's router answers every address with the route Starlette's own would choose (a page,
405 for another method, a redirect for a trailing slash, 404), while trying only the routes
whose shape fits the address."""

from __future__ import annotations

import re

import pytest
from starlette.routing import Match, Mount, Route, Router
from starlette.testclient import TestClient

from widget_server.core.settings import Settings
from widget_server.routes import build_routes
from widget_server.web.routing import IndexedRouter, shape

ROUTES = build_routes(Settings.from_environ({}))
SAMPLE = {"str": "x1", "int": "42", "float": "4.5", "path": "a/b.txt",
          "uuid": "0b6c5f8e-3d5c-4a6e-9d6b-1f2e3d4c5b6a"}


def example(path: str, value: str | None = None) -> str:
    """An address the route's pattern takes: each parameter a sample of its kind."""
    return re.sub(r"{(\w+)(?::(\w+))?}",
                  lambda m: value if value is not None else SAMPLE[m.group(2) or "str"], path)


def starlette_choice(router: Router, scope: dict) -> tuple:
    """What Starlette's `Router.app` walks to: the first full match, else the first partial."""
    partial = None
    for route in router.routes:
        match, child = route.matches(scope)
        if match is Match.FULL:
            return route, match, child
        if match is Match.PARTIAL and partial is None:
            partial = (route, match, child)
    return partial or (None, Match.NONE, {})


def addresses() -> list[str]:
    found = []
    for route in ROUTES:
        path = route.path if isinstance(route, Route) else route.path + "/{rest:path}"
        found += [example(path), example(path, "assets"), example(path) + "/",
                  example(path).rstrip("/"), example(path) + "/more"]
    return [*dict.fromkeys(found), "/", "/t/demo", "/t/demo/nowhere", "/t//account",
            "/api/v1", "/static", "/t/demo/bookings/b1/sessions/s1.ics/cancel"]


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "BREW"])
def test_every_address_goes_to_the_route_starlette_would_choose(method):
    plain, indexed = Router(ROUTES), IndexedRouter(ROUTES)
    checked = 0
    for path in addresses():
        scope = {"type": "http", "path": path, "root_path": "", "method": method}
        expected, got = starlette_choice(plain, scope), indexed._first(scope)
        assert (got[0], got[1], got[2]) == expected, (method, path)
        checked += expected[0] is not None
    assert checked > len(ROUTES) / 2  # most addresses do reach a route


def test_only_the_routes_whose_shape_fits_an_address_are_tried():
    indexed = IndexedRouter(ROUTES)
    tried = indexed.candidates("/t/demo/account".split("/"))
    assert 0 < len(tried) <= 8 < len(ROUTES)
    assert any(getattr(route, "name", None) == "account" for route, _ in tried)
    # A mount and a route whose parameter spans segments may match any address: always tried.
    static = next(route for route in ROUTES if isinstance(route, Mount))
    assert shape(static) is None
    assert static in [route for route, _ in tried]
    assert shape(Route("/files/{name:path}", lambda request: None)) is None
    assert shape(Route("/t/{tenant}/orders", lambda request: None)) == (
        4, ((0, ""), (1, "t"), (3, "orders")))


def test_a_page_a_wrong_method_a_trailing_slash_and_an_unknown_address(sarah):
    client = sarah.client
    assert isinstance(client.app.router, IndexedRouter)
    assert "Sarah" in sarah.open("account").text
    assert sarah.open("orders").status_code == 200
    wrong = client.delete("/t/demo/account")
    assert wrong.status_code == 405 and "GET" in wrong.headers["allow"]
    moved = client.get("/t/demo", follow_redirects=False)
    assert moved.status_code in (307, 308) and moved.headers["location"].endswith("/t/demo/")
    assert client.get("/t/demo/no-such-page").status_code == 404
    assert client.get("/static/widget.css").status_code == 200


def test_the_app_routes_its_requests_through_the_index(app):
    assert isinstance(app.router, IndexedRouter)
    assert app.router._index is None  # built at the first request routed, from the URL map
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
    assert app.router._index is not None
