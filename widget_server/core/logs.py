"""How the service logs: today's text lines, or one JSON object per line
(`WIDGET_LOG_FORMAT=json`) for log collectors, with the request id of the request being served.

What may be logged is decided where requests are logged (route names and path templates,
never raw URLs); the JSON formatter also blanks e-mail addresses and token-like query values in
any message, so a library's or an SMTP server's error text cannot carry them either.
"""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any

TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"
# Set by the request-log middleware; each request runs in its own task, so its own context.
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
# Attributes a log call may pass with `extra=` that become fields of the JSON object.
FIELDS = ("tenant", "route", "path", "method", "status", "duration_ms")
_EMAIL = re.compile(r"[^\s@<>\"'(),;:]+@[^\s@<>\"'(),;:]+\.[A-Za-z]{2,}")
_SECRET_PARAM = re.compile(r"(?i)\b(token|code|hint|key|email)=[^&\s\"']+")


def redact(text: str) -> str:
    """Blank e-mail addresses and the values of token-like parameters."""
    return _SECRET_PARAM.sub(r"\1=[redacted]", _EMAIL.sub("[e-mail]", text))


class JsonFormatter(logging.Formatter):
    """time, level, logger, message, the request id and any of `FIELDS`, as one JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc)
            .isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        current = request_id.get()
        if current:
            entry["request_id"] = current
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def logging_config(log_format: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` for our processes and uvicorn's loggers.

    Given to uvicorn as its `log_config`, it is applied in every worker process it starts as
    well. Our own news at INFO; libraries (alembic, fontTools' subsetter...) only when it
    matters."""
    formatter = ({"()": f"{__name__}.JsonFormatter"} if log_format == "json"
                 else {"format": TEXT_FORMAT})
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "main",
                                "stream": "ext://sys.stderr"}},
        "root": {"level": "WARNING", "handlers": ["stderr"]},
        "loggers": {
            "widget_server": {"level": "INFO"},
            # Through the root handler: no handler of their own, so no line twice.
            "uvicorn": {"level": "INFO", "handlers": [], "propagate": True},
            "uvicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
            "uvicorn.access": {"level": "INFO", "handlers": [], "propagate": True},
        },
    }
