"""Benchmark: login e-mail latency and login requests per second.

Starts the real service (uvicorn, one worker, in this process's thread) against a fresh SQLite
database and a real aiosmtpd SMTP server on loopback, then:
1. 200 logins one after another: time from "POST e-mail" to the message arriving at the SMTP
   server (median and p95);
2. login requests per second: concurrent clients posting e-mails for 10 seconds.

    .venv/bin/python bench/login.py [--logins 200] [--seconds 10] [--concurrency 20]

Rate limits are lifted for the run (every request comes from 127.0.0.1).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from smtp import Mailbox, free_port  # noqa: E402

from widget_server.api.sync import upsert  # noqa: E402
from widget_server.app import create_app  # noqa: E402
from widget_server.core.db import migrate, session_scope  # noqa: E402
from widget_server.core.settings import Settings  # noqa: E402
from widget_server.demo import TENANTS_DIR  # noqa: E402

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def start_server(app, port: int) -> uvicorn.Server:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server


def browser(base: str) -> httpx.AsyncClient:
    # httpx keeps Secure cookies away from plain http; browsers send them to 127.0.0.1.
    return httpx.AsyncClient(base_url=base, cookies={"cp_probe": "1"})


async def one_login(client: httpx.AsyncClient, email: str) -> None:
    page = await client.get("/t/demo/login")
    token = CSRF.search(page.text).group(1)
    answer = await client.post("/t/demo/login", data={"csrf_token": token, "email": email})
    assert "Check your inbox" in answer.text, answer.status_code


async def latency(base: str, mailbox: Mailbox, logins: int) -> list[float]:
    times = []
    async with browser(base) as client:
        for n in range(logins):
            before = len(mailbox.messages)
            start = time.perf_counter()
            await one_login(client, f"parent{n}@example.com")
            await asyncio.to_thread(mailbox.wait_for, before + 1, 10)
            times.append(time.perf_counter() - start)
    return times


async def throughput(base: str, seconds: float, concurrency: int) -> tuple[int, float]:
    done, deadline = 0, time.perf_counter() + seconds

    async def worker(index: int) -> None:
        nonlocal done
        async with browser(base) as client:
            n = 0
            while time.perf_counter() < deadline:
                await one_login(client, f"nobody{index}-{n}@example.com")
                done += 1
                n += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return done, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--logins", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()

    mailbox = Mailbox()
    mailbox.start()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        migrate(url)
        settings = Settings(database_url=url, secret_keys=("bench",), smtp_host="127.0.0.1",
                            smtp_port=mailbox.port, smtp_tls="none",
                            base_url="http://127.0.0.1", login_emails_per_ip=10**9,
                            login_emails_per_address=10**9, login_codes_per_ip=10**9,
                            tenants_dir=TENANTS_DIR)
        app = create_app(settings)
        with session_scope(app.state.engine) as session:
            for n in range(args.logins):
                upsert(session, "demo", "clients", f"c{n}",
                       {"email": f"parent{n}@example.com", "name": f"Parent {n}"})
        port = free_port()
        server = start_server(app, port)
        base = f"http://127.0.0.1:{port}"
        times = asyncio.run(latency(base, mailbox, args.logins))
        ms = sorted(t * 1000 for t in times)
        print(f"POST e-mail -> message at the SMTP server, {len(ms)} logins, one at a time:")
        print(f"  median {statistics.median(ms):.1f} ms   p95 {ms[int(len(ms) * 0.95) - 1]:.1f} ms"
              f"   max {ms[-1]:.1f} ms")
        done, elapsed = asyncio.run(throughput(base, args.seconds, args.concurrency))
        print(f"Login requests (GET form + POST e-mail), {args.concurrency} concurrent clients, "
              f"1 worker, SQLite:")
        print(f"  {done} logins in {elapsed:.1f} s = {done / elapsed:.0f} logins/s "
              f"({2 * done / elapsed:.0f} HTTP requests/s)")
        server.should_exit = True
        time.sleep(0.5)
    mailbox.stop()


if __name__ == "__main__":
    main()
