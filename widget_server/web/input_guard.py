"""Hostile input stopped before any view runs: control characters in the address (path and
query), and request bodies that are larger than their route takes or are not a form at all.

Views read path and query parameters straight into database queries, and a NUL byte there is a
server error on PostgreSQL; checking the address once here covers every route. Widget forms
hold a few short fields, yet were read whole (a multipart upload spooled to disk) before their
CSRF token was checked, so their bodies are limited here before a byte is read.
"""

from __future__ import annotations

import re
from typing import Awaitable, Callable
from urllib.parse import unquote_to_bytes

from starlette.datastructures import Headers, QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from widget_server.core.errors import (
    AppError,
    PayloadTooLarge,
    UnsupportedMediaType,
    field_error,
)
from widget_server.core.plain_text import REASON, ControlCharacters, has_control

Refuse = Callable[[Request, AppError], Awaitable[Response]]

# Printable ASCII without `%`: an address spelt so is UTF-8 and holds no control character
# however it is decoded (checked in 0.3 us, where decoding and checking it took 4-5 us).
_PLAIN = re.compile(rb"[\x21-\x24\x26-\x7e]*")


class InputGuard:
    """Refuses a bad address (400) and a widget body that is too large (413) or multipart (415)
    with the app's own error answer (`refuse`: a page in the widget, JSON in the API).

    The API reads and limits its own bodies (`max_body_bytes`, `max_import_bytes`); Stripe's
    webhooks may send up to `max_body_bytes` of JSON; every other route takes urlencoded forms
    of up to `max_form_bytes`, and no widget form uploads files."""

    def __init__(self, app: ASGIApp, *, refuse: Refuse, max_form_bytes: int,
                 max_body_bytes: int):
        self.app = app
        self.refuse = refuse
        self.max_form_bytes = max_form_bytes
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = address_problem(scope)
        limit, forms_only = self.body_rules(scope["path"])
        if problem is None and limit is not None:
            problem = body_problem(Headers(scope=scope), limit, forms_only)
        if problem is not None:
            # Refused before routing: the error page builds its links with the router.
            scope.setdefault("router", scope["app"].router)
            response = await self.refuse(Request(scope), problem)
            await response(scope, receive, send)
            return
        if limit is not None:
            receive = limited(receive, limit)
        await self.app(scope, receive, send)

    def body_rules(self, path: str) -> tuple[int | None, bool]:
        """(the route's body limit, or None where the view limits it; urlencoded only?)."""
        if path.startswith("/api/"):
            return None, False
        if path.startswith("/hooks/"):
            return self.max_body_bytes, False
        return self.max_form_bytes, True


def address_problem(scope: Scope) -> AppError | None:
    """Bytes that are not UTF-8 in the address (servers decode them to a stand-in character
    that no id or e-mail address holds), or a control character in the (decoded) path or in a
    query parameter's name or value."""
    raw_path = scope.get("raw_path") or scope["path"].encode()
    query_string = scope.get("query_string", b"")
    if _PLAIN.fullmatch(raw_path) and _PLAIN.fullmatch(query_string) \
            and not has_control(scope["path"]):
        return None  # nearly every address: nothing to decode, so nothing to refuse
    for part, raw in (("path", raw_path), ("query", query_string)):
        if not _utf8(raw):
            return ControlCharacters("The address is not valid UTF-8.",
                                     errors=[field_error([part], "must be UTF-8 text")])
    if has_control(scope["path"]):
        return ControlCharacters("The address contains control characters.",
                          errors=[field_error(["path"], REASON)])
    query = QueryParams(query_string)
    for name, value in query.multi_items():
        if has_control(name) or has_control(value):
            return ControlCharacters("The address contains control characters.",
                              errors=[field_error(["query", name], REASON)])
    return None


def body_problem(headers: Headers, limit: int, forms_only: bool) -> AppError | None:
    """Refusals known from the headers alone: a declared size past the limit, a multipart
    body where only urlencoded forms are taken."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return too_large(limit)
    media_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if forms_only and media_type.startswith("multipart/"):
        return UnsupportedMediaType("This address takes a form's fields, not files "
                                    "(send application/x-www-form-urlencoded).")
    return None


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body is larger than the {limit} bytes this address "
                           "takes.")


def limited(receive: Receive, limit: int) -> Receive:
    """`receive` that stops a body (chunked, or lying about its length) past `limit` bytes;
    the error is raised inside the view that reads it, so the app's handler answers 413."""
    received = 0

    async def receive_within_limit() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise too_large(limit)
        return message

    return receive_within_limit


def _utf8(raw: bytes) -> bool:
    try:
        unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
