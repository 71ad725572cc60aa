"""What text the service takes in: no control characters (PostgreSQL cannot store NUL, and the
rest has no business in a name, an address, an e-mail or an id), except tab and line breaks in
free text; and no lone UTF-16 surrogates (a JSON `\\ud800` escape), which no database stores."""

from __future__ import annotations

import re

from widget_server.core.errors import BadRequest

# C0 controls, DEL, C1 controls and lone surrogates.
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# The same but tab, line feed and carriage return (a textarea sends CR LF).
_CONTROL_IN_FREE_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

REASON = "must not contain control characters"


def has_control(value: str, *, free_text: bool = False) -> bool:
    """True when `value` holds a character refused in input; `free_text` allows tab and line
    breaks."""
    return (_CONTROL_IN_FREE_TEXT if free_text else _ANY_CONTROL).search(value) is not None


class ControlCharacters(BadRequest):
    """Input holding a control character (400); the widget's error page says what to do."""

    reason = "control_characters"
