"""Benchmark: a worker's memory over many requests (a leak shows as steady growth).

Serves the app with one uvicorn worker on the data set of `profile_pages.py`, sends the
logged-in pages round and round with `wrk` (each page in turn, a slice of seconds each) until
`--requests` have been answered, and prints the worker's resident memory after each round: the
growth from the first round (after warm-up) to the last must stay within 10 %.

    .venv/bin/python bench/memory.py [--requests 100000] [--slice 5] [--connections 20]
        [--database-url URL] [--quick]

Uses the database `profile_pages.py` built (`/tmp/bench_profile.db`, or `/tmp/bench_quick.db`
with `--quick`); run that first.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from profile_pages import PYTHON, TENANT, env_for, free_port, login, pages, serve, wrk  # noqa: E402

from widget_server.core.db import migrate  # noqa: E402


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--slice", type=int, default=5, help="seconds of wrk per page")
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--database-url")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    url = args.database_url or ("sqlite:////tmp/bench_quick.db" if args.quick
                                else "sqlite:////tmp/bench_profile.db")
    migrate(url)
    sid, booking = login(url)
    cookie = f"cp_sid={sid}"
    env = env_for(url)
    port = free_port()
    # One worker, no reloader: the server process is the worker whose memory is read.
    process = serve([PYTHON, "-m", "uvicorn", "widget_server.asgi:app", "--port", str(port),
                     "--log-level", "warning", "--no-access-log"], env, port)
    base = f"http://127.0.0.1:{port}/t/{TENANT}"
    paths = list(pages(url, booking).values())
    try:
        for path in paths:  # warm-up: caches, pools and lazily built statements
            wrk(base + path, 1, args.connections, cookie)
        answered, rounds = 0, []
        print(f"{'requests':>9} {'RSS MiB':>8}")
        while answered < args.requests:
            for path in paths:
                result = wrk(base + path, args.slice, args.connections, cookie)
                answered += result["requests"]
            rounds.append((answered, rss_mib(process.pid)))
            print(f"{answered:9d} {rounds[-1][1]:8.1f}", flush=True)
    finally:
        process.terminate()
        process.wait()
    first, last = rounds[0][1], rounds[-1][1]
    print(f"\n{answered} requests: {first:.1f} MiB after the first round, {last:.1f} MiB at the "
          f"end ({100 * (last - first) / first:+.1f} %; target within 10 %)")


if __name__ == "__main__":
    main()
