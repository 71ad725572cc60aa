"""How values look on the wire, in the sync API's answers and in webhook bodies."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    return value


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def read_json(raw: str | bytes) -> Any:
    """`json.loads`, but an escaped lone surrogate (`"\\ud800"`) is a JSONDecodeError: JSON's
    grammar allows it, yet it is no text that UTF-8, a database or our own answers can carry.
    So is JSON that Python will not read: a number of more than 4,300 digits (ValueError) and
    arrays or objects nested past the recursion limit (RecursionError)."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    try:
        value = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise
    except ValueError:
        raise json.JSONDecodeError("a number with too many digits", text, 0) from None
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text, 0) from None
    escape = _SURROGATE_ESCAPE.search(text)
    if escape is not None:  # paired surrogates (an emoji) are fine: check what they became
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise json.JSONDecodeError("unpaired UTF-16 surrogate escape", text,
                                       escape.start()) from None
    return value
