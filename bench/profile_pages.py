"""Benchmark: the logged-in home page and a booking's sessions page under load.

Builds a realistic database (10,000 clients, their children and bookings, 1,000,000 attendance
rows), logs one parent in, then measures requests per second and p50/p99 latency with `wrk`
(Debian package `wrk`) against `widget-server`'s ASGI app on one and on two uvicorn workers,
next to a bare Starlette endpoint rendering a template of the same size in the same run.

    .venv/bin/python bench/profile_pages.py [--clients 10000] [--attendance 1000000]
        [--seconds 10] [--connections 20] [--database-url URL] [--reuse]

`--reuse` keeps an existing database file from an earlier run (building it takes minutes), and
migrates it to the current schema (new indexes).
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
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from sqlalchemy import create_engine, insert, select

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
    return templates.TemplateResponse(request, "page.html", {{"name": "Sarah"}})
app = Starlette(routes=[Route("/", page)])
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build(url: str, clients: int, attendance: int) -> None:
    """Bulk-insert the data set with Core inserts (the sync API path is benchmarked elsewhere)."""
    rng = random.Random(7)
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    engine = create_engine(url)
    stamp = {"tenant": TENANT, "created_at": now, "updated_at": now}
    programmes, sessions_per = 50, 40
    with engine.begin() as db:
        db.execute(insert(m.Programme), [
            {**stamp, "external_id": f"p{p}", "name": f"Programme {p}", "venue": "Pool",
             "online": False, "makeup_policy": "same_programme", "addons": []}
            for p in range(programmes)])
        programme_ids = dict(db.execute(select(m.Programme.external_id, m.Programme.id)).all())
        db.execute(insert(m.ClassSession), [
            {**stamp, "external_id": f"s{p}-{w}", "programme_id": programme_ids[f"p{p}"],
             "starts_at": now + timedelta(weeks=w - sessions_per // 2, hours=p % 10),
             "ends_at": now + timedelta(weeks=w - sessions_per // 2, hours=p % 10, minutes=45),
             "capacity": 12, "cancelled": False}
            for p in range(programmes) for w in range(sessions_per)])
        rows = db.execute(select(m.ClassSession.id, m.ClassSession.programme_id)).all()
        by_programme: dict[int, list[int]] = {}
        for session_id, programme_id in rows:
            by_programme.setdefault(programme_id, []).append(session_id)
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
        for attendee_id, client_id in attendee_rows:
            for k in range(1 + attendee_id % 2):
                bookings.append({**stamp, "external_id": f"b{attendee_id}-{k}",
                                 "client_id": client_id, "attendee_id": attendee_id,
                                 "programme_id": rng.choice(list(programme_ids.values())),
                                 "status": "confirmed", "price": 9600, "currency": "GBP",
                                 "addons": []})
        for chunk_start in range(0, len(bookings), 5000):
            db.execute(insert(m.Booking), bookings[chunk_start:chunk_start + 5000])
        booking_rows = db.execute(select(m.Booking.id, m.Booking.programme_id)).all()
        per_booking = max(1, attendance // len(booking_rows))
        batch, written = [], 0
        for booking_id, programme_id in booking_rows:
            for session_id in by_programme[programme_id][:per_booking]:
                batch.append({**stamp, "external_id": f"at{written}", "booking_id": booking_id,
                              "session_id": session_id, "makeup": False,
                              "status": rng.choice(["attended", "attended", "missed",
                                                    "excused", "expected"])})
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
          f"bookings, {written} attendance rows")


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


def wrk(url: str, seconds: int, connections: int, cookie: str | None = None) -> dict:
    command = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s",
               "--latency", url]
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    def latency(label: str) -> str:
        found = re.search(rf"^\s+{label}%\s+(\S+)", out, re.M)
        return found.group(1) if found else "?"

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": latency("50"), "p99": latency("99"),
            "errors": int(errors.group(1)) if errors else 0}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--attendance", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--database-url", default="sqlite:////tmp/bench_profile.db")
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")

    url = args.database_url
    if args.reuse:
        migrate(url)  # a database from an earlier run gets the newer indexes too
    else:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        migrate(url)
        began = time.perf_counter()
        build(url, args.clients, args.attendance)
        print(f"  in {time.perf_counter() - began:.0f} s")
    sid, booking = login(url)
    cookie = f"cp_sid={sid}"
    env = os.environ | {"WIDGET_DATABASE_URL": url, "WIDGET_SECRET_KEYS": "bench",
                        "WIDGET_TENANTS_DIR": str(TENANTS_DIR),
                        "WIDGET_OUTBOX_IN_PROCESS": "0", "WIDGET_BASE_URL": "http://127.0.0.1"}
    results = []
    for workers in (1, 2):
        port = free_port()
        process = serve([PYTHON, "-m", "uvicorn", "widget_server.asgi:app", "--port", str(port),
                         "--workers", str(workers), "--log-level", "warning",
                         "--no-access-log"], env, port)
        try:
            base = f"http://127.0.0.1:{port}/t/{TENANT}"
            home = httpx.get(f"{base}/", headers={"Cookie": cookie})
            assert "Parent 42" in home.text, (home.status_code, home.text[:300])
            for name, path in (("home", "/"), ("sessions", f"/bookings/{booking}/sessions")):
                results.append((f"{name}, {workers} worker(s)",
                                wrk(base + path, args.seconds, args.connections, cookie)))
        finally:
            process.terminate()
            process.wait()
        if workers == 1:
            size = len(home.content)
            with tempfile.TemporaryDirectory() as tmp:
                (Path(tmp) / "page.html").write_text(
                    home.text.replace("{", "&#123;").replace("}", "&#125;"))
                (Path(tmp) / "bare.py").write_text(BARE_APP.format(directory=tmp))
                port = free_port()
                process = serve([PYTHON, "-m", "uvicorn", "bare:app", "--app-dir", tmp,
                                 "--port", str(port), "--log-level", "warning",
                                 "--no-access-log"], env, port)
                try:
                    bare = wrk(f"http://127.0.0.1:{port}/", args.seconds, args.connections)
                finally:
                    process.terminate()
                    process.wait()
            results.append((f"bare Starlette + {size} B template, 1 worker", bare))
    print(f"\nwrk, {args.connections} connections, {args.seconds} s each, {os.cpu_count()} cores")
    print(f"{'page':44} {'req/s':>8} {'p50':>9} {'p99':>9} {'non-2xx':>8}")
    for name, r in results:
        print(f"{name:44} {r['rps']:8.0f} {r['p50']:>9} {r['p99']:>9} {r['errors']:8}")
    home1 = next(r for n, r in results if n == "home, 1 worker(s)")
    bare1 = next(r for n, r in results if n.startswith("bare"))
    print(f"\nhome page vs bare template (1 worker): {home1['rps'] / bare1['rps']:.2f}x")


if __name__ == "__main__":
    main()
