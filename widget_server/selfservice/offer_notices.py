"""What a family is told of its offers of a place without having acted: reminders before an
offer closes, and the provider's withdrawing an open offer.

Reminders go `[offers] reminder_days` before the end of the deadline day (7 and 1 by default),
by e-mail and, where the tenant offers WhatsApp and the family chose it, by WhatsApp, each as
the family wants "places offered" messages there. A reminder's moment is
`offers.closes_at(deadline) - N days`, moved to 09:00 where the school is (nobody wants a
WhatsApp at midnight). It is due from then for a
day (`LATE`); a round after that leaves it out rather than send it late (an offer that arrived
two days before its deadline gets no 7-day reminder), so at most the latest due one goes. Each
is claimed once (`reminders.claim`: kind "offer_deadline", the offer, the moment) in the
transaction that queues its messages, so however many schedulers run, it goes once; a
deadline moved later announces new moments and earns new reminders.

A withdrawal is told by e-mail in the transaction of the provider's write that withdrew the
offer (`api.offers`), once: a write that finds it withdrawn already changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, false, or_, true
from sqlmodel import Session, select

from widget_server.core.formatting import a_date, local_today
from widget_server.core.i18n import active_locale, normalise
from widget_server.core.i18n import gettext as _
from widget_server.core.models import Attendee, Client, Offer, OfferOption, Programme, Reminder
from widget_server.core.profile_url import screen_url
from widget_server.core.tenants import Tenant
from widget_server.delivery import preferences
from widget_server.delivery.notices import Notices
from widget_server.selfservice import offers
from widget_server.selfservice.reminders import claim, whatsapp_copy

KIND = "offer_deadline"
LATE = timedelta(days=1)  # a reminder this long past its moment is no longer sent
MORNING = timedelta(hours=9)  # reminders go at 09:00 local, not as the day begins
BATCH = 500


def due(tenant: Tenant, now: datetime) -> dict[date, tuple[int, datetime]]:
    """The deadlines whose reminder is due now where the tenant is: deadline -> (days before,
    the reminder's moment)."""
    tz, today = tenant.config.timezone, local_today(now, tenant.config.timezone)
    found = {}
    for days in tenant.config.offers.reminder_days:
        deadline = today + timedelta(days=days - 1)
        moment = offers.closes_at(deadline, tz) - timedelta(days=days) + MORNING
        if moment <= now < moment + LATE:
            found[deadline] = (days, moment)
    return found


def due_tenants(tenants: Iterable[Tenant], now: datetime) -> Any:
    """The statement of the tenants with an open offer whose reminder is due and not yet sent:
    an indexed read across tenants of the few deadlines due today, per time zone and reminder
    days (a tenant in another zone, or with other days, has deadlines of its own)."""
    groups: dict[tuple[date, ...], list[str]] = {}
    tenants = list(tenants)
    # Worked out once per time zone and reminder days, not per tenant: at 10,000 tenants the
    # date arithmetic per tenant was 50 ms of an idle round's 52.
    by_rule: dict[tuple[str, tuple[int, ...]], tuple[date, ...]] = {}
    for tenant in tenants:
        rule = (tenant.config.timezone, tuple(tenant.config.offers.reminder_days))
        deadlines = by_rule.get(rule)
        if deadlines is None:
            deadlines = by_rule[rule] = tuple(sorted(due(tenant, now)))
        if deadlines:
            groups.setdefault(deadlines, []).append(tenant.slug)
    if not groups:
        return select(Offer.tenant).where(false())
    every = sorted({d for deadlines in groups for d in deadlines})
    # Every tenant due with the same deadlines (one zone, the default days): no tenant list.
    everyone = len(groups) == 1 and len(next(iter(groups.values()))) == len(tenants)
    which = true() if everyone else or_(*(
        and_(Offer.tenant.in_(slugs), Offer.deadline.in_(deadlines))
        for deadlines, slugs in groups.items()))
    # A reminder claimed within the last day is today's (another reminder of the same offer
    # is at least a day older): the offer is done for now.
    sent = exists().where(Reminder.tenant == Offer.tenant, Reminder.kind == KIND,
                          Reminder.subject_id == Offer.id, Reminder.moment > now - LATE)
    return select(Offer.tenant).where(Offer.status == offers.OPEN, Offer.deadline.in_(every),
                                      which, ~sent)


def remind(db: Session, tenant: Tenant, notices: Notices, now: datetime) -> int:
    """Queue the tenant's offer reminders due now; returns how many went."""
    deadlines = due(tenant, now)
    if not deadlines:
        return 0
    # Every reminder due now has the same moment: 09:00 today where the school is.
    moment = next(iter(deadlines.values()))[1]
    rows = db.exec(
        select(Offer, Attendee, Client)
        .join(Attendee, Attendee.id == Offer.attendee_id)
        .join(Client, Client.id == Offer.client_id)
        .where(Offer.tenant == tenant.slug, Offer.status == offers.OPEN,
               Offer.deadline.in_(sorted(deadlines)),
               ~exists().where(Reminder.tenant == tenant.slug, Reminder.kind == KIND,
                               Reminder.subject_id == Offer.id, Reminder.moment == moment))
        .order_by(Offer.deadline, Offer.id).limit(BATCH)).all()
    classes = _classes(db, [offer.id for offer, _, _ in rows])
    sent = 0
    for offer, attendee, client in rows:
        if not claim(db, tenant.slug, KIND, offer.id, moment, client.id, now):
            continue
        sent += 1
        days = deadlines[offer.deadline][0]
        names = classes.get(offer.id, [])
        if preferences.wants(client, "class_offers", "email"):
            notices.send(db, client.email, "offer_reminder", client.locale,
                         lambda attendee=attendee, offer=offer: _(
                             "Reminder: answer by %(date)s – %(name)s") % {
                             "date": _on(notices, offer.deadline), "name": attendee.name},
                         client_id=client.id, attendee=attendee, offer=offer,
                         classes=names, days=days,
                         WIDGET_PROFILE_URL=screen_url(notices.settings, tenant,
                                                       f"offers/{offer.external_id}"))
        locale = normalise(client.locale, tenant.config.locale)
        whatsapp_copy(db, tenant, client, "offer_deadline", locale, [
            attendee.name, ", ".join(names),
            a_date(offer.deadline, tenant.config.timezone, locale)], preference="class_offers")
    return sent


def _on(notices: Notices, day: date) -> str:
    """A date in the reader's language (once active)."""
    return a_date(day, notices.tenant.config.timezone, active_locale())


def _classes(db: Session, offer_ids: list[int]) -> dict[int, list[str]]:
    """The classes each offer proposes, as the family sees them (label, else the programme),
    in the order shown; one statement for all."""
    found: dict[int, list[str]] = {}
    if not offer_ids:
        return found
    for offer_id, label, programme in db.exec(
            select(OfferOption.offer_id, OfferOption.label, Programme.name)
            .join(Programme, Programme.id == OfferOption.programme_id)
            .where(OfferOption.offer_id.in_(offer_ids))
            .order_by(OfferOption.offer_id, OfferOption.position, OfferOption.id)):
        found.setdefault(offer_id, []).append(label or programme)
    return found


def withdrawn(db: Session, notices: Notices, offer_ids: list[int]) -> int:
    """E-mail each family whose open offer the provider has just withdrawn (with the provider's
    message, if any), if it wants "places offered" messages; returns how many went."""
    rows = db.exec(select(Offer, Attendee, Client)
                   .join(Attendee, Attendee.id == Offer.attendee_id)
                   .join(Client, Client.id == Offer.client_id)
                   .where(Offer.id.in_(offer_ids)).order_by(Offer.id)
                   # As just written, also by a bulk import's set write, which the session's
                   # objects do not see.
                   .execution_options(populate_existing=True)).all()
    classes = _classes(db, [offer.id for offer, _, _ in rows])
    sent = 0
    for offer, attendee, client in rows:
        if not preferences.wants(client, "class_offers", "email"):
            continue
        notices.send(db, client.email, "offer_withdrawn", client.locale,
                     lambda attendee=attendee: _("Offer withdrawn: %(name)s") % {
                         "name": attendee.name},
                     client_id=client.id, attendee=attendee, offer=offer,
                     classes=classes.get(offer.id, []),
                     WIDGET_PROFILE_URL=screen_url(notices.settings, notices.tenant, ""))
        sent += 1
    return sent
