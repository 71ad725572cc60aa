"""Demo data for the two fictional tenants, pushed through the real provider sync code.
What differs between the tenants (programmes, families, wording) is in `catalogue`.

`demo_items(tenant, today)` builds the items a booking system would send to the sync API:
families, programmes with weekly sessions, bookings and attendance, make-up credits, payments,
invoices, orders, entry passes, discounts, prepaid credit and a shared booking. Everything is
placed relative to `today` (sessions at fixed local wall-clock times in the tenant's time
zone), so the demo never goes stale, and the result is the same for the same `today`.
`load_demo` upserts the items, so loading twice with the same `today` changes nothing.

Week 0 is a programme's first session on or after today: weeks -6..-1 are past (attendance
recorded), weeks 0..7 are upcoming. The beginners programme (the first) is exactly full.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import Session

from widget_server.api import sync
from widget_server.core.models import Offer, ReportCard
from widget_server.core.storage import Files
from widget_server.demo.catalogue import DEMO_TENANTS, PROFILES, Person, Profile, Prog, demo_logins
from widget_server.demo.documents import share_documents

# Callers import the tenant list and the login hints from here, with the builder.
__all__ = ["DEMO_TENANTS", "demo_items", "demo_logins", "load_demo"]

WEEKS = range(-6, 8)
EARLIER_TERM = range(-20, -9)  # the previous term, attended by the finished booking
CATCH_UP_WEEK = 2  # the extra make-up class of the beginners programme

Item = tuple[str, dict[str, Any]]


def _years_ago(today: date, years: int, days: int) -> date:
    """A birth date about `years` years before today (29 February falls back to the 28th)."""
    try:
        return today.replace(year=today.year - years) - timedelta(days=days)
    except ValueError:
        return today.replace(year=today.year - years, day=28) - timedelta(days=days)


def _vat_included(gross: int, rate: str) -> int:
    """The VAT inside a VAT-inclusive amount, rounded half up, in integer arithmetic."""
    r = int(rate)
    return (2 * gross * r + 100 + r) // (2 * (100 + r))


@dataclass
class _Demo:
    """Collects one tenant's items, with helpers for its dates and time zone."""

    p: Profile
    today: date
    items: list[Item] = field(default_factory=list)
    sessions: dict[tuple[str, int], str] = field(default_factory=dict)  # (prog, week) -> id
    cancelled: set[str] = field(default_factory=set)

    def add(self, resource: str, item_id: str, **fields: Any) -> str:
        self.items.append((resource, {"id": item_id, **fields}))
        return item_id

    def day(self, offset: int) -> date:
        return self.today + timedelta(days=offset)

    def at(self, day: date, hhmm: str, minutes: int = 0) -> str:
        """Local wall-clock time on `day` (plus minutes) as an ISO UTC timestamp."""
        local = datetime.combine(day, time.fromisoformat(hhmm), tzinfo=ZoneInfo(self.p.tz))
        moment = (local + timedelta(minutes=minutes)).astimezone(UTC)
        return moment.isoformat().replace("+00:00", "Z")

    def week_day(self, weekday: int, week: int) -> date:
        first = self.today + timedelta(days=(weekday - self.today.weekday()) % 7)
        return first + timedelta(weeks=week)

    def ref(self, n: int, day: date) -> str:
        return self.p.text["reference"].format(n=n, year=day.year)


def _sessions(d: _Demo, prog: Prog, weeks: Iterable[int], *, cancelled: tuple[int, ...] = (),
              slot: tuple[int, str] | None = None, capacity: int | None = None) -> None:
    """Weekly sessions of a programme; `slot` (weekday, start) overrides its usual one."""
    weekday, start = slot or (prog.weekday, prog.start)
    for week in weeks:
        day = d.week_day(weekday, week)
        session_id = d.add("sessions", f"ses-{prog.key}-{day.isoformat()}",
                           programme_id=f"prog-{prog.key}", starts_at=d.at(day, start),
                           ends_at=d.at(day, start, prog.minutes),
                           capacity=capacity or prog.capacity, location=prog.location,
                           livestream_url=prog.livestream_url, cancelled=week in cancelled)
        if week in cancelled:
            d.cancelled.add(session_id)
        if slot is None:
            d.sessions[(prog.key, week)] = session_id


def _attendance(d: _Demo, booking_id: str, prog: Prog, weeks: Iterable[int],
                overrides: dict[int, str] | None = None) -> None:
    """One row per session of the booking's programme: past attended, future expected."""
    for week in weeks:
        session_id = d.sessions[(prog.key, week)]
        status = (overrides or {}).get(week, "attended" if week < 0 else "expected")
        if session_id in d.cancelled:
            status = "cancelled_by_provider"
        d.add("attendance", _att_id(booking_id, session_id), booking_id=booking_id,
              session_id=session_id, status=status)


def _att_id(booking_id: str, session_id: str) -> str:
    return f"att-{booking_id.removeprefix('bk-')}-{session_id.removeprefix('ses-')}"


def _family(d: _Demo, n: int, parent: Person, children: list[tuple[str, int]]) -> None:
    d.add("clients", f"cl-{n}", email=parent.email, name=parent.name, phone=parent.phone,
          locale=parent.locale or d.p.locale,
          notify_whatsapp=d.p.whatsapp and parent.phone is not None)
    for i, (child, age) in enumerate(children):
        d.add("attendees", f"at-{n}-{i + 1}", client_id=f"cl-{n}", name=child,
              birth_date=_years_ago(d.today, age, 40 + 37 * (n % 7) + 90 * i).isoformat())


def _booking(d: _Demo, n: int, client: int, attendee: str, prog: Prog, booked: int,
             status: str = "confirmed", addons: tuple[str, ...] = ()) -> str:
    return d.add("bookings", f"bk-{n}", client_id=f"cl-{client}", attendee_id=attendee,
                 programme_id=f"prog-{prog.key}", status=status, price=prog.body["price"],
                 currency=d.p.currency, addons=list(addons),
                 booked_at=d.at(d.day(booked), "20:15", 3 * n % 50))


def _payment(d: _Demo, n: int, client: int, amount: int, description: str, *,
             booking: str | None = None, order: str | None = None, paid: int | None = None,
             due: int | None = None, method: str = "bank_transfer") -> str:
    """A payment: `paid` and `due` are day offsets from today."""
    day = d.day(due if paid is None else paid)
    return d.add(
        "payments", f"pay-{n}", client_id=f"cl-{client}", booking_id=booking, order_id=order,
        description=description, amount=amount, currency=d.p.currency,
        due_date=day.isoformat(), status="unpaid" if paid is None else "paid", method=method,
        bank_reference=d.ref(n, day) if method == "bank_transfer" else None,
        paid_at=None if paid is None else d.at(day, "10:40", n % 60))


def _invoice(d: _Demo, payment: dict[str, Any], seq: int) -> None:
    """An invoice without a file or link: the portal makes its PDF from the demo's data, so
    every invoice in the demo opens (a link to the fictional schools' sites would not)."""
    issued = date.fromisoformat(payment["paid_at"][:10])
    number = d.p.text["invoice_no"].format(year=issued.year, seq=seq)
    d.add("invoices", f"inv-{seq}", client_id=payment["client_id"], payment_id=payment["id"],
          order_id=payment["order_id"], number=number, issue_date=issued.isoformat(),
          amount=payment["amount"], currency=d.p.currency)


def _order(d: _Demo, n: int, ordered: int, status: str, lines: list[tuple[str, str, int, int]],
           promo: str | None = None) -> tuple[str, int]:
    """An order of (name, kind, quantity, unit price) lines; returns its number and total."""
    items = [{"name": name, "kind": kind, "quantity": qty, "unit_price": price,
              "vat_rate": d.p.vat if kind == "product" else "0",
              "vat_amount": _vat_included(qty * price, d.p.vat if kind == "product" else "0")}
             for name, kind, qty, price in lines]
    subtotal = sum(qty * price for _, _, qty, price in lines)
    discount = subtotal // 10 if promo else 0
    number = d.p.text["order_no"].format(n=n)
    d.add("orders", f"ord-{n}", client_id="cl-1001", number=number,
          ordered_at=d.at(d.day(ordered), "10:31"), status=status, currency=d.p.currency,
          promo_code=promo, discount_amount=discount, items=items)
    return number, subtotal - discount


def demo_items(tenant_slug: str, today: date, profile: Profile | None = None) -> list[Item]:
    """Every demo item of one tenant, as (resource name, item), in dependency order: its own
    catalogue, or `profile`'s for another tenant (the console's theme preview)."""
    p = profile or PROFILES[tenant_slug]
    d = _Demo(p, today)
    text, cur = p.text, p.currency
    beginners, second, online, dropin = p.programmes
    (child_a, _), (child_b, _) = p.children1
    first_a, first_b = child_a.split()[0], child_b.split()[0]

    _family(d, 1001, p.family1, list(p.children1))
    _family(d, 1002, p.family2, [p.child2])
    for i, (parent, child, age) in enumerate(p.fillers):
        _family(d, 1003 + i, parent, [(child, age)])

    for prog in p.programmes:
        d.add("programmes", f"prog-{prog.key}", currency=cur, **prog.body)
    _sessions(d, beginners, WEEKS, cancelled=(-4,))
    _sessions(d, beginners, [CATCH_UP_WEEK], slot=p.catch_up, capacity=4)
    _sessions(d, beginners, range(0, 9), slot=p.second_groups[0], capacity=6)
    _sessions(d, second, range(0, 8), slot=p.second_groups[1], capacity=8)
    _sessions(d, second, list(EARLIER_TERM) + list(WEEKS), cancelled=(3,))
    _sessions(d, online, WEEKS)
    _sessions(d, dropin, WEEKS)

    # Bookings: family 1, family 2, then the fillers that make the beginners class full.
    bk_a = _booking(d, 1001, 1001, "at-1001-1", beginners, -60,
                    addons=(beginners.body["addons"][0]["id"],))
    bk_b = _booking(d, 1002, 1001, "at-1001-2", second, -58)
    bk_online = _booking(d, 1003, 1001, "at-1001-2", online, -55)
    bk_old = _booking(d, 1004, 1001, "at-1001-2", second, -150, status="finished")
    _booking(d, 1005, 1001, "at-1001-1", online, -62, status="cancelled")
    bk_2 = _booking(d, 1010, 1002, "at-1002-1", beginners, -45)
    fillers = [_booking(d, 1021 + i, 1003 + i, f"at-{1003 + i}-1", beginners, -70 + i)
               for i in range(len(p.fillers))]

    second_source = -1 if p.credit_from_missed else -4
    _attendance(d, bk_a, beginners, WEEKS, {-5: "excused", -3: "excused", -1: "missed"})
    _attendance(d, bk_b, second, WEEKS, {-2: "missed", 5: "excused"})
    _attendance(d, bk_online, online, WEEKS, {-6: "excused"})
    _attendance(d, bk_old, second, EARLIER_TERM, {-17: "excused", -13: "missed"})
    _attendance(d, bk_2, beginners, WEEKS)
    for i, bk in enumerate(fillers):
        _attendance(d, bk, beginners, WEEKS, {-1 - i % 6: "missed" if i % 2 else "excused"})
    catch_up = d.week_day(p.catch_up[0], CATCH_UP_WEEK)
    makeup = d.add("attendance", _att_id(bk_a, f"ses-{beginners.key}-{catch_up}"),
                   booking_id=bk_a, session_id=f"ses-{beginners.key}-{catch_up}", makeup=True)

    # Make-up credits of the first child: one used, two available; one expired for the second.
    validity = beginners.body["makeup_validity_days"]  # both children's programmes agree

    def credit(n: int, booking: str, prog: Prog, week: int, attendee: str, **used: Any) -> None:
        source = d.sessions[(prog.key, week)]
        expires = d.week_day(prog.weekday, week) + timedelta(days=validity)
        d.add("makeup-credits", f"mk-{n}", client_id="cl-1001", attendee_id=attendee,
              source_attendance_id=_att_id(booking, source), expires_at=d.at(expires, "23:59"),
              **used)

    credit(1, bk_a, beginners, -5, "at-1001-1", used_attendance_id=makeup,
           used_at=d.at(d.day(-3), "21:05"))
    credit(2, bk_a, beginners, -3, "at-1001-1")
    credit(3, bk_a, beginners, second_source, "at-1001-1")
    credit(4, bk_old, second, -17, "at-1001-2")

    # Orders: goods and an entry pass (paid, partly with prepaid credit), and a later one.
    lines = [(name, "product", qty, price) for name, qty, price in p.goods]
    order_no, order_total = _order(d, 5001, -30, "paid", lines + [
        (p.pass_item[0], "entry_pass", 1, p.pass_item[1])], promo=text["promo"])
    later = [(p.later_item[0], "product", 1, p.later_item[1])]
    later_no, later_total = _order(d, 5002, -2, "unpaid", later)

    # Payments: one paid per booking of family 1, an overdue instalment, two unpaid.
    price_a = beginners.body["price"] + beginners.body["addons"][0]["price"]
    price_b, price_online = second.body["price"], online.body["price"]
    half = price_b // 2
    paid = [
        _payment(d, 1001, 1001, price_a, f"{beginners.body['name']} – {first_a}",
                 booking=bk_a, paid=-59, method="card"),
        _payment(d, 1002, 1001, half, f"{second.body['name']} – {first_b}, "
                 + text["instalment"].format(n=1), booking=bk_b, paid=-55),
        _payment(d, 1003, 1001, price_online, f"{online.body['name']} – {first_b}",
                 booking=bk_online, paid=-54, method="card"),
        _payment(d, 1004, 1001, price_b, f"{second.body['name']} – {first_b}",
                 booking=bk_old, paid=-148),
        _payment(d, 1006, 1001, order_total - 1200, text["order"].format(number=order_no),
                 order="ord-5001", paid=-30, method="card"),
    ]
    _payment(d, 1005, 1001, price_b - half, f"{second.body['name']} – {first_b}, "
             + text["instalment"].format(n=2), booking=bk_b, due=-10)
    _payment(d, 1007, 1001, later_total, text["order"].format(number=later_no),
             order="ord-5002", due=5)
    _payment(d, 1010, 1002, beginners.body["price"],
             f"{beginners.body['name']} – {p.child2[0].split()[0]}", booking=bk_2, due=14)

    payments = {item["id"]: item for res, item in d.items if res == "payments"}
    for pay_id, seq in zip(paid, (41, 42, 43, 37, 48), strict=False):
        _invoice(d, payments[pay_id], seq)

    # Entry passes: the one bought with the order (3 entries used) and an expired one.
    uses = [{"used_at": d.at(d.week_day(dropin.weekday, week), dropin.start, 5),
             "session_id": d.sessions[(dropin.key, week)], "note": name}
            for week, name in ((-3, first_a), (-2, first_b), (-1, first_a))]
    d.add("entry-passes", "pass-3001", client_id="cl-1001", order_id="ord-5001",
          name=p.pass_item[0], total_entries=10, used_entries=3,
          valid_until=d.day(91).isoformat(), status="active",
          programme_id=f"prog-{dropin.key}", uses=uses)
    old_uses = [{"used_at": d.at(d.week_day(dropin.weekday, week), dropin.start, 5),
                 "note": first_a} for week in range(-19, -15)]
    d.add("entry-passes", "pass-3000", client_id="cl-1001", name=text["old_pass"],
          total_entries=5, used_entries=4, valid_until=d.day(-40).isoformat(),
          status="expired", uses=old_uses)

    # Discounts, prepaid credit and the grandparent's view of the first child's booking.
    d.add("discounts", "disc-1", client_id="cl-1001", name=text["sibling"], kind="percent",
          value=10, valid_from=d.day(-90).isoformat(), valid_until=d.day(182).isoformat())
    d.add("discounts", "disc-2", client_id="cl-1001", attendee_id="at-1001-2",
          name=text["loyalty"], kind="amount", value=500, currency=cur,
          valid_from=d.day(-20).isoformat(), valid_until=d.day(120).isoformat())
    d.add("discounts", "disc-3", client_id="cl-1001", name=text["early_bird"], kind="percent",
          value=15, valid_from=d.day(-120).isoformat(), valid_until=d.day(-30).isoformat())
    d.add("credits", "cr-1", client_id="cl-1001", amount=5000, currency=cur,
          occurred_at=d.at(d.day(-61), "18:30"), description=text["topup"])
    d.add("credits", "cr-2", client_id="cl-1001", amount=-1200, currency=cur,
          occurred_at=d.at(d.day(-30), "10:32"), order_id="ord-5001",
          description=text["spent_order"].format(number=order_no))
    d.add("credits", "cr-3", client_id="cl-1001", amount=-800, currency=cur,
          occurred_at=d.at(d.day(-7), "09:30"), booking_id=bk_online,
          description=text["spent_booking"].format(programme=online.body["name"]))
    d.add("shares", "sh-1", booking_id=bk_a, email=p.grandparent, relation="grandparent",
          access="view", status="active")
    _progress(d, {"at-1001-1": bk_a, "at-1001-2": bk_b, "at-1002-1": bk_2})
    _offers(d, bk_a, bk_online, bk_2)
    return d.items


NEXT_TERM = range(10, 22)  # weeks of next term's classes


def _offers(d: _Demo, bk_a: str, bk_online: str, bk_2: str) -> None:
    """Next term's classes (programmes of their own) and three offers: the first child's open
    re-enrolment with two classes to choose from (places held), the second child's trial to
    enrolment (paid on acceptance), and the other family's, expired (`load_demo` marks it
    so)."""
    words, cur = d.p.offers, d.p.currency
    beginners, second, online = d.p.programmes[:3]
    spring = []
    for key, prog, (weekday, start) in (("spring-sat", second, (5, "10:00")),
                                        ("spring-sun", second, (6, "10:30"))):
        body = {**prog.body, "name": f"{prog.body['name']} · {words['next_term']}"}
        d.add("programmes", f"prog-{key}", currency=cur, **body)
        spring_prog = Prog(key, weekday, start, prog.minutes, prog.capacity, prog.location, body)
        _sessions(d, spring_prog, NEXT_TERM)
        spring.append((key, spring_prog))
    price = second.body["price"]

    def option(key: str, label: str, prog: Prog, discount: int = 0) -> dict[str, Any]:
        return {"key": key, "label": label, "programme_id": f"prog-{prog.key}",
                "first_session_id": d.sessions[(prog.key, NEXT_TERM[0])],
                "sessions": len(NEXT_TERM), "price": price, "currency": cur,
                "discount": discount}

    (sat, sat_prog), (sun, sun_prog) = spring
    first_a = d.p.children1[0][0].split()[0]
    d.add("offers", "of-1", client_id="cl-1001", attendee_id="at-1001-1", booking_id=bk_a,
          kind="reenrolment", title=words["next_term"],
          message=words["message"].format(name=first_a), deadline=d.day(14).isoformat(),
          hold_places=True, options=[option(sat, words["saturday"], sat_prog, price // 10),
                                     option(sun, words["sunday"], sun_prog, price // 10)])
    trial = {"key": "online", "label": words["trial_label"], "programme_id": f"prog-{online.key}",
             "first_session_id": d.sessions[(online.key, 1)], "price": online.body["price"],
             "currency": cur}
    d.add("offers", "of-2", client_id="cl-1001", attendee_id="at-1001-2", booking_id=bk_online,
          kind="trial", title=words["trial"], deadline=d.day(7).isoformat(), options=[trial],
          pay_on_accept=True)
    d.add("offers", "of-3", client_id="cl-1002", attendee_id="at-1002-1", booking_id=bk_2,
          kind="reenrolment", title=words["next_term"], deadline=d.day(-3).isoformat(),
          options=[option(sat, words["saturday"], sat_prog)])


def _progress(d: _Demo, bookings: dict[str, str]) -> None:
    """Levels of the first two programmes, and each child's ratings and notes: the first child
    halfway through the first level, the second past one level and into the next, the other
    family's child just started."""
    spec = d.p.progress
    beginners, second = d.p.programmes[:2]
    scale, by = spec["scale"], spec["assessor"]
    levels = []
    for i, level in enumerate(spec["levels"]):
        levels.append(d.add("levels", f"lvl-{i + 1}", programme_id=f"prog-{level['programme']}",
                            name=level["name"], position=i + 1, scale=scale,
                            skills=[{"id": k, "name": n} for k, n in level["skills"]]))
    skills = [[k for k, _ in level["skills"]] for level in spec["levels"]]
    top = len(scale)
    count = 0

    def rate(attendee: str, level: int, ratings: list[int], day: int, note: str | None = None):
        nonlocal count
        for skill, rating in zip(skills[level], ratings, strict=False):
            count += 1
            d.add("assessments", f"as-{count}", attendee_id=attendee, level_id=levels[level],
                  skill=skill, rating=rating, assessed_on=d.day(day).isoformat(), assessor=by,
                  note=note if rating == top else None)
            note = None  # one comment per assessment day

    first, child_b, other = "at-1001-1", "at-1001-2", "at-1002-1"
    rate(first, 0, [2, 1, 1, 1], -48)
    rate(first, 0, [4, 3, 2, 1], -20, spec["comments"][0])
    rate(first, 0, [4, 4, 3, 2], -6)
    rate(child_b, 2, [2, 2, 3], -120)
    rate(child_b, 2, [4, 4, 4], -96, spec["comments"][1])
    rate(child_b, 3, [2, 1, 1, 1], -13)
    rate(other, 0, [1, 1], -13)

    def note(n: int, booking: str, prog: Any, week: int, text: str, **extra: Any) -> None:
        d.add("session-notes", f"note-{n}", attendance_id=_att_id(booking, d.sessions[
            (prog.key, week)]), text=text, author=by, **extra)

    note(1, bookings[first], beginners, -2, spec["notes"][0])
    note(2, bookings[first], beginners, -6, spec["notes"][1])
    note(3, bookings[child_b], second, -1, spec["notes"][2])
    note(4, bookings[first], beginners, -2, spec["staff_note"], visibility="staff")
    note(5, bookings[other], beginners, -1, spec["notes"][0])
    for n, (attendee, level) in enumerate(((first, 0), (child_b, 2), (other, 0)), start=1):
        d.add("report-cards", f"rc-{n}", attendee_id=attendee, level_id=levels[level],
              term=spec["term"], comment=spec["reports"][n - 1], instructor=by,
              published=True)


def load_demo(session: Session, tenant_slug: str, today: date, files: Files | None = None,
              profile: Profile | None = None) -> int:
    """Upsert every demo item of one tenant through the sync code, and store its shared
    documents (in `files`, the database by default); the caller commits. With another
    tenant's `profile` (sample data for the theme preview), no documents."""
    resolver = sync.RefResolver(session, tenant_slug)
    items = demo_items(tenant_slug, today, profile)
    for resource, item in items:
        sync.upsert(session, tenant_slug, resource, item["id"], item, resolver)
    # The demo's report cards came out a week ago and the families were told then: starting
    # the demo sends no report-card e-mails...
    published = datetime.combine(today - timedelta(days=7), time(17), tzinfo=UTC)
    session.exec(update(ReportCard).where(ReportCard.tenant == tenant_slug)
                 .values(published_at=published, announced_at=published))
    # ...and the other family let its offer run out before the demo began.
    session.exec(update(Offer).where(Offer.tenant == tenant_slug, Offer.external_id == "of-3")
                 .values(status="expired"))
    if profile is not None:
        return len(items)
    return len(items) + share_documents(session, tenant_slug, today, files or Files())
