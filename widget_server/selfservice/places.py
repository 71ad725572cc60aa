"""What a family does to its own places: cancel one (earning a make-up credit where the policy
gives one), move one to another session of the programme, and add a programme's add-on.

Everything goes through the booking the person may see (`access`), and acting needs more than
seeing (`access.can_act`: the family, or a fully shared co-parent). Every change is checked
against the cutoff (`rules`) and, when it takes a place, against real capacity (`capacity`);
the provider's webhook is queued in the same transaction. A freed place is offered to the
make-up waiting list by the scheduler, which the page wakes after the change is committed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, update
from sqlmodel import Session, select

from widget_server.core import access as scope
from widget_server.core.access import Access, BookingView
from widget_server.core.errors import NotFound, Refused, ViewOnly
from widget_server.core.formatting import When, local_today, session_when
from widget_server.core.models import (
    Attendance,
    AttendanceOrigin,
    Attendee,
    Booking,
    ClassSession,
    MakeupCredit,
    Payment,
    Programme,
)
from widget_server.core.records import Shape
from widget_server.core.tenants import Tenant
from widget_server.delivery import webhooks
from widget_server.profile import bookings
from widget_server.profile.bookings import ACTIVE, Dashboard, Sessions
from widget_server.selfservice import (
    capacity,
    credits,
    makeups,
    options,
    passes,
    rules,
    switching,
)


@dataclass(frozen=True)
class Place:
    """One attendance of a booking the person may act on, with what it is."""

    view: BookingView
    attendance: Attendance
    session: ClassSession
    programme: Programme  # the session's (a make-up may be in another programme)
    origin: AttendanceOrigin | None

    @property
    def kind(self) -> str:
        if self.attendance.makeup:
            return "makeup"
        if self.origin is not None and self.origin.entry_pass_id is not None:
            return "pass"
        return "regular"


def get_place(db: Session, access: Access, booking_ref: str, session_ref: str) -> Place:
    """The booking's place in a session; NotFound if not visible, Forbidden if view-only."""
    view = scope.get_booking(db, access, booking_ref)
    if not scope.can_act(access, view):
        raise ViewOnly("Only the family can change this booking's sessions.")
    row = db.exec(
        select(Attendance, ClassSession, Programme, AttendanceOrigin)
        .join(ClassSession, ClassSession.id == Attendance.session_id)
        .join(Programme, Programme.id == ClassSession.programme_id)
        .outerjoin(AttendanceOrigin, AttendanceOrigin.attendance_id == Attendance.id)
        .where(Attendance.tenant == access.tenant, Attendance.booking_id == view.booking.id,
               ClassSession.external_id == session_ref)
        .order_by(Attendance.status.not_in(capacity.COUNTING), Attendance.id)
    ).first()
    if row is None:
        raise NotFound("There is no such session in this booking.")
    return Place(view, *row)


def changeable(tenant: Tenant, place: Place, now: datetime) -> str | None:
    """Why the place cannot be cancelled or moved now, or None if it can."""
    if place.view.booking.status not in ACTIVE or place.session.cancelled \
            or place.attendance.status != "expected":
        return "not_cancellable"
    if not rules.before_cutoff(tenant, place.programme, place.session, now):
        return "past_cutoff"
    return None


def earns_credit(tenant: Tenant, place: Place, now: datetime) -> datetime | None:
    """Until when the credit that cancelling this place earns could be used; None: no credit
    (make-up and pass places give back what paid for them instead)."""
    if place.kind != "regular" or rules.makeup_policy(tenant, place.programme) == "none":
        return None
    expires = rules.credit_expiry(tenant, place.programme, place.session)
    return expires if expires > now else None


@dataclass(frozen=True)
class Cancelled:
    place: Place
    credit: MakeupCredit | None  # to book with now: earned by this cancellation, or given back
    returned: str | None  # "credit" or "entry": what a cancelled make-up or pass place gave back


def cancel(db: Session, tenant: Tenant, access: Access, booking_ref: str, session_ref: str,
           now: datetime) -> Cancelled:
    """Excuse the place before the cutoff; earn a credit, or give back a credit or an entry."""
    place = get_place(db, access, booking_ref, session_ref)
    reason = changeable(tenant, place, now)
    if reason:
        raise Refused(reason)
    excused = db.exec(update(Attendance)
                      .where(Attendance.id == place.attendance.id,
                             Attendance.status == "expected")
                      .values(status="excused", updated_at=now)
                      .execution_options(synchronize_session=False))
    if excused.rowcount != 1:  # a second tab, or the provider, got there first
        raise Refused("not_cancellable")
    origin = place.origin or AttendanceOrigin(attendance_id=place.attendance.id,
                                              tenant=tenant.slug, created_at=now)
    origin.cancelled_at = now
    db.add(origin)
    attendance, session, booking = place.attendance, place.session, place.view.booking
    credit, returned = None, None
    if place.kind == "makeup":
        given_back = credits.return_credit(db, tenant, attendance, session, now)
        if given_back is not None:
            return Cancelled(place, given_back, "credit")  # makeup.cancelled says it all
    elif place.kind == "pass":
        returned = "entry" if passes.give_back(db, place.origin, session, now) else None
    else:
        credit = credits.issue(db, tenant, attendance, booking, session, place.programme, now)
    webhooks.enqueue_event(db, tenant, webhooks.SESSION_CANCELLED, client_id=booking.client_id,
                           at=now, data={
                               "attendee_id": place.view.attendee.external_id,
                               "booking_id": booking.external_id,
                               "session_id": session.external_id,
                               "attendance_id": attendance.external_id,
                               "starts_at": session.starts_at,
                               "makeup_credit_id": credit.external_id if credit else None})
    return Cancelled(place, credit, returned)


def move_search(db: Session, tenant: Tenant, place: Place, now: datetime) -> options.Search:
    """Where a place may move: another session of the booking's programme, and not one the
    booking already has a row in (a cancelled place there stays as it is)."""
    own = db.exec(select(Attendance.session_id).where(
        Attendance.booking_id == place.view.booking.id)).all()
    return _move_searches(tenant, place.view, {place.session.id, *own}, [place.attendance.id],
                          now)[0]


def _move_searches(tenant: Tenant, view: BookingView, own: set[int], attendance_ids: list[int],
                   now: datetime) -> list[options.Search]:
    """A move search per place of the booking, all sharing what they exclude (its sessions)."""
    programme = view.programme
    cutoffs = {programme.id: rules.cutoff_hours(tenant, programme)}
    exclude = tuple(sorted(own))
    return [options.Search(tenant=tenant.slug, attendee_id=view.attendee.id, now=now,
                           cutoffs=cutoffs, exclude=exclude, ignore_attendance=attendance_id)
            for attendance_id in attendance_ids]


def reschedule_options(db: Session, tenant: Tenant, access: Access, booking_ref: str,
                       session_ref: str, now: datetime,
                       page: int = 1) -> tuple[Place, options.Page | None, str | None]:
    """The sessions a regular place could move to (a page), or why there are none."""
    place = get_place(db, access, booking_ref, session_ref)
    reason = changeable(tenant, place, now) or (None if place.kind == "regular"
                                                else "not_movable")
    if reason:
        return place, None, reason
    search = move_search(db, tenant, place, now)
    return place, *options.find_or_why(db, search, page, tenant.config.timezone)


def reschedule(db: Session, tenant: Tenant, access: Access, booking_ref: str,
               session_ref: str, target_ref: str, now: datetime) -> tuple[Place, ClassSession]:
    """Move a regular place to another session with a free place, in one step."""
    place = get_place(db, access, booking_ref, session_ref)
    reason = changeable(tenant, place, now) or (None if place.kind == "regular"
                                                else "not_movable")
    if reason:
        raise Refused(reason)
    target = db.exec(select(ClassSession).where(ClassSession.tenant == tenant.slug,
                                                ClassSession.external_id == target_ref)).first()
    if target is None:
        raise NotFound("There is no such session.")
    capacity.lock(db, Attendee, place.view.attendee.id)
    target = capacity.lock_session(db, target.id)
    reason = options.why_not(db, move_search(db, tenant, place, now), target)
    if reason:
        raise Refused(reason)
    moved = db.exec(update(Attendance)
                    .where(Attendance.id == place.attendance.id,
                           Attendance.session_id == place.session.id,
                           Attendance.status == "expected")
                    .values(session_id=target.id, updated_at=now)
                    .execution_options(synchronize_session=False))
    if moved.rowcount != 1:
        raise Refused("not_cancellable")
    origin = place.origin or AttendanceOrigin(attendance_id=place.attendance.id,
                                              tenant=tenant.slug, created_at=now)
    origin.moved_from_session_id = place.session.id
    db.add(origin)
    booking = place.view.booking
    webhooks.enqueue_event(db, tenant, webhooks.SESSION_RESCHEDULED,
                           client_id=booking.client_id, at=now, data={
                               "attendee_id": place.view.attendee.external_id,
                               "booking_id": booking.external_id,
                               "attendance_id": place.attendance.external_id,
                               "from_session_id": place.session.external_id,
                               "session_id": target.external_id,
                               "starts_at": target.starts_at})
    return place, target


# --- add-ons ----------------------------------------------------------------------------------

def addons_of(db: Session, access: Access, booking_ref: str) -> tuple[BookingView, list[dict]]:
    """The programme's add-ons, each marked `added` when the booking has it."""
    view = scope.get_booking(db, access, booking_ref)
    if not scope.can_act(access, view):
        raise ViewOnly("Only the family can add to this booking.")
    added = set(view.booking.addons or [])
    return view, [{**a, "added": a.get("id") in added} for a in view.programme.addons or []]


def add_addon(db: Session, tenant: Tenant, access: Access, booking_ref: str, addon_id: str,
              now: datetime) -> tuple[BookingView, dict, Payment]:
    """Add an add-on to an active booking: it shows on the booking and is owed as an unpaid
    payment. Adding the same one twice (a double tap) is refused."""
    view, offered = addons_of(db, access, booking_ref)
    addon = next((a for a in offered if a.get("id") == addon_id), None)
    if addon is None:
        raise NotFound("This programme has no such add-on.")
    if view.booking.status not in ACTIVE:
        raise Refused("not_active")
    capacity.lock(db, Booking, view.booking.id)
    booking = db.exec(select(Booking).where(Booking.id == view.booking.id)
                      .execution_options(populate_existing=True)).one()
    if addon_id in (booking.addons or []):
        raise Refused("addon_added")
    booking.addons = [*(booking.addons or []), addon_id]
    booking.updated_at = now
    currency = view.currency(tenant.config.currency)
    payment = Payment(tenant=tenant.slug, external_id=capacity.new_id("pay"),
                      client_id=booking.client_id, booking_id=booking.id,
                      description=f"{addon['name']} – {view.attendee.name}",
                      amount=addon["price"], currency=currency, status="unpaid",
                      due_date=local_today(now, tenant.config.timezone),
                      created_at=now, updated_at=now)
    db.add(booking)
    db.add(payment)
    db.flush()
    webhooks.enqueue_event(db, tenant, webhooks.ADDON_ADDED, client_id=booking.client_id,
                           at=now, data={"booking_id": booking.external_id, "addon_id": addon_id,
                                         "payment_id": payment.external_id,
                                         "amount": payment.amount, "currency": currency})
    return view, addon, payment


# --- the booking's dashboard and sessions tab --------------------------------------------------

def dashboard(db: Session, tenant: Tenant, access: Access, booking_ref: str,
              now: datetime) -> Dashboard:
    """The booking's dashboard, counting only the child's make-ups that have a session to
    book (a view-only share counts none: it cannot book)."""
    board = bookings.dashboard(db, access, booking_ref, now)
    view = board.view
    if scope.can_act(access, view):
        if board.has_credits:  # most children have none: their credits are not read then
            credits, sources, grouped = makeups.spendable_by_member(
                db, access, now, view.booking.client_id, view.attendee.id)
            board.makeups_available = sum(options.have_options(
                db, makeups.searches_for(db, tenant, credits, now, sources, grouped)))
        if board.next is None and view.booking.status in ACTIVE:
            # Nothing booked: where the programme is booked with an entry pass, say so.
            board.entry_pass = passes.usable_for(db, tenant, access, view.programme.id, now)
        board.can_switch = switching.offered(view)
    board.switch_pending = switching.pending_among(view, board.latest_switch)
    return board


# --- the sessions tab -------------------------------------------------------------------------

class RowActions(NamedTuple):
    """What the sessions tab offers for one place (a named tuple: one per place to come)."""

    kind: str  # regular, makeup, pass
    window: rules.Window
    programme: Programme
    moved_from: ClassSession | None
    can_act: bool  # the person may act on the booking, and the booking is still running
    somewhere_to_move: bool = False  # another session it could move to now

    @property
    def can_cancel(self) -> bool:
        return self.can_act and self.window.open

    @property
    def can_move(self) -> bool:
        return self.can_cancel and self.kind == "regular" and self.somewhere_to_move


class Line(NamedTuple):
    """One row of the sessions tab as the template prints it, worked out once here: the
    template's tests and lookups per row cost more than the row's HTML (a tab lists dozens).
    A named tuple: a frozen dataclass of this size took longer to build than to print, and
    the template unpacks it into names, in this order (widget/sessions.html)."""

    ref: str  # the session's provider id
    status: str  # scheduled, attended ... (`SessionRow.status`)
    when: When  # the session's day and hours as the row prints them
    badge: str  # the status to show (`SessionRow.label`), or "" for a plain upcoming session
    soon: str  # "today", "tomorrow" (where the provider is), or ""
    makeup: bool
    entry_pass: bool  # booked with an entry pass
    moved_from: ClassSession | None  # rescheduled from this session
    programme: str  # another programme's name (a make-up in another class), or ""
    place: str  # where, when not where the booking's sessions usually are, or ""
    notes: tuple[bookings.Note, ...]
    livestream: str  # the join link while it is open, or ""
    cancel: str  # "cancel", "cancel_makeup" or "" (nothing to do, or too late)
    move: bool  # "Reschedule" leads somewhere
    closed_hours: int | None  # too late to change: the window's hours
    ics: bool  # "Add to calendar"


@dataclass
class SessionsExtra:
    """The sessions tab's self-service part: each upcoming place's actions, the member's
    make-up credits to book, and the tab's rows as the template prints them."""

    actions: dict[str, RowActions]
    credits: list[MakeupCredit]
    can_act: bool
    upcoming: list[Line] = field(default_factory=list)
    past: list[Line] = field(default_factory=list)
    usual_place: str = ""  # where the booking's sessions usually are, said once above the list


# The sessions tab's statements, built once with bound parameters (see `scope.prepared`).
# Plain columns and records (see core.records), not ORM objects: the tab reads them, never
# changes them. A place's session and origin come with the tab's rows; only the sessions
# places moved from and the programmes of make-ups in other classes are read here.
_SESSIONS_BY_ID = select(ClassSession).where(
    ClassSession.id.in_(bindparam("ids", expanding=True)))
_PROGRAMMES = Shape(Programme)
_PROGRAMMES_BY_ID = _PROGRAMMES.select().where(
    Programme.tenant == bindparam("tenant"), Programme.id.in_(bindparam("ids", expanding=True)))


def for_sessions(db: Session, tenant: Tenant, access: Access, tab: Sessions,
                 now: datetime, locale: str) -> SessionsExtra:
    """A fixed handful of queries, however many sessions: places with their origins, the
    programmes of make-ups in other classes, where regular places could move to, and the
    credits that have a session to book."""
    view = tab.view
    # A finished or cancelled booking offers nothing to do to its places.
    acts = scope.can_act(access, view) and view.booking.status in ACTIVE
    # Each place to come with its origin (read with the tab's rows).
    places = [(row, tab.origins[row.attendance_id]) for row in tab.upcoming]
    moved_ids = {o.moved_from_session_id for _, o in places if o.moved_from_session_id}
    moved = {s.id: s for s in db.exec(_SESSIONS_BY_ID, params={"ids": sorted(moved_ids)})
             } if moved_ids else {}
    programmes = {view.programme.id: view.programme}
    others = {row.session.programme_id for row, _ in places} - programmes.keys()
    if others:
        programmes.update((p.id, p) for p, in _PROGRAMMES.rows(
            db, _PROGRAMMES_BY_ID, {"tenant": access.tenant, "ids": sorted(others)}))
    # Each place's kind and window; "Reschedule" and "Book a make-up" only where they lead
    # somewhere: one pass over the places to move and the credits to spend, by the rules
    # their pages use. Then each place's actions, made once.
    kinds = ["makeup" if row.makeup else ("pass" if origin.entry_pass_id else "regular")
             for row, origin in places]
    windows = rules.windows(tenant, programmes, (row.session for row, _ in places), now)
    movers = [origin.place_id
              for (row, origin), kind, window in zip(places, kinds, windows, strict=True)
              if row.status == "scheduled" and acts and window.open and kind == "regular"]
    own = {r.session.id for r in (*tab.upcoming, *tab.past)}
    credits, sources, grouped = makeups.spendable_by_member(
        db, access, now, view.booking.client_id, view.attendee.id) if acts and tab.has_credits \
        else ([], {}, None)
    found = options.have_options(db, [*_move_searches(tenant, view, own, movers, now),
                                      *makeups.searches_for(db, tenant, credits, now, sources,
                                                            grouped)])
    to_move = dict(zip(movers, found, strict=False))
    actions = {row.attendance_id: RowActions(
        kind, window, programmes[row.session.programme_id],
        moved.get(origin.moved_from_session_id), acts, to_move.get(origin.place_id, False))
        for (row, origin), kind, window in zip(places, kinds, windows, strict=True)}
    bookable = found[len(movers):]
    extra = SessionsExtra(actions, [c for c, yes in zip(credits, bookable, strict=True) if yes],
                          acts)
    _lines(extra, tab, tenant.config.timezone, locale, now)
    return extra


def _lines(extra: SessionsExtra, tab: Sessions, tz: str, locale: str, now: datetime) -> None:
    """The tab's rows as `Line`s, and the usual place they are measured against. Each
    row's time is formatted here, in the page's language: the template unpacks it into
    names, where a filter per row cost a call and six lookups on its result."""
    view = tab.view
    programme = view.programme
    first = (tab.upcoming or tab.past or [None])[0]
    usual = extra.usual_place = (first.session.location if first else None) \
        or programme.venue or ""
    shows_place = not programme.online
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    running = view.booking.status in ACTIVE
    notes, actions = tab.notes, extra.actions
    for row in tab.past:
        s = row.session
        where = s.location or programme.venue
        extra.past.append(Line(
            s.external_id, row.status, session_when(s.starts_at, s.ends_at, tz, locale),
            row.label, "", row.makeup,
            False, None, "", where if shows_place and where and where != usual else "",
            tuple(notes.get(row.attendance_id, ())), "", "", False, None, False))
    for row in tab.upcoming:
        s = row.session
        act = actions.get(row.attendance_id)
        where = s.location or programme.venue
        scheduled = row.status == "scheduled"
        days = (s.starts_at.astimezone(zone).date() - today).days
        cancel, move, closed = "", False, None
        if act is not None and act.can_act and scheduled:
            if act.can_cancel:
                cancel = "cancel_makeup" if act.kind == "makeup" else "cancel"
                move = act.can_move
            else:
                closed = act.window.hours
        extra.upcoming.append(Line(
            s.external_id, row.status, session_when(s.starts_at, s.ends_at, tz, locale),
            "" if scheduled else row.label,
            "today" if days == 0 else ("tomorrow" if days == 1 else ""), row.makeup,
            act is not None and act.kind == "pass", act.moved_from if act else None,
            act.programme.name if act and act.programme.id != programme.id else "",
            where if shows_place and where and where != usual else "",
            tuple(notes.get(row.attendance_id, ())),
            s.livestream_url if row.livestream_open(now) else "", cancel, move, closed,
            scheduled and running))
