"""The embedded database takes many writers at once: a provider's large import, parents logging
in and opening pages, the outbox sending and the scheduler's rounds, all together, and nobody
gets a server error ("database is locked") for it."""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import replace

import httpx
import pytest
from conftest import API_KEYS, Api
from live_server import serving
from samples import load_base
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from widget_server.app import create_app
from widget_server.core.db import LOCK_RETRIES, run_in_transaction
from widget_server.core.models import Client

CLIENTS = 5000  # 20,000 lines per import request, as in the report


def import_body(round_: int) -> str:
    lines = []
    for c in range(CLIENTS):
        client = f"load-{c}"
        lines.append({"resource": "clients", "item": {
            "id": client, "email": f"load{c}@example.com", "name": f"Load {c} {round_}"}})
        lines.append({"resource": "attendees", "item": {
            "id": f"{client}-kid", "client_id": client, "name": f"Kid {c} {round_}"}})
        lines.append({"resource": "credits", "item": {
            "id": f"{client}-cr", "client_id": client, "amount": 100 + round_,
            "currency": "GBP", "occurred_at": "2026-11-01T10:00:00Z"}})
        lines.append({"resource": "discounts", "item": {
            "id": f"{client}-d", "client_id": client, "name": "Deal", "value": 5}})
    return "\n".join(json.dumps(line) for line in lines)


def test_an_import_logins_pages_the_outbox_and_the_scheduler_at_once_never_fail(
        settings, mailbox):
    """SQLite's single writer is what this story is about; PostgreSQL must take it too."""
    app = create_app(replace(settings, scheduler_interval=0.2, send_in_process=True))
    with serving(app) as base:
        statuses = run_together(base)
    kinds = {kind for kind, _ in statuses}
    assert {"import", "login", "list"} <= kinds
    failed = [(kind, status) for kind, status in statuses if status >= 500]
    assert failed == [], failed[:10]
    assert [status for kind, status in statuses if kind == "import"] == [200] * 4
    assert mailbox.messages  # login e-mails went out through the outbox meanwhile


def run_together(base: str) -> list[tuple[str, int]]:
    """Four imports, three parents logging in over and over and a provider reading its data
    at once, until the imports are done; every answer's kind and status."""
    statuses: list[tuple[str, int]] = []
    done = threading.Event()
    api = {"Authorization": f"Bearer {API_KEYS['demo']}"}

    def record(kind: str, response: httpx.Response) -> None:
        statuses.append((kind, response.status_code))

    def importer() -> None:
        with httpx.Client(base_url=base, timeout=120) as http:
            for round_ in range(4):
                record("import", http.post("/api/v1/import", content=import_body(round_),
                                           headers=api))
        done.set()

    def logins(n: int) -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            while not done.is_set():
                page = http.get("/t/demo/login")
                record("login page", page)
                probe = page.cookies.get("cp_probe", "")
                token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
                record("login", http.post("/t/demo/login", headers={
                    "Cookie": f"cp_probe={probe}"}, data={
                    "csrf_token": token, "email": f"load{n}@example.com"}))

    def pages() -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            while not done.is_set():
                record("profile-url", http.get("/api/v1/profile-url?email=load1@example.com",
                                               headers=api))
                record("list", http.get("/api/v1/clients?limit=50", headers=api))

    with httpx.Client(base_url=base) as http:
        load_base(Api(http))  # type: ignore[arg-type]  # speaks TestClient's API
    workers = [threading.Thread(target=importer), *(threading.Thread(target=logins, args=(n,))
                                                    for n in range(3)),
               threading.Thread(target=pages)]
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=300)
    finally:
        done.set()
    return statuses



def test_work_that_finds_the_database_locked_is_run_again_from_the_start(engine):
    """A rolled-back attempt changed nothing, so it is simply run again (a few times, then the
    error stands); other database errors are not retried."""
    attempts = []

    def work(session):
        attempts.append(len(attempts))
        session.exec(select(Client)).all()
        if len(attempts) < 3:
            raise OperationalError("UPDATE ...", {}, sqlite3.OperationalError("database is locked"))
        return "done"

    assert run_in_transaction(engine, work) == "done" and attempts == [0, 1, 2]

    def always_locked(session):
        attempts.append(len(attempts))
        raise OperationalError("UPDATE ...", {}, sqlite3.OperationalError("database is locked"))

    attempts.clear()
    with pytest.raises(OperationalError):
        run_in_transaction(engine, always_locked)
    assert len(attempts) == LOCK_RETRIES

    def broken(session):
        attempts.append(len(attempts))
        raise OperationalError("SELECT ...", {}, sqlite3.OperationalError("no such table: x"))

    attempts.clear()
    with pytest.raises(OperationalError):
        run_in_transaction(engine, broken)
    assert attempts == [0]
