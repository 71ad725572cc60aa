"""Benchmark: every logged-in page under load, on a large database and on one ten times smaller.

Builds a realistic database (10,000 clients, their children and bookings, 1,000,000 attendance
rows; every fifth family with orders, a discount, a pass, credit, a letter and make-up
credits) and a ten times smaller one, logs one parent in, then measures requests per second and
p50/p99 latency with `wrk` (Debian package `wrk`) of each logged-in page (home, booking,
sessions, benefits, orders, account, make-ups, progress, a report card, documents, a payment)
on uvicorn, next to a bare Starlette
endpoint rendering each page's HTML as a template in the same run. One table: the page's rate
on the large database, on the small one (a page whose cost grows with the tables is faster
there), and as a share of the bare endpoint.

    .venv/bin/python bench/profile_pages.py [--quick] [--clients 10000] [--attendance 1000000]
        [--seconds 10] [--connections 20] [--workers 1] [--database-url URL]
        [--small-database-url URL] [--no-small] [--reuse]

`--quick` builds 1,000 clients and 100,000 attendance rows (and a tenth of that) in well
under a minute and measures 3 s per page. `--reuse` keeps the databases of an earlier run
(building the large one takes minutes) and migrates them to the current schema. SQLite files
default to /tmp; for PostgreSQL give `--database-url` and, for the ratio, a second database as
`--small-database-url` (both are filled: use databases made for the benchmark).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import create_engine, insert, select, text, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from widget_server.core import models as m  # noqa: E402
from widget_server.core.access import Identity  # noqa: E402
from widget_server.core.db import migrate, session_scope  # noqa: E402
from widget_server.demo import TENANTS_DIR  # noqa: E402
from widget_server.web.web_sessions import start  # noqa: E402

PYTHON = sys.executable
TENANT = "demo"
BARE_APP = '''
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.templating import Jinja2Templates
templates = Jinja2Templates(directory={directory!r})
async def page(request):
    return templates.TemplateResponse(request, request.path_params["file"], {{"name": "Sarah"}})
app = Starlette(routes=[Route("/{{file}}", page)])
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


CLASS_SIZE = 10  # bookings per weekly class: its 12 places leave two for make-ups


# The demo school's clock: its classes keep their local time across the clocks' change.
ZONE = ZoneInfo(tomllib.loads((TENANTS_DIR / f"{TENANT}.toml").read_text())["timezone"])


def weekly(now: datetime, weeks: int, hours: int, minutes: int = 0) -> datetime:
    """A weekly class's time `weeks` from this week's, in UTC: the same local time every week
    (at fixed UTC times, the weeks after the clocks change read as another class an hour
    apart, and each class as two with half their sessions)."""
    local = now.astimezone(ZONE).replace(tzinfo=None)
    at = local + timedelta(weeks=weeks, hours=hours, minutes=minutes)
    return at.replace(tzinfo=ZONE).astimezone(timezone.utc)


def build(url: str, clients: int, attendance: int) -> None:
    """Bulk-insert the data set with Core inserts (the sync API path is benchmarked elsewhere).
    Shaped like a real school's: each weekly class (a programme here) has 12 places and 10
    bookings, so a session's places are counted over about ten rows, as in real classes; the
    classes are as many as the bookings need."""
    rng = random.Random(7)
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    engine = create_engine(url)
    stamp = {"tenant": TENANT, "created_at": now, "updated_at": now}
    # 1.5 children per client and 1.5 bookings per child (the loops below).
    expected_bookings = clients * 9 // 4
    programmes = max(1, -(-expected_bookings // CLASS_SIZE))
    sessions_per = max(20, -(-attendance // max(1, expected_bookings)) + 1)
    with engine.begin() as db:
        db.execute(insert(m.Programme), [
            {**stamp, "external_id": f"p{p}", "name": f"Programme {p}", "venue": "Pool",
             "online": False, "makeup_policy": "same_programme", "addons": []}
            for p in range(programmes)])
        programme_ids = dict(db.execute(select(m.Programme.external_id, m.Programme.id)).all())
        for first in range(0, programmes, 500):
            db.execute(insert(m.ClassSession), [
                {**stamp, "external_id": f"s{p}-{w}", "programme_id": programme_ids[f"p{p}"],
                 "starts_at": weekly(now, w - sessions_per // 2, p % 10),
                 "ends_at": weekly(now, w - sessions_per // 2, p % 10, minutes=45),
                 "capacity": 12, "cancelled": False}
                for p in range(first, min(first + 500, programmes)) for w in range(sessions_per)])
        rows = db.execute(select(m.ClassSession.id, m.ClassSession.programme_id,
                                 m.ClassSession.starts_at)
                          .order_by(m.ClassSession.starts_at)).all()
        by_programme: dict[int, list[int]] = {}
        past: set[int] = set()
        for session_id, programme_id, starts_at in rows:
            by_programme.setdefault(programme_id, []).append(session_id)
            if starts_at <= now:
                past.add(session_id)
        for start_at in range(0, clients, 2000):
            chunk = range(start_at, min(start_at + 2000, clients))
            db.execute(insert(m.Client), [
                {**stamp, "external_id": f"c{c}", "email": f"parent{c}@example.com",
                 "name": f"Parent {c}", "notify_email": True, "notify_whatsapp": False}
                for c in chunk])
        client_ids = dict(db.execute(select(m.Client.external_id, m.Client.id)).all())
        db.execute(insert(m.Attendee), [
            {**stamp, "external_id": f"a{c}-{k}", "client_id": client_ids[f"c{c}"],
             "name": f"Child {k} of {c}"}
            for c in range(clients) for k in range(1 + c % 2)])
        attendee_rows = db.execute(select(m.Attendee.id, m.Attendee.client_id)).all()
        bookings = []
        # Each class's places, CLASS_SIZE per programme, handed out in a random order.
        places = [pid for pid in programme_ids.values() for _ in range(CLASS_SIZE)]
        rng.shuffle(places)
        for attendee_id, client_id in attendee_rows:
            for k in range(1 + attendee_id % 2):
                bookings.append({**stamp, "external_id": f"b{attendee_id}-{k}",
                                 "client_id": client_id, "attendee_id": attendee_id,
                                 "programme_id": places.pop() if places
                                 else rng.choice(list(programme_ids.values())),
                                 "status": "confirmed", "price": 9600, "currency": "GBP",
                                 "addons": []})
        for chunk_start in range(0, len(bookings), 5000):
            db.execute(insert(m.Booking), bookings[chunk_start:chunk_start + 5000])
        booking_rows = db.execute(select(m.Booking.id, m.Booking.programme_id)).all()
        # A term fee per booking: half paid, the rest due (some of it overdue).
        owners = dict(db.execute(select(m.Booking.id, m.Booking.client_id)).all())
        fees = [{**stamp, "external_id": f"pay{booking_id}", "client_id": owners[booking_id],
                 "booking_id": booking_id, "amount": 9600, "currency": "GBP",
                 "description": "Term fee",
                 "due_date": (now + timedelta(days=booking_id % 60 - 20)).date(),
                 "status": "paid" if booking_id % 2 else "unpaid",
                 "paid_at": now - timedelta(days=10) if booking_id % 2 else None}
                for booking_id, _ in booking_rows]
        for chunk_start in range(0, len(fees), 5000):
            db.execute(insert(m.Payment), fees[chunk_start:chunk_start + 5000])
        per_booking = max(1, attendance // len(booking_rows))
        batch, written = [], 0
        for booking_id, programme_id in booking_rows:
            for session_id in by_programme[programme_id][:per_booking]:
                batch.append({**stamp, "external_id": f"at{written}", "booking_id": booking_id,
                              "session_id": session_id, "makeup": False,
                              # As a register looks: the sessions held are marked, those
                              # to come are expected but for a few the family excused ahead.
                              "status": rng.choice(["attended", "attended", "attended",
                                                    "missed", "excused"])
                              if session_id in past else
                              ("excused" if rng.random() < 0.1 else "expected")})
                written += 1
                if len(batch) == 20000:
                    db.execute(insert(m.Attendance), batch)
                    batch = []
                if written >= attendance:
                    break
            if written >= attendance:
                break
        if batch:
            db.execute(insert(m.Attendance), batch)
    engine.dispose()
    print(f"built: {clients} clients, {len(attendee_rows)} attendees, {len(booking_rows)} "
          f"bookings and payments, {written} attendance rows")
    build_progress(url)
    build_switching(url)
    build_benefits(url)


def build_switching(url: str) -> None:
    """Changing class (issue 16): the programmes in make-up groups of five, each allowing an
    instant change, so a booking's "Change class" page weighs four other classes with their
    sessions to come. Safe to repeat."""
    engine = create_engine(url)
    with engine.begin() as db:
        names = db.execute(select(m.Programme.external_id).where(m.Programme.tenant == TENANT)
                           .order_by(m.Programme.id)).scalars().all()
        for first in range(0, len(names), 5):
            db.execute(update(m.Programme).where(
                m.Programme.tenant == TENANT, m.Programme.external_id.in_(names[first:first + 5]))
                .values(makeup_group=f"g{first // 5}", switch_policy="instant"))
    engine.dispose()


SKILLS = [{"id": f"k{k}", "name": f"Skill {k}"} for k in range(6)]


def build_progress(url: str) -> None:
    """Children's progress (issue 15): three levels of six skills per programme; per booking,
    two assessment days of the first level's skills (12 ratings) and a published report card;
    an instructor's note on every fifth place. Idempotent: a data set that has levels is
    left as it is (so `--reuse` extends an older one)."""
    engine = create_engine(url)
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    stamp = {"tenant": TENANT, "created_at": now, "updated_at": now}
    with engine.begin() as db:
        if db.execute(select(m.Level.id).limit(1)).first() is not None:
            return
        programmes = db.execute(select(m.Programme.id)).scalars().all()
        db.execute(insert(m.Level), [
            {**stamp, "external_id": f"lv{p}-{n}", "programme_id": p, "name": f"Level {n}",
             "position": n, "skills": SKILLS,
             "scale": ["Introduced", "Developing", "Refining", "Achieved"]}
            for p in programmes for n in range(3)])
        first = dict(db.execute(select(m.Level.programme_id, m.Level.id)
                                .where(m.Level.position == 0)).all())
        bookings = db.execute(select(m.Booking.external_id, m.Booking.attendee_id,
                                     m.Booking.programme_id)).all()
        rows, cards, n = [], [], 0
        for booking, attendee_id, programme_id in bookings:
            for day, base in ((40, 1), (10, 2)):
                for k, skill in enumerate(SKILLS):
                    n += 1
                    rows.append({**stamp, "external_id": f"as{n}", "attendee_id": attendee_id,
                                 "level_id": first[programme_id], "skill": skill["id"],
                                 "rating": min(4, base + k % 3),
                                 "assessed_on": (now - timedelta(days=day)).date(),
                                 "assessor": "Coach"})
            cards.append({**stamp, "external_id": f"rc-{booking}", "attendee_id": attendee_id,
                          "level_id": first[programme_id], "term": "Autumn",
                          "comment": "A good term.", "published": True, "published_at": now,
                          "announced_at": now})
            if len(rows) >= 20000:
                db.execute(insert(m.Assessment), rows)
                rows = []
        if rows:
            db.execute(insert(m.Assessment), rows)
        for start_at in range(0, len(cards), 5000):
            db.execute(insert(m.ReportCard), cards[start_at:start_at + 5000])
        places = db.execute(select(m.Attendance.id).where(m.Attendance.id % 5 == 0)).scalars()
        notes = []
        for place in places:
            notes.append({**stamp, "external_id": f"sn{place}", "attendance_id": place,
                          "text": "Good work today.", "author": "Coach", "visibility": "family"})
            if len(notes) == 20000:
                db.execute(insert(m.SessionNote), notes)
                notes = []
        if notes:
            db.execute(insert(m.SessionNote), notes)
    engine.dispose()
    print(f"progress: {n} assessments, {len(cards)} report cards, notes on every fifth place")


def build_benefits(url: str) -> None:
    """What a family has besides bookings, so that the benefits, orders, make-ups and documents
    pages are measured with something on them (empty states before): every fifth client (c42
    among them) has two orders (one paid, one due with its payment), a discount, a ten-visit
    entry pass, account credit, a document of its own and a make-up credit per child (from a
    session it missed, excused or attended); the tenant has two documents for everyone and
    one per programme. Idempotent: a data set that has orders is left as it is."""
    engine = create_engine(url)
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    stamp = {"tenant": TENANT, "created_at": now, "updated_at": now}
    with engine.begin() as db:
        if db.execute(select(m.Order.id).limit(1)).first() is not None:
            return
        clients = [(cid, ref) for cid, ref in db.execute(
            select(m.Client.id, m.Client.external_id)) if int(ref[1:]) % 5 == 2]
        chosen = {cid for cid, _ in clients}
        orders = [{**stamp, "external_id": f"o{ref}-{k}", "client_id": cid,
                   "number": f"W-{ref}-{k}", "ordered_at": now - timedelta(days=30 - 20 * k),
                   "status": "paid" if k == 0 else "unpaid", "currency": "GBP",
                   "discount_amount": 0}
                  for cid, ref in clients for k in range(2)]
        for first in range(0, len(orders), 5000):
            db.execute(insert(m.Order), orders[first:first + 5000])
        order_rows = db.execute(select(m.Order.id, m.Order.client_id, m.Order.external_id,
                                       m.Order.status)).all()
        db.execute(insert(m.OrderItem), [
            {"order_id": oid, "position": n, "name": name, "kind": kind, "quantity": 1,
             "unit_price": price, "vat_rate": Decimal("20"), "vat_amount": price // 6}
            for oid, _, _, _ in order_rows
            for n, (name, kind, price) in enumerate((("Swim cap", "product", 800),
                                                     ("Ten-visit pass", "pass", 9000)))])
        db.execute(insert(m.Payment), [
            {**stamp, "external_id": f"pay-{ref}", "client_id": cid, "order_id": oid,
             "amount": 9800, "currency": "GBP", "description": "Order",
             "due_date": (now + timedelta(days=14)).date(), "status": "unpaid"}
            for oid, cid, ref, status in order_rows if status == "unpaid"])
        paid_orders = {cid: oid for oid, cid, _, status in order_rows if status == "paid"}
        db.execute(insert(m.Discount), [
            {**stamp, "external_id": f"d{ref}", "client_id": cid, "name": "Sibling discount",
             "kind": "percent", "value": 10, "valid_until": (now + timedelta(days=90)).date(),
             "used": False}
            for cid, ref in clients])
        db.execute(insert(m.EntryPass), [
            {**stamp, "external_id": f"ep{ref}", "client_id": cid, "order_id": paid_orders[cid],
             "name": "Ten-visit pass", "total_entries": 10, "used_entries": 3,
             "valid_until": (now + timedelta(days=120)).date(), "status": "active"}
            for cid, ref in clients])
        db.execute(insert(m.CreditEntry), [
            {**stamp, "external_id": f"ce{ref}-{k}", "client_id": cid, "amount": amount,
             "currency": "GBP", "occurred_at": now - timedelta(days=20 - 10 * k),
             "description": description}
            for cid, ref in clients
            for k, (amount, description) in enumerate(((5000, "Top-up"), (-1200, "Shop")))])
        # A credit per child, from the child's latest past place (excused or missed first).
        sources: dict[int, tuple[int, int, int]] = {}
        for place, attendee, client, status in db.execute(
                select(m.Attendance.id, m.Booking.attendee_id, m.Booking.client_id,
                       m.Attendance.status)
                .join(m.Booking, m.Booking.id == m.Attendance.booking_id)
                .join(m.ClassSession, m.ClassSession.id == m.Attendance.session_id)
                .where(m.ClassSession.starts_at < now, m.Booking.client_id.in_(chosen))
                .order_by(m.ClassSession.starts_at)):
            rank = 0 if status in ("excused", "missed") else 1
            if attendee not in sources or rank <= sources[attendee][2]:
                sources[attendee] = (place, client, rank)
        credits = [{**stamp, "external_id": f"mc{attendee}", "client_id": client,
                    "attendee_id": attendee, "source_attendance_id": place,
                    "expires_at": now + timedelta(days=30)}
                   for attendee, (place, client, _) in sources.items()]
        for first in range(0, len(credits), 5000):
            db.execute(insert(m.MakeupCredit), credits[first:first + 5000])
        programmes = db.execute(select(m.Programme.id)).scalars().all()
        documents = [
            *({**stamp, "external_id": f"doc-all-{n}", "title": title, "audience": "tenant"}
              for n, title in enumerate(("Pool rules", "Term dates"))),
            *({**stamp, "external_id": f"doc-p{p}", "title": "Class plan",
               "audience": "programme", "programme_id": p} for p in programmes),
            *({**stamp, "external_id": f"doc-{ref}", "title": "Invoice summary",
               "audience": "client", "client_id": cid} for cid, ref in clients)]
        for document in documents:  # every row with every column (one statement for all)
            document.update({"client_id": None, "programme_id": None, **document},
                            filename=f"{document['external_id']}.pdf",
                            content_type="application/pdf", size=1024, published_at=now,
                            sha256="", storage="db")
        for first in range(0, len(documents), 5000):
            db.execute(insert(m.Document), documents[first:first + 5000])
        db.execute(insert(m.DocumentChunk), [
            {"document_id": did, "seq": 0, "data": b"%PDF-1.4 bench" + b" " * 1010}
            for did in db.execute(select(m.Document.id)).scalars()])
    engine.dispose()
    print(f"benefits: {len(clients)} families with orders, a discount, a pass, credit and a "
          f"document; {len(credits)} make-up credits; {len(documents)} documents")


def login(url: str) -> tuple[str, str]:
    """A session for client c42, and the provider id of one of its bookings."""
    from sqlmodel import create_engine as sqlmodel_engine

    engine = sqlmodel_engine(url)
    with session_scope(engine) as db:
        client = db.exec(select(m.Client).where(m.Client.external_id == "c42")).first()[0]
        booking = db.exec(select(m.Booking.external_id)
                          .where(m.Booking.client_id == client.id)).first()[0]
        sid = start(db, TENANT, Identity(client.email, client.id), datetime.now(timezone.utc))
    engine.dispose()
    return sid, booking


def serve(command: list[str], env: dict, port: int) -> subprocess.Popen:
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    for _ in range(200):
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return process
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(process.stderr.read().decode())


# What Chromium sends: every browser takes its pages compressed, and compressing is part of
# a page's cost (the bare endpoint has no compression and ignores it).
ACCEPT_ENCODING = "gzip, deflate, br, zstd"


def wrk(url: str, seconds: int, connections: int, cookie: str | None = None) -> dict:
    command = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s",
               "--latency", "-H", f"Accept-Encoding: {ACCEPT_ENCODING}", url]
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    def latency(label: str) -> str:
        found = re.search(rf"^\s+{label}%\s+(\S+)", out, re.M)
        return found.group(1) if found else "?"

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    answered = int(re.search(r"(\d+) requests in", out).group(1))
    return {"rps": rps, "p50": latency("50"), "p99": latency("99"), "requests": answered,
            "errors": int(errors.group(1)) if errors else 0}


def pages(url: str, booking: str) -> dict[str, str]:
    """The logged-in pages of client c42 (paths under the tenant): one of its bookings (and its
    report card), and a payment if it has one."""
    from sqlmodel import create_engine as sqlmodel_engine

    found = {"home": "/", "booking": f"/bookings/{booking}",
             "sessions": f"/bookings/{booking}/sessions", "benefits": "/benefits",
             "orders": "/orders", "account": "/account", "make-ups": "/makeups",
             "progress": "/progress", "report card": f"/report-cards/rc-{booking}",
             "documents": "/documents", "change class": f"/bookings/{booking}/switch"}
    engine = sqlmodel_engine(url)
    with session_scope(engine) as db:
        client = db.exec(select(m.Client.id).where(m.Client.tenant == TENANT,
                                                   m.Client.external_id == "c42")).one()[0]
        payment = db.exec(select(m.Payment.external_id).where(
            m.Payment.tenant == TENANT, m.Payment.client_id == client)).first()
    engine.dispose()
    if payment:
        found["a payment"] = f"/payments/{payment[0]}"
    return found


def fresh(url: str) -> None:
    """An empty, migrated database: a SQLite file is deleted; a PostgreSQL database made for
    the benchmark (its name says `bench`) has its schema dropped."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    else:
        engine = create_engine(url)
        if "bench" not in (engine.url.database or ""):
            sys.exit(f"refusing to wipe {engine.url.database!r}: its name must contain 'bench'")
        with engine.begin() as db:
            db.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        engine.dispose()
    migrate(url)


def prepare(url: str, clients: int, attendance: int, reuse: bool) -> None:
    missing = url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists()
    if reuse and not missing:
        migrate(url)  # a database from an earlier run gets the newer indexes too
        build_progress(url)  # and the data of newer pages
        build_switching(url)
        build_benefits(url)
        settle(url)
        catch_up(url)
        return
    fresh(url)
    began = time.perf_counter()
    build(url, clients, attendance)
    settle(url)
    catch_up(url)
    print(f"  in {time.perf_counter() - began:.0f} s")


def settle(url: str) -> None:
    """On PostgreSQL, VACUUM ANALYZE: a database in service has its tables' statistics and
    visibility maps, a just-built one only once autovacuum comes round (a minute or more),
    and plans and index-only scans measured before that are not the ones a school gets."""
    if not url.startswith("postgresql"):
        return
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("VACUUM (ANALYZE)"))
    engine.dispose()


def catch_up(url: str) -> None:
    """The scheduler's backlog sent (queued) before any page is measured: the served app runs
    its rounds, and on a data set just built (its reminders of the day all due at once, 500
    a round) each round's half a second fell into whichever page was measured then (a small
    database's orders page at 0.20x of the large one's rate)."""
    from scheduler_idle import queued_notices, until_idle

    from widget_server.core.db import make_engine
    from widget_server.core.tenants import load_tenants

    engine = make_engine(url)
    try:
        demo = load_tenants(TENANTS_DIR, {}, demo=True).get("demo")
        until_idle(engine, [demo], queued_notices(url), datetime.now(timezone.utc))
    finally:
        engine.dispose()


def env_for(url: str) -> dict[str, str]:
    """The environment of a benchmarked server: the data set's database, the demo tenants, no
    outbox sender (the pages alone are measured)."""
    return os.environ | {"WIDGET_DATABASE_URL": url, "WIDGET_SECRET_KEYS": "bench",
                         "WIDGET_TENANTS_DIR": str(TENANTS_DIR),
                         "WIDGET_OUTBOX_IN_PROCESS": "0", "WIDGET_BASE_URL": "http://127.0.0.1"}


def measure(url: str, args) -> tuple[dict[str, dict], dict[str, str]]:
    """wrk figures of every page on `url`, and each page's HTML."""
    sid, booking = login(url)
    cookie = f"cp_sid={sid}"
    env = env_for(url)
    port = free_port()
    process = serve([PYTHON, "-m", "uvicorn", "widget_server.asgi:app", "--port", str(port),
                     "--workers", str(args.workers), "--log-level", "warning",
                     "--no-access-log"], env, port)
    results, html = {}, {}
    try:
        base = f"http://127.0.0.1:{port}/t/{TENANT}"
        for name, path in pages(url, booking).items():
            page = httpx.get(base + path, headers={"Cookie": cookie})
            assert page.status_code == 200 and "Parent 42" in page.text, (name, page.text[:300])
            html[name] = page.text
            if args.warm_up:  # not measured: what a server that has run a while no longer does
                wrk(base + path, args.warm_up, args.connections, cookie)
            results[name] = wrk(base + path, args.seconds, args.connections, cookie)
    finally:
        process.terminate()
        process.wait()
    return results, html


def bare(html: dict[str, str], args) -> dict[str, dict]:
    """A bare Starlette endpoint per page rendering that page's HTML as a template."""
    with tempfile.TemporaryDirectory() as tmp:
        names = {}
        for n, (name, text) in enumerate(html.items()):
            names[name] = f"page{n}.html"
            (Path(tmp) / names[name]).write_text(text.replace("{", "&#123;")
                                                 .replace("}", "&#125;"))
        (Path(tmp) / "bare.py").write_text(BARE_APP.format(directory=tmp))
        port = free_port()
        process = serve([PYTHON, "-m", "uvicorn", "bare:app", "--app-dir", tmp,
                         "--port", str(port), "--log-level", "warning", "--no-access-log"],
                        os.environ.copy(), port)
        try:
            results = {}
            for name, file in names.items():
                if args.warm_up:
                    wrk(f"http://127.0.0.1:{port}/{file}", args.warm_up, args.connections)
                results[name] = wrk(f"http://127.0.0.1:{port}/{file}", args.seconds,
                                    args.connections)
            return results
        finally:
            process.terminate()
            process.wait()


def processor() -> str:
    """The machine's processor as Linux names it: figures from two machines differ by half
    for the same code (bench/README.md), and the bare endpoint's rate alone does not say why."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("model name", "Model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "processor unknown"


def ms(text: str) -> float:
    """wrk's latency (`1.23ms`, `812.00us`, `1.10s`) in milliseconds."""
    value, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--clients", type=int)
    parser.add_argument("--attendance", type=int)
    parser.add_argument("--seconds", type=int)
    parser.add_argument("--connections", type=int, default=20)
    # Each page (and its bare endpoint) is first run this long unmeasured: connections are
    # opened, statements prepared and plans settled on each of PostgreSQL's connections for
    # pages (ten; one thread's one before), the process's first collections done.
    parser.add_argument("--warm-up", type=int, default=2, metavar="SECONDS")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database-url")
    parser.add_argument("--small-database-url")
    parser.add_argument("--no-small", action="store_true")
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    quick = args.quick
    args.clients = args.clients or (1_000 if quick else 10_000)
    args.attendance = args.attendance or (100_000 if quick else 1_000_000)
    args.seconds = args.seconds or (3 if quick else 10)
    name = "bench_quick" if quick else "bench_profile"
    url = args.database_url or f"sqlite:////tmp/{name}.db"
    small_url = args.small_database_url or (
        f"sqlite:////tmp/{name}_small.db" if url.startswith("sqlite") else None)
    if args.no_small:
        small_url = None

    prepare(url, args.clients, args.attendance, args.reuse)
    large, html = measure(url, args)
    small = {}
    if small_url:
        prepare(small_url, args.clients // 10, args.attendance // 10, args.reuse)
        small, _ = measure(small_url, args)
    plain = bare(html, args)

    print(f"\n{url}: {args.clients} clients, {args.attendance} attendance rows; wrk "
          f"{args.connections} connections, {args.seconds} s per page, {args.workers} uvicorn "
          f"worker(s), {os.cpu_count()} cores ({processor()})")
    print(f"{'page':10} {'req/s':>7} {'p50':>9} {'p99':>9} {'KB':>6} {'small db':>9} "
          f"{'ratio':>6} {'bare':>7} {'of bare':>8}")
    for page, r in large.items():
        s_rps = small[page]["rps"] if page in small else None
        smaller = f"{s_rps:9.0f} {s_rps / r['rps']:5.2f}x" if s_rps else f"{'-':>9} {'-':>6}"
        print(f"{page:10} {r['rps']:7.0f} {r['p50']:>9} {r['p99']:>9} "
              f"{len(html[page].encode()) / 1024:6.1f} {smaller} "
              f"{plain[page]['rps']:7.0f} {100 * r['rps'] / plain[page]['rps']:7.1f}%"
              + (f"  ({r['errors']} non-2xx)" if r["errors"] else ""))
    worst = min(large.values(), key=lambda r: r["rps"])
    slowest = max(ms(r["p99"]) for r in large.values())
    print(f"\ntargets: >= 500 req/s (lowest {worst['rps']:.0f}), p99 <= 50 ms (highest "
          f"{slowest:.1f} ms), >= 5 % of bare, small db <= 1.2x")


if __name__ == "__main__":
    main()
