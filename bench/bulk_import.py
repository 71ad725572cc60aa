"""Benchmark: bulk import of a generated provider data set, on SQLite and PostgreSQL.

Run on demand, never part of the test suite:

    .venv/bin/python bench/bulk_import.py [--clients 10000] [--sqlite]
        [--postgres postgresql+psycopg://widget:widget@127.0.0.1:5432/widget_bench]
        [--batch-size N] [--http-clients 1000] [--seed 1] [--profile] [--instructions]

Without --sqlite or --postgres it imports into SQLite (a fresh temporary file), and also into
PostgreSQL when WIDGET_BENCH_DATABASE_URL is set. The PostgreSQL database is wiped (public
schema dropped and recreated, then migrated), so its name must contain "bench".

The data set is deterministic (random.Random(seed)): ~40 programmes with ~30 sessions each,
then per client 1-3 attendees, 1-2 bookings per attendee, 1-4 attendance rows per booking
and 1-3 payments. The NDJSON body is built in memory before timing; only `import_lines` is
timed (time.perf_counter), called directly with a `session_scope(engine)` session. A second,
smaller data set (--http-clients) is also POSTed to /api/v1/import through starlette's
TestClient on a fresh database, timing the whole request (body upload, import, JSON report).

--instructions counts, instead of timing, the CPU instructions of `import_lines` with
valgrind's callgrind (Debian package `valgrind`), in a process of its own per database: unlike
a time, the count hardly moves with the machine's other load, so two versions of the code
compare on a shared machine. It counts this process only (SQLite's work, not PostgreSQL's
server) and slows the import about fifty times: use it with --clients 1000.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine, make_url
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from page_instructions import callgrind, totals  # noqa: E402

from widget_server.api.bulk_import import import_lines  # noqa: E402
from widget_server.api.resources import RESOURCES  # noqa: E402
from widget_server.app import create_app  # noqa: E402
from widget_server.core.db import make_engine, migrate, session_scope  # noqa: E402
from widget_server.core.settings import Settings  # noqa: E402
from widget_server.demo import TENANTS_DIR as DEMO_TENANTS  # noqa: E402

TENANT = "demo"
API_KEY = "bench-key"
ENV_URL = "WIDGET_BENCH_DATABASE_URL"
PROGRAMMES = 40
SESSIONS_PER_PROGRAMME = (28, 32)
TERM_START = datetime(2026, 9, 5, 9, 0, tzinfo=timezone.utc)
SHORT = {"sqlite": "sqlite", "postgresql": "pg"}

FIRST_NAMES = ["Oliver", "Amelia", "George", "Isla", "Noah", "Ava", "Arthur", "Mia", "Leo",
               "Freya", "Harry", "Lily", "Oscar", "Grace", "Theo", "Sophia", "Jack", "Ella"]
SURNAMES = ["Thompson", "Patel", "Jones", "Williams", "Brown", "Taylor", "Davies", "Evans",
            "Wilson", "Khan", "Roberts", "Walker", "Wright", "Hughes", "Green", "Hall"]
LEVELS = ["Ducklings", "Tadpoles", "Frogs", "Dolphins", "Sharks", "Seals", "Otters", "Orcas"]
VENUES = ["Harbour Leisure Centre", "Eastside Pool", "Riverside Baths", "Hillfields School"]


# --- data set ------------------------------------------------------------------------------

def generate(clients: int, seed: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (resource, item) in dependency order; the same seed gives the same data set."""
    rng = random.Random(seed)
    programmes: list[tuple[str, int, list[str]]] = []  # (id, price, session ids)
    for p in range(1, PROGRAMMES + 1):
        pid, price = f"p{p}", rng.choice([7200, 8400, 9600, 10800])
        weekday, hour = rng.randrange(7), rng.randrange(8, 18)
        yield "programmes", {
            "id": pid, "name": f"{rng.choice(LEVELS)} {p}", "venue": rng.choice(VENUES),
            "instructor": f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}",
            "schedule": f"Weekly, {hour}:00", "price": price, "currency": "GBP",
            "makeup_policy": "same_programme", "cancel_cutoff_hours": 2,
            "addons": [{"id": "towel", "name": "Towel hire", "price": 150}],
        }
        first = TERM_START + timedelta(days=weekday, hours=hour - TERM_START.hour)
        session_ids = []
        for s in range(rng.randint(*SESSIONS_PER_PROGRAMME)):
            starts = first + timedelta(weeks=s)
            sid = f"{pid}-s{s + 1}"
            session_ids.append(sid)
            yield "sessions", {
                "id": sid, "programme_id": pid, "starts_at": _iso(starts),
                "ends_at": _iso(starts + timedelta(minutes=45)), "capacity": 8,
            }
        programmes.append((pid, price, session_ids))
    for c in range(1, clients + 1):
        yield from _client(rng, c, programmes)


def _client(rng: random.Random, c: int,
            programmes: list[tuple[str, int, list[str]]]) -> Iterator[tuple[str, dict]]:
    """One family: the client, attendees, their bookings and attendance, then payments."""
    cid, surname = f"c{c}", rng.choice(SURNAMES)
    yield "clients", {
        "id": cid, "email": f"client{c}@example.com",
        "name": f"{rng.choice(FIRST_NAMES)} {surname}",
        "phone": f"+44 7700 {rng.randrange(10**6):06d}", "locale": "en-GB",
    }
    bookings: list[tuple[str, int]] = []
    for a in range(1, rng.randint(1, 3) + 1):
        aid = f"{cid}-a{a}"
        birth = date(2012, 1, 1) + timedelta(days=rng.randrange(3650))
        yield "attendees", {"id": aid, "client_id": cid, "name": rng.choice(FIRST_NAMES),
                            "birth_date": birth.isoformat()}
        for pid, price, session_ids in rng.sample(programmes, rng.randint(1, 2)):
            bid = f"{aid}-b{pid}"
            bookings.append((bid, price))
            yield "bookings", {
                "id": bid, "client_id": cid, "attendee_id": aid, "programme_id": pid,
                "price": price, "currency": "GBP",
                "addons": ["towel"] if rng.random() < 0.2 else [],
                "booked_at": _iso(TERM_START - timedelta(days=rng.randrange(1, 60))),
            }
            for n, sid in enumerate(rng.sample(session_ids, rng.randint(1, 4)), start=1):
                yield "attendance", {
                    "id": f"{bid}-at{n}", "booking_id": bid, "session_id": sid,
                    "status": rng.choice(["expected", "attended", "attended", "missed"]),
                }
    for n in range(1, rng.randint(1, 3) + 1):
        bid, price = rng.choice(bookings)
        paid = rng.random() < 0.6
        due = TERM_START.date() + timedelta(days=rng.randrange(-30, 30))
        yield "payments", {
            "id": f"{cid}-pay{n}", "client_id": cid, "booking_id": bid, "amount": price,
            "currency": "GBP", "description": "Term fees", "due_date": due.isoformat(),
            "status": "paid" if paid else "unpaid", "method": "card" if paid else None,
            "paid_at": _iso(TERM_START - timedelta(days=rng.randrange(1, 30))) if paid else None,
        }


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def ndjson_lines(clients: int, seed: int) -> Iterator[tuple[str, bytes]]:
    """Stream (resource, NDJSON line without its newline) for the data set."""
    for resource, item in generate(clients, seed):
        yield resource, json.dumps({"resource": resource, "item": item},
                                   separators=(",", ":")).encode()


@dataclass
class DataSet:
    clients: int
    body: bytes
    lines: int
    per_resource: Counter[str]
    generate_seconds: float


def build_data_set(clients: int, seed: int) -> DataSet:
    """The whole NDJSON body in memory, built before any timing starts."""
    started = time.perf_counter()
    per_resource: Counter[str] = Counter()
    buffer = io.BytesIO()
    for resource, line in ndjson_lines(clients, seed):
        per_resource[resource] += 1
        buffer.write(line + b"\n")
    lines = sum(per_resource.values())
    return DataSet(clients, buffer.getvalue(), lines, per_resource,
                   time.perf_counter() - started)


# --- databases -----------------------------------------------------------------------------

def fresh_sqlite(directory: Path, name: str) -> str:
    url = f"sqlite:///{directory / name}"
    migrate(url)
    return url


def fresh_postgres(url: str) -> str:
    """Drop and recreate the public schema, then migrate; only for databases named *bench*."""
    database = make_url(url).database or ""
    if "bench" not in database:
        sys.exit(f"refusing to wipe database {database!r}: its name must contain 'bench'")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    migrate(url)
    return url


def row_counts(engine: Engine) -> Counter[str]:
    """Rows stored per resource (for the tenant), read back after the import."""
    with engine.connect() as connection:
        return Counter({
            name: connection.execute(select(func.count()).select_from(r.model)
                                     .where(r.model.tenant == TENANT)).scalar_one()
            for name, r in RESOURCES.items()
        })


# --- runs ----------------------------------------------------------------------------------

@dataclass
class Run:
    """One timed import: which database and path, how long, and what import_lines answered."""

    database: str
    path: str
    data: DataSet
    seconds: float
    cpu_seconds: float  # this process only: less skewed by other work than the wall clock
    report: dict[str, Any]
    rows: Counter[str] = field(default_factory=Counter)
    # 1-minute load average when the run ended: other work on the machine skews the figures.
    load: float = field(default_factory=lambda: os.getloadavg()[0])

    @property
    def ok_per_resource(self) -> Counter[str]:
        return Counter(r["resource"] for r in self.report["results"] if r["status"] != "error")

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [r for r in self.report["results"] if r["status"] == "error"]


def run_direct(database: str, url: str, data: DataSet, batch_size: int | None,
               profile: bool) -> Run:
    """Time `import_lines` alone, in a `session_scope` session, on a freshly migrated database."""
    engine = make_engine(url)
    lines = data.body.splitlines()
    profiler = cProfile.Profile() if profile else None
    try:
        with session_scope(engine) as session:
            if profiler:
                profiler.enable()
            started, cpu_started = time.perf_counter(), time.process_time()
            report = import_lines(session, TENANT, lines, batch_size=batch_size)
            seconds = time.perf_counter() - started
            cpu_seconds = time.process_time() - cpu_started
            if profiler:
                profiler.disable()
        rows = row_counts(engine)
    finally:
        engine.dispose()
    if profiler:
        print_profile(database, profiler)
    return Run(database, "import_lines", data, seconds, cpu_seconds, report, rows)


def count_instructions(url: str, args: argparse.Namespace) -> int:
    """The instructions of one direct import into `url` (freshly migrated), counted by
    callgrind in a child process that runs `count_inside`."""
    with tempfile.TemporaryDirectory(prefix="widget-bench-cg-") as tmp:
        subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no",
                        f"--callgrind-out-file={tmp}/callgrind.out.%p", sys.executable,
                        __file__, "--count-into", url, "--clients", str(args.clients),
                        "--seed", str(args.seed),
                        *(["--batch-size", str(args.batch_size)] if args.batch_size else [])],
                       check=True, capture_output=True)
        return totals(Path(tmp))["import"]


def count_inside(url: str, args: argparse.Namespace) -> None:
    """Under callgrind: the import, counted from its first line to its report."""
    data = build_data_set(args.clients, args.seed)
    engine = make_engine(url)
    lines = data.body.splitlines()
    try:
        with session_scope(engine) as session:
            callgrind("-i", "on")
            import_lines(session, TENANT, lines, batch_size=args.batch_size)
            callgrind("-d", "import")
            callgrind("-i", "off")
    finally:
        engine.dispose()


def run_http(database: str, url: str, data: DataSet) -> Run:
    """Time one POST /api/v1/import of the whole body through the app (TestClient)."""
    # No outbox drainers (nor SMTP) in a benchmark: they would only compete for the CPU.
    settings = Settings(database_url=url, secret_keys=("bench",),
                        tenants_dir=DEMO_TENANTS, send_in_process=False,
                        environ={"WIDGET_API_KEY_DEMO": API_KEY})
    if len(data.body) > settings.max_import_bytes:
        sys.exit(f"HTTP body of {len(data.body):,} bytes exceeds max_import_bytes "
                 f"({settings.max_import_bytes:,}); lower --http-clients")
    app = create_app(settings)
    headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/x-ndjson"}
    with TestClient(app) as client:
        started, cpu_started = time.perf_counter(), time.process_time()
        response = client.post("/api/v1/import", content=data.body, headers=headers)
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
    if response.status_code != 200:
        sys.exit(f"POST /api/v1/import answered {response.status_code}: {response.text[:500]}")
    engine = make_engine(url)
    try:
        rows = row_counts(engine)
    finally:
        engine.dispose()
    return Run(database, "HTTP POST", data, seconds, cpu_seconds, response.json(), rows)


def print_profile(database: str, profiler: cProfile.Profile, limit: int = 30) -> None:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("cumulative")
    stats.print_stats(limit)
    print(f"\n--- cProfile of import_lines on {database} (top {limit}, cumulative) ---")
    print(out.getvalue())


# --- report --------------------------------------------------------------------------------

def summary_header() -> str:
    return (f"{'database':<12}{'path':<14}{'clients':>8}{'lines':>10}{'failed':>8}"
            f"{'seconds':>10}{'lines/s':>10}{'cpu s':>8}{'lines/cpu-s':>13}{'load':>6}")


def summary_row(run: Run) -> str:
    return (f"{run.database:<12}{run.path:<14}{run.data.clients:>8,}{run.data.lines:>10,}"
            f"{run.report['failed']:>8,}{run.seconds:>10.1f}"
            f"{run.data.lines / run.seconds:>10,.0f}{run.cpu_seconds:>8.1f}"
            f"{run.data.lines / run.cpu_seconds:>13,.0f}{run.load:>6.1f}")


def print_summary(runs: list[Run]) -> None:
    print(f"\n{summary_header()}")
    for run in runs:
        print(summary_row(run))
    print("cpu s: CPU time of this process (not the PostgreSQL server's);")
    print(f"load: 1-minute load average at the end of the run, on {os.cpu_count()} CPUs")


def print_per_resource(runs: list[Run]) -> None:
    """Lines per resource in each data set, and what each run imported and stored."""
    for data in {id(r.data): r.data for r in runs}.values():
        these = [r for r in runs if r.data is data]
        heads = "".join(f"{f'{SHORT[r.database]} {w}':>13}" for r in these for w in ("ok", "rows"))
        print(f"\n{data.clients:,} clients: {data.lines:,} lines, "
              f"{len(data.body) / 1e6:.1f} MB NDJSON (generated in "
              f"{data.generate_seconds:.1f} s, not timed)")
        print(f"{'resource':<12}{'lines':>9}{heads}")
        for resource, count in data.per_resource.items():
            cells = "".join(f"{r.ok_per_resource[resource]:>13,}{r.rows[resource]:>13,}"
                            for r in these)
            print(f"{resource:<12}{count:>9,}{cells}")


def print_errors(runs: list[Run], limit: int = 5) -> bool:
    failed = False
    for run in runs:
        if run.report["failed"] or run.report["imported"] != run.data.lines:
            failed = True
            print(f"\n{run.database} {run.path}: {run.report['failed']} failed lines, "
                  f"{run.report['imported']} imported of {run.data.lines}; first errors:")
            for error in run.errors[:limit]:
                print("  ", json.dumps(error))
    return failed


# --- command line --------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--http-clients", type=int, default=1_000,
                        help="clients in the data set POSTed over HTTP (0 skips it)")
    parser.add_argument("--sqlite", action="store_true",
                        help="import into SQLite (the default unless --postgres is given)")
    parser.add_argument("--postgres", metavar="URL", default=None,
                        help=f"PostgreSQL URL (postgresql+psycopg://...); default ${ENV_URL}. "
                             "The database is wiped; its name must contain 'bench'.")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="lines per commit (default: import_lines' own)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true",
                        help="print a cProfile summary of each direct import")
    parser.add_argument("--instructions", action="store_true",
                        help="count the direct import's CPU instructions (callgrind) "
                             "instead of timing it; use with --clients 1000")
    parser.add_argument("--count-into", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.use_sqlite = args.sqlite or not args.postgres
    args.postgres = args.postgres or os.environ.get(ENV_URL) or None
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.count_into:
        count_inside(args.count_into, args)
        return 0
    if args.instructions:
        return print_instructions(args)
    data = build_data_set(args.clients, args.seed)
    http_data = build_data_set(args.http_clients, args.seed) if args.http_clients else None
    print(f"Data set: {args.clients:,} clients, seed {args.seed}: {data.lines:,} lines, "
          f"{len(data.body) / 1e6:.1f} MB; batch size {args.batch_size or 'default'}")
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="widget-bench-") as tmp:
        print(summary_header())
        for database, fresh in targets(args, Path(tmp)):
            runs.append(run_direct(database, fresh("direct.db"), data, args.batch_size,
                                   args.profile))
            print(summary_row(runs[-1]), flush=True)
            if http_data:
                runs.append(run_http(database, fresh("http.db"), http_data))
                print(summary_row(runs[-1]), flush=True)
    print_summary(runs)
    print_per_resource(runs)
    return 1 if print_errors(runs) else 0


def targets(args: argparse.Namespace, tmp: Path) -> list[tuple[str, Callable[[str], str]]]:
    """The databases asked for, each with what makes a fresh one (a file name for SQLite's,
    in `tmp`) and answers its URL."""
    found: list[tuple[str, Callable[[str], str]]] = []
    if args.use_sqlite:
        found.append(("sqlite", lambda name: fresh_sqlite(tmp, name)))
    if args.postgres:
        found.append(("postgresql", lambda _name: fresh_postgres(args.postgres)))
    return found


def print_instructions(args: argparse.Namespace) -> int:
    if not shutil.which("valgrind"):
        print("valgrind is needed: apt-get install valgrind", file=sys.stderr)
        return 1
    lines = build_data_set(args.clients, args.seed).lines
    print(f"Data set: {args.clients:,} clients, seed {args.seed}: {lines:,} lines; "
          f"batch size {args.batch_size or 'default'}")
    print(f"{'database':10}  {'instructions':>16}  {'per line':>10}")
    with tempfile.TemporaryDirectory(prefix="widget-bench-") as tmp:
        for database, fresh in targets(args, Path(tmp)):
            counted = count_instructions(fresh("direct.db"), args)
            print(f"{database:10}  {counted:>16,}  {counted // lines:>10,}", flush=True)
    print("instructions: this process's, counted by callgrind from the first line read to "
          "the report (not PostgreSQL's server)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
