"""Offers of a place: next term's class (re-enrolment), a class after a trial, the next level
(move up). The family keeps the place in one tap or says no, thanks; the provider hears of
either by webhook and creates the booking in its own system, which then arrives through the
API as any booking does.

Places are real. Until the provider's booking arrives, an accepted offer takes a place in
each session of the chosen class (the programme's sessions from the option's first session
on), and an open offer with `hold_places` takes one in each of its options' sessions until its
deadline; `selfservice.capacity` counts both. Accepting locks the offer and those sessions,
then counts, as booking a make-up does, so two families never take the same last place.

Who may answer: the family, and an adult the offer's booking is shared with at full access;
a view-only share sees the offer and cannot act. The deadline is a day: the offer is open until
the end of it in the tenant's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, and_, bindparam, false, literal, null, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from widget_server.core import access as scope
from widget_server.core.access import FULL, Access
from widget_server.core.errors import NotFound, Refused, ViewOnly
from widget_server.core.formatting import local_today
from widget_server.core.i18n import gettext as _
from widget_server.core.models import (
    Attendee,
    Booking,
    BookingShare,
    ClassSession,
    Client,
    Level,
    Offer,
    OfferOption,
    Programme,
)
from widget_server.core.profile_url import screen_url
from widget_server.core.records import Shape
from widget_server.core.tenants import Tenant
from widget_server.delivery import preferences
from widget_server.delivery.notices import Notices
from widget_server.delivery.webhooks import (
    OFFER_ACCEPTED,
    OFFER_DECLINED,
    OFFER_EXPIRED,
    enqueue_event,
)
from widget_server.selfservice import capacity, offer_payment

OPEN, ACCEPTED, DECLINED, EXPIRED, WITHDRAWN = (
    "open", "accepted", "declined", "expired", "withdrawn")
DECLINE_REASONS = ("moving_away", "schedule", "cost", "other")
# Answered, expired or withdrawn offers stay on the home page this long, saying what became
# of them.
ANSWERED_SHOWN = timedelta(days=14)
EXPIRED_PER_ROUND = 500


@dataclass(frozen=True)
class Choice:
    """One class an offer proposes, as the family sees it."""

    key: str
    label: str | None
    programme: Any  # Programme record
    first: Any | None  # ClassSession record: the first session
    sessions: int | None
    price: int | None
    currency: str | None
    discount: int
    free: bool  # a place is there to take now (or held for this offer)

    @property
    def to_pay(self) -> int | None:
        return None if self.price is None else max(self.price - self.discount, 0)


@dataclass(frozen=True)
class OfferCard:
    offer: Any  # Offer record
    child: str
    level: str | None  # move up: the level it leads to
    booking: str | None  # the provider id of the booking it follows
    choices: tuple[Choice, ...]
    closes_at: datetime  # the end of the deadline day, in UTC
    can_act: bool
    state: str  # open, accepted, declined, expired, withdrawn (an open one past its deadline
    #             reads expired before the scheduler marks it)
    # The payment accepting asked for (`offer_payment`), on the offer's own page, for those
    # who may act on it.
    payment: Any | None = None

    @property
    def chosen(self) -> Choice | None:
        return next((c for c in self.choices if c.key == self.offer.chosen_option), None)


def closes_at(deadline: date, tz: str) -> datetime:
    """The end of the deadline day where the provider is (the first instant after it)."""
    return datetime.combine(deadline + timedelta(days=1), time(0), tzinfo=ZoneInfo(tz))


def _state(offer: Any, now: datetime, tz: str) -> str:
    if offer.status == OPEN and now >= closes_at(offer.deadline, tz):
        return EXPIRED
    return offer.status


# --- reading ------------------------------------------------------------------------------------

_OFFER = Shape(Offer, Attendee.name, Level.name, Booking.external_id, BookingShare.access)


def _visible(who: Access):
    """Offers of the person's family, and offers following a booking shared with them: one id
    list, each half read by an index that leads with the tenant and the owner."""
    shared = (select(BookingShare.booking_id)
              .where(BookingShare.tenant == who.tenant, BookingShare.email == who.email,
                     BookingShare.status == "active"))
    theirs = select(Offer.id).where(Offer.tenant == who.tenant, Offer.booking_id.in_(shared))
    if who.client_id is None:
        return Offer.id.in_(theirs)
    mine = select(Offer.id).where(Offer.tenant == who.tenant, Offer.client_id == who.client_id)
    return Offer.id.in_(mine if who.family_only else mine.union_all(theirs))


def _offers(who: Access, *where: Any):
    """Visible offers with the child's and the level's names, the booking's id and the
    person's share of it (a row per share; `_cards` keeps the best). A family with no shares
    has no share of any: None, and no join to the shares."""
    columns = (*_OFFER.columns[:-1], null()) if who.family_only else _OFFER.columns
    statement = (select(*columns)
                 .join(Attendee, Attendee.id == Offer.attendee_id)
                 .outerjoin(Level, Level.id == Offer.level_id)
                 .outerjoin(Booking, Booking.id == Offer.booking_id))
    if not who.family_only:
        statement = statement.outerjoin(BookingShare, and_(
            BookingShare.booking_id == Offer.booking_id, BookingShare.tenant == who.tenant,
            BookingShare.email == who.email, BookingShare.status == "active"))
    return statement.where(_visible(who), *where).order_by(Offer.deadline, Offer.id)


def _recent() -> Any:
    return or_(Offer.status == OPEN, Offer.updated_at >= bindparam("since"))


def _offers_query(who: Access):
    return _offers(who, Attendee.external_id == bindparam("member"), _recent())


def _booking_offers_query(who: Access):
    return _offers(who, Booking.external_id == bindparam("booking"), _recent())


def _one_query(who: Access):
    return _offers(who, Offer.external_id == bindparam("offer"))


_CHOICE = Shape(OfferOption, Programme, ClassSession)
_CHOICES = (_CHOICE.select()
            .join(Programme, Programme.id == OfferOption.programme_id)
            .outerjoin(ClassSession, ClassSession.id == OfferOption.first_session_id)
            .where(OfferOption.offer_id.in_(bindparam("offers", expanding=True)))
            .order_by(OfferOption.offer_id, OfferOption.position, OfferOption.id))


def _cards(db: Session, access: Access, rows: list[tuple], now: datetime,
           tz: str) -> list[OfferCard]:
    """Offer rows with their choices (one statement for all), and whether each has room."""
    if not rows:
        return []
    by_offer: dict[int, list[tuple]] = {}
    for option, programme, first in _CHOICE.rows(db, _CHOICES,
                                                 {"offers": [r[0].id for r in rows]}):
        by_offer.setdefault(option.offer_id, []).append((option, programme, first))
    room = _room(db, [o for found in by_offer.values() for o, _, _ in found], rows, now, tz)
    # Several shares of one booking (rare) give one row each; the best level counts.
    seen: dict[int, OfferCard] = {}
    for offer, child, level, booking, share in rows:
        acts = access.client_id is not None and offer.client_id == access.client_id \
            or share == FULL or (offer.id in seen and seen[offer.id].can_act)
        choices = tuple(Choice(o.key, o.label, p, f, o.sessions, o.price, o.currency,
                               o.discount, room.get(o.id, False))
                        for o, p, f in by_offer.get(offer.id, []))
        seen[offer.id] = OfferCard(offer, child, level, booking, choices,
                                   closes_at(offer.deadline, tz), acts, _state(offer, now, tz))
    return list(seen.values())


def for_member(db: Session, access: Access, member: str | None, now: datetime,
               tz: str) -> list[OfferCard]:
    """The member's open offers, and those answered in the last two weeks, soonest first."""
    if member is None:
        return []
    rows = _OFFER.rows(db, scope.prepared(_offers_query, access), access.parameters() | {
        "member": member, "since": now - ANSWERED_SHOWN})
    return _cards(db, access, rows, now, tz)


def for_booking(db: Session, access: Access, booking: str, now: datetime,
                tz: str) -> list[OfferCard]:
    """The offers that follow one booking (its dashboard shows them too)."""
    rows = _OFFER.rows(db, scope.prepared(_booking_offers_query, access),
                       access.parameters() | {"booking": booking,
                                              "since": now - ANSWERED_SHOWN})
    return _cards(db, access, rows, now, tz)


def one(db: Session, access: Access, external_id: str, now: datetime, tz: str) -> OfferCard:
    rows = _OFFER.rows(db, scope.prepared(_one_query, access),
                       access.parameters() | {"offer": external_id})
    if not rows:
        raise NotFound("There is no such offer in your profile.")
    card = _cards(db, access, rows, now, tz)[0]
    if card.can_act and card.state == ACCEPTED and card.offer.pay_on_accept:
        card = replace(card, payment=offer_payment.of_offer(db, card.offer.id))
    return card


# --- places -------------------------------------------------------------------------------------

def _room(db: Session, options: list[Any], rows: list[tuple], now: datetime,
          tz: str) -> dict[int, bool]:
    """Per option of an open offer: whether each session to come of its class has a place for
    it now (the offer's own hold is its own place). One statement for all the options."""
    open_ids = [r[0].id for r in rows if _state(r[0], now, tz) == OPEN]
    ids = [o.id for o in options if o.offer_id in open_ids]
    if not ids:
        return {}
    return {option_id: not full for option_id, full in db.execute(
        _FULL, {"options": ids, "now": now})}


_FIRST = aliased(ClassSession)


def _covering(option_programme: Any, option_first: Any, now: Any) -> list[Any]:
    """The sessions an option's place is in: its programme's sessions to come from its first
    session on (every one to come, without one), not cancelled."""
    first_start = (select(_FIRST.starts_at).where(_FIRST.id == option_first)
                   .correlate_except(_FIRST).scalar_subquery())
    return [ClassSession.programme_id == option_programme, ClassSession.cancelled == false(),
            ClassSession.ends_at > now,
            or_(option_first.is_(None), ClassSession.starts_at >= first_start)]


# An option is full when any session it covers has no place left for its offer (an alias:
# the places offers take are counted from `offer_option` itself).
_OPTION = aliased(OfferOption)
_FULL = select(_OPTION.id, select(ClassSession.id).where(
    *_covering(_OPTION.programme_id, _OPTION.first_session_id, bindparam("now")),
    ClassSession.capacity.is_not(None),
    ClassSession.capacity <= capacity.attendance_taken(ClassSession.id)
    + capacity.holds_taken(ClassSession.id, bindparam("now"))
    + capacity.offers_taken(ClassSession.id, ClassSession.programme_id, ClassSession.starts_at,
                            except_offer=_OPTION.offer_id)).exists()).where(
    _OPTION.id.in_(bindparam("options", expanding=True)))


# --- answering ----------------------------------------------------------------------------------

def _for_answer(db: Session, tenant: Tenant, access: Access, external_id: str,
                now: datetime) -> OfferCard:
    card = one(db, access, external_id, now, tenant.config.timezone)
    if not card.can_act:
        raise ViewOnly("Only the family can answer this offer.")
    # Queue behind anyone else answering it, then read it afresh.
    capacity.lock(db, Offer, card.offer.id)
    card = one(db, access, external_id, now, tenant.config.timezone)
    if card.state != OPEN:
        raise Refused(f"offer_{card.state}")
    return card


def accept(db: Session, tenant: Tenant, access: Access, external_id: str, key: str,
           now: datetime, notices: Notices) -> OfferCard:
    """Keep the place of option `key`: checked against every session's capacity under lock.
    An offer paid on acceptance asks for the class's price at once (the card's `payment`)."""
    card = _for_answer(db, tenant, access, external_id, now)
    choice = next((c for c in card.choices if c.key == key), None)
    if choice is None:
        raise Refused("offer_no_such_option")
    option = db.exec(select(OfferOption).where(OfferOption.offer_id == card.offer.id,
                                               OfferOption.key == key)).one()
    sessions = db.exec(select(ClassSession.id).where(*_covering(
        option.programme_id, _value(option.first_session_id), now))
        .order_by(ClassSession.id)).all()
    for session_id in sessions:  # in id order, so two answers never wait on each other
        session = capacity.lock_session(db, session_id)
        if session is not None and not capacity.room_for_one(db, session, now,
                                                             except_offer=card.offer.id):
            raise Refused("offer_full")
    db.exec(update(Offer).where(Offer.id == card.offer.id).values(
        status=ACCEPTED, chosen_option=key, answered_at=now, answered_by=access.email,
        updated_at=now))
    payment = offer_payment.ask(db, tenant, card.offer, card.child, choice, now)
    ids = _ids(db, card.offer)
    enqueue_event(db, tenant, OFFER_ACCEPTED, client_id=card.offer.client_id, at=now, data={
        "attendee_id": ids["attendee"], "offer_id": card.offer.external_id, "option": key,
        "programme_id": choice.programme.external_id,
        "first_session_id": choice.first.external_id if choice.first else None,
        "email": access.email, "accepted_at": now,
        "payment_id": payment.external_id if payment else None})
    _tell(db, tenant, notices, card, "offer_accepted",
          lambda: _("Place kept: %(name)s, %(programme)s") % {
              "name": card.child, "programme": choice.programme.name}, choice=choice,
          payment=payment)
    return one(db, access, external_id, now, tenant.config.timezone)


def decline(db: Session, tenant: Tenant, access: Access, external_id: str, reason: str | None,
            note: str | None, now: datetime, notices: Notices) -> OfferCard:
    """No, thanks (with an optional reason); a held place is free again."""
    if reason is not None and reason not in DECLINE_REASONS:
        raise Refused("offer_bad_reason")
    card = _for_answer(db, tenant, access, external_id, now)
    note = (note or "").strip()[:500] or None
    db.exec(update(Offer).where(Offer.id == card.offer.id).values(
        status=DECLINED, decline_reason=reason, decline_note=note, answered_at=now,
        answered_by=access.email, updated_at=now))
    ids = _ids(db, card.offer)
    enqueue_event(db, tenant, OFFER_DECLINED, client_id=card.offer.client_id, at=now, data={
        "attendee_id": ids["attendee"], "offer_id": card.offer.external_id, "reason": reason,
        "note": note, "email": access.email, "declined_at": now})
    _tell(db, tenant, notices, card, "offer_declined",
          lambda: _("Offer declined: %(name)s") % {"name": card.child})
    return one(db, access, external_id, now, tenant.config.timezone)


def _value(value: Any) -> Any:
    """A Python value as a SQL expression (`_covering` asks `.is_(None)` of it)."""
    return literal(value, type_=Integer) if value is not None else null()


def _ids(db: Session, offer: Any) -> dict[str, str]:
    return {"attendee": db.exec(select(Attendee.external_id).where(
        Attendee.id == offer.attendee_id)).one()}


def _tell(db: Session, tenant: Tenant, notices: Notices, card: OfferCard, template: str,
          subject, **context: Any) -> None:
    """The family's confirmation e-mail (an answer always gets one: it is a receipt)."""
    client = db.exec(select(Client).where(Client.id == card.offer.client_id)).one()
    notices.send(db, client.email, template, client.locale, subject, client_id=client.id,
                 card=card,
                 WIDGET_PROFILE_URL=screen_url(notices.settings, tenant,
                                               f"offers/{card.offer.external_id}"), **context)


# --- the deadline -------------------------------------------------------------------------------

def due_tenants(now: datetime) -> Any:
    """The statement of the tenants with an open offer whose deadline day may be over
    somewhere (an indexed read; `expire` decides in the tenant's own time zone)."""
    return select(Offer.tenant).where(Offer.status == OPEN,
                                      Offer.deadline < (now + timedelta(days=1)).date())


def expire(db: Session, tenant: Tenant, notices: Notices, now: datetime) -> int:
    """Mark the tenant's open offers past their deadline expired (their held places are free),
    tell the provider and the family. Safe to repeat."""
    today = local_today(now, tenant.config.timezone)
    rows = db.exec(select(Offer, Attendee, Client)
                   .join(Attendee, Attendee.id == Offer.attendee_id)
                   .join(Client, Client.id == Offer.client_id)
                   .where(Offer.status == OPEN, Offer.deadline < today,
                          Offer.tenant == tenant.slug)
                   .order_by(Offer.id).limit(EXPIRED_PER_ROUND)).all()
    for offer, attendee, client in rows:
        done = db.exec(update(Offer).where(Offer.id == offer.id, Offer.status == OPEN)
                       .values(status=EXPIRED, updated_at=now)
                       .execution_options(synchronize_session=False))
        if done.rowcount != 1:
            continue
        enqueue_event(db, tenant, OFFER_EXPIRED, client_id=client.id, at=now, data={
            "attendee_id": attendee.external_id, "offer_id": offer.external_id,
            "deadline": offer.deadline})
        if preferences.wants(client, "class_offers", "email"):
            notices.send(db, client.email, "offer_expired", client.locale,
                         lambda attendee=attendee: _("An offer has expired: %(name)s") % {
                             "name": attendee.name},
                         client_id=client.id, attendee=attendee, offer=offer,
                         WIDGET_PROFILE_URL=screen_url(notices.settings, tenant, ""))
    return len(rows)

