"""Benchmark: listing a make-up credit's options, and booking make-ups under contention.

Run on demand, never part of the test suite:

    .venv/bin/python bench/makeups.py [--clients 10000] [--candidates 5000] [--threads 8]
        [--postgres postgresql+psycopg://widget:widget@127.0.0.1:5432/widget_bench_makeups]

It builds a school in a fresh migrated database (SQLite in a temporary file; with --postgres
that database too, after wiping its public schema, so its name must contain "bench"):
`--clients` families, each with a child, a booking and a place in two sessions, and a
programme group of 50 programmes whose `--candidates` future sessions are all open to one
child's make-up credit (all within its validity, none full, none clashing). Then:

1. listing: `makeups.load_credit` (the credit, its eligible programmes, the total count and
   the first page of 20 options grouped by week) for that credit, 30 times, and the last page;
   median and p95;
2. contention: `--threads` threads, each with its own connection, book make-ups for 400
   families with credits into 20 sessions of 10 free places each (200 places; 20 families
   want each session), all at once, as the browser does: confirm the session chosen, and
   after losing a race take the soonest of the fresh options; confirmations per second, confirm
   taps per second (lost races included) and their latency, and a check that no session
   went over its capacity.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from widget_server.core import access  # noqa: E402
from widget_server.core.db import make_engine, migrate  # noqa: E402
from widget_server.core.errors import Refused  # noqa: E402
from widget_server.core.models import (  # noqa: E402
    Attendance,
    Attendee,
    Booking,
    ClassSession,  # noqa: E402
    Client,
    MakeupCredit,
    Programme,
)
from widget_server.core.settings import Settings  # noqa: E402
from widget_server.core.signing import Signer  # noqa: E402
from widget_server.core.tenants import load_tenants  # noqa: E402
from widget_server.delivery.notices import Notices  # noqa: E402
from widget_server.demo import TENANTS_DIR as DEMO_TENANTS  # noqa: E402
from widget_server.selfservice import capacity, makeups  # noqa: E402
from widget_server.web.templating import make_templates  # noqa: E402

TENANT = "demo-sk"
NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
PROGRAMMES = 50
RACE_FAMILIES, RACE_SESSIONS, RACE_PLACES = 400, 20, 10


def rows(n: int, make) -> list[dict]:
    return [make(i) for i in range(n)]


def base(i: int, prefix: str) -> dict:
    return {"tenant": TENANT, "external_id": f"{prefix}-{i}", "created_at": NOW,
            "updated_at": NOW}


def build(url: str, clients: int, candidates: int) -> None:
    """The school, written with bulk INSERTs (the sync API would take minutes here)."""
    engine = make_engine(url)
    per_programme = candidates // PROGRAMMES
    with engine.begin() as db:
        db.execute(insert(Programme), rows(PROGRAMMES + 1, lambda i: base(i, "prog") | {
            "name": f"Class {i}", "makeup_policy": "programme_group",
            "makeup_group": "race" if i == PROGRAMMES else "all", "makeup_validity_days": 400,
            "cancel_cutoff_hours": 6, "addons": [], "online": False}))
        programme = dict(db.execute(select(Programme.external_id, Programme.id)).all())
        sessions = []
        for p in range(PROGRAMMES):
            for w in range(per_programme):
                start = NOW + timedelta(days=1, hours=p % 12, minutes=7 * w) + timedelta(
                    days=3 * w)
                sessions.append(base(p * per_programme + w, "s") | {
                    "programme_id": programme[f"prog-{p}"], "starts_at": start,
                    "ends_at": start + timedelta(minutes=45), "capacity": 12,
                    "cancelled": False})
        past = NOW - timedelta(days=7)
        for key, prog in (("past-0", "prog-0"), ("race-past", f"prog-{PROGRAMMES}")):
            sessions.append({**base(0, key), "external_id": key, "programme_id": programme[prog],
                             "starts_at": past, "ends_at": past + timedelta(minutes=45),
                             "capacity": None, "cancelled": False})
        for r in range(RACE_SESSIONS):
            start = NOW + timedelta(days=2, hours=r)
            sessions.append(base(r, "race") | {
                "programme_id": programme[f"prog-{PROGRAMMES}"], "starts_at": start,
                "ends_at": start + timedelta(minutes=45), "capacity": RACE_PLACES,
                "cancelled": False})
        db.execute(insert(ClassSession), sessions)
        session_ids = [i for (i,) in db.execute(select(ClassSession.id).where(
            ClassSession.external_id.like("s-%")).order_by(ClassSession.id))]
        past = dict(db.execute(select(ClassSession.external_id, ClassSession.id).where(
            ClassSession.external_id.in_(["past-0", "race-past"]))).all())
        db.execute(insert(Client), rows(clients, lambda i: base(i, "c") | {
            "email": f"parent{i}@example.com", "name": f"Parent {i}", "notify_email": True,
            "notify_whatsapp": False}))
        db.execute(insert(Attendee), rows(clients, lambda i: base(i, "a") | {
            "client_id": i + 1, "name": f"Child {i}"}))
        db.execute(insert(Booking), rows(clients, lambda i: base(i, "b") | {
            "client_id": i + 1, "attendee_id": i + 1,
            "programme_id": programme[f"prog-{PROGRAMMES}"] if 0 < i <= RACE_FAMILIES
            else programme[f"prog-{i % PROGRAMMES}"],
            "status": "confirmed", "addons": []}))
        places = []
        for i in range(1, clients):  # two places each (family 0 keeps its calendar free)
            for k in (0, 1):
                places.append(base(2 * i + k, "t") | {
                    "booking_id": i + 1, "session_id": session_ids[(7 * i + 3 * k) % len(
                        session_ids)], "status": "expected", "makeup": False})
        places.append(base(0, "t") | {"booking_id": 1, "session_id": past["past-0"],
                                      "status": "excused", "makeup": False})
        for i in range(1, RACE_FAMILIES + 1):
            places.append(base(i, "raced") | {"booking_id": i + 1,
                                              "session_id": past["race-past"],
                                              "status": "excused", "makeup": False})
        db.execute(insert(Attendance), places)
        source = dict(db.execute(select(Attendance.external_id, Attendance.id).where(
            Attendance.session_id.in_(list(past.values())))).all())
        credits = [base(0, "mk") | {"client_id": 1, "attendee_id": 1,
                                    "source_attendance_id": source["t-0"],
                                    "expires_at": NOW + timedelta(days=400)}]
        credits += [base(i, "race-mk") | {"client_id": i + 1, "attendee_id": i + 1,
                                          "source_attendance_id": source[f"raced-{i}"],
                                          "expires_at": NOW + timedelta(days=400)}
                    for i in range(1, RACE_FAMILIES + 1)]
        db.execute(insert(MakeupCredit), credits)
        counts = {m.__tablename__: db.execute(select(func.count()).select_from(m)).scalar_one()
                  for m in (Client, ClassSession, Attendance, MakeupCredit)}
    engine.dispose()
    print(f"  built: {counts}")


def ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[max(int(len(ordered) * 0.95) - 1, 0)]
    return f"median {statistics.median(ordered) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms"


def listing(url: str, tenant, notices_for) -> None:
    engine = make_engine(url)
    who = access.Access(TENANT, "parent0@example.com", 1)
    from sqlmodel import Session

    def once(page: int):
        with Session(engine) as db:
            start = time.perf_counter()
            found = makeups.load_credit(db, tenant, who, "mk-0", NOW, page)
            return time.perf_counter() - start, found
    _, first = once(1)  # warm up
    times = [once(1)[0] for _ in range(30)]
    last_times = [once(first.found.pages)[0] for _ in range(10)]
    page = first.found
    print(f"  options of one credit: {page.total} sessions qualify, page 1 of {page.pages} "
          f"({len(page.options)} options in {len(page.weeks)} weeks)")
    print(f"  list (count + first page): {ms(times)}")
    print(f"  list (last page):          {ms(last_times)}")
    engine.dispose()


def contention(url: str, tenant, notices, threads: int) -> None:
    engine = make_engine(url, pool_size=threads, max_overflow=0)
    from sqlmodel import Session

    race = []
    with Session(engine) as db:
        race = [s for (s,) in db.execute(select(ClassSession.external_id).where(
            ClassSession.external_id.like("race-%"), ClassSession.capacity.is_not(None))
            .order_by(ClassSession.id))]
    lock = threading.Lock()
    results: dict[str, int] = {}
    start_gate = threading.Barrier(threads)

    def options_of(who, i: int) -> list:
        with Session(engine) as db:
            return makeups.load_credit(db, tenant, who, f"race-mk-{i}", NOW).found.options

    who_of = {i: access.Access(TENANT, f"parent{i}@example.com", i + 1)
              for i in range(1, RACE_FAMILIES + 1)}
    # What each family chose on its page before tapping "Confirm" (not timed): the 20
    # sessions shown, spread over the families, so 20 families want each session's 10 places.
    seen = {}
    for i in who_of:
        shown = options_of(who_of[i], i)
        seen[i] = shown[i % len(shown)].session.external_id
    confirm_times: list[float] = []

    def family(i: int) -> str:
        """As in the browser: confirm the session chosen; after losing a race, look again
        (fresh options) and take the soonest, until there is nothing left."""
        target = seen[i]
        while True:
            start = time.perf_counter()
            try:
                with Session(engine, expire_on_commit=False) as db:
                    makeups.book(db, tenant, who_of[i], f"race-mk-{i}", target, NOW, notices)
                    db.commit()
                with lock:
                    confirm_times.append(time.perf_counter() - start)
                return "booked"
            except Refused as refused:
                with lock:
                    confirm_times.append(time.perf_counter() - start)
                    results["lost a race"] = results.get("lost a race", 0) + 1
                if refused.reason != "full":
                    return refused.reason
            fresh = options_of(who_of[i], i)
            if not fresh:
                return "nothing left"
            target = fresh[0].session.external_id

    def worker(k: int) -> None:
        start_gate.wait()
        for i in range(k + 1, RACE_FAMILIES + 1, threads):
            outcome = family(i)
            with lock:
                results[outcome] = results.get(outcome, 0) + 1

    begin = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, range(threads)))
    elapsed = time.perf_counter() - begin
    with Session(engine) as db:
        over = [s for s in db.execute(select(ClassSession).where(
            ClassSession.external_id.in_(race))).scalars()
            if capacity.taken(db, s.id, NOW) > s.capacity]
    booked = results.get("booked", 0)
    print(f"  contention: {threads} threads, {RACE_FAMILIES} families for "
          f"{RACE_SESSIONS * RACE_PLACES} places in {RACE_SESSIONS} sessions: {results}")
    print(f"  {booked} make-ups confirmed in {elapsed:.2f} s = {booked / elapsed:.0f} "
          f"confirmations/s ({len(confirm_times) / elapsed:.0f} confirm taps/s, each "
          f"{ms(confirm_times)}); sessions over capacity: {len(over)}")
    engine.dispose()


def run(url: str, label: str, args) -> None:
    print(f"{label}:")
    migrate(url)
    started = time.perf_counter()
    build(url, args.clients, args.candidates)
    if url.startswith("postgresql"):
        engine = create_engine(url)  # fresh tables: give the planner its statistics
        with engine.begin() as db:
            db.execute(text("ANALYZE"))
        engine.dispose()
    print(f"  (built in {time.perf_counter() - started:.1f} s)")
    settings = Settings(database_url=url, secret_keys=("bench",), base_url="http://bench")
    tenants = load_tenants(DEMO_TENANTS, {}, demo=True)
    tenant = tenants.get(TENANT)
    notices = Notices(make_templates(settings.templates_dir, settings.tenants_dir).env,
                      settings, Signer(("bench",)), tenant)
    listing(url, tenant, notices)
    contention(url, tenant, notices, args.threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--candidates", type=int, default=5_000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        run(f"sqlite:///{directory}/bench.db", "SQLite", args)
    if args.postgres:
        if "bench" not in args.postgres:
            raise SystemExit("--postgres: the database name must contain 'bench' (it is wiped)")
        engine = create_engine(args.postgres)
        with engine.begin() as db:
            db.execute(text("DROP SCHEMA public CASCADE"))
            db.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        run(args.postgres, "PostgreSQL", args)


if __name__ == "__main__":
    main()
