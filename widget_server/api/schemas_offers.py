"""The sync API's bodies for offers of a place (re-enrolment, trial to enrolment, moving up):
what the provider writes, and the family's answer read back."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictInt, field_validator

from widget_server.api.fields import (
    READ_ONLY,
    Body,
    Currency,
    Day,
    ExternalId,
    Input,
    Moment,
    Money,
    Text,
)

OFFER_STATUSES = ("open", "accepted", "declined", "expired", "withdrawn")


class OfferOptionIn(Body):
    key: ExternalId = Field(description=(
        "The option's id within the offer, unique in it: the family's choice names it "
        "(`chosen_option`)"))
    label: Text | None = Field(default=None, description=(
        "How the family sees the option, e.g. `Saturdays 9:00, Harbourside`"))
    programme_id: ExternalId = Field(description="The programme (class) the option offers a "
                                                 "place in")
    first_session_id: ExternalId | None = Field(default=None, description=(
        "The place's first session: the programme's sessions from this one on"))
    sessions: Annotated[StrictInt, Field(ge=1, le=1000)] | None = Field(
        default=None, description="How many sessions the place is for")
    price: Money | None = Field(default=None, description=(
        "The price of the place in minor units, before the discount"))
    currency: Currency | None = None
    discount: Money = Field(default=0, description=(
        "Taken off the price, in minor units (at most the price)"))

    @field_validator("discount")
    @classmethod
    def _not_above_price(cls, value: int, info) -> int:
        price = info.data.get("price")
        if price is not None and value > price:
            raise ValueError(f"cannot exceed price ({price})")
        return value


class OfferIn(Input):
    client_id: ExternalId
    attendee_id: ExternalId = Field(description="The family member the place is offered to")
    booking_id: ExternalId | None = Field(default=None, description=(
        "The booking the offer follows (this term's class, the trial); the offer is shown on "
        "its dashboard too"))
    level_id: ExternalId | None = Field(default=None, description=(
        "For `move_up`: the level the offer leads to"))
    kind: Literal["reenrolment", "trial", "move_up"] = Field(description=(
        "`reenrolment`: a place next term; `trial`: a place after a trial session; "
        "`move_up`: a place at the next level"))
    title: Text | None = Field(default=None, description="e.g. `Spring term 2027`")
    message: Annotated[str, Field(max_length=2000)] | None = Field(default=None, description=(
        "The provider's words to the family, shown with the offer; line breaks are kept"))
    deadline: Day = Field(description=(
        "The offer is open until the end of this day in the provider's time zone; then it "
        "expires"))
    hold_places: StrictBool = Field(default=False, description=(
        "The offer keeps a place in each option's sessions until the deadline; otherwise it "
        "competes for the free places when the family accepts"))
    pay_on_accept: StrictBool = Field(default=False, description=(
        "The family pays when accepting (the portal's payment flow follows)"))
    status: Literal["open", "withdrawn"] = Field(default="open", description=(
        "What the provider may set: `withdrawn` takes the offer back (refused with 409 once "
        "the family answered), `open` offers it again. Writing an offer never changes a "
        "family's answer; an expired offer opens again only with a deadline of today or later"))
    options: list[OfferOptionIn] = Field(min_length=1, max_length=10, description=(
        "The classes the family may choose from, in the order shown; each `key` once"))

    @field_validator("options")
    @classmethod
    def _keys_unique(cls, options: list[OfferOptionIn]) -> list[OfferOptionIn]:
        first: dict[str, int] = {}
        for index, option in enumerate(options):
            if option.key in first:
                raise ValueError(f"option key {option.key!r} is listed twice (options."
                                 f"{first[option.key]} and options.{index}); keys must be "
                                 "unique within the offer")
            first[option.key] = index
        return options


class OfferOut(OfferIn):
    """An offer as read back: what the provider wrote, and the family's answer, which only
    the portal writes."""

    status: Literal[OFFER_STATUSES] = Field(description=(
        "`open` (waiting for the family), `accepted` or `declined` (the family's answer, "
        "kept whatever the provider writes), `expired` (the deadline passed unanswered) or "
        "`withdrawn` (by the provider)"))
    chosen_option: ExternalId | None = Field(default=None, json_schema_extra=READ_ONLY,
                                             description="The `key` of the option accepted")
    decline_reason: Annotated[str, Field(max_length=16)] | None = Field(
        default=None, json_schema_extra=READ_ONLY, description=(
            "Why the family declined, if they said: `moving_away`, `schedule`, `cost` or "
            "`other`"))
    decline_note: Annotated[str, Field(max_length=500)] | None = Field(
        default=None, json_schema_extra=READ_ONLY,
        description="The family's own words on declining")
    answered_at: Moment | None = Field(default=None, json_schema_extra=READ_ONLY,
                                       description="When the family answered")
    answered_by: Annotated[str, Field(max_length=320)] | None = Field(
        default=None, json_schema_extra=READ_ONLY, description=(
            "The e-mail address of who answered (a co-parent may)"))
