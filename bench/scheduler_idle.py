"""Benchmark: what the scheduler costs a deployment with many tenants and nothing due.

Builds `--tenants` tenants like the demo swimming school (in memory, no tenant files) on an
empty, migrated database and runs `--rounds` scheduler rounds, then prints the CPU time of one
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
from widget_server.core.tenants import load_tenants  # noqa: E402
from widget_server.demo import TENANTS_DIR  # noqa: E402


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
        tenants = [replace(demo, config=demo.config.model_copy(update={"slug": f"school-{n}"}))
                   for n in range(args.tenants)]
        now = datetime.now(timezone.utc)
        scheduler.run_once(engine, tenants, lambda tenant: None, now)  # warm up
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(args.rounds):
            scheduler.run_once(engine, tenants, lambda tenant: None, now)
        cpu = (time.process_time() - cpu) / args.rounds
        wall = (time.perf_counter() - wall) / args.rounds
        engine.dispose()
    print(f"{args.tenants} tenants, empty database ({url.split(':')[0]}), {args.rounds} rounds")
    print(f"  one round: {cpu * 1000:.2f} ms CPU, {wall * 1000:.2f} ms wall")
    print(f"  share of a core: {cpu / 60 * 100:.4f} % at one round a minute, "
          f"{cpu / 10 * 100:.4f} % at one every 10 s")


if __name__ == "__main__":
    main()
