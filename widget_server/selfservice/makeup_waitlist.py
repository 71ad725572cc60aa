"""A make-up credit on the waiting list: joining when every eligible session is full, leaving,
the soonest free place held and offered by e-mail (the scheduler, in queue order), and taking
the held place with one click."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from widget_server.core.access import Access
from widget_server.core.errors import Refused
from widget_server.core.models import Attendee, ClassSession, Client, MakeupCredit, MakeupWaitlist
from widget_server.core.tenants import Tenant
from widget_server.delivery.notices import Notices
from widget_server.selfservice import capacity, options, session_mail, waitlist
from widget_server.selfservice.makeups import (
    Booked,
    book,
    get_credit,
    search_for,
    source_of,
    state_of,
)


def join_waitlist(db: Session, tenant: Tenant, access: Access, credit_ref: str,
                  now: datetime) -> MakeupWaitlist:
    """Queue a credit for the next free place; only when every eligible session is full."""
    credit, _ = get_credit(db, access, credit_ref)
    state = state_of(credit, now)
    if state != "available":
        raise Refused(f"credit_{state}")
    search = search_for(db, tenant, credit, source_of(db, credit), now)
    reason = options.why_none(db, search) if search.cutoffs else "not_allowed"
    if reason != "full":
        raise Refused(reason or "places_free")
    return waitlist.join(db, credit, now)


def leave_waitlist(db: Session, access: Access, credit_ref: str, now: datetime) -> bool:
    """Leave the queue; a place held for this credit goes to the next in line (the
    scheduler's next round)."""
    credit, _ = get_credit(db, access, credit_ref)
    return waitlist.end(db, credit.id, now, "left")


def take_offer(db: Session, tenant: Tenant, access: Access, credit_ref: str, now: datetime,
               notices: Notices) -> Booked:
    """Book the place held for this credit (the one click in the offer e-mail)."""
    credit, _ = get_credit(db, access, credit_ref)
    entry = waitlist.entry_of(db, credit.id)
    if not waitlist.holding(entry, now):
        raise Refused("offer_expired")
    session = db.get(ClassSession, entry.offered_session_id)
    return book(db, tenant, access, credit_ref, session.external_id, now, notices, entry=entry)


def offer_place(db: Session, tenant: Tenant, notices: Notices, entry_id: int,
                now: datetime) -> bool:
    """Hold the soonest free place for one waiting credit and e-mail the offer; False if
    there is none (or the entry no longer waits). Called for the queue in order, so the first
    to join is offered first; a hold counts as taken, so no two are offered one place."""
    entry = db.get(MakeupWaitlist, entry_id)
    if entry is None or entry.status != "waiting":
        return False
    credit = db.exec(select(MakeupCredit).where(MakeupCredit.id == entry.credit_id)
                     .execution_options(populate_existing=True)).one()
    if state_of(credit, now) != "available":
        waitlist.end(db, credit.id, now, "closed")
        return False
    search = search_for(db, tenant, credit, source_of(db, credit), now)
    option = options.first(db, search) if search.cutoffs else None
    if option is None:
        return False
    capacity.lock(db, Attendee, credit.attendee_id)
    session = capacity.lock_session(db, option.session.id)
    if session is None or options.why_not(db, search, session) is not None:
        return False
    if not waitlist.hold(db, entry, session.id, now):
        return False
    session_mail.waitlist_offer(db, notices, db.get(Client, credit.client_id), credit,
                                db.get(Attendee, credit.attendee_id), session,
                                option.programme, now + waitlist.HOLD)
    return True
