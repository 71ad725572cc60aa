"""Benchmark: what the scheduler's rounds cost a deployment with many tenants.

Builds `--tenants` tenants: the demo swimming school and copies of it (in memory, no tenant
files), on an empty, migrated database or on `--database-url`'s. Runs a first round, which does
whatever is due (nothing on an empty database; on a copy of `profile_pages.py`'s large data
set, whose tenant is the demo school, its reminders, credits and offers), more rounds while
a backlog remains (reminders go 500 a round), then `--rounds` rounds with nothing left to do.
Prints the time of the first round, the slowest of the backlog's, the CPU time of an idle
round and the share of a core that is at the default interval (one round a minute) and at 10 s.

    .venv/bin/python bench/scheduler_idle.py [--tenants 10000] [--rounds 20]
        [--database-url URL]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from widget_server import scheduler  # noqa: E402
from widget_server.core.db import make_engine, migrate  # noqa: E402
from widget_server.core.settings import Settings  # noqa: E402
from widget_server.core.signing import Signer  # noqa: E402
from widget_server.core.tenants import load_tenants  # noqa: E402
from widget_server.delivery.notices import Notices  # noqa: E402
from widget_server.demo import TENANTS_DIR  # noqa: E402
from widget_server.web.templating import make_templates  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/idle.db"
        migrate(url)
        engine = make_engine(url)
        demo = load_tenants(TENANTS_DIR, {}, demo=True).get("demo")
        tenants = [demo, *(replace(demo, config=demo.config.model_copy(
            update={"slug": f"school-{n}"})) for n in range(1, args.tenants))]
        now = datetime.now(timezone.utc)
        notices_for = queued_notices(url)
        first_cpu, first_wall = time.process_time(), time.perf_counter()
        done = scheduler.run_once(engine, tenants, notices_for, now)
        first_cpu = time.process_time() - first_cpu
        first_wall = time.perf_counter() - first_wall
        first_done = {job: count for job, count in done.items() if count} or "nothing"
        # A backlog (reminders go 500 a round) takes more rounds; the idle ones are timed after.
        busy, slowest = until_idle(engine, tenants, notices_for, now) if sum(done.values()) \
            else (0, 0.0)
        slowest = max(slowest, first_wall)
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(args.rounds):
            scheduler.run_once(engine, tenants, notices_for, now)
        cpu = (time.process_time() - cpu) / args.rounds
        wall = (time.perf_counter() - wall) / args.rounds
        engine.dispose()
    print(f"{args.tenants} tenants, {'the given' if args.database_url else 'an empty'} "
          f"database ({url.split(':')[0]}), {args.rounds} rounds")
    print(f"  first round: {first_wall * 1000:.1f} ms wall, {first_cpu * 1000:.1f} ms CPU; "
          f"did {first_done} (target: a round under 1 s)")
    if busy:
        print(f"  then {busy} more rounds until nothing was due, the slowest "
              f"{slowest * 1000:.1f} ms wall")
    print(f"  a round with nothing due: {cpu * 1000:.2f} ms CPU, {wall * 1000:.2f} ms wall")
    print(f"  share of a core: {cpu / 60 * 100:.4f} % at one round a minute, "
          f"{cpu / 10 * 100:.4f} % at one every 10 s")


def queued_notices(url: str):
    """`notices_for` of a round whose e-mails are queued in the outbox, as a worker's
    scheduler queues them (not sent)."""
    settings = Settings.from_environ({}, database_url=url, tenants_dir=TENANTS_DIR)
    env = make_templates(settings.templates_dir, settings.tenants_dir).env
    signer = Signer(("bench",))
    return lambda tenant: Notices(env, settings, signer, tenant)


def until_idle(engine, tenants, notices_for, now, limit: int = 1000) -> tuple[int, float]:
    """Rounds until one does nothing (a backlog: reminders go 500 a round): how many did
    something, and the slowest's wall time."""
    busy, slowest = 0, 0.0
    while busy < limit:
        started = time.perf_counter()
        done = scheduler.run_once(engine, tenants, notices_for, now)
        if not sum(done.values()):
            break
        slowest = max(slowest, time.perf_counter() - started)
        busy += 1
    return busy, slowest


if __name__ == "__main__":
    main()
