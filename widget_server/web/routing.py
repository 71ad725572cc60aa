"""Starlette's router, without trying every route's pattern on every request.

Starlette tries the routes in order until one matches: 107 regular expressions for an address
near the end of the map (an order, a payment: 21-24 us a request; 52 us for an unknown
address, tried twice for its trailing slash), 5-6 us for home. Here the routes a path cannot
match are skipped before their pattern is tried: a route's parameters (but `path`) never span
a `/`, so it matches only a path with as many segments as its own, each literal segment the
same. The routes of each length are kept by the text of the segment that tells them apart
best, so a page's address meets 3-8 of them (about 3 us). Those are tried in the map's order,
as Starlette does, so which route answers (and a 405 for a known address with another method,
a redirect for a missing trailing slash) is Starlette's own outcome (tests/web/test_routing.py
compares the two on every route of the map)."""

from __future__ import annotations

from starlette.convertors import (
    FloatConvertor,
    IntegerConvertor,
    StringConvertor,
    UUIDConvertor,
)
from starlette.datastructures import URL
from starlette.responses import RedirectResponse
from starlette.routing import BaseRoute, Match, Route, Router, get_route_path
from starlette.types import Receive, Scope, Send

# Convertors whose values never hold a `/` (`path`'s, and any registered by hand, may).
_ONE_SEGMENT = (StringConvertor, IntegerConvertor, FloatConvertor, UUIDConvertor)

Candidate = tuple[BaseRoute, tuple[tuple[int, str], ...]]


def shape(route: BaseRoute) -> tuple[int, tuple[tuple[int, str], ...]] | None:
    """(how many `/`-separated segments a path it matches has, (index, text) of each literal
    segment), or None when any path may match it (a mount, a parameter spanning segments)."""
    if type(route) is not Route or not all(
            type(convertor) in _ONE_SEGMENT for convertor in route.param_convertors.values()):
        return None
    parts = route.path.split("/")
    return len(parts), tuple((i, part) for i, part in enumerate(parts) if "{" not in part)


def _largest_bucket(fitting: list[tuple[BaseRoute, dict[int, str]]], at: int) -> int:
    """How many routes the largest bucket would hold, by the text of segment `at`."""
    texts = [lit.get(at) for _, lit in fitting]
    spelt = {text for text in texts if text is not None}
    return max([texts.count(None) + texts.count(text) for text in spelt] or [len(texts)])


class IndexedRouter(Router):
    """A `Router` that tries only the routes whose shape fits the path (see the module)."""

    _index: tuple[dict[int, tuple[int, dict[str, list[Candidate]], list[Candidate]]],
                  list[Candidate]] | None = None

    def candidates(self, parts: list[str]) -> list[Candidate]:
        """The routes that may match a path (split at its `/`), in the map's order, with their
        literal segments left to compare."""
        if self._index is None:
            self._index = self._build()
        by_count, anywhere = self._index
        found = by_count.get(len(parts))
        if found is None:
            return anywhere
        at, by_text, others = found
        return by_text.get(parts[at], others)

    def _build(self) -> tuple[dict[int, tuple[int, dict[str, list[Candidate]], list[Candidate]]],
                              list[Candidate]]:
        """Per segment count: the segment whose text splits its routes into the smallest
        groups, and by that text the routes that may match (those spelling another text there
        left out)."""
        shapes = [(route, shape(route)) for route in self.routes]
        by_count = {}
        for count in {found[0] for _, found in shapes if found is not None}:
            fitting = [(route, dict(found[1]) if found else {})
                       for route, found in shapes if found is None or found[0] == count]
            at = min(range(count), key=lambda i: _largest_bucket(fitting, i))
            texts = {lit[at] for _, lit in fitting if at in lit}
            by_text = {text: [(route, tuple(lit.items())) for route, lit in fitting
                              if lit.get(at, text) == text] for text in texts}
            others = [(route, tuple(lit.items())) for route, lit in fitting if at not in lit]
            by_count[count] = (at, by_text, others)
        return by_count, [(route, ()) for route, found in shapes if found is None]

    def _first(self, scope: Scope) -> tuple[BaseRoute | None, Match, Scope]:
        """The first route matching fully, else the first matching partly (another method)."""
        parts = get_route_path(scope).split("/")
        partial: tuple[BaseRoute | None, Match, Scope] = (None, Match.NONE, {})
        for route, literals in self.candidates(parts):
            if literals and any(parts[i] != text for i, text in literals):
                continue
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                return route, match, child_scope
            if match is Match.PARTIAL and partial[0] is None:
                partial = (route, match, child_scope)
        return partial

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Starlette's `Router.app`, with `_first` for its walk over every route.
        assert scope["type"] in ("http", "websocket", "lifespan")
        if "router" not in scope:
            scope["router"] = self
        if scope["type"] == "lifespan":
            await self.lifespan(scope, receive, send)
            return
        route, _, child_scope = self._first(scope)
        if route is not None:
            scope["route"] = route
            scope.update(child_scope)
            await route.handle(scope, receive, send)
            return
        route_path = get_route_path(scope)
        if scope["type"] == "http" and self.redirect_slashes and route_path != "/":
            redirect_scope = dict(scope)
            if route_path.endswith("/"):
                redirect_scope["path"] = redirect_scope["path"].rstrip("/")
            else:
                redirect_scope["path"] = redirect_scope["path"] + "/"
            if self._first(redirect_scope)[0] is not None:
                response = RedirectResponse(url=str(URL(scope=redirect_scope)))
                await response(scope, receive, send)
                return
        await self.default(scope, receive, send)
