"""Benchmark: every logged-in page, one request at a time, in process (no wrk needed).

For each page: the median time of a request through the whole app (httpx's ASGI transport in
this thread, so cProfile could see it too), the SQL statements it sends and their total time,
and the size of its HTML. Uses the data set of `profile_pages.py` (10,000 clients, about a
million attendance rows), building it first unless `--reuse` is given.

    .venv/bin/python bench/page_times.py [--clients 10000] [--attendance 1000000]
        [--requests 30] [--database-url URL] [--reuse]

A page whose time grows with the database shows here as SQL time; compare a run on a ten times
smaller data set (`--clients 1000 --attendance 100000`). On PostgreSQL it then lists the
statements the server planned again on every run (a prepared statement whose generic plan it
priced above one made for the run's own values): each costs its planning time on every page.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from profile_pages import (  # noqa: E402
    TENANT,
    build,
    build_benefits,
    build_progress,
    build_switching,
    login,
    pages,
    settle,
)

from widget_server.app import create_app  # noqa: E402
from widget_server.core.db import migrate  # noqa: E402
from widget_server.core.settings import Settings  # noqa: E402
from widget_server.demo import TENANTS_DIR  # noqa: E402


def statement_timings(engine) -> list[float]:
    """From now on, each SQL statement's time in seconds, appended to the list returned
    (clear it between measurements)."""
    timings: list[float] = []

    def started(conn, cursor, statement, parameters, context, many) -> None:
        conn.info["started"] = time.perf_counter()

    def finished(conn, cursor, statement, parameters, context, many) -> None:
        timings.append(time.perf_counter() - conn.info["started"])

    event.listen(engine, "before_cursor_execute", started)
    event.listen(engine, "after_cursor_execute", finished)
    return timings


def data_set(requests: int) -> tuple[str, argparse.Namespace]:
    """The command line every in-process benchmark takes, and its database, migrated and
    built with `profile_pages.py`'s data set (unless `--reuse`)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--attendance", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=requests)
    parser.add_argument("--database-url", default="sqlite:////tmp/bench_profile.db")
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    url = args.database_url
    if url.startswith("sqlite:///") and not args.reuse:
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    migrate(url)
    if not args.reuse:
        build(url, args.clients, args.attendance)
    settle(url)
    return url, args


def bench_app(url: str, **settings):
    """The app on that database, sending nothing (the outbox just fills)."""
    return create_app(Settings(database_url=url, secret_keys=("bench",), tenants_dir=TENANTS_DIR,
                               send_in_process=False, base_url="http://127.0.0.1", **settings))


async def started(app, work):
    """`work` while the app runs, as uvicorn runs it (on PostgreSQL its pages are then read
    through asyncpg on this loop: `core.db.pages_served_here`)."""
    async with app.router.lifespan_context(app):
        return await work


async def measure(app, sid: str, booking: str, requests: int) -> list[tuple]:
    timings = statement_timings(app.state.engine)
    rows = []
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1",
                                 cookies={"cp_sid": sid}) as client:
        for name, path in pages(app.state.settings.database_url, booking).items():
            path = f"/t/{TENANT}{path}"
            first = await client.get(path)
            assert first.status_code == 200, (name, first.status_code, first.text[:200])
            times = []
            timings.clear()
            for _ in range(requests):
                began = time.perf_counter()
                response = await client.get(path)
                times.append(time.perf_counter() - began)
            rows.append((name, statistics.median(times) * 1000, len(timings) / requests,
                         sum(timings) / requests * 1000, len(response.content) / 1024))
    return rows


def planned_every_time(engine, connections: int = 8) -> list[tuple[int, int, str]]:
    """PostgreSQL: (generic plans, custom plans, statement) of each prepared statement of the
    pool's connections that was never run with its generic plan after psycopg prepared it."""
    held = [engine.raw_connection() for _ in range(connections)]  # distinct connections
    found: dict[str, list[int]] = {}
    try:
        for raw in held:
            cursor = raw.cursor()
            cursor.execute("SELECT statement, generic_plans, custom_plans "
                           "FROM pg_prepared_statements")
            for statement, generic, custom in cursor.fetchall():
                counts = found.setdefault(" ".join(statement.split()), [0, 0])
                counts[0] += generic
                counts[1] += custom
            raw.rollback()
    finally:
        for raw in held:
            raw.close()
    # Five custom plans come first on every connection, before the generic plan is weighed.
    return sorted((generic, custom, statement) for statement, (generic, custom) in found.items()
                  if generic == 0 and custom > 5)


def main() -> None:
    url, args = data_set(requests=30)
    build_progress(url)  # a reused data set from before the progress pages gets their data
    build_switching(url)
    build_benefits(url)
    sid, booking = login(url)
    os.environ.setdefault("WIDGET_SECRET_KEYS", "bench")
    app = bench_app(url)
    rows = asyncio.run(started(app, measure(app, sid, booking, args.requests)))
    replanned = planned_every_time(app.state.engine) if url.startswith("postgresql") else []
    app.state.engine.dispose()
    print(f"\n{url}, median of {args.requests} requests each, one at a time, in process")
    print(f"{'page':12} {'time':>9} {'SQL stmts':>10} {'SQL time':>9} {'HTML':>8}")
    for name, median, count, sql, size in rows:
        print(f"{name:12} {median:7.1f} ms {count:10.0f} {sql:6.1f} ms {size:6.1f} KB")
    if url.startswith("postgresql"):
        print(f"\nStatements PostgreSQL planned again on every run: {len(replanned) or 'none'}")
        for _, custom, statement in replanned:
            print(f"  {custom} plans: {statement[:300]}")


if __name__ == "__main__":
    main()
