"""On the event loop that serves the app (uvicorn's, for as long as the app runs), a logged-in
page reads PostgreSQL through asyncpg: a round trip costs the app about 30 us of CPU less than
on psycopg's asyncio connection, and `core.records` reads through asyncpg's own `fetch`. On any
other loop (a test client runs each request in one of its own), or for a database URL asyncpg
cannot take, the pages keep psycopg's asyncio connection (tests/core/test_db_threads.py)."""

from __future__ import annotations

import asyncio
import html
import re
import time
from collections import deque
from datetime import UTC, datetime
from types import SimpleNamespace

import anyio
import pytest
from conftest import postgres_only
from sqlalchemy import Integer, bindparam, literal_column, make_url, select, text
from sqlalchemy.exc import DBAPIError

from widget_server.core import db as db_module
from widget_server.core.db import in_db, make_engine, pages_served_here, release_page_engine
from widget_server.core.models import Reminder
from widget_server.core.records import read
from widget_server.core.settings import Settings


def fake_request(state: SimpleNamespace) -> SimpleNamespace:
    return SimpleNamespace(method="GET", app=SimpleNamespace(state=state),
                           scope={"path": "/t/demo/"})


def page(state, work):
    """`work` as a logged-in page's, on the loop that runs it."""
    return in_db(fake_request(state), work, inline=True)


def served(state, *works) -> list:
    """Each work as a page, one after another, on a loop that serves the app."""
    async def serve() -> list:
        async with pages_served_here(state):
            return [await page(state, work) for work in works]
    return anyio.run(serve)


def driver(db) -> str:
    """Whose connection the page's session has: "asyncpg" or "psycopg"."""
    return type(db.connection().connection.driver_connection).__module__.split(".")[0]


def backend(db) -> int:
    return db.connection().execute(text("SELECT pg_backend_pid()")).scalar()


@pytest.fixture
def state(engine):
    state = SimpleNamespace(engine=engine, settings=Settings())
    yield state
    anyio.run(release_page_engine, state)


@postgres_only
def test_pages_on_the_loop_that_serves_the_app_read_through_asyncpg(engine, state):
    assert served(state, driver) == ["asyncpg"]
    # Any other loop (a test client's request, one loop each): psycopg's asyncio connection.
    assert anyio.run(page, state, driver) == "psycopg"


@postgres_only
def test_a_served_pages_connection_talks_utc(engine, state):
    assert served(state, lambda db: db.connection().execute(
        text("SHOW TIME ZONE")).scalar()) == ["UTC"]


@postgres_only
def test_a_served_pages_moments_read_in_utc_whatever_the_connections_zone(engine, state):
    moment = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(Reminder.__table__.insert().values(
            tenant="swim", kind="session", subject_id=1, moment=moment, created_at=moment))
    moments = select(Reminder.moment).where(Reminder.subject_id == 1)

    def in_new_york(db) -> list:
        # asyncpg's values are read as they come (`models.UTCDateTime`): UTC, in any zone.
        db.connection().execute(text("SET TIME ZONE 'America/New_York'"))
        return [*(read(db, moments, {})[0][0] for _ in range(3)), db.scalar(moments)]

    try:
        assert served(state, in_new_york) == [[moment] * 4]
        assert all(value.tzinfo is UTC for value in served(state, in_new_york)[0])
    finally:
        with engine.begin() as connection:
            connection.execute(Reminder.__table__.delete())


# A statement run through `core.records`: SQLAlchemy's path the first time, the adapter's
# cursor the second (which describes the columns), asyncpg's own `fetch` from the third.
QUOTIENT = select(literal_column("12") / bindparam("d", type_=Integer), literal_column("'x'"))


def quotient_three_times(db) -> list:
    return [read(db, QUOTIENT, {"d": d}) for d in (1, 2, 3)]


@postgres_only
def test_a_served_pages_reads_come_back_as_plain_tuples_however_they_ran(engine, state):
    assert served(state, quotient_three_times) == [[[(12, "x")], [(6, "x")], [(4, "x")]]]
    rows = served(state, lambda db: read(db, QUOTIENT, {"d": 4}))[0]
    assert rows == [(3, "x")] and type(rows[0]) is tuple


@postgres_only
def test_a_served_page_that_only_reads_opens_no_transaction_and_one_that_writes_commits(
        engine, state):
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE visits (n INTEGER)"))

    def read_then_write(db) -> tuple[bool, bool]:
        raw = db.connection().connection.driver_connection
        read(db, QUOTIENT, {"d": 6})
        reading = raw.is_in_transaction()
        db.connection().execute(text("INSERT INTO visits VALUES (1)"))
        return reading, raw.is_in_transaction()

    def write_then_fail(db) -> None:
        db.connection().execute(text("INSERT INTO visits VALUES (2)"))
        read(db, QUOTIENT, {"d": 6})  # a read after a write is inside its transaction
        raise ValueError("the page could not be made")

    try:
        # The first page's reads make the statement asyncpg's own (its first runs take
        # SQLAlchemy's path, which begins the transaction).
        assert served(state, quotient_three_times, read_then_write)[1] == (False, True)
        with pytest.raises(ValueError, match="could not be made"):
            served(state, write_then_fail)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT array_agg(n) FROM visits")).scalar() == [1]
    finally:
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE visits"))


@postgres_only
def test_a_statement_that_fails_in_asyncpgs_own_read_is_sqlalchemys_error(engine, state):
    def divide_by_zero(db) -> None:
        quotient_three_times(db)
        read(db, QUOTIENT, {"d": 0})

    async def fail_then_read_again() -> list:
        async with pages_served_here(state):
            with pytest.raises(DBAPIError, match="division by zero"):
                await page(state, divide_by_zero)
            # The same connection, given back, serves the next page.
            return [await page(state, backend), await page(state, quotient_three_times)]

    _, quotients = anyio.run(fail_then_read_again)
    assert quotients == [[(12, "x")], [(6, "x")], [(4, "x")]]


@postgres_only
def test_served_pages_wait_for_postgresql_at_the_same_time(engine, state):
    log: list[str] = []

    def waits(name: str):
        def work(db) -> None:
            log.append(f"{name} asks")
            db.connection().execute(text("SELECT pg_sleep(0.2)"))
            log.append(f"{name} has its answer")
        return work

    async def two_pages() -> None:
        async with pages_served_here(state):
            await asyncio.gather(page(state, waits("one")), page(state, waits("two")))

    anyio.run(two_pages)
    assert sorted(log[:2]) == ["one asks", "two asks"]  # each asked before either had its answer


@postgres_only
def test_a_served_page_given_up_while_it_waits_leaves_its_connection_usable(engine):
    state = SimpleNamespace(engine=engine, settings=Settings(db_page_connections=1))

    async def give_up_then_ask_again() -> int:
        async with pages_served_here(state):
            waiting = asyncio.ensure_future(page(state, lambda db: db.connection().execute(
                text("SELECT pg_sleep(5)"))))
            await asyncio.sleep(0.3)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            return await asyncio.wait_for(page(state, lambda db: db.connection().execute(
                text("SELECT 41 + 1")).scalar()), 3)

    assert anyio.run(give_up_then_ask_again) == 42  # not stuck behind the first page


def still_open(engine, pid: int) -> bool:
    with engine.connect() as connection:
        return bool(connection.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = :p"), {"p": pid}).scalar())


@postgres_only
def test_the_served_pages_connections_close_when_the_app_stops_serving(engine, state):
    first = served(state, backend)[0]
    assert state.served_pages is None and state.pages_loop is None
    for _ in range(100):  # the server ends the backend as soon as it reads the goodbye
        if not still_open(engine, first):
            break
        time.sleep(0.02)
    else:
        pytest.fail(f"the served page's connection (backend {first}) is still open")


@postgres_only
def test_a_loop_served_inside_another_gives_the_outer_one_back(engine, state):
    async def outer() -> tuple[str, str]:
        async with pages_served_here(state):
            inner = await anyio.to_thread.run_sync(lambda: served(state, driver)[0])
            return inner, await page(state, driver)

    assert anyio.run(outer) == ("asyncpg", "asyncpg")


# --- the database URL, for asyncpg ----------------------------------------------------------

def test_asyncpg_takes_libpqs_options_under_its_own_names():
    url, args = db_module._asyncpg_url(make_url(
        "postgresql+psycopg://u:p@db.example:6432/school?sslmode=verify-full"
        "&application_name=portal&connect_timeout=5"))
    assert (url.drivername, url.host, url.port, url.database, url.username, url.password) == \
        ("postgresql+asyncpg", "db.example", 6432, "school", "u", "p")
    assert dict(url.query) == {"prepared_statement_cache_size": "300"}
    assert args == {"ssl": "verify-full", "timeout": 5.0,
                    "server_settings": {"timezone": "UTC", "application_name": "portal"},
                    "statement_cache_size": 300}
    # A socket's directory is asyncpg's host too.
    url, _ = db_module._asyncpg_url(make_url(
        "postgresql+psycopg://u:p@/school?host=/var/run/postgresql"))
    assert url.query["host"] == "/var/run/postgresql"


def test_an_option_asyncpg_has_no_counterpart_for_keeps_psycopg():
    for option in ("sslrootcert=/etc/ssl/ca.pem", "target_session_attrs=read-write",
                   "connect_timeout=soon"):
        assert db_module._asyncpg_url(make_url(
            f"postgresql+psycopg://u:p@db.example/school?{option}")) is None, option


@postgres_only
def test_a_url_asyncpg_cannot_take_serves_the_pages_through_psycopg(database_url):
    engine = make_engine(f"{database_url}?target_session_attrs=any")
    state = SimpleNamespace(engine=engine, settings=Settings())
    try:
        assert served(state, driver) == ["psycopg"]
    finally:
        anyio.run(release_page_engine, state)
        engine.dispose()


# --- the app ----------------------------------------------------------------------------------

def links_on(page_html: str) -> list[str]:
    found = re.findall(r'href="(?:https?://[^/"]+)?(/t/demo/[^"#]*)', page_html)
    return [html.unescape(link) for link in found if not link.endswith("/logout")]


def without_tokens(page_html: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]*"', "", page_html)


@postgres_only
def test_every_page_a_parent_reaches_is_the_same_through_asyncpg_as_through_psycopg(
        demo, client, sarah):
    """`client` asks on the loop that serves the app (its lifespan's): asyncpg. Sarah's own
    browser asks each request on a loop of its own: psycopg."""
    client.cookies = sarah.client.cookies
    queue, seen, compared = deque(["/t/demo/"]), {"/t/demo/"}, 0
    while queue and compared < 80:
        path = queue.popleft()
        theirs, ours = sarah.client.get(path), client.get(path)
        assert (ours.status_code, ours.headers.get("content-type")) == \
            (theirs.status_code, theirs.headers.get("content-type")), path
        if "text/html" not in ours.headers.get("content-type", ""):
            continue
        assert without_tokens(ours.text) == without_tokens(theirs.text), path
        compared += 1
        for link in links_on(ours.text):
            if link not in seen:
                seen.add(link)
                queue.append(link)
    assert compared >= 25
    assert demo.state.served_pages.dialect.driver == "asyncpg"
