"""The field types and base models every body of the provider API is made of: provider ids,
amounts, currencies, ISO 8601 dates and times (never numbers), and bodies that refuse unknown
fields and control characters."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Callable

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    TypeAdapter,
    field_validator,
)

from widget_server.core.plain_text import REASON, has_control


def not_dots(value: str) -> str:
    # "." and ".." are path segments that clients and proxies resolve away: such an item
    # could be stored but never read back at its address.
    if value in (".", ".."):
        raise ValueError("an id may not be '.' or '..'")
    return value


ExternalId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:~-]+$"),
                       AfterValidator(not_dots)]
# Amounts are stored in INTEGER columns: past 2**31 - 1 PostgreSQL refuses them (a 500).
MAX_AMOUNT = 2**31 - 1
Money = Annotated[StrictInt, Field(ge=0, le=MAX_AMOUNT, description="Amount in minor units")]
SignedMoney = Annotated[StrictInt, Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")]
Text = Annotated[str, Field(max_length=200)]
Url = Annotated[str, Field(max_length=1000, pattern=r"^https?://")]
# The same rule for an id in a URL as in a body.
EXTERNAL_ID = TypeAdapter(ExternalId)


def iso_text(shape: str, what: str) -> Callable[[Any], Any]:
    """Dates and times only as ISO 8601 text: pydantic would also take a number (and a string
    of digits) as seconds since 1970, so `birth_date: 0` became 1 January 1970."""
    pattern = re.compile(shape)

    def check(value: Any) -> Any:
        if isinstance(value, (date, datetime)) or (isinstance(value, str)
                                                   and pattern.match(value)):
            return value
        raise ValueError(f"must be {what}")
    return check


Day = Annotated[date, BeforeValidator(iso_text(
    r"\d{4}-\d{2}-\d{2}$", "a date written as YYYY-MM-DD, e.g. 2026-01-31"))]
Moment = Annotated[AwareDatetime, BeforeValidator(iso_text(
    r"\d{4}-\d{2}-\d{2}[Tt ]", "a date and time in ISO 8601, e.g. 2026-01-31T09:00:00Z"))]


class Body(BaseModel):
    """Every object the API takes: unknown fields and control characters are refused."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        """A string (or list of strings) with a control character is refused; free text may
        hold tab and line breaks. Nested objects check their own fields, so that an error
        names the nested field."""
        # Run for every field of every item (a bulk import of 156,650 lines calls it ~900,000
        # times): the common cases first, without building anything.
        if type(value) is str:
            if has_control(value, free_text=True):
                raise ValueError(REASON)
        elif isinstance(value, list):
            if any(isinstance(text, str) and has_control(text, free_text=True)
                   for text in value):
                raise ValueError(REASON)
        elif isinstance(value, str) and has_control(value, free_text=True):
            raise ValueError(REASON)
        return value


class Input(Body):
    """Every resource body: unknown fields are refused, `id` may repeat the URL's id."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    id: ExternalId | None = None


# A field only the portal writes: read back, and left as it is when a write sends it.
READ_ONLY = {"readOnly": True}
