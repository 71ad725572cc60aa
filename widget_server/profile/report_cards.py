"""Report cards: what the provider writes about a child for a term or a level, shown to the
family once published.

The family hears of a published card by e-mail once (`announce`, a scheduler job, so a card
published through a PUT or a bulk import alike is told of, and a failed round is simply run
again); the provider hears when each person first opened it (`report_card.viewed`).

Who sees a card: a card on a level, whoever sees one of the child's bookings of that level's
programme (a view-only share included); a card without a level (a term's report), the child's
family only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, and_, bindparam, or_, true, update
from sqlmodel import Session, select

from widget_server.core import access as scope
from widget_server.core.access import Access
from widget_server.core.errors import NotFound
from widget_server.core.formatting import local_today
from widget_server.core.i18n import gettext as _
from widget_server.core.models import (
    Attendee,
    Booking,
    Client,
    FirstOpen,
    Level,
    Programme,
    ReportCard,
    WebSession,
)
from widget_server.core.profile_url import screen_url
from widget_server.core.records import Shape, read
from widget_server.core.tenants import Tenant
from widget_server.delivery import preferences
from widget_server.delivery.notices import Notices
from widget_server.delivery.webhooks import REPORT_CARD_VIEWED, enqueue_event
from widget_server.profile.opened import first_open
from widget_server.profile.progress import (
    LevelProgress,
    Progress,
    assessments_of,
    level_progress,
    load_progress,
)

KIND = "report_card"  # in first_open
ANNOUNCED_PER_ROUND = 500
PREFERENCE = "progress"  # the kind of message families choose channels for


@dataclass(frozen=True)
class CardSummary:
    """A card in the Progress screen's list."""

    external_id: str
    term: str | None
    level: str | None
    published_on: date
    new: bool  # this person has not opened it yet

    @property
    def title(self) -> str:
        return " · ".join(part for part in (self.term, self.level) if part) or _("Report card")


@dataclass(frozen=True)
class Card:
    """One report card as the family reads it (on the screen and in the PDF)."""

    card: Any  # ReportCard record
    child: str
    programme: str | None
    level: LevelProgress | None
    published_on: date

    @property
    def title(self) -> str:
        parts = (self.card.term, self.level.name if self.level else None)
        return " · ".join(part for part in parts if part) or _("Report card")


def progress_with_cards(db: Session, access: Access, web_session: WebSession,
                        requested: str | None, now: datetime, tz: str,
                        whole_history: bool = False,
                        own: list[tuple[str, str]] | None = None) -> Progress:
    """The Progress screen: the member's levels and timeline, and their report cards."""
    found = load_progress(db, access, web_session, requested, now, tz, whole_history, own)
    if found.attendee_id is not None:
        found.cards = summaries(db, access, found.attendee_id, found.programme_ids,
                                found.family, tz)
    return found


def completed_level(db: Session, access: Access, web_session: WebSession,
                    member: str | None, level_id: str, now: datetime,
                    tz: str) -> tuple[str, LevelProgress, str]:
    """A level the member (as on the Progress screen) has completed, for its certificate:
    (the child's name, the level, the programme's name); NotFound otherwise."""
    found = load_progress(db, access, web_session, member, now, tz)
    for programme in found.programmes:
        for level in programme.completed_levels:
            if level.external_id == level_id and found.selected is not None:
                return found.selected.name, level, programme.name
    raise NotFound("There is no such completed level in your profile.")


def summaries(db: Session, access: Access, attendee_id: int, programme_ids: list[int],
              family: bool, tz: str) -> list[CardSummary]:
    """The member's published cards this person may see (`programme_ids`: of the member's
    bookings they see; `family`: the member is of their own family), newest first, each
    marked new until this person opened it (one statement)."""
    rows = read(db, _SUMMARIES, {
        "tenant": access.tenant, "attendee": attendee_id, "email": access.email,
        "kind": KIND, "programmes": programme_ids or [-1], "family_card": family})
    return [CardSummary(external_id, term, level, local_today(published_at or updated_at, tz),
                        opened is None)
            for external_id, term, level, published_at, updated_at, opened in rows]


_SUMMARIES = (
    select(ReportCard.external_id, ReportCard.term, Level.name, ReportCard.published_at,
           ReportCard.updated_at, FirstOpen.id)
    .outerjoin(Level, Level.id == ReportCard.level_id)
    .outerjoin(FirstOpen, and_(FirstOpen.tenant == bindparam("tenant"),
                               FirstOpen.email == bindparam("email"),
                               FirstOpen.kind == bindparam("kind"),
                               FirstOpen.item_id == ReportCard.id))
    .where(ReportCard.tenant == bindparam("tenant"),
           ReportCard.attendee_id == bindparam("attendee"),
           ReportCard.published == true(),
           or_(and_(ReportCard.level_id.is_(None),
                    bindparam("family_card", type_=Boolean) == true()),
               Level.programme_id.in_(bindparam("programmes", expanding=True))))
    .order_by(ReportCard.published_at.desc(), ReportCard.id.desc()))


def open_card(db: Session, tenant: Tenant, access: Access, external_id: str,
              now: datetime) -> Card:
    """A published card this person may see, with the level's skills as rated now; the first
    open by this person is recorded and told to the provider. NotFound otherwise."""
    row = _CARD.first(db, scope.prepared(_card_of, access),
                      access.parameters() | {"card": external_id})
    if row is None:
        raise NotFound("There is no such report card in your profile.")
    card, child, level, programme, opened = row
    progress = None
    if level is not None:
        progress = level_progress(level, assessments_of(db, tenant.slug, card.attendee_id,
                                                        [level.id]))
    if opened is None:  # opened before: nothing to write (a write on every view took the
        _first_open(db, tenant, access, card, now)  # database's write lock each time)
    return Card(card, child.name, programme, progress,
                local_today(card.published_at or card.updated_at, tenant.config.timezone))


# With this person's first opening of the card, if there was one.
_CARD = Shape(ReportCard, Attendee, Level, Programme.name, FirstOpen.id)


def _card_of(who: Access):
    # The card's level's programme among the programmes of the child's bookings this person
    # sees, or (no level) the child is this person's own.
    seen = (select(Booking.programme_id)
            .where(scope.visible_bookings(who), Booking.attendee_id == ReportCard.attendee_id)
            .correlate(ReportCard))
    own = (Attendee.client_id == who.client_id) if who.client_id is not None else None
    reach = [Level.programme_id.in_(seen)]
    if own is not None:
        reach.append(and_(ReportCard.level_id.is_(None), own))
    return (_CARD.select()
            .join(Attendee, Attendee.id == ReportCard.attendee_id)
            .outerjoin(Level, Level.id == ReportCard.level_id)
            .outerjoin(Programme, Programme.id == Level.programme_id)
            .outerjoin(FirstOpen, and_(FirstOpen.tenant == who.tenant,
                                       FirstOpen.email == who.email,
                                       FirstOpen.kind == KIND,
                                       FirstOpen.item_id == ReportCard.id))
            .where(ReportCard.tenant == who.tenant, ReportCard.external_id == bindparam("card"),
                   ReportCard.published == true(), or_(*reach)))


def _first_open(db: Session, tenant: Tenant, access: Access, card: Any, now: datetime) -> None:
    if not first_open(db, access, KIND, card.id, now):
        return
    attendee = db.execute(select(Attendee.external_id).where(
        Attendee.id == card.attendee_id)).scalar()
    enqueue_event(db, tenant, REPORT_CARD_VIEWED, client_id=access.client_id, at=now, data={
        "attendee_id": attendee, "report_card_id": card.external_id, "email": access.email,
        "opened_at": now})


def due_tenants() -> Any:
    """The statement of the tenants with a published card the family has not been told of
    (an indexed read; the scheduler asks it with its other jobs' in one statement)."""
    return select(ReportCard.tenant).where(ReportCard.announced_at.is_(None),
                                           ReportCard.published == true())


def announce(db: Session, tenant: Tenant, notices: Notices, now: datetime) -> int:
    """Tell each family of its newly published cards (e-mail, if they want progress news);
    each card once. Returns how many cards were announced."""
    rows = db.exec(
        select(ReportCard, Attendee, Client, Level)
        .join(Attendee, Attendee.id == ReportCard.attendee_id)
        .join(Client, Client.id == Attendee.client_id)
        .outerjoin(Level, Level.id == ReportCard.level_id)
        .where(ReportCard.announced_at.is_(None), ReportCard.published == true(),
               ReportCard.tenant == tenant.slug)
        .order_by(ReportCard.id).limit(ANNOUNCED_PER_ROUND)).all()
    for card, attendee, client, level in rows:
        db.exec(update(ReportCard).where(ReportCard.id == card.id).values(
            announced_at=now, published_at=card.published_at or now))
        if not preferences.wants(client, PREFERENCE, "email"):
            continue
        notices.send(
            db, client.email, "report_card", client.locale,
            lambda attendee=attendee: _("%(name)s's report card is ready") % {
                "name": attendee.name},
            client_id=client.id, attendee=attendee, card=card, level=level,
            WIDGET_PROFILE_URL=screen_url(notices.settings, tenant,
                                          f"report-cards/{card.external_id}"))
    return len(rows)
