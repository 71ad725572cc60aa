"""Run as in production: two `widget-server serve` processes and two `widget-server worker`
processes on one database (PostgreSQL in CI, and SQLite on one machine). A parent logs in
through either, cancels a session on one and books the make-up on the other; the workers send
the login e-mail and a reminder; nothing is sent twice."""

from __future__ import annotations

import collections
import os
import re
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from conftest import API_KEYS
from smtp import free_port
from sqlmodel import select

from widget_server.core.db import make_engine, session_scope
from widget_server.core.models import OutboxMessage
from widget_server.demo import TENANTS_DIR
from widget_server.demo.data import load_demo

SARAH = "sarah.thompson@example.com"
# Not 127.0.0.1: there the service sets Secure cookies (a browser's secure context), which
# httpx would not send back over plain http.
HOST = "127.0.0.2"
CODE = re.compile(r"\b(\d{6})\b")


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "widget_server", *command], env=env,
                            stdout=log.open("w"), stderr=subprocess.STDOUT)


def wait_until(check, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def csrf_of(page: httpx.Response) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def form_action(page: httpx.Response, contains: str) -> str:
    return next(action for action in re.findall(r'<form[^>]*action="([^"]+)"', page.text)
                if contains in action)


def links(page: httpx.Response, contains: str) -> list[str]:
    return [h for h in re.findall(r'href="([^"]+)"', page.text) if contains in h]


def on(base: str, url: str) -> str:
    """The same path on another process."""
    return base + "/" + url.split("/", 3)[3]


@pytest.fixture
def processes(database_url, mailbox, tmp_path):
    engine = make_engine(database_url)
    with session_scope(engine) as db:
        load_demo(db, "demo", date.today())
    engine.dispose()
    ports = [free_port(), free_port()]
    env = os.environ | {
        "WIDGET_DATABASE_URL": database_url, "WIDGET_SECRET_KEYS": "prod-test-key",
        "WIDGET_TENANTS_DIR": str(TENANTS_DIR), "WIDGET_BASE_URL": f"http://{HOST}:{ports[0]}",
        "WIDGET_SMTP_HOST": "127.0.0.1", "WIDGET_SMTP_PORT": str(mailbox.port),
        "WIDGET_SMTP_TLS": "none", "WIDGET_OUTBOX_IN_PROCESS": "0",
        "WIDGET_SCHEDULER_INTERVAL": "0.5",
        **{f"WIDGET_API_KEY_{slug.upper().replace('-', '_')}": key
           for slug, key in API_KEYS.items()}}
    running = [start(["serve", "--host", HOST, "--port", str(port)], env,
                     tmp_path / f"serve-{port}.log") for port in ports]
    running += [start(["worker", "--interval", "0.2"], env, tmp_path / f"worker-{n}.log")
                for n in range(2)]
    bases = [f"http://{HOST}:{port}" for port in ports]
    try:
        for base in bases:
            wait_until(lambda b=base: _answers(b), f"{base} to answer")
        yield bases
    finally:
        for process in running:
            process.terminate()
        for process in running:
            process.wait(timeout=20)
    for log in tmp_path.glob("*.log"):
        assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


def _answers(base: str) -> bool:
    try:
        return httpx.get(base + "/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def test_logins_make_ups_and_reminders_work_through_either_process_and_nothing_is_sent_twice(
        processes, mailbox, database_url):
    a, b = processes
    api = {"Authorization": f"Bearer {API_KEYS['demo']}"}
    browser = httpx.Client(timeout=30)

    # Log in: the code is asked for on one process and typed on the other.
    login = browser.get(f"{a}/t/demo/login")
    asked = browser.post(f"{a}/t/demo/login", data={"csrf_token": csrf_of(login),
                                                   "email": SARAH})
    assert asked.status_code == 200 and 'name="code"' in asked.text
    # The workers' scheduler may remind Sarah of a class first: the login e-mail has the code.
    mail = wait_until(lambda: [m for m in mailbox.to(SARAH) if CODE.search(m["Subject"])],
                      "the login e-mail")[0]
    code = CODE.search(mail["Subject"]).group(1)
    entered = browser.post(f"{b}/t/demo/login/code", data={
        "csrf_token": csrf_of(asked), "email": SARAH, "code": code})
    assert entered.status_code == 303
    for base in (a, b):
        home = browser.get(f"{base}/t/demo/")
        assert home.status_code == 200 and "Oliver" in home.text and "Mia" in home.text

    # Cancel a session on one process, book the make-up it gives on the other.
    sessions = browser.get(f"{a}/t/demo/bookings/bk-1002/sessions")
    cancel = browser.get(on(b, links(sessions, "/cancel")[0]))
    done = browser.post(on(b, form_action(cancel, "/cancel")),
                        data={"csrf_token": csrf_of(cancel)})
    assert done.status_code == 303 and "done=cancelled" in done.headers["location"]
    after = browser.get(on(a, done.headers["location"]))
    credit = browser.get(on(a, links(after, "/makeups/")[0]))
    choose = browser.get(on(b, links(credit, "/sessions/")[0]))
    booked = browser.post(on(b, form_action(choose, "/sessions/")),
                          data={"csrf_token": csrf_of(choose)})
    assert booked.status_code == 303
    listed = browser.get(on(a, booked.headers["location"]))
    assert "Make-up booked" in listed.text

    # A session in three hours for Mia: one of the workers' schedulers reminds Sarah once.
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
    made = [browser.put(f"{a}/api/v1/sessions/late-class", headers=api, json={
        "programme_id": "prog-improvers", "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(minutes=45)).isoformat(), "capacity": 10}),
        browser.put(f"{b}/api/v1/attendance/late-place", headers=api, json={
            "booking_id": "bk-1002", "session_id": "late-class", "status": "expected"})]
    assert [r.status_code for r in made] == [201, 201], [r.text for r in made]
    wait_until(lambda: [m for m in mailbox.to(SARAH) if "remind" in m["Subject"].lower()],
               "the reminder", timeout=30)

    # Let every process finish what it has, then count.
    time.sleep(3)
    engine = make_engine(database_url)
    with session_scope(engine) as db:
        emails = db.exec(select(OutboxMessage).where(OutboxMessage.channel == "email")).all()
    engine.dispose()
    assert emails and all(m.status == "sent" for m in emails), [m.status for m in emails]
    sent = collections.Counter(m["Message-ID"] for m in mailbox.messages)
    assert len(mailbox.messages) == len(emails)
    assert [mid for mid, n in sent.items() if n > 1] == []
