"""The sync API's bodies for children's progress: levels and their skills, assessments,
instructors' notes on sessions, and report cards."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictInt, field_validator

from widget_server.api.fields import Body, Day, ExternalId, Input, Moment, Text


class SkillIn(Body):
    id: ExternalId = Field(description="The provider's id of the skill, unique within the level")
    name: Annotated[str, Field(min_length=1, max_length=200)]


DEFAULT_SCALE = ["Introduced", "Developing", "Refining", "Achieved"]
ScaleLabel = Annotated[str, Field(min_length=1, max_length=60)]


class LevelIn(Input):
    programme_id: ExternalId
    name: Annotated[str, Field(min_length=1, max_length=200)]
    position: Annotated[StrictInt, Field(ge=0, le=10_000, description=(
        "The level's place among the programme's levels, lowest first"))] = 0
    description: Annotated[str, Field(max_length=5000)] | None = None
    skills: list[SkillIn] = Field(default_factory=list, max_length=100, description=(
        "The skills the level asks for, in the order they are taught; each `id` at most once"))
    scale: list[ScaleLabel] = Field(
        default=DEFAULT_SCALE, min_length=2, max_length=10,
        json_schema_extra={"uniqueItems": True},
        description="Rating labels, lowest first; the last one means the skill is achieved")

    @field_validator("skills")
    @classmethod
    def _skill_ids_unique(cls, skills: list[SkillIn]) -> list[SkillIn]:
        first: dict[str, int] = {}
        for index, skill in enumerate(skills):
            if skill.id in first:
                raise ValueError(f"skill id {skill.id!r} is listed twice (skills.{first[skill.id]}"
                                 f" and skills.{index}); ids must be unique within the level")
            first[skill.id] = index
        return skills

    @field_validator("scale")
    @classmethod
    def _labels_unique(cls, scale: list[str]) -> list[str]:
        repeated = next((label for i, label in enumerate(scale) if label in scale[:i]), None)
        if repeated is not None:
            raise ValueError(f"label {repeated!r} is listed twice; labels must be unique")
        return scale


class AssessmentIn(Input):
    attendee_id: ExternalId
    level_id: ExternalId
    skill: ExternalId = Field(description=(
        "The id of one of the level's skills; an assessment of a skill the level no longer "
        "lists is kept but not shown"))
    rating: Annotated[StrictInt, Field(ge=1, le=10, description=(
        "1 is the level's first scale label, 2 the second...; a rating above the level's scale "
        "counts as its last label (achieved)"))]
    assessed_on: Day
    assessor: Text | None = None
    note: Annotated[str, Field(max_length=2000)] | None = None


class SessionNoteIn(Input):
    attendance_id: ExternalId
    text: Annotated[str, Field(min_length=1, max_length=5000, description=(
        "The instructor's note on the attendee's session; line breaks are kept"))]
    author: Text | None = None
    visibility: Literal["family", "staff"] = Field(default="family", description=(
        "Who may read the note: `family` shows it to the parents; `staff` notes are never "
        "shown to families"))
    written_at: Moment | None = None


class ReportCardIn(Input):
    attendee_id: ExternalId
    level_id: ExternalId | None = Field(default=None, description=(
        "The level the card reports on: its skills and the attendee's latest ratings are shown "
        "with the card, to whoever sees a booking of the level's programme. Without a level "
        "(a term's report) only the attendee's family sees it"))
    term: Annotated[str, Field(max_length=100)] | None = Field(default=None, description=(
        "e.g. `Autumn term 2026`"))
    comment: Annotated[str, Field(max_length=5000)] | None = Field(default=None, description=(
        "The instructor's comment; line breaks are kept"))
    instructor: Text | None = None
    published: StrictBool = Field(default=False, description=(
        "Families see the card once it is published, and are told by e-mail the first time "
        "(if they want progress messages)"))
