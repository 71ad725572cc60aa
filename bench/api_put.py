"""Benchmark: `PUT /api/v1/<resource>/<id>` of one item, one request at a time, in process.

What a provider's booking system does most: push one change as it happens. For each resource
(a client, a booking, an attendance row, a payment) the item is read once with GET, then PUT
back `--requests` times with one field changed each time (a real update: the row is written,
its changes compared and, where the API does so, an event queued); items are spread over the
data set. Prints the median and p99 of the whole request (httpx's ASGI transport, as
`page_times.py`), the SQL statements per request and their time.

Uses the data set of `profile_pages.py` (10,000 clients, about a million attendance rows),
building it first unless `--reuse` is given; `--database-url` for PostgreSQL (a database whose
name contains `bench`).

    .venv/bin/python bench/api_put.py [--requests 200] [--database-url URL] [--reuse]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlmodel import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from page_times import bench_app, data_set, statement_timings  # noqa: E402
from profile_pages import TENANT  # noqa: E402

from widget_server.core import models as m  # noqa: E402
from widget_server.core.db import make_engine  # noqa: E402

KEY = "bench-api-key"
# resource, model, and the change made on each PUT (field, two values taken in turn)
CASES = [
    ("clients", m.Client, "name", ("Parent A", "Parent B")),
    ("bookings", m.Booking, "price", (9600, 9700)),
    ("attendance", m.Attendance, "status", ("attended", "excused")),
    ("payments", m.Payment, "description", ("Term fee", "Term fee (autumn)")),
]


def some_ids(url: str, model, count: int) -> list[str]:
    """`count` external ids spread over the tenant's rows (first, last and between)."""
    engine = make_engine(url)
    with Session(engine) as db:
        total = db.execute(select(func.count()).select_from(model)
                           .where(model.tenant == TENANT)).scalar_one()
        step = max(1, total // count)
        if total == 0:
            return []
        picked = [db.execute(select(model.external_id).where(model.tenant == TENANT)
                             .order_by(model.id).offset(i * step).limit(1)).scalar_one()
                  for i in range(count)]
    engine.dispose()
    return picked[:count]


async def measure(app, url: str, requests: int) -> list[tuple]:
    timings = statement_timings(app.state.engine)
    rows = []
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1",
                                 headers={"Authorization": f"Bearer {KEY}"}) as client:
        for resource, model, field, values in CASES:
            bodies = []
            ids = some_ids(url, model, 20)
            if not ids:  # an older data set may lack them
                rows.append((resource, None, None, None, None))
                continue
            for external_id in ids:
                got = await client.get(f"/api/v1/{resource}/{external_id}")
                assert got.status_code == 200, (resource, got.status_code, got.text[:200])
                bodies.append((external_id, got.json()))
            times = []
            timings.clear()
            for i in range(requests):
                external_id, body = bodies[i % len(bodies)]
                # Always the other value than the item holds: each PUT is a real change.
                body[field] = values[1] if body[field] == values[0] else values[0]
                began = time.perf_counter()
                answer = await client.put(f"/api/v1/{resource}/{external_id}", json=body)
                times.append(time.perf_counter() - began)
                assert answer.status_code == 200, (resource, answer.status_code,
                                                   answer.text[:200])
            times.sort()
            rows.append((resource, statistics.median(times) * 1000,
                         times[int(len(times) * 0.99) - 1] * 1000,
                         len(timings) / requests, sum(timings) / requests * 1000))
    return rows


def main() -> None:
    url, args = data_set(requests=200)
    app = bench_app(url, environ={f"WIDGET_API_KEY_{TENANT.upper()}": KEY})
    rows = asyncio.run(measure(app, url, args.requests))
    app.state.engine.dispose()
    print(f"\n{url}, PUT of one item, {args.requests} requests each, one at a time, "
          "in process")
    print(f"{'resource':12} {'p50':>8} {'p99':>8} {'SQL stmts':>10} {'SQL time':>9}")
    for resource, p50, p99, count, sql in rows:
        if p50 is None:
            print(f"{resource:12} (none in this data set)")
            continue
        print(f"{resource:12} {p50:5.1f} ms {p99:5.1f} ms {count:10.1f} {sql:6.1f} ms")


if __name__ == "__main__":
    main()
