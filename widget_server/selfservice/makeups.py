"""Make-up credits: earned by an excused (or, per policy, missed) place, spent on a session of
the same programme or programme group that really has a free place.

A credit comes with its rules: which programmes (`rules.makeup_policy`), until when
(`expires_at`), and never the very session it was earned in. Booking one takes a place with
`capacity.lock` held, spends the credit with a conditional UPDATE (so two tabs cannot spend it
twice), and queues the provider's webhook and the family's e-mail in the same transaction.

Missed sessions earn credits when the tenant says so (`[makeups] from_missed`): the scheduler
looks for missed places without one every round (`issue_for_missed`), so a provider's push of
"missed" through the sync API becomes a credit within a minute, whatever path it came by.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, bindparam, null, or_, union_all, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from widget_server.core import access as scope
from widget_server.core.access import Access
from widget_server.core.errors import NotFound, Refused
from widget_server.core.formatting import local_today
from widget_server.core.models import (
    Attendance,
    Attendee,
    Booking,
    ClassSession,
    Client,
    MakeupCredit,
    MakeupWaitlist,
    Programme,
)
from widget_server.core.records import Shape, read
from widget_server.core.tenants import Tenant
from widget_server.delivery import webhooks
from widget_server.delivery.notices import Notices
from widget_server.profile.bookings import ACTIVE
from widget_server.selfservice import capacity, credits, options, rules, session_mail, waitlist


@dataclass(frozen=True)
class Source:
    """Where a credit came from: the place it was earned with (all None if the provider's
    credit names none)."""

    attendance: Attendance | None
    session: ClassSession | None
    programme: Programme | None
    booking: Booking | None


@dataclass
class CreditPage:
    """A credit and what can be done with it now."""

    credit: MakeupCredit
    attendee: Attendee
    source: Source
    state: str  # available, used, expired
    found: options.Page | None = None
    why_none: str | None = None  # not_allowed, or an options.STAGES reason
    entry: MakeupWaitlist | None = None
    offered: tuple[ClassSession, Programme] | None = None

    @property
    def can_wait(self) -> bool:
        """The waiting list is for credits whose every eligible session is full."""
        return self.state == "available" and self.why_none == "full"


def state_of(credit: MakeupCredit, now: datetime) -> str:
    if credit.used_attendance_id is not None or credit.used_at is not None:
        return "used"
    if credit.expires_at is not None and credit.expires_at <= now:
        return "expired"
    return "available"


def get_credit(db: Session, access: Access, external_id: str) -> tuple[MakeupCredit, Attendee]:
    """A credit the person may spend (the family's, or a fully shared child's); else NotFound."""
    row = db.exec(
        select(MakeupCredit, Attendee).join(Attendee, Attendee.id == MakeupCredit.attendee_id)
        .where(scope.actionable_makeups(access), MakeupCredit.external_id == external_id)
    ).first()
    if row is None:
        raise NotFound("There is no such make-up in your profile.")
    return row


def source_of(db: Session, credit: MakeupCredit) -> Source:
    if credit.source_attendance_id is None:
        return Source(None, None, None, None)
    row = db.exec(
        select(Attendance, ClassSession, Programme, Booking)
        .join(ClassSession, ClassSession.id == Attendance.session_id)
        .join(Programme, Programme.id == ClassSession.programme_id)
        .join(Booking, Booking.id == Attendance.booking_id)
        .where(Attendance.id == credit.source_attendance_id)
    ).first()
    return Source(*row) if row else Source(None, None, None, None)


@dataclass(frozen=True)
class Pool:
    """What deciding where credits may go needs, read once for any number of credits: the
    programmes of the credits' make-up groups, the programmes each member is booked in
    (for credits that name no source), and the members' birth dates."""

    programmes: list[Programme]
    booked: dict[int, set[int]]  # attendee id -> programme ids of running bookings
    born: dict[int, date | None]  # attendee id -> birth date


def pool_for(db: Session, tenant: Tenant, credits: list[MakeupCredit],
             sources: dict[int, Source], grouped: list[Programme] | None = None) -> Pool:
    """At most three queries, however many credits (fewer when every credit names its
    session, when the programmes of their groups were read with them, `grouped`, or when no
    class of their groups has ages)."""
    groups = {s.programme.makeup_group for s in sources.values()
              if s.programme is not None and s.programme.makeup_group}
    members = {c.attendee_id for c in credits}
    unsourced = {c.attendee_id for c in credits if sources[c.id].programme is None}
    booked: dict[int, set[int]] = {}
    if unsourced:
        for attendee_id, programme_id in read(db, _BOOKED_PROGRAMMES, {
                "tenant": tenant.slug, "attendees": sorted(unsourced)}):
            booked.setdefault(attendee_id, set()).add(programme_id)
    wanted = {p for ids in booked.values() for p in ids}
    if grouped is not None and not wanted:
        programmes = grouped
    else:
        programmes = [p for p, in _PROGRAMME.rows(db, _POOL_PROGRAMMES, {
            "tenant": tenant.slug, "groups": sorted(groups), "ids": sorted(wanted)})
        ] if groups or wanted else []
    # Birth dates only where a class of the groups has ages to fit (`rules.age_fits`).
    aged = groups and any(p.min_age is not None or p.max_age is not None for p in programmes)
    born = dict(read(db, _BIRTH_DATES, {"tenant": tenant.slug, "ids": sorted(members)})
                ) if aged else {}
    return Pool(programmes, booked, born)


# `pool_for`'s statements, built once (core.records): a statement built on each call cost
# more in SQLAlchemy (building, compiling, its cache) than in the database, on every page that
# counts a member's make-ups (home, a booking).
_BOOKED_PROGRAMMES = select(Booking.attendee_id, Booking.programme_id).where(
    Booking.tenant == bindparam("tenant"),
    Booking.attendee_id.in_(bindparam("attendees", expanding=True)),
    Booking.status.in_(ACTIVE))
_BIRTH_DATES = select(Attendee.id, Attendee.birth_date).where(
    Attendee.tenant == bindparam("tenant"), Attendee.id.in_(bindparam("ids", expanding=True)))


def eligible_programmes(tenant: Tenant, credit: MakeupCredit, source: Source, pool: Pool,
                        today: date) -> list[Programme]:
    """Where the credit may be spent: its programme, or also the other programmes of its
    make-up group that take make-ups and whose ages fit the child today. A provider's credit
    that names no source is good in the member's booked programmes."""
    if source.programme is None:
        booked = pool.booked.get(credit.attendee_id, set())
        return [p for p in pool.programmes
                if p.id in booked and rules.makeup_policy(tenant, p) != "none"]
    policy = rules.makeup_policy(tenant, source.programme)
    if policy == "none":
        return []
    group = source.programme.makeup_group
    if policy == "same_programme" or not group:
        return [source.programme]
    born = pool.born.get(credit.attendee_id)
    others = [p for p in pool.programmes if p.makeup_group == group
              and p.id != source.programme.id and rules.makeup_policy(tenant, p) != "none"
              and rules.age_fits(p, born, today)]
    return [source.programme, *others]


def _search(tenant: Tenant, credit: MakeupCredit, source: Source, pool: Pool,
            now: datetime) -> options.Search:
    programmes = eligible_programmes(tenant, credit, source, pool,
                                     local_today(now, tenant.config.timezone))
    return options.Search(
        tenant=tenant.slug, attendee_id=credit.attendee_id, now=now, until=credit.expires_at,
        cutoffs={p.id: rules.cutoff_hours(tenant, p) for p in programmes},
        exclude=(source.session.id,) if source.session else (), skip_excused=True)


def search_for(db: Session, tenant: Tenant, credit: MakeupCredit, source: Source,
               now: datetime) -> options.Search:
    """Where one credit may be booked now."""
    pool = pool_for(db, tenant, [credit], {credit.id: source})
    return _search(tenant, credit, source, pool, now)


# A credit's source and the programmes it may be made up in, read as records (core.records),
# with statements built once: the benefits page weighs every credit of the family.
_SOURCE = Shape(Attendance, ClassSession, Programme, Booking)
_SOURCES = (_SOURCE.select()
            .join(ClassSession, ClassSession.id == Attendance.session_id)
            .join(Programme, Programme.id == ClassSession.programme_id)
            .join(Booking, Booking.id == Attendance.booking_id)
            .where(Attendance.id.in_(bindparam("ids", expanding=True))))


def _group_programmes(shape: Shape, group: int, tenant: Any, groups: Any) -> Any:
    """Rows in `shape`'s columns of the tenant's programmes in `groups` (a subquery of make-up
    group names): the programme's columns in `shape`'s `group`-th group, the rest NULL. A
    statement's rows of their own after its others (`UNION ALL`), for `pool_for`, which reads
    them in a statement of its own otherwise: a round trip on PostgreSQL."""
    start, end = shape.span(group)
    columns: list[Any] = [null()] * len(shape.columns)
    columns[start:end] = [getattr(Programme, column.key) for column in Programme.__table__.columns]
    return select(*columns).where(Programme.tenant == tenant, Programme.makeup_group.in_(groups))


def _sources_with_groups() -> Any:
    """`_SOURCES`, then the programmes of the sources' make-up groups (`_group_programmes`)."""
    groups = _SOURCES.with_only_columns(Programme.makeup_group).correlate(None)
    return union_all(_SOURCES, _group_programmes(_SOURCE, 2, bindparam("tenant"), groups))


_SOURCES_WITH_GROUPS = _sources_with_groups()
_PROGRAMME = Shape(Programme)
# The tenant named in each branch of the OR: with it outside, SQLite's plan read every
# programme of the tenant (2,250 in the benchmark, 225 us) and tested the OR on each; so each
# branch is an index search of its own (a MULTI-INDEX OR, 23-26 us).
_POOL_PROGRAMMES = _PROGRAMME.select().where(or_(
    and_(Programme.tenant == bindparam("tenant"),
         Programme.makeup_group.in_(bindparam("groups", expanding=True))),
    and_(Programme.tenant == bindparam("tenant"),
         Programme.id.in_(bindparam("ids", expanding=True)))))


def sources_of(db: Session, credits: list[MakeupCredit]) -> dict[int, Source]:
    """Each credit's source (one query)."""
    ids = {c.source_attendance_id for c in credits if c.source_attendance_id is not None}
    rows = _SOURCE.rows(db, _SOURCES, {"ids": sorted(ids)}) if ids else []
    return _by_credit(credits, rows)


def _by_credit(credits: list[MakeupCredit], rows: list[tuple]) -> dict[int, Source]:
    by_place = {row[0].id: Source(*row) for row in rows}
    nothing = Source(None, None, None, None)
    return {c.id: by_place.get(c.source_attendance_id, nothing) for c in credits}


def _sources_and_groups(db: Session, tenant: Tenant, credits: list[MakeupCredit]
                        ) -> tuple[dict[int, Source], list[Programme] | None]:
    """Each credit's source and, on PostgreSQL, the programmes of the sources' make-up groups
    in the same statement (`pool_for` reads them in one of its own otherwise: a round trip);
    None for those on SQLite, where there is no round trip to save."""
    ids = sorted({c.source_attendance_id for c in credits if c.source_attendance_id is not None})
    if not ids or db.get_bind().dialect.name != "postgresql":
        return sources_of(db, credits), None
    rows = _SOURCE.rows(db, _SOURCES_WITH_GROUPS, {"ids": ids, "tenant": tenant.slug})
    return (_by_credit(credits, [row for row in rows if row[0] is not None]),
            [row[2] for row in rows if row[0] is None])


def searches_for(db: Session, tenant: Tenant, credits: list[MakeupCredit], now: datetime,
                 sources: dict[int, Source] | None = None,
                 grouped: list[Programme] | None = None) -> list[options.Search]:
    """Where each credit may be booked now, in a fixed handful of queries however many."""
    if not credits:
        return []
    if sources is None:
        sources, grouped = _sources_and_groups(db, tenant, credits)
    pool = pool_for(db, tenant, credits, sources, grouped)
    return [_search(tenant, c, sources[c.id], pool, now) for c in credits]


def with_options(db: Session, tenant: Tenant, credits: list[MakeupCredit],
                 now: datetime) -> set[int]:
    """The ids of the credits that have at least one session to book now: a page offers
    "Book a make-up" only where it leads to a session."""
    found = options.have_options(db, searches_for(db, tenant, credits, now))
    return {c.id for c, yes in zip(credits, found, strict=True) if yes}


# Built once: an alias copies its table's columns, costly per request.
_SOURCE_ALIASES = aliased(Attendance), aliased(ClassSession), aliased(Programme), aliased(Booking)


def _spendable_query(who: Access, now: Any, *where: Any) -> Any:
    return _unordered(who, now, *where).order_by(*_CREDIT_ORDER)


_CREDIT_ORDER = (MakeupCredit.expires_at.is_(None), MakeupCredit.expires_at, MakeupCredit.id)


def _unordered(who: Access, now: Any, *where: Any) -> Any:
    place, session, programme, booking = _SOURCE_ALIASES
    return (
        _SPENDABLE.select()
        .outerjoin(place, place.id == MakeupCredit.source_attendance_id)
        .outerjoin(session, session.id == place.session_id)
        .outerjoin(programme, programme.id == session.programme_id)
        .outerjoin(booking, booking.id == place.booking_id)
        .where(scope.actionable_makeups(who), MakeupCredit.used_attendance_id.is_(None),
               (MakeupCredit.expires_at.is_(None)) | (MakeupCredit.expires_at > now), *where))


def _with_groups(who: Access, credits: Any) -> Any:
    """PostgreSQL's: the credits, then a row for each programme of their sources' make-up
    groups (its columns where a credit's source programme is, the rest NULL), which `pool_for`
    reads otherwise in a statement of its own: a round trip. Not joined to each credit (the
    credit's wide row would come once per programme of its group), and in no order (the
    credits are put in theirs by `_spendable`: a UNION's order could only name its columns)."""
    groups = credits.with_only_columns(_SOURCE_ALIASES[2].makeup_group)
    return union_all(credits, _group_programmes(_SPENDABLE, 3, who.tenant, groups))


# A credit and where it came from, read as records (core.records): the home page, a booking's
# dashboard and its sessions tab each read them.
_SPENDABLE = Shape(MakeupCredit, *_SOURCE_ALIASES)


def _sourced(rows: Any) -> tuple[list[MakeupCredit], dict[int, Source]]:
    return ([row[0] for row in rows],
            {row[0].id: Source(*row[1:]) if row[3] is not None
             else Source(None, None, None, None) for row in rows})


def ready_for_member(db: Session, tenant: Tenant, access: Access, now: datetime,
                     member_ref: str | None) -> int:
    """How many make-ups of one family member (by provider id) have a session to book."""
    if member_ref is None:
        return 0
    credits, sources, grouped = _spendable(db, _MEMBER_SPENDABLE, access,
                                           {"now": now, "member": member_ref})
    return sum(options.have_options(db, searches_for(db, tenant, credits, now, sources,
                                                     grouped)))


class Spendable(NamedTuple):
    """A member's credits to spend, each one's source, and where the statement brought them
    the programmes of their make-up groups (`pool_for` reads them itself if None)."""

    credits: list[MakeupCredit]
    sources: dict[int, Source]
    grouped: list[Programme] | None


def spendable_by_member(db: Session, access: Access, now: datetime, client_id: int,
                        attendee_id: int) -> Spendable:
    """`spendable` of one child of one family (by row ids), built once."""
    return _spendable(db, _CHILD_SPENDABLE, access,
                      {"now": now, "client_id": client_id, "attendee_id": attendee_id})


def _spendable(db: Session, builds: dict[bool, Any], access: Access,
               values: dict[str, Any]) -> Spendable:
    grouped = db.get_bind().dialect.name == "postgresql"
    rows = _SPENDABLE.rows(db, scope.prepared(builds[grouped], access),
                           access.parameters() | values)
    if not grouped:
        return Spendable(*_sourced(rows), None)
    credits = sorted((row for row in rows if row[0] is not None), key=lambda row: (
        row[0].expires_at is None, row[0].expires_at, row[0].id))
    return Spendable(*_sourced(credits), [row[3] for row in rows if row[0] is None])


def _child_spendable(who: Access) -> Any:
    return _spendable_query(who, bindparam("now"), *_of_child())


def _child_spendable_grouped(who: Access) -> Any:
    return _with_groups(who, _unordered(who, bindparam("now"), *_of_child()))


def _of_child() -> tuple:
    return (MakeupCredit.attendee_id == bindparam("attendee_id"),
            MakeupCredit.client_id == bindparam("client_id"))


def _member_spendable(who: Access) -> Any:
    """`spendable` of one family member (by provider id), built once (see `scope.prepared`)."""
    return _spendable_query(who, bindparam("now"), _of_member(who))


def _member_spendable_grouped(who: Access) -> Any:
    return _with_groups(who, _unordered(who, bindparam("now"), _of_member(who)))


def _of_member(who: Access) -> Any:
    return MakeupCredit.attendee_id.in_(select(Attendee.id).where(
        Attendee.tenant == who.tenant, Attendee.external_id == bindparam("member")))


# By whether the statement brings the make-up groups' programmes too (on PostgreSQL).
_CHILD_SPENDABLE = {False: _child_spendable, True: _child_spendable_grouped}
_MEMBER_SPENDABLE = {False: _member_spendable, True: _member_spendable_grouped}


def load_credit(db: Session, tenant: Tenant, access: Access, external_id: str, now: datetime,
                page: int = 1) -> CreditPage:
    """A credit's page: its options (a page of them), or why there are none, and its place
    on the waiting list."""
    credit, attendee = get_credit(db, access, external_id)
    source = source_of(db, credit)
    view = CreditPage(credit, attendee, source, state_of(credit, now))
    view.entry = waitlist.entry_of(db, credit.id)
    if view.entry is not None and waitlist.holding(view.entry, now):
        view.offered = db.exec(
            select(ClassSession, Programme)
            .join(Programme, Programme.id == ClassSession.programme_id)
            .where(ClassSession.id == view.entry.offered_session_id)).first()
    if view.state != "available":
        return view
    search = search_for(db, tenant, credit, source, now)
    if not search.cutoffs:
        view.why_none = "not_allowed"
        return view
    view.found, view.why_none = options.find_or_why(db, search, page, tenant.config.timezone)
    return view


@dataclass(frozen=True)
class Booked:
    """A make-up place just booked, for the confirmation and the redirect."""

    attendance: Attendance
    booking: Booking
    session: ClassSession
    programme: Programme


def book(db: Session, tenant: Tenant, access: Access, credit_ref: str, session_ref: str,
         now: datetime, notices: Notices, *, entry: MakeupWaitlist | None = None) -> Booked:
    """Spend a credit on a session, or raise Refused with the rule that stops it.

    With `entry`, the place is the one held for that waiting-list entry (not counted twice)."""
    credit, attendee = get_credit(db, access, credit_ref)
    target = db.exec(select(ClassSession).where(ClassSession.tenant == tenant.slug,
                                                ClassSession.external_id == session_ref)).first()
    if target is None:
        raise NotFound("There is no such session.")
    source = source_of(db, credit)
    search = search_for(db, tenant, credit, source, now)
    if not search.cutoffs:
        raise Refused("not_allowed")
    # Everything above may be stale; from here on this transaction holds the locks, and what
    # decides is read afresh: the credit, the session, the child's places, the count.
    capacity.lock(db, Attendee, attendee.id)
    target = capacity.lock_session(db, target.id)
    credit = db.exec(select(MakeupCredit).where(MakeupCredit.id == credit.id)
                     .execution_options(populate_existing=True)).one()
    state = state_of(credit, now)
    if state != "available":
        raise Refused(f"credit_{state}")
    if entry is not None:
        entry = waitlist.entry_of(db, credit.id)
    held = waitlist.holding(entry, now) and entry.offered_session_id == target.id
    reason = options.why_not(db, search, target)
    if reason == "full" and held:
        reason = None if capacity.room_for_one(db, target, now, except_entry=entry.id) else "full"
    if reason is not None:
        raise Refused(reason)
    if not held:
        credit, source = _soonest_for(db, tenant, credit, source, target, now)
    programme = db.get(Programme, target.programme_id)
    booking = _booking_for(db, credit, source, programme)
    place = capacity.take_place(db, booking, target, now, makeup=True)
    spent = db.exec(
        update(MakeupCredit)
        .where(MakeupCredit.id == credit.id, MakeupCredit.used_attendance_id.is_(None))
        .values(used_attendance_id=place.id, used_at=now, updated_at=now)
        .execution_options(synchronize_session=False))
    if spent.rowcount != 1:
        raise Refused("credit_used")
    waitlist.end(db, credit.id, now, "taken" if held else "closed")
    webhooks.enqueue_event(db, tenant, webhooks.MAKEUP_BOOKED, client_id=credit.client_id,
                           at=now, data=credits.event_data(attendee, credit, target, place))
    session_mail.makeup_booked(db, notices, db.get(Client, credit.client_id), attendee, target,
                               programme, booking.external_id)
    return Booked(place, booking, target, programme)


def _soonest_for(db: Session, tenant: Tenant, credit: MakeupCredit, source: Source,
                 target: ClassSession, now: datetime) -> tuple[MakeupCredit, Source]:
    """The member's credit that runs out first among those that could book `target` (the
    chosen one if none runs out sooner): a family never loses a credit to expiry because
    another, longer one was spent first."""
    sooner = list(db.exec(
        select(MakeupCredit).where(
            MakeupCredit.tenant == credit.tenant, MakeupCredit.client_id == credit.client_id,
            MakeupCredit.attendee_id == credit.attendee_id, MakeupCredit.id != credit.id,
            MakeupCredit.used_attendance_id.is_(None), MakeupCredit.used_at.is_(None),
            MakeupCredit.expires_at > now, MakeupCredit.expires_at >= target.starts_at,
            *([MakeupCredit.expires_at < credit.expires_at] if credit.expires_at else []))
        .order_by(MakeupCredit.expires_at, MakeupCredit.id)).all())
    if not sooner:
        return credit, source
    sources = sources_of(db, sooner)
    pool = pool_for(db, tenant, sooner, sources)
    for other in sooner:
        search = _search(tenant, other, sources[other.id], pool, now)
        if target.programme_id in search.cutoffs and target.id not in search.exclude:
            return other, sources[other.id]
    return credit, source


def _booking_for(db: Session, credit: MakeupCredit, source: Source,
                 programme: Programme) -> Booking:
    """The member's booking of the session's programme, else the one the credit came from."""
    own = db.exec(select(Booking).where(
        Booking.tenant == credit.tenant, Booking.attendee_id == credit.attendee_id,
        Booking.programme_id == programme.id, Booking.status.in_(ACTIVE))
        .order_by(Booking.id)).first()
    if own is not None:
        return own
    if source.booking is not None:
        return source.booking
    fallback = db.exec(select(Booking).where(
        Booking.tenant == credit.tenant, Booking.attendee_id == credit.attendee_id,
        Booking.status.in_(ACTIVE)).order_by(Booking.id)).first()
    if fallback is None:
        raise Refused("not_allowed")
    return fallback
