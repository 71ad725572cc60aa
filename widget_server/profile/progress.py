"""A family member's progress: each programme's levels, the latest rating of every skill, the
level they are working on, and a timeline of assessments, completed levels and instructors'
notes.

Everything comes from the member's bookings the visitor can see: a view-only share sees the
progress of the shared booking's programme, nothing of the child's other classes. A fixed
handful of statements per page, each reading one child's rows by an index that leads with the
tenant and the owner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import groupby
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session

from widget_server.core import access as scope
from widget_server.core.access import Access
from widget_server.core.formatting import local_today
from widget_server.core.models import (
    Assessment,
    Attendance,
    Attendee,
    Booking,
    ClassSession,
    Level,
    Programme,
    SessionNote,
    WebSession,
)
from widget_server.core.records import Shape
from widget_server.profile.bookings import FAMILY_NOTES
from widget_server.profile.family import Member, choose, members_of, remember

# Timeline entries shown before "Show the whole history": the recent ones are what a parent
# reads; years of weekly notes made the screen long on a phone.
TIMELINE_SHOWN = 20


@dataclass(frozen=True)
class Skill:
    """One skill of a level with the member's latest rating (None: not assessed yet)."""

    external_id: str
    name: str
    rating: int | None = None
    label: str | None = None
    assessed_on: date | None = None
    achieved: bool = False
    # 0-100: how far along the scale the latest rating is, for the skill's small bar.
    percent: int = 0


@dataclass(frozen=True)
class LevelProgress:
    external_id: str
    name: str
    position: int
    skills: tuple[Skill, ...]
    scale: tuple[str, ...]
    assessed: bool  # any skill rated
    completed_on: date | None  # every skill achieved: the day the last one was

    @property
    def achieved(self) -> int:
        return sum(1 for s in self.skills if s.achieved)

    @property
    def total(self) -> int:
        return len(self.skills)

    @property
    def percent(self) -> int:
        return round(100 * self.achieved / self.total) if self.total else 0

    @property
    def completed(self) -> bool:
        return self.completed_on is not None


@dataclass(frozen=True)
class ProgrammeProgress:
    """One programme the member is booked on, with its levels."""

    name: str
    booking: str  # the member's latest visible booking of it, for links
    levels: tuple[LevelProgress, ...]
    current: LevelProgress | None  # None: every level completed
    next: LevelProgress | None

    @property
    def completed_levels(self) -> list[LevelProgress]:
        return [lvl for lvl in self.levels if lvl.completed]


@dataclass(frozen=True)
class Rating:
    skill: str
    label: str
    achieved: bool


@dataclass(frozen=True)
class Event:
    """One entry of the timeline: an assessment day of a level, a level completed, or a note."""

    kind: str  # "assessment", "level", "note"
    on: date
    programme: str
    level: str = ""
    ratings: tuple[Rating, ...] = ()
    text: str = ""
    by: str = ""
    notes: tuple[str, ...] = ()  # an assessment's comments


@dataclass
class Progress:
    members: list[Member]
    selected: Member | None
    programmes: list[ProgrammeProgress] = field(default_factory=list)
    timeline: list[Event] = field(default_factory=list)
    timeline_total: int = 0
    # Whose progress, for what reads on (report cards): the member's row id, the programmes of
    # their bookings this person sees, and whether the member is of this person's own family.
    attendee_id: int | None = None
    programme_ids: list[int] = field(default_factory=list)
    family: bool = False
    cards: list[Any] = field(default_factory=list)  # report_cards.CardSummary, newest first


def load_progress(db: Session, access: Access, web_session: WebSession,
                  requested: str | None, now: datetime, tz: str,
                  whole_history: bool = False,
                  own: list[tuple[str, str]] | None = None) -> Progress:
    """The progress screen of the chosen member (the same choice as the home page's; `own`:
    see `family.members_of`)."""
    members = members_of(db, access, own)
    selected = choose(members, requested, web_session.selected_member)
    if requested is not None and selected is not None:
        remember(db, web_session, selected)
    found = Progress(members, selected)
    if selected is None:
        return found
    bookings = _BOOKING_SHAPE.rows(db, scope.prepared(_member_bookings, access),
                                   access.parameters() | {"member": selected.external_id})
    if not bookings:
        return found
    attendee_id = found.attendee_id = bookings[0][2]
    programme_ids = found.programme_ids = sorted({row[1] for row in bookings})
    found.family = access.client_id is not None and bookings[0][5] == access.client_id
    levels = [row[0] for row in _LEVEL_SHAPE.rows(db, _LEVELS, {
        "tenant": access.tenant, "programmes": programme_ids})]
    level_ids = [lvl.id for lvl in levels]
    assessments = assessments_of(db, access.tenant, attendee_id, level_ids)
    notes = _NOTE_SHAPE.rows(db, _MEMBER_NOTES, {
        "tenant": access.tenant, "bookings": [b[0] for b in bookings], "family": FAMILY_NOTES})

    names = {row[1]: row[3] for row in bookings}
    latest_booking: dict[int, str] = {}
    for _, programme_id, _, _, external_id, _ in bookings:  # newest booking first
        latest_booking.setdefault(programme_id, external_id)
    by_level: dict[int, list[Any]] = {}
    for a in assessments:
        by_level.setdefault(a.level_id, []).append(a)

    timeline: list[Event] = []
    for programme_id, grouped in groupby(levels, key=lambda lvl: lvl.programme_id):
        records = list(grouped)
        progress = [level_progress(r, by_level.get(r.id, [])) for r in records]
        current, following = _current(progress)
        name = names[programme_id]
        found.programmes.append(ProgrammeProgress(
            name, latest_booking[programme_id], tuple(progress), current, following))
        for lvl, record in zip(progress, records, strict=True):
            timeline += _assessment_events(name, lvl, record, by_level.get(record.id, []))
            if lvl.completed_on:
                timeline.append(Event("level", lvl.completed_on, name, lvl.name))
    for text, author, starts_at, programme_name in notes:
        timeline.append(Event("note", local_today(starts_at, tz), programme_name,
                              text=text, by=author or ""))
    # Newest first; on one day a completed level reads above the ratings that completed it.
    order = {"level": 0, "assessment": 1, "note": 2}
    timeline.sort(key=lambda e: (e.on, -order[e.kind]), reverse=True)
    found.timeline_total = len(timeline)
    found.timeline = timeline if whole_history else timeline[:TIMELINE_SHOWN]
    return found


def level_progress(level: Any, assessments: list[Any]) -> LevelProgress:
    """A level (a record) with each skill's latest rating (`assessments` of one attendee,
    oldest first)."""
    scale = tuple(level.scale or ())
    top = len(scale)
    latest: dict[str, Any] = {}
    for a in assessments:
        latest[a.skill] = a  # a later one replaces an earlier one
    skills = []
    for skill in level.skills or ():
        a = latest.get(skill.get("id"))
        if a is None:
            skills.append(Skill(skill.get("id", ""), skill.get("name", "")))
            continue
        rating = max(1, min(a.rating, top)) if top else a.rating
        skills.append(Skill(skill.get("id", ""), skill.get("name", ""), rating,
                            scale[rating - 1] if top else str(rating), a.assessed_on,
                            top > 0 and rating >= top, round(100 * rating / top) if top else 0))
    done = bool(skills) and all(s.achieved for s in skills)
    return LevelProgress(level.external_id, level.name, level.position, tuple(skills), scale,
                         any(s.rating is not None for s in skills),
                         max(s.assessed_on for s in skills) if done else None)


def assessments_of(db: Session, tenant: str, attendee_id: int, level_ids: list[int]) -> list[Any]:
    """An attendee's assessments of these levels (records), by level, oldest first."""
    return [row[0] for row in _ASSESSMENT_SHAPE.rows(db, _ASSESSMENTS, {
        "tenant": tenant, "attendee": attendee_id, "levels": level_ids or [-1]})]


def _current(levels: list[LevelProgress]) -> tuple[LevelProgress | None, LevelProgress | None]:
    """The level the member works on, and the one after it. With no assessment yet, the
    first level; otherwise the highest level assessed, or the one after it once completed."""
    if not levels:
        return None, None
    assessed = [i for i, lvl in enumerate(levels) if lvl.assessed]
    index = 0
    if assessed:
        index = assessed[-1] + (1 if levels[assessed[-1]].completed else 0)
    current = levels[index] if index < len(levels) else None
    following = levels[index + 1] if index + 1 < len(levels) else None
    return current, following


def _assessment_events(programme: str, level: LevelProgress, record: Any,
                       assessments: list[Any]) -> list[Event]:
    """One timeline entry per day a level was assessed, with each skill rated that day."""
    names = {s.get("id"): s.get("name", "") for s in record.skills or ()}
    scale = level.scale
    events = []
    for day, rated in groupby(assessments, key=lambda a: a.assessed_on):
        rated = [a for a in rated if a.skill in names]  # skills the level no longer lists
        if not rated:
            continue
        ratings = []
        for a in rated:
            rating = max(1, min(a.rating, len(scale))) if scale else a.rating
            ratings.append(Rating(names[a.skill], scale[rating - 1] if scale else str(rating),
                                  bool(scale) and rating >= len(scale)))
        assessors = sorted({a.assessor for a in rated if a.assessor})
        events.append(Event("assessment", day, programme, level.name, tuple(ratings),
                            by=", ".join(assessors),
                            notes=tuple(a.note for a in rated if a.note)))
    return events


# The member's visible bookings (newest first): booking id, programme id, attendee id,
# programme name, booking's provider id, the attendee's client. The attendee and programme
# ids that the next statements take come from here, so they only read what the visitor sees.
_BOOKING_SHAPE = Shape(Booking.id, Booking.programme_id, Booking.attendee_id, Programme.name,
                       Booking.external_id, Attendee.client_id)


def _member_bookings(who: Access):
    return (_BOOKING_SHAPE.select()
            .join(Programme, Programme.id == Booking.programme_id)
            .join(Attendee, Attendee.id == Booking.attendee_id)
            .where(scope.visible_bookings(who), Attendee.external_id == bindparam("member"))
            .order_by(Booking.booked_at.is_(None), Booking.booked_at.desc(), Booking.id.desc()))


_LEVEL_SHAPE = Shape(Level)
_LEVELS = (_LEVEL_SHAPE.select()
           .where(Level.tenant == bindparam("tenant"),
                  Level.programme_id.in_(bindparam("programmes", expanding=True)))
           .order_by(Level.programme_id, Level.position, Level.id))

_ASSESSMENT_SHAPE = Shape(Assessment)
_ASSESSMENTS = (_ASSESSMENT_SHAPE.select()
                .where(Assessment.tenant == bindparam("tenant"),
                       Assessment.attendee_id == bindparam("attendee"),
                       Assessment.level_id.in_(bindparam("levels", expanding=True)))
                .order_by(Assessment.level_id, Assessment.assessed_on, Assessment.id))

_NOTE_SHAPE = Shape(SessionNote.text, SessionNote.author, ClassSession.starts_at, Programme.name)
_MEMBER_NOTES = (_NOTE_SHAPE.select()
                 .join(Attendance, Attendance.id == SessionNote.attendance_id)
                 .join(ClassSession, ClassSession.id == Attendance.session_id)
                 .join(Programme, Programme.id == ClassSession.programme_id)
                 .where(Attendance.tenant == bindparam("tenant"),
                        Attendance.booking_id.in_(bindparam("bookings", expanding=True)),
                        SessionNote.visibility == bindparam("family"))
                 .order_by(ClassSession.starts_at.desc(), SessionNote.id))
