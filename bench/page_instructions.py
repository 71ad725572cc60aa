"""Benchmark: CPU instructions per request of every logged-in page, counted by valgrind.

Wall-clock figures on a shared virtual machine move by a third from one minute to the next
(`profile_pages.py`'s bare endpoint: 9,400 to 15,300 requests a second for the same code), so
a change of a few per cent cannot be seen in them. An instruction count can: callgrind counts
the instructions this process runs, whatever else the machine is doing, and the same code on
the same data counts the same to within a fraction of a per cent. Compare two versions of the
code by running this script in each (a `git worktree`), on the same database.

Each page is requested through the whole application (middleware, routing, the page's queries,
its template) as uvicorn would hand it over, a few times to warm up, then `--requests` times
with counting on. What is not counted: uvicorn's HTTP parsing and, on PostgreSQL, the server's
own work (another process). Uses the data set of `profile_pages.py` (built first unless
`--reuse`). Needs valgrind (Debian package `valgrind`); it slows Python about fifty times, so
the default 20 requests a page take a minute or two in all.

    .venv/bin/python bench/page_instructions.py [--requests 20] [--pages home,sessions]
        [--database-url URL] [--reuse]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from page_times import bench_app  # noqa: E402
from profile_pages import (  # noqa: E402
    ACCEPT_ENCODING,
    TENANT,
    build,
    build_benefits,
    build_progress,
    build_switching,
    login,
    pages,
)

from widget_server.core.db import migrate  # noqa: E402
from widget_server.web.warm_up import YOUNG_COLLECTION_EVERY  # noqa: E402

WARM_UP = 5


def callgrind(*args: str) -> None:
    """Tell the callgrind running this process to do something (`-i on`, `-d <name>`)."""
    subprocess.run(["callgrind_control", *args, str(os.getpid())], check=True,
                   capture_output=True)


async def request(app, path: str, sid: str) -> None:
    """One GET of `path` through the app, as an ASGI server hands it over; it must answer 200."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "client": ("127.0.0.1", 50000),
             "server": ("127.0.0.1", 80), "state": {},
             "headers": [(b"host", b"127.0.0.1"), (b"cookie", f"cp_sid={sid}".encode()),
                         (b"user-agent", b"bench"), (b"accept", b"*/*"),
                         (b"accept-encoding", ACCEPT_ENCODING.encode())]}
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    assert sent[0]["status"] == 200, (path, sent[0])


def inner(url: str, names: list[str], requests: int) -> None:
    """Under callgrind: count each page's requests and dump them under the page's name."""
    sid, booking = login(url)
    app = bench_app(url)
    paths = pages(url, booking)

    # The cyclic collector as a warm worker runs it (`widget_server.asgi`, `web.warm_up`):
    # young collections as rare, and what the warm-up built frozen before counting. Left on
    # Python's defaults, a count caught a full collection of the whole heap by chance (a
    # report card 3.5 M instructions a request, 14.7 M with one among its ten requests).
    gc.set_threshold(YOUNG_COLLECTION_EVERY, *gc.get_threshold()[1:])

    async def main():
        # Started as uvicorn starts it: its pages are then served on this loop (on PostgreSQL
        # through asyncpg, `core.db.pages_served_here`).
        async with app.router.lifespan_context(app):
            for name in names:
                path = f"/t/{TENANT}{paths[name]}"
                for _ in range(WARM_UP):
                    await request(app, path, sid)
                gc.collect()
                gc.freeze()
                callgrind("-i", "on")
                for _ in range(requests):
                    await request(app, path, sid)
                callgrind("-d", name.replace(" ", "_"))
                callgrind("-i", "off")

    # On uvloop when it is there, as uvicorn runs (`--loop auto`): PostgreSQL's pages wait on
    # the loop for each statement, and asyncio's own loop is Python where uvloop's is C.
    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())
    app.state.engine.dispose()


def totals(directory: Path) -> dict[str, int]:
    """Each dump's page name and its instruction total."""
    found = {}
    for dump in directory.glob("callgrind.out.*.*"):
        lines = dump.read_text().splitlines()
        name = next(line.removeprefix("desc: Trigger: dump ") for line in lines
                    if line.startswith("desc: Trigger: dump "))
        found[name.replace("_", " ")] = int(next(
            line.split()[1] for line in lines if line.startswith("totals:")))
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--pages", help="comma-separated page names (default: all)")
    parser.add_argument("--database-url", default="sqlite:////tmp/bench_profile.db")
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    url = args.database_url
    if args.inner:
        inner(url, args.pages.split(","), args.requests)
        return
    if not shutil.which("valgrind"):
        sys.exit("valgrind is needed: apt-get install valgrind")
    if url.startswith("sqlite:///") and not args.reuse:
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    migrate(url)
    if not args.reuse:
        build(url, 10_000, 1_000_000)
    build_progress(url)
    build_switching(url)
    build_benefits(url)
    names = args.pages.split(",") if args.pages else list(pages(url, login(url)[1]))
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no",
                        f"--callgrind-out-file={tmp}/callgrind.out.%p", sys.executable,
                        __file__, "--inner", "--database-url", url, "--pages", ",".join(names),
                        "--requests", str(args.requests)],
                       check=True, capture_output=True, env=os.environ | {
                           "WIDGET_SECRET_KEYS": "bench"})
        counted = totals(Path(tmp))
    print(f"\n{url}: instructions per request (callgrind, {args.requests} requests a page, "
          "in process, uvicorn's HTTP parsing not included)")
    print(f"{'page':14} {'instructions':>14}")
    for name in names:
        print(f"{name:14} {counted[name] // args.requests:>14,}")


if __name__ == "__main__":
    main()
