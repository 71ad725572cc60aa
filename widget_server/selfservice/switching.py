"""Changing a booking's class for the rest of the term ("Saturdays no longer work, can Mia go
on Wednesdays?").

The classes a booking may change to are the other programmes of its programme's make-up group
(the provider's own word for classes that are the same course). The booking's remaining places
(regular places still expected, whose change window is open) move one for one to the other
class's next sessions that the booking has no place in and that can still be booked; a class
is offered when each of those sessions has a free place. What that costs more or less is the
difference of the two classes' prices per session times the places moved: shown, not charged
(the provider's system bills it).

The booking's programme decides how: `instant` moves every remaining place at once, in one
transaction, after locking the booking and the new sessions in id order and counting, as a
make-up does (never half moved, never over capacity); `request` records the choice, tells the
provider and shows it as pending until the provider confirms through the API (which moves the
places the same way, against capacity then) or declines. Places already attended, cancelled or
inside the cutoff stay where they are.
"""

from __future__ import annotations

from collections import Counter, namedtuple
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, bindparam, false, func, type_coerce, update
from sqlmodel import Session, select

from widget_server.core import access as scope
from widget_server.core.access import Access, BookingView
from widget_server.core.errors import NotFound, Refused, ViewOnly
from widget_server.core.formatting import local_today
from widget_server.core.i18n import gettext as _
from widget_server.core.models import (
    Attendance,
    Attendee,
    Booking,
    BookingSwitch,
    ClassSession,
    Client,
    Programme,
)
from widget_server.core.profile_url import screen_url
from widget_server.core.records import Shape, read
from widget_server.core.tenants import Tenant
from widget_server.delivery.notices import Notices
from widget_server.delivery.webhooks import (
    BOOKING_SWITCH_REQUESTED,
    BOOKING_SWITCHED,
    enqueue_event,
)
from widget_server.profile.bookings import ACTIVE, LATEST_SWITCH, with_latest_switch
from widget_server.selfservice import capacity, rules

INSTANT, REQUEST = "instant", "request"
REQUESTED, SWITCHED, DECLINED, CANCELLED = "requested", "switched", "declined", "cancelled"


# A session places could move to, as the page and a change use it (not the session's whole
# record: its provider id and timestamps were read and converted for nothing).
Slot = namedtuple("Slot", "id programme_id starts_at ends_at location")


@dataclass(frozen=True)
class Target:
    """Another class the booking could change to, and what the change would be."""

    key: str  # "<programme id>/<ISO weekday>/<HH:MM>", local to the tenant
    programme: Any  # Programme
    sessions: tuple[Slot, ...]  # the sessions the remaining places would move to, in order
    why: str | None  # None: possible; "full" or "too_few" (sessions left)
    full_on: Slot | None  # the first of those sessions without a free place
    difference: int | None  # price for the rest of the term, new minus old (None: unknown)

    @property
    def available(self) -> bool:
        return self.why is None


@dataclass
class Plan:
    """What a booking's change of class looks like now."""

    view: BookingView
    policy: str  # instant, request (a booking whose programme says none has no plan)
    places: list[tuple[int, Slot]]  # (attendance id, session) that would move, soonest first
    targets: list[Target]
    pending: Any | None  # BookingSwitch waiting for the provider
    can_act: bool
    currency: str
    last: Any | None = None  # the latest decided change, for the page to say what became of it
    chosen: Target | None = field(default=None)


def policy_of(programme: Any) -> str:
    """How a booking of this programme changes class: instant, request or none."""
    return programme.switch_policy if programme.switch_policy in (INSTANT, REQUEST) else "none"


def offered(view: BookingView) -> bool:
    """Whether the booking's dashboard shows "Change class" (no statement needed)."""
    return policy_of(view.programme) != "none" and view.booking.status in ACTIVE


# --- what could move where -------------------------------------------------------------------

# The page's statements, built once with bound parameters and read past the ORM
# (core.records).
_PLACES = (select(Attendance.id, ClassSession.id, ClassSession.programme_id,
                  ClassSession.starts_at, ClassSession.ends_at, ClassSession.location)
           .join(ClassSession, ClassSession.id == Attendance.session_id)
           .where(Attendance.tenant == bindparam("tenant"),
                  Attendance.booking_id == bindparam("booking_id"),
                  Attendance.status == "expected", Attendance.makeup == false(),
                  ClassSession.programme_id == bindparam("programme_id"),
                  ClassSession.cancelled == false(), ClassSession.starts_at > bindparam("now"))
           .order_by(ClassSession.starts_at, ClassSession.id))
# Every place of the booking: the sessions it is in already, and (not make-ups) what it paid for.
_OF_BOOKING = (Attendance.tenant == bindparam("tenant"),
               Attendance.booking_id == bindparam("booking_id"))
_OWN = select(Attendance.session_id, Attendance.makeup).where(*_OF_BOOKING)
_PROGRAMME = Shape(Programme)
_SIBLINGS = (_PROGRAMME.select()
             .where(Programme.tenant == bindparam("tenant"),
                    Programme.makeup_group == bindparam("group"),
                    Programme.id != bindparam("programme_id"))
             .order_by(Programme.name, Programme.id))
# The timetable of those classes: every session not cancelled since `since`, as its id,
# programme and start only. Past ones too where a price difference is worked out (a class's
# price is for all its sessions); else only those to come, which is all a class offered at the
# booking's own price needs. The sessions to come that places could move to are picked from
# it; only those are then read further, for the rest of their slots and whether there is room
# (three counts per session: a class's later sessions, most of them, are never moved to). Not
# their programme and start again: the timetable has them, and each value read back cost
# SQLite's driver a release of Python's lock, a start a conversion.
_TIMETABLE = (select(ClassSession.id, ClassSession.programme_id, ClassSession.starts_at)
              .where(ClassSession.programme_id.in_(bindparam("programmes", expanding=True)),
                     ClassSession.cancelled == false(),
                     ClassSession.starts_at > bindparam("since"))
              .order_by(ClassSession.programme_id, ClassSession.starts_at, ClassSession.id))
# PostgreSQL's: the booking's places with the timetable, as two columns of it (whether the
# booking is in the session already, and, the same on every row, worked out once, how many
# places it paid for): one round trip instead of two (the page 8.66 -> 8.44 M instructions in
# process, besides the round trip's system calls and the server's work). Not on SQLite, which
# has no round trip to save: there a lookup per session of the timetable cost more than the
# statement (9.75 -> 9.96 M instructions a page; a UNION of the two, sorted, 10.0 M).
_TIMETABLE_WITH_OWN = _TIMETABLE.add_columns(
    type_coerce(ClassSession.id.in_(select(Attendance.session_id).where(*_OF_BOOKING)), Integer),
    select(func.count()).where(*_OF_BOOKING, Attendance.makeup == false()).scalar_subquery())
_EVER = datetime(1970, 1, 1, tzinfo=UTC)  # `since` for a timetable read whole
_ROOM_IN = select(ClassSession.id, ClassSession.ends_at, ClassSession.location,
                  capacity.has_room(bindparam("now"))).where(
    ClassSession.id.in_(bindparam("ids", expanding=True)))


def _remaining(db: Session, tenant: Tenant, view: BookingView, now: datetime) -> list[tuple]:
    """(attendance id, session) of each place that would move, soonest first."""
    rows = read(db, _PLACES, {"tenant": tenant.slug, "booking_id": view.booking.id,
                              "programme_id": view.programme.id, "now": now})
    places = [(row[0], Slot._make(row[1:])) for row in rows]
    return [(a, s) for a, s in places if rules.before_cutoff(tenant, view.programme, s, now)]


def _programmes(db: Session, tenant: Tenant, view: BookingView) -> list[Any]:
    """The booking's programme (its other weekly groups) and those of its make-up group."""
    programme = view.programme
    if not programme.makeup_group:
        return [programme]
    return [programme, *(p for p, in _PROGRAMME.rows(db, _SIBLINGS, {
        "tenant": tenant.slug, "group": programme.makeup_group,
        "programme_id": programme.id}))]


def class_key(programme: Any, starts_at: datetime, tz: Any) -> str:
    """A weekly class: the programme, the weekday and the local start of its sessions."""
    return _class_key(programme.external_id, starts_at, tz)


@lru_cache(maxsize=20_000)
def _class_key(programme_ref: str, starts_at: datetime, tz: Any) -> str:
    # Kept: a page keys a few hundred sessions, the same ones for every family of the classes.
    local = starts_at.astimezone(tz)
    # Not `{local:%H:%M}`: strftime costs twice the rest.
    return f"{programme_ref}/{local.isoweekday()}/{local.hour:02d}:{local.minute:02d}"


def _difference(tenant: Tenant, view: BookingView, sizes: Counter,
                targets: list[tuple[str, Any]], moved: int, booked: int) -> dict[str, int | None]:
    """Per class: what the moved places cost there less what they cost in the booking (its
    price over its `booked` places, make-ups aside; a class's over its `sizes` sessions), or
    None when a price is unknown or in another currency."""
    found: dict[str, int | None] = {}
    currency = view.currency(tenant.config.currency)
    for key, programme in targets:
        if programme.id == view.programme.id:
            found[key] = 0
        elif view.price is None or programme.price is None or not booked or not sizes[key] \
                or (programme.currency or currency) != currency:
            found[key] = None
        else:
            found[key] = round((programme.price / sizes[key] - view.price / booked) * moved)
    return found


def _targets(db: Session, tenant: Tenant, view: BookingView, places: list[tuple],
             now: datetime) -> list[Target]:
    """Each other weekly class of the programme and of its make-up group, with the sessions
    the places would move to and whether there is room in all of them: a fixed handful of
    statements, however many classes and sessions."""
    today = local_today(now, tenant.config.timezone)
    programmes = {p.id: p for p in _programmes(db, tenant, view)
                  if p.id == view.programme.id or rules.age_fits(p, view.attendee.birth_date,
                                                                 today)}
    tz = tenant.zone
    current = {class_key(view.programme, s.starts_at, tz) for _, s in places}
    opens = {pid: max(now, rules.bookable_after(tenant, p, now)) for pid, p in programmes.items()}
    classes: dict[str, list[tuple]] = {}  # the sessions each class could take, soonest first
    refs = {pid: p.external_id for pid, p in programmes.items()}
    # Sizes only where `_difference` divides a price by them: another class's, with a price
    # for the booking too. Else the sessions to come are enough (a booking's own programme,
    # often the only one, costs the same in any of its groups).
    priced = view.price is not None and any(
        p.price is not None for pid, p in programmes.items() if pid != view.programme.id)
    values = {"programmes": list(programmes), "since": _EVER if priced else now,
              "tenant": tenant.slug, "booking_id": view.booking.id}
    if db.get_bind().dialect.name == "postgresql":
        timetable = read(db, _TIMETABLE_WITH_OWN, values)
        own = {row[0] for row in timetable if row[3]}
        paid_for = timetable[0][4] if timetable else 0
    else:
        places_held = read(db, _OWN, values)
        own = {session_id for session_id, _ in places_held}
        paid_for = sum(not makeup for _, makeup in places_held)
        timetable = read(db, _TIMETABLE, values)
    keys = [_class_key(refs[row[1]], row[2], tz) for row in timetable]
    sizes = Counter(keys)  # counted in C, not a step of the loop below per session
    for row, key in zip(timetable, keys, strict=True):
        if row[2] > opens[row[1]] and key not in current and row[0] not in own:
            classes.setdefault(key, []).append(row)
    wanted = len(places)
    chosen = {key: usable[:wanted] for key, usable in classes.items()}
    ids = sorted({row[0] for rows in chosen.values() for row in rows})
    # Each session's end, place and whether it has room, by its id.
    room = {row[0]: row[1:] for row in read(db, _ROOM_IN, {"ids": ids, "now": now})} \
        if ids else {}
    prices = _difference(tenant, view, sizes,
                         [(k, programmes[v[0][1]]) for k, v in classes.items()],
                         wanted, paid_for)
    found = []
    for key, rows in chosen.items():
        if any(row[0] not in room for row in rows):
            continue  # a session gone since the timetable was read: not offered this time
        programme = programmes[classes[key][0][1]]
        sessions = tuple(Slot(row[0], row[1], row[2], *room[row[0]][:2]) for row in rows)
        full = next((s for s in sessions if not room[s.id][2]), None)
        why = "too_few" if len(sessions) < wanted or not wanted else ("full" if full else None)
        found.append(Target(key, programme, sessions, why, full, prices[key]))
    # The programme's own other groups first, then by name, each soonest first.
    return sorted(found, key=lambda t: (t.programme.id != view.programme.id,
                                        t.programme.name, t.sessions[0].starts_at
                                        if t.sessions else now))


# The booking's latest change, read as a record (core.records), always afresh: a booking's
# dashboard asks on every view, and an ORM object cost twice the statement.
_SWITCH = Shape(BookingSwitch)
_PENDING = (_SWITCH.select()
            .where(BookingSwitch.tenant == bindparam("tenant"),
                   BookingSwitch.booking_id == bindparam("booking_id"))
            .order_by(BookingSwitch.id.desc()).limit(1))


def _latest(db: Session, tenant: str, booking_id: int) -> Any | None:
    found = _SWITCH.first(db, _PENDING, {"tenant": tenant, "booking_id": booking_id})
    return found[0] if found else None


def plan(db: Session, tenant: Tenant, access: Access, booking_ref: str,
         now: datetime) -> Plan:
    """The booking's remaining places and the classes they could move to, for the page."""
    row = _PLAN.first(db, scope.prepared(_plan_of, access),
                      access.parameters() | {"booking": booking_ref})
    view = scope.booking_view(access, row)
    policy = policy_of(view.programme)
    if policy == "none":
        raise NotFound("This booking's class cannot be changed here.")
    latest = row[len(scope.BOOKING_VIEW)]
    pending = latest if latest is not None and latest.status == REQUESTED else None
    places = _remaining(db, tenant, view, now)
    return Plan(view, policy, places, _targets(db, tenant, view, places, now) if not pending
                else [], pending, scope.can_act(access, view)
                and view.booking.status in ACTIVE, view.currency(tenant.config.currency),
                latest if pending is None else None)


# The booking with its latest change of class, in one statement (`with_latest_switch`).
_PLAN = Shape(*scope.BOOKING_VIEW, LATEST_SWITCH)


def _plan_of(who: Access):
    return with_latest_switch(scope.booking_statement(who, LATEST_SWITCH), who.tenant)


def pending_of(db: Session, tenant: str, view: BookingView) -> Any | None:
    """The booking's change waiting for the provider (one statement, only for a programme
    that allows changing)."""
    if policy_of(view.programme) == "none":
        return None
    return pending_among(view, _latest(db, tenant, view.booking.id))


def pending_among(view: BookingView, latest: Any | None) -> Any | None:
    """The booking's change waiting for the provider, if its `latest` change is one and its
    programme allows changing (a dashboard reads `latest` with the booking)."""
    if latest is None or latest.status != REQUESTED or policy_of(view.programme) == "none":
        return None
    return latest


# --- changing ----------------------------------------------------------------------------------

def switch(db: Session, tenant: Tenant, access: Access, booking_ref: str, target_ref: str,
           now: datetime, notices: Notices) -> Any:
    """Change the booking's class: at once, or as a request (by the programme's policy).
    Returns the BookingSwitch."""
    view = scope.get_booking(db, access, booking_ref)
    if not scope.can_act(access, view):
        raise ViewOnly("Only the family can change this booking's class.")
    policy = policy_of(view.programme)
    if policy == "none":
        raise NotFound("This booking's class cannot be changed here.")
    if view.booking.status not in ACTIVE:
        raise Refused("not_active")
    # Queue behind any other change of this booking, then read everything afresh.
    capacity.lock(db, Booking, view.booking.id)
    if pending_of(db, tenant.slug, view) is not None:
        raise Refused("switch_pending")
    places = _remaining(db, tenant, view, now)
    target = next((t for t in _targets(db, tenant, view, places, now)
                   if t.key == target_ref), None)
    if target is None:
        raise NotFound("There is no such class to change to.")
    if target.why == "too_few":
        raise Refused("switch_too_few")
    change = BookingSwitch(
        tenant=tenant.slug, external_id=capacity.new_id("sw"), client_id=view.booking.client_id,
        booking_id=view.booking.id, from_programme_id=view.programme.id,
        to_programme_id=target.programme.id, to_class=target.key, status=REQUESTED,
        moves=_moves(places, target), price_difference=target.difference,
        currency=view.currency(tenant.config.currency), requested_by=access.email,
        created_at=now, updated_at=now)
    if policy == INSTANT:
        _move(db, tenant, view.booking.id, places, target, now)
        change.status, change.decided_at = SWITCHED, now
    elif target.why == "full":  # a request for a class already full would only be declined
        raise Refused("switch_full")
    db.add(change)
    db.flush()
    _announce(db, tenant, notices, change, view.booking, view.attendee, view.programme,
              target.programme, now)
    return change


def _moves(places: list[tuple], target: Target) -> list[list[int]]:
    return [[a, s.id, t.id] for (a, s), t in zip(places, target.sessions, strict=False)]


def _move(db: Session, tenant: Tenant, booking_id: int, places: list[tuple], target: Target,
          now: datetime) -> None:
    """Move every place, or none: lock the new sessions in id order, count, then move each
    place (any that changed meanwhile refuses the whole change, rolled back by the caller)."""
    for session in sorted(target.sessions, key=lambda s: s.id):
        locked = capacity.lock_session(db, session.id)
        if locked is None or not capacity.room_for_one(db, locked, now):
            raise Refused("switch_full")
    for (attendance, session), new in zip(places, target.sessions, strict=True):
        moved = db.exec(update(Attendance)
                        .where(Attendance.id == attendance,
                               Attendance.session_id == session.id,
                               Attendance.status == "expected")
                        .values(session_id=new.id, updated_at=now)
                        .execution_options(synchronize_session=False))
        if moved.rowcount != 1:
            raise Refused("switch_changed")
    db.exec(update(Booking).where(Booking.id == booking_id)
            .values(programme_id=target.programme.id, updated_at=now)
            .execution_options(synchronize_session=False))


def cancel_request(db: Session, tenant: Tenant, access: Access, booking_ref: str,
                   now: datetime) -> None:
    """Take back a change still waiting for the provider."""
    view = scope.get_booking(db, access, booking_ref)
    if not scope.can_act(access, view):
        raise ViewOnly("Only the family can change this booking's class.")
    capacity.lock(db, Booking, view.booking.id)
    pending = pending_of(db, tenant.slug, view)
    if pending is None:
        raise Refused("switch_not_pending")
    db.exec(update(BookingSwitch).where(BookingSwitch.id == pending.id,
                                        BookingSwitch.status == REQUESTED)
            .values(status=CANCELLED, decided_at=now, updated_at=now)
            .execution_options(synchronize_session=False))


# --- the provider's answer (API) ----------------------------------------------------------------

def one(db: Session, tenant: str, external_id: str) -> Any:
    """One of the tenant's class changes by its id (read afresh); NotFound for anyone
    else's."""
    change = db.exec(select(BookingSwitch).where(BookingSwitch.tenant == tenant,
                                                 BookingSwitch.external_id == external_id)
                     .execution_options(populate_existing=True)).first()
    if change is None:
        raise NotFound(f"No class change {external_id!r}.")
    return change


def confirm(db: Session, tenant: Tenant, external_id: str, now: datetime,
            notices: Notices) -> Any:
    """The provider says yes: the places move now, against capacity now (Refused
    `switch_full` if the class filled up meanwhile; nothing moves then)."""
    change = one(db, tenant.slug, external_id)
    capacity.lock(db, Booking, change.booking_id)
    change = one(db, tenant.slug, external_id)
    if change.status != REQUESTED:
        raise Refused(f"switch_{change.status}")
    booking, programme, attendee = db.exec(
        select(Booking, Programme, Attendee)
        .join(Programme, Programme.id == Booking.programme_id)
        .join(Attendee, Attendee.id == Booking.attendee_id)
        .where(Booking.id == change.booking_id)).one()
    view = BookingView(booking, programme, attendee, owned=True)
    if programme.id != change.from_programme_id:
        raise Refused("switch_changed")
    places = _remaining(db, tenant, view, now)
    target = next((t for t in _targets(db, tenant, view, places, now)
                   if t.key == change.to_class), None)
    if target is None or target.why == "too_few":
        raise Refused("switch_too_few")
    if not places:
        raise Refused("switch_changed")
    _move(db, tenant, booking.id, places, target, now)
    change.status, change.decided_at, change.updated_at = SWITCHED, now, now
    change.moves = _moves(places, target)
    db.add(change)
    db.flush()
    _announce(db, tenant, notices, change, booking, attendee, programme, target.programme, now)
    return change


def decline(db: Session, tenant: Tenant, external_id: str, message: str | None,
            now: datetime, notices: Notices) -> Any:
    """The provider says no (with a message for the family); nothing moves."""
    change = one(db, tenant.slug, external_id)
    capacity.lock(db, Booking, change.booking_id)
    change = one(db, tenant.slug, external_id)
    if change.status != REQUESTED:
        raise Refused(f"switch_{change.status}")
    change.status, change.decided_at, change.updated_at = DECLINED, now, now
    change.message = (message or "").strip()[:500] or None
    db.add(change)
    db.flush()
    booking, attendee, old, new, client = _parts(db, change)
    notices.send(db, client.email, "switch_declined", client.locale,
                 lambda: _("Class change not possible: %(name)s") % {"name": attendee.name},
                 client_id=client.id, change=change, attendee=attendee, old=old, new=new,
                 WIDGET_PROFILE_URL=screen_url(notices.settings, tenant,
                                               f"bookings/{booking.external_id}"))
    return change


def _parts(db: Session, change: Any) -> tuple:
    old, new = (db.exec(select(Programme).where(Programme.id == pid)).one()
                for pid in (change.from_programme_id, change.to_programme_id))
    booking, attendee, client = db.exec(
        select(Booking, Attendee, Client).join(Attendee, Attendee.id == Booking.attendee_id)
        .join(Client, Client.id == Booking.client_id)
        .where(Booking.id == change.booking_id)).one()
    return booking, attendee, old, new, client


def as_json(db: Session, change: Any) -> dict[str, Any]:
    """A change as the API and the webhooks show it (provider ids)."""
    return as_json_many(db, [change])[0]


def _external(db: Session, model: Any, ids: set[int]) -> dict[int, str]:
    return dict(db.exec(select(model.id, model.external_id).where(model.id.in_(ids))).all()) \
        if ids else {}


def as_json_many(db: Session, changes: list[Any]) -> list[dict[str, Any]]:
    """Changes as the API shows them: four statements for a page, however long."""
    moves = [m for c in changes for m in c.moves]
    attendance = _external(db, Attendance, {a for a, _, _ in moves})
    sessions = _external(db, ClassSession, {s for _, f, t in moves for s in (f, t)})
    programmes = _external(db, Programme, {p for c in changes
                                           for p in (c.from_programme_id, c.to_programme_id)})
    bookings = {b: (ext, att) for b, ext, att in db.exec(
        select(Booking.id, Booking.external_id, Attendee.external_id)
        .join(Attendee, Attendee.id == Booking.attendee_id)
        .where(Booking.id.in_({c.booking_id for c in changes}))).all()} if changes else {}
    return [{
        "id": c.external_id, "status": c.status,
        "booking_id": bookings[c.booking_id][0], "attendee_id": bookings[c.booking_id][1],
        "from_programme_id": programmes[c.from_programme_id],
        "to_programme_id": programmes[c.to_programme_id],
        "sessions": [{"attendance_id": attendance.get(a), "from_session_id": sessions.get(f),
                      "to_session_id": sessions.get(t)} for a, f, t in c.moves],
        "price_difference": c.price_difference, "currency": c.currency,
        "requested_by": c.requested_by, "requested_at": c.created_at,
        "decided_at": c.decided_at, "message": c.message,
    } for c in changes]


def _announce(db: Session, tenant: Tenant, notices: Notices, change: Any, booking: Any,
              attendee: Any, old: Any, new: Any, now: datetime) -> None:
    """The provider's webhook and the family's e-mail (a receipt: always sent)."""
    event = BOOKING_SWITCHED if change.status == SWITCHED else BOOKING_SWITCH_REQUESTED
    data = as_json(db, change)
    data["switch_id"] = data.pop("id")
    enqueue_event(db, tenant, event, client_id=booking.client_id, at=now, data=data)
    client = db.exec(select(Client).where(Client.id == booking.client_id)).one()
    if change.status == SWITCHED:
        subject = lambda: _("Class changed: %(name)s, %(programme)s") % {  # noqa: E731
            "name": attendee.name, "programme": new.name}
    else:
        subject = lambda: _("Class change requested: %(name)s") % {  # noqa: E731
            "name": attendee.name}
    first = db.exec(select(ClassSession).where(ClassSession.id == change.moves[0][2])).first() \
        if change.moves else None
    notices.send(db, client.email, f"switch_{change.status}", client.locale, subject,
                 client_id=client.id, change=change, attendee=attendee, old=old, new=new,
                 first=first,
                 WIDGET_PROFILE_URL=screen_url(notices.settings, tenant,
                                               f"bookings/{booking.external_id}"))


def list_changes(db: Session, tenant: str, status: str | None, limit: int,
                 after: int | None) -> tuple[list[Any], bool]:
    """A page of the tenant's class changes, oldest first (keyset on id)."""
    query = select(BookingSwitch).where(BookingSwitch.tenant == tenant)
    if status is not None:
        query = query.where(BookingSwitch.status == status)
    if after is not None:
        query = query.where(BookingSwitch.id > after)
    rows = list(db.exec(query.order_by(BookingSwitch.id).limit(limit + 1)).all())
    return rows[:limit], len(rows) > limit
