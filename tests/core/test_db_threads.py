"""A page's database work runs on a few threads of its own: pages (GET requests outside the
API) share `db_read_threads` (one by default), while writes, imports and the provider's API
reads keep anyio's pool, so they never hold up the pages and pages do not crowd the event loop
with threads. On SQLite a logged-in page's work runs on the event loop itself, unless it has to
wait for another writer's lock: then it waits in a thread, and the loop goes on serving."""

from __future__ import annotations

import asyncio
import gc
import sqlite3
import threading
import time
from functools import partial
from types import SimpleNamespace

import anyio
import pytest
from conftest import postgres_only, sqlite_only
from self_service_support import School
from sqlalchemy import column, make_url, select, table, text

from widget_server.core import db as db_module
from widget_server.core import records
from widget_server.core.db import in_db, make_engine, release_page_engine
from widget_server.core.settings import Settings, SettingsError
from widget_server.web import web_sessions


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


def test_the_pages_postgresql_connections_are_a_setting_and_must_be_positive():
    assert Settings.from_environ({"WIDGET_DB_PAGE_CONNECTIONS": "4"}).db_page_connections == 4
    assert Settings.from_environ({}).db_page_connections == 10
    with pytest.raises(SettingsError, match="WIDGET_DB_PAGE_CONNECTIONS: must be 1 or more"):
        Settings.from_environ({"WIDGET_DB_PAGE_CONNECTIONS": "0"})


# --- a logged-in page's work on the event loop (SQLite) ----------------------------------------

def where_it_ran() -> str:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return "thread"
    return "loop"


@pytest.fixture
def page_state(engine):
    state = SimpleNamespace(engine=engine, settings=Settings())
    yield state
    anyio.run(release_page_engine, state)  # PostgreSQL pages' connections


def test_a_logged_in_pages_work_runs_on_the_event_loop(engine, page_state):
    request = fake_request(engine, "GET", page_state)
    ran = anyio.run(lambda: in_db(request, lambda db: (
        where_it_ran(), db.connection().execute(text("SELECT 41 + 1")).scalar()), inline=True))
    assert ran == ("loop", 42)
    # Only where asked: other work keeps its thread.
    assert anyio.run(lambda: in_db(request, lambda db: where_it_ran())) == "thread"


@sqlite_only  # PostgreSQL has no lock for a reader to meet
def test_a_page_that_meets_another_writers_lock_waits_for_it_in_a_thread(engine, page_state,
                                                                          database_url):
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE visits (n INTEGER)"))
    holder = sqlite3.connect(make_url(database_url).database, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another writer (an import, the outbox) holds the lock
    threading.Timer(0.4, holder.commit).start()
    attempts: list[str] = []

    def work(db) -> int:
        attempts.append(where_it_ran())
        db.connection().execute(text("INSERT INTO visits VALUES (1)"))
        return db.connection().execute(text("SELECT count(*) FROM visits")).scalar()

    async def page_and_ticks() -> tuple[int, int]:
        ticks = [0]

        async def tick() -> None:
            while True:
                await anyio.sleep(0.01)
                ticks[0] += 1
        async with anyio.create_task_group() as group:
            group.start_soon(tick)
            counted = await in_db(fake_request(engine, "GET", page_state), work, inline=True)
            group.cancel_scope.cancel()
        return counted, ticks[0]

    counted, ticks = anyio.run(page_and_ticks)
    holder.close()
    assert attempts == ["loop", "thread"]  # tried on the loop, rolled back, waited in a thread
    assert counted == 1  # written once: the first attempt left nothing behind
    with engine.connect() as connection:  # and committed
        assert connection.execute(text("SELECT count(*) FROM visits")).scalar() == 1
    assert ticks >= 10  # the loop went on serving while the page waited


@sqlite_only
def test_a_page_on_the_loop_lets_what_has_arrived_go_first(engine, page_state):
    """Under load, requests that came in while a page was being worked out would otherwise
    wait behind whole pages (the p99 doubled)."""
    order: list[str] = []

    async def page() -> None:
        asyncio.get_running_loop().call_soon(order.append, "a request that had arrived")
        await in_db(fake_request(engine, "GET", page_state),
                    lambda db: order.append("the page's work"), inline=True)

    anyio.run(page)
    assert order == ["a request that had arrived", "the page's work"]


def passes_and_pages(engine, page_state, pages: int, *, gone: int | None = None) -> list[str]:
    """What the loop did, pass by pass (a callback that puts itself back each pass says
    "pass"), while `pages` pages asked for their turn at once; page `gone` is given up by
    its client while it waits."""
    order: list[str] = []

    async def at_once() -> None:
        loop, stop = asyncio.get_running_loop(), asyncio.Event()

        def a_pass() -> None:
            if not stop.is_set():
                order.append("pass")
                loop.call_soon(a_pass)

        loop.call_soon(a_pass)
        tasks = [asyncio.ensure_future(in_db(
            fake_request(engine, "GET", page_state),
            lambda db, n=n: order.append(f"page {n}"), inline=True)) for n in range(pages)]
        if gone is not None:
            await asyncio.sleep(0)
            tasks[gone].cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        stop.set()

    anyio.run(at_once)
    return order


@sqlite_only
def test_pages_on_the_loop_take_turns_one_a_pass_in_the_order_they_asked(engine, page_state):
    """Every page ready in a pass used to run in it, and requests read meanwhile waited for
    all of them before even queueing: the p99 under load was up to 2.7 times the median."""
    order = passes_and_pages(engine, page_state, 4)
    assert [step for step in order if step != "pass"] == ["page 0", "page 1", "page 2", "page 3"]
    where = [i for i, step in enumerate(order) if step.startswith("page")]
    assert all(order[i + 1] == "pass" for i in where[:-1])  # the loop reads between two pages


@sqlite_only
def test_a_page_given_up_while_waiting_does_not_hold_up_the_rest(engine, page_state):
    order = passes_and_pages(engine, page_state, 3, gone=1)
    assert [step for step in order if step != "pass"] == ["page 0", "page 2"]


@sqlite_only
def test_a_finished_event_loop_is_not_kept_for_its_queue(engine, page_state):
    """A test client may run each request in a loop of its own."""
    passes_and_pages(engine, page_state, 1)
    gc.collect()
    assert not [loop for loop in list(db_module._TURNS) if loop.is_closed()]


def sqlite_setting(db, name: str) -> int:
    return db.connection().connection.driver_connection.execute(f"PRAGMA {name}").fetchone()[0]


@sqlite_only
def test_on_the_loop_a_connection_neither_waits_nor_checkpoints_and_writers_get_theirs_back(
        engine, page_state):
    request = fake_request(engine, "GET", page_state)
    during = anyio.run(lambda: in_db(request, lambda db: (
        sqlite_setting(db, "busy_timeout"), sqlite_setting(db, "wal_autocheckpoint"),
        sqlite_setting(db, "foreign_keys")), inline=True))
    assert during == (0, 0, 1)
    assert engine.pool.checkedin() == 1  # the next one to be taken
    after = anyio.run(lambda: in_db(request, lambda db: (
        sqlite_setting(db, "busy_timeout"), sqlite_setting(db, "wal_autocheckpoint"))))
    assert after == (30_000, 1000)  # the pool's one connection, as writers need it


@sqlite_only
def test_a_connection_keeps_the_pages_settings_until_a_thread_takes_it(engine, page_state):
    """Pages on the loop one after another set nothing: the settings stay with the connection
    until something else (a writer's thread) takes it, which gets its own back; its own are
    read once in its life (before, each page set two settings and put them back)."""
    page = fake_request(engine, "GET", page_state)
    traced: list[str] = []

    def trace(db) -> None:  # on the pool's one connection, the next pages' too
        db.connection().connection.driver_connection.set_trace_callback(traced.append)

    anyio.run(lambda: in_db(page, trace, inline=True))
    for _ in range(3):
        anyio.run(lambda: in_db(page, lambda db: db.connection().execute(text("SELECT 1")),
                                inline=True))

    def settings(db) -> tuple[int, int]:
        return sqlite_setting(db, "busy_timeout"), sqlite_setting(db, "wal_autocheckpoint")

    in_a_thread = anyio.run(lambda: in_db(page, settings))
    on_the_loop = anyio.run(lambda: in_db(page, settings, inline=True))
    assert (in_a_thread, on_the_loop) == ((30_000, 1000), (0, 0))
    assert [statement for statement in traced if statement.startswith("PRAGMA")] == [
        "PRAGMA busy_timeout = 30000", "PRAGMA wal_autocheckpoint = 1000",  # the thread
        "PRAGMA busy_timeout", "PRAGMA wal_autocheckpoint",  # its work's own reads
        "PRAGMA busy_timeout = 0", "PRAGMA wal_autocheckpoint = 0",  # the next page
        "PRAGMA busy_timeout", "PRAGMA wal_autocheckpoint"]


def test_an_in_memory_database_keeps_the_thread():
    engine = make_engine("sqlite://")
    state = SimpleNamespace(engine=engine, settings=Settings())
    ran = anyio.run(lambda: in_db(fake_request(engine, "GET", state), lambda db: where_it_ran(),
                                  inline=True))
    assert ran == "thread"


@sqlite_only
def test_a_parents_pages_are_served_from_the_event_loop_on_sqlite(app, client, mailbox,
                                                                 monkeypatch, database_url):
    school = School(app)
    with school.batch():
        school.family("ema")
    parent = school.browser(mailbox, "ema@example.com")
    seen: list[str] = []
    # Home reads the session with the family's members, the others with the client alone.
    for name in ("load_with_client", "load_with_family"):
        load = getattr(web_sessions, name)
        monkeypatch.setattr(web_sessions, name, lambda *args, load=load: seen.append(
            where_it_ran()) or load(*args))
    for page in ("", "account", "orders"):
        assert parent.open(page).status_code == 200
    assert seen == ["loop"] * 3


class AppState:
    """An app's state as Starlette keeps it (it can be weakly referenced, unlike a namespace)."""

    def __init__(self, engine):
        self.engine, self.settings = engine, Settings()


def driver_id(db) -> int:
    return id(db.connection().connection.driver_connection)


@sqlite_only
def test_an_apps_pages_on_the_loop_keep_one_connection_out_of_the_pool(engine):
    """Taking the connection from the pool and giving it back cost more than a small page's
    queries: the app's pages on the loop keep theirs; a thread still takes one from the pool,
    never that one, and with its own settings; the app gives it back when it stops."""
    state = AppState(engine)
    page = fake_request(engine, "GET", state)
    used = [anyio.run(lambda: in_db(page, driver_id, inline=True)) for _ in range(3)]
    assert len(set(used)) == 1 and engine.pool.checkedout() == 1
    in_a_thread = anyio.run(lambda: in_db(page, lambda db: (driver_id(db), sqlite_setting(
        db, "busy_timeout"))))
    assert in_a_thread[0] != used[0] and in_a_thread[1] == 30_000
    # Each page is a transaction of its own: the next one sees what was written meanwhile.
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS kept_probe (n INTEGER)"))
        connection.execute(text("INSERT INTO kept_probe VALUES (42)"))
    assert anyio.run(lambda: in_db(page, lambda db: db.connection().execute(
        text("SELECT n FROM kept_probe")).scalar(), inline=True)) == 42
    db_module.release_kept(state)
    assert engine.pool.checkedout() == 0


@sqlite_only
def test_a_kept_connection_left_inside_a_transaction_starts_the_next_page_afresh(engine):
    state = AppState(engine)
    page = fake_request(engine, "GET", state)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS kept_probe (n INTEGER)"))
        connection.execute(text("DELETE FROM kept_probe"))
        connection.execute(text("INSERT INTO kept_probe VALUES (42)"))
    anyio.run(lambda: in_db(page, lambda db: None, inline=True))
    kept = next(iter(state.kept_for_pages.values()))
    kept.begin()  # as a page cut short between its statements would leave it
    kept.execute(text("INSERT INTO kept_probe VALUES (1)"))  # never committed
    seen = anyio.run(lambda: in_db(page, lambda db: db.connection().execute(
        text("SELECT n FROM kept_probe")).scalars().all(), inline=True))
    assert seen == [42] and not kept.in_transaction()
    with engine.connect() as other:  # nor is the write lock still held
        other.execute(text("INSERT INTO kept_probe VALUES (7)"))
        other.commit()
    db_module.release_kept(state)


def probe_table(engine, value: int) -> None:
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS kept_probe (n INTEGER)"))
        connection.execute(text("DELETE FROM kept_probe"))
        connection.execute(text("INSERT INTO kept_probe VALUES (:n)"), {"n": value})


def probe(db) -> list[int]:
    return db.connection().execute(text("SELECT n FROM kept_probe ORDER BY n")).scalars().all()


def other_writer(database_url: str, statement: str) -> None:
    """Another process's write, committed (an import, the provider's API)."""
    other = sqlite3.connect(make_url(database_url).database)
    other.execute(statement)
    other.commit()
    other.close()


@sqlite_only
def test_a_pages_reads_on_the_loop_all_see_one_state_of_the_database(engine, database_url):
    """One read transaction a page, not one a statement (fewer locks taken, and a page never
    mixes two states of the data); the next page sees what was written meanwhile."""
    state = AppState(engine)
    page = fake_request(engine, "GET", state)
    probe_table(engine, 1)

    def work(db) -> tuple[list[int], list[int]]:
        before = probe(db)
        other_writer(database_url, "UPDATE kept_probe SET n = 2")
        return before, probe(db)

    assert anyio.run(lambda: in_db(page, work, inline=True)) == ([1], [1])
    assert anyio.run(lambda: in_db(page, probe, inline=True)) == [2]
    kept = next(iter(state.kept_for_pages.values())).connection.driver_connection
    assert not kept.in_transaction
    db_module.release_kept(state)


@sqlite_only
@pytest.mark.parametrize("ending", ["reads", "reads nothing", "fails"])
def test_no_pages_snapshot_outlives_it(engine, database_url, ending):
    """Whatever the page did, its read transaction is over when it is: a snapshot left open
    would keep the write-ahead log from being copied back (checkpointed) in full."""
    state = AppState(engine)
    page = fake_request(engine, "GET", state)
    probe_table(engine, 1)

    def work(db):
        if ending != "reads nothing":
            probe(db)
        if ending == "fails":
            raise ValueError("a bug in the page")

    if ending == "fails":
        with pytest.raises(ValueError):
            anyio.run(lambda: in_db(page, work, inline=True))
    else:
        anyio.run(lambda: in_db(page, work, inline=True))
    kept = next(iter(state.kept_for_pages.values())).connection.driver_connection
    assert not kept.in_transaction
    other_writer(database_url, "INSERT INTO kept_probe VALUES (3)")
    other = sqlite3.connect(make_url(database_url).database)
    busy, _, _ = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    other.close()
    assert busy == 0  # no reader held the log back
    db_module.release_kept(state)


@sqlite_only
def test_a_page_whose_snapshot_went_stale_before_it_writes_runs_again_in_a_thread(
        engine, database_url):
    """A page that reads, then writes after another connection has committed: SQLite refuses
    the write at once (its snapshot is stale); the page runs again in a thread and its write
    lands once, beside the other's."""
    state = AppState(engine)
    page = fake_request(engine, "GET", state)
    probe_table(engine, 1)
    attempts: list[str] = []

    def work(db) -> list[int]:
        attempts.append(where_it_ran())
        probe(db)
        if len(attempts) == 1:
            other_writer(database_url, "INSERT INTO kept_probe VALUES (2)")
        db.connection().execute(text("INSERT INTO kept_probe VALUES (3)"))
        return probe(db)

    assert anyio.run(lambda: in_db(page, work, inline=True)) == [1, 2, 3]
    assert attempts == ["loop", "thread"]
    with engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM kept_probe ORDER BY n")).scalars().all() \
            == [1, 2, 3]
    db_module.release_kept(state)


@sqlite_only
def test_an_app_that_goes_away_without_stopping_gives_its_connection_back(engine):
    state = AppState(engine)
    page = fake_request(engine, "GET", state)
    anyio.run(partial(in_db, page, lambda db: None, inline=True))
    assert engine.pool.checkedout() == 1
    del state, page
    gc.collect()
    assert engine.pool.checkedout() == 0


_PROBE_ROWS = select(column("n")).select_from(table("kept_probe")).order_by(column("n"))


@sqlite_only
def test_a_pages_reads_as_records_begin_no_transaction_of_its_session(engine, database_url):
    """A page's reads as records (`core.records`) run on its connection in the page's own
    snapshot: the session begins a transaction (30 us of SQLAlchemy a page, begun and
    committed) only for what goes through it, and then commits what the page wrote."""
    state = AppState(engine)
    page = fake_request(engine, "GET", state)
    probe_table(engine, 1)

    def reads(db) -> tuple[list[tuple], list[tuple], bool]:
        before = records.read(db, _PROBE_ROWS, {})
        other_writer(database_url, "UPDATE kept_probe SET n = n + 1")
        return before, records.read(db, _PROBE_ROWS, {}), db.in_transaction()

    anyio.run(lambda: in_db(page, reads, inline=True))  # a statement's first run: SQLAlchemy's
    assert anyio.run(lambda: in_db(page, reads, inline=True)) == ([(2,)], [(2,)], False)

    def reads_then_writes(db) -> bool:
        records.read(db, _PROBE_ROWS, {})
        db.connection().execute(text("INSERT INTO kept_probe VALUES (9)"))
        return db.in_transaction()

    assert anyio.run(lambda: in_db(page, reads_then_writes, inline=True)) is True
    with engine.connect() as other:  # committed, and no page holds a snapshot or a lock
        assert other.execute(text("SELECT n FROM kept_probe ORDER BY n")).scalars().all() \
            == [3, 9]
    kept = next(iter(state.kept_for_pages.values()))
    assert not kept.in_transaction() and not kept.connection.driver_connection.in_transaction
    db_module.release_kept(state)


# --- a logged-in page's work on the event loop (PostgreSQL) ------------------------------------

def waits_for_postgresql(log: list[str], name: str, seconds: float = 0.2):
    """A page's work whose statement PostgreSQL takes `seconds` to answer."""
    def work(db) -> str:
        log.append(f"{name} asks")
        db.connection().execute(text("SELECT pg_sleep(:s)"), {"s": seconds})
        log.append(f"{name} has its answer")
        return where_it_ran()
    return work


def pages_at_once(engine, state, pages: int, log: list[str]) -> list[str]:
    async def at_once() -> list[str]:
        return await asyncio.gather(*(
            in_db(fake_request(engine, "GET", state), waits_for_postgresql(log, f"page {n}"),
                  inline=True) for n in range(pages)))
    return anyio.run(at_once)


@postgres_only
def test_on_postgresql_the_loop_serves_other_pages_while_one_waits_for_its_answer(
        engine, page_state):
    """In a thread, a page's statements waited in turn behind every other page's (one read
    thread), each for Python's lock behind the event loop too."""
    log: list[str] = []
    assert pages_at_once(engine, page_state, 2, log) == ["loop", "loop"]
    # Each asked before the other had its answer.
    assert sorted(log[:2]) == ["page 0 asks", "page 1 asks"]
    assert sorted(log[2:]) == ["page 0 has its answer", "page 1 has its answer"]


@postgres_only
def test_on_postgresql_pages_beyond_the_pools_connections_wait_for_one(engine):
    state = SimpleNamespace(engine=engine, settings=Settings(db_page_connections=2))
    log: list[str] = []
    try:
        assert pages_at_once(engine, state, 4, log) == ["loop"] * 4
    finally:
        anyio.run(release_page_engine, state)
    waiting, most = 0, 0
    for step in log:
        waiting += 1 if step.endswith("asks") else -1
        most = max(most, waiting)
    assert most == 2 and waiting == 0  # two at a time, and every page answered


@postgres_only
def test_on_postgresql_a_page_that_fails_leaves_nothing_and_one_that_ends_commits(
        engine, page_state):
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE visits (n INTEGER)"))
    request = fake_request(engine, "GET", page_state)

    def visit_then_fail(db) -> None:
        db.connection().execute(text("INSERT INTO visits VALUES (1)"))
        raise ValueError("the page could not be made")

    with pytest.raises(ValueError, match="could not be made"):
        anyio.run(lambda: in_db(request, visit_then_fail, inline=True))
    anyio.run(lambda: in_db(request, lambda db: db.connection().execute(
        text("INSERT INTO visits VALUES (2)")), inline=True))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT array_agg(n) FROM visits")).scalar() == [2]
        connection.execute(text("DROP TABLE visits"))
        connection.commit()


@postgres_only
def test_on_postgresql_the_pages_connections_close_when_the_app_stops(engine, page_state):
    request = fake_request(engine, "GET", page_state)

    async def page_then_stop() -> int:
        backend = await in_db(request, lambda db: db.connection().execute(
            text("SELECT pg_backend_pid()")).scalar(), inline=True)
        await release_page_engine(page_state)
        return backend

    backend = anyio.run(page_then_stop)
    assert page_state.page_engine is None  # a page after it would make another
    with engine.connect() as connection:
        for _ in range(100):  # the server ends the backend as soon as it reads the goodbye
            still = connection.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = :p"), {"p": backend}).scalar()
            connection.rollback()  # the activity is read once a transaction
            if not still:
                break
            time.sleep(0.02)
        else:
            pytest.fail(f"the page's connection (backend {backend}) is still open")


@postgres_only
def test_on_postgresql_pages_in_event_loops_one_after_another_share_a_connection(
        engine, page_state):
    """A test client runs each request in an event loop of its own; a server has one. Either
    way a page's connection is taken and given back within its loop, and the next finds it."""
    request = fake_request(engine, "GET", page_state)
    backends = {anyio.run(lambda: in_db(request, lambda db: db.connection().execute(
        text("SELECT pg_backend_pid()")).scalar(), inline=True)) for _ in range(3)}
    assert len(backends) == 1


@postgres_only
def test_on_postgresql_a_page_given_up_while_it_waits_leaves_its_connection_usable(engine):
    """A client that goes away (or a server stopping) cancels the page mid-statement."""
    state = SimpleNamespace(engine=engine, settings=Settings(db_page_connections=1))
    request = fake_request(engine, "GET", state)

    async def give_up_then_ask_again() -> int:
        waiting = asyncio.ensure_future(in_db(request, waits_for_postgresql([], "gone", 5),
                                              inline=True))
        await asyncio.sleep(0.3)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        return await asyncio.wait_for(in_db(request, lambda db: db.connection().execute(
            text("SELECT 41 + 1")).scalar(), inline=True), 3)

    try:
        assert anyio.run(give_up_then_ask_again) == 42  # not stuck behind the first page
    finally:
        anyio.run(release_page_engine, state)
