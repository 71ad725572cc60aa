"""A page's database work runs on a few threads of its own: pages (GET requests outside the
API) share `db_read_threads` (one by default), while writes, imports and the provider's API
reads keep anyio's pool, so they never hold up the pages and pages do not crowd the event loop
with threads."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import anyio
import pytest

from widget_server.core.db import in_db
from widget_server.core.settings import Settings, SettingsError


def fake_request(engine, method: str, state: SimpleNamespace) -> SimpleNamespace:
    """`GET` is a page; `GET /api/v1/clients` names the path too."""
    method, _, path = method.partition(" ")
    return SimpleNamespace(method=method, app=SimpleNamespace(state=state),
                           scope={"path": path or "/t/demo/"})


def most_at_once(engine, methods: list[str], threads: int) -> int:
    """Run one short piece of database work per method at the same time; how many ran
    together at most."""
    state = SimpleNamespace(engine=engine, settings=Settings(db_read_threads=threads))
    lock, running, peak = threading.Lock(), [0], [0]

    def work(db) -> None:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1

    async def all_together() -> None:
        async with anyio.create_task_group() as group:
            for method in methods:
                group.start_soon(in_db, fake_request(engine, method, state), work)

    anyio.run(all_together)
    return peak[0]


def test_pages_share_one_thread_by_default(engine):
    assert most_at_once(engine, ["GET"] * 4 + ["HEAD"] * 2, threads=1) == 1


def test_the_number_of_read_threads_is_a_setting(engine):
    assert most_at_once(engine, ["GET"] * 6, threads=3) == 3


def test_writes_do_not_wait_behind_the_pages(engine):
    assert most_at_once(engine, ["POST"] * 4, threads=1) == 4


def test_the_providers_api_reads_do_not_hold_up_the_pages(engine):
    assert most_at_once(engine, ["GET /api/v1/clients"] * 4, threads=1) == 4


def test_the_setting_comes_from_the_environment_and_must_be_positive():
    assert Settings.from_environ({"WIDGET_DB_READ_THREADS": "4"}).db_read_threads == 4
    assert Settings.from_environ({}).db_read_threads == 1
    with pytest.raises(SettingsError, match="WIDGET_DB_READ_THREADS: must be 1 or more"):
        Settings.from_environ({"WIDGET_DB_READ_THREADS": "0"})
