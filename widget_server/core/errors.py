"""Errors carry their status and a human message; one handler per surface renders them."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """An error a user or an API caller should see, with its HTTP status."""

    status = 500
    title = "Something went wrong"

    headers: dict[str, str] = {}

    def __init__(self, detail: str | None = None, *, errors: list[dict[str, Any]] | None = None,
                 title: str | None = None, status: int | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors or []
        if headers:
            self.headers = headers
        if title:
            self.title = title
        if status:
            self.status = status

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": self.status, "title": self.title, "detail": self.detail}
        if self.errors:
            body["errors"] = self.errors
        return body


class BadRequest(AppError):
    status = 400
    title = "Bad request"


class Unauthorized(AppError):
    status = 401
    title = "Unauthorized"
    headers = {"WWW-Authenticate": 'Bearer realm="api"'}


class MethodNotAllowed(AppError):
    status = 405
    title = "Method not allowed"


class NotFound(AppError):
    status = 404
    title = "Not found"


class ViewOnly(AppError):
    """Someone a booking is shared with to look at, not to change, tried to change it."""

    status = 403
    title = "View only"
    reason = "view_only"  # the widget's error page says what it means and whom to ask


class ReadOnly(AppError):
    """Staff viewing a family's profile from the console tried to change something."""

    status = 403
    title = "Read only"
    reason = "read_only"


class Conflict(AppError):
    status = 409
    title = "Conflict"


class PayloadTooLarge(AppError):
    status = 413
    title = "Payload too large"


class UnsupportedMediaType(AppError):
    status = 415
    title = "Unsupported media type"


class ValidationFailed(AppError):
    status = 422
    title = "Validation failed"


def field_error(path: tuple | list, reason: str) -> dict[str, Any]:
    """One bad field: its path as a list and as a dotted string, and why."""
    parts = [p for p in path]
    return {"field": ".".join(str(p) for p in parts), "path": parts, "reason": reason}


def pydantic_errors(exc, prefix: tuple = ()) -> list[dict[str, Any]]:
    """Translate a pydantic ValidationError into field errors."""
    out = []
    for error in exc.errors():
        reason = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            reason = "unknown field"
        out.append(field_error(prefix + tuple(error["loc"]), reason))
    return out


class Refused(AppError):
    """A self-service action the rules do not allow now; `reason` names which rule.

    Pages turn the reason into a sentence in the visitor's language; a form that hears it
    shows its page again with that sentence (409)."""

    status = 409
    title = "Not possible"

    def __init__(self, reason: str, detail: str | None = None):
        super().__init__(detail or reason.replace("_", " "))
        self.reason = reason
