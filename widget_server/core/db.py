"""Database engine, sessions and migrations."""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
import weakref
from collections import deque
from contextlib import asynccontextmanager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterator
from weakref import WeakKeyDictionary

from alembic import command
from alembic.config import Config
from anyio import CapacityLimiter, to_thread
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.util import greenlet_spawn
from sqlmodel import Session, create_engine

from widget_server.core import records

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"
# A pooled PostgreSQL connection idle this long is checked before use (a server restart or an
# idle timeout may have closed it); one in constant use is not: SQLAlchemy's `pool_pre_ping`
# pinged on every checkout, a round trip per request (0.12 ms of a 3.6 ms page).
IDLE_BEFORE_PING = 10.0  # seconds


def _json_loads(text: str) -> Any:
    # Most JSON columns a page reads hold an empty list (a programme's or a booking's add-ons):
    # 0.65 us in `json.loads`, a few dozen times a page. A new list each time, as it gives.
    return [] if text == "[]" else json.loads(text)


def make_engine(database_url: str, **kwargs) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and a busy timeout."""
    url = make_url(database_url)
    kwargs.setdefault("json_deserializer", _json_loads)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        event.listen(engine, "checkout", _settings_for_taker)
        return engine
    engine = create_engine(url, connect_args={"cursor_factory": _plain_description_cursor()},
                           **kwargs)
    _ping_when_idle(engine)
    event.listen(engine, "connect", _utc)
    return engine


def _utc(dbapi_connection, _record) -> None:
    # Datetimes come back tagged UTC, which `models.UTCDateTime` then takes as they are.
    cursor = dbapi_connection.cursor()
    cursor.execute("SET TIME ZONE 'UTC'")
    cursor.close()
    dbapi_connection.commit()


def _plain_description_cursor(waiting: bool = False) -> type:
    """psycopg's cursor (its asyncio one if `waiting`), describing a result's columns as the
    plain 7-tuples of the DB-API. SQLAlchemy reads the description of every result, and psycopg
    builds a `Column` object per column each time, with a type lookup: for a home page's 8
    statements, ~100 objects and 8 % of the page's CPU. SQLAlchemy reads only the name and the
    type code."""
    import psycopg  # PostgreSQL's driver is an optional dependency
    from psycopg.pq import ExecStatus

    with_rows = {getattr(ExecStatus, name) for name in (
        "TUPLES_OK", "SINGLE_TUPLE", "TUPLES_CHUNK") if hasattr(ExecStatus, name)}

    class Cursor(psycopg.AsyncCursor if waiting else psycopg.Cursor):
        @property
        def description(self) -> list[tuple] | None:
            result = self.pgresult
            if result is None or not (result.nfields or result.status in with_rows):
                return None
            encoding = self.connection.info.encoding
            return [((result.fname(i) or f"column_{i + 1}".encode()).decode(encoding),
                     result.ftype(i), None, None, None, None, None)
                    for i in range(result.nfields)]

    return Cursor


def _ping_when_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection, record) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _taken(dbapi_connection, record, _proxy) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < IDLE_BEFORE_PING:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool drops this connection and takes another
            raise DisconnectionError(f"pooled connection is gone: {exc}") from exc


def begin_writing(session: Session) -> None:
    """Open the write transaction now. pysqlite only begins one before a data change, so a
    SAVEPOINT before it starts (and its RELEASE commits) a transaction of its own: a batch of
    savepoints would not be atomic. BEGIN IMMEDIATE takes SQLite's write lock up front (waiting
    out the busy timeout); PostgreSQL already runs every statement in the session's transaction."""
    connection = session.connection()
    if connection.dialect.name == "sqlite" and not connection.connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def session_scope(bind: Engine | Connection, *, page_snapshot: bool = False
                  ) -> Iterator[Session]:
    """A session that commits on success and rolls back on error (on an engine's pooled
    connection, or on one connection already taken).

    `page_snapshot`: `bind` is a page's connection in a read snapshot the page itself ends
    (`_one_snapshot`). Its reads as records (`core.records.READS_ON`) run on the connection as
    they are, and the session begins and commits a transaction only for what goes through it
    (a write, an ORM read): begun and committed around reads alone, it cost 30 us a page."""
    info = {records.READS_ON: bind} if page_snapshot else None
    with Session(bind, expire_on_commit=False, info=info) as session:
        try:
            yield session
            if not page_snapshot or session.in_transaction() or not session._is_clean():
                session.commit()
        except BaseException:
            session.rollback()
            raise


async def in_db(request: Any, work: Callable[[Session], Any], *, inline: bool = False) -> Any:
    """Run a request's blocking database work in a worker thread, in one transaction. Pages
    (GET requests outside the API) share a few threads (`db_read_threads`): a page's work takes
    a millisecond or two, and with anyio's 40 threads the event loop waited for Python's lock
    behind them. Writes, imports and the provider's API reads (hundreds of rows a page, a sync
    paging through them all) keep anyio's pool, so they never hold up the parents' pages.

    `inline` (a logged-in page's one piece of work): on a SQLite file, run it on the event
    loop's own thread instead (`_on_the_loop`). Its queries are a millisecond of work in this
    process either way, and the trip to a thread and back cost a sixth of the pages a second.
    On PostgreSQL it runs on the event loop too, each statement awaited on an asyncio
    connection (`_pages_waiting_on_the_loop`)."""
    engine = request.app.state.engine
    if inline and _on_a_file(engine):
        await _turns().wait()
        try:
            return _on_the_loop(request.app.state, engine, work)
        except OperationalError as error:
            if not _locked(error):
                raise
    elif inline and engine.dialect.name == "postgresql":
        return await _pages_waiting_on_the_loop(request.app.state, engine, work)
    page = request.method in ("GET", "HEAD") and not request.scope.get("path", "").startswith(
        "/api/")
    limiter = _read_limiter(request.app.state) if page else None
    return await to_thread.run_sync(lambda: run_in_transaction(engine, work), limiter=limiter)


async def _pages_waiting_on_the_loop(state: Any, engine: Engine, work: Callable[[Session], Any]
                                     ) -> Any:
    """A logged-in page's work on PostgreSQL, run on the event loop's thread as on SQLite, in
    one transaction, but each statement awaited on an asyncio connection (SQLAlchemy runs the
    plain, blocking-style `work` in a greenlet that gives the loop back while PostgreSQL
    answers). In a thread, a page's dozen round trips each waited for Python's lock behind the
    event loop, and the thread was the bottleneck (the machine half idle); here the loop
    parses and renders other pages meanwhile (home 274 -> 390 pages a second, bench/README.md).
    Connections come from a pool of their own (`WIDGET_DB_PAGE_CONNECTIONS`)."""
    # In the order they came: a connection given back to the pool goes to whoever asks first,
    # and a page that had waited for one went to the back of the queue again (home p99 81 -> 55
    # ms).
    async with _page_limiter(state):
        # One greenlet for the whole page, the connection's checkout and return included
        # (SQLAlchemy's own `AsyncConnection` spends one on each: about 80 us of CPU more a
        # page, in a loop of one-statement pages).
        return await greenlet_spawn(_in_session, _page_engine(state, engine).sync_engine, work)


def _in_session(engine: Engine, work: Callable[[Session], Any]) -> Any:
    with session_scope(engine) as session:
        return work(session)


def _page_engine(state: Any, engine: Engine) -> Any:
    """The asyncio engine for a page on this event loop, on the same database as `engine`.

    On the loop that serves the app (`pages_served_here`: uvicorn's, for as long as the app
    runs) its driver is asyncpg (`_asyncpg_url`): a round trip cost the app about 30 us of CPU
    less than on psycopg's asyncio connection, and `core.records` reads through asyncpg itself
    (home 408 -> 532 pages a second, bench/README.md). An asyncpg connection belongs to the
    loop it was opened on, and that loop closes it when the app stops.

    On any other loop (a test client may run each request in a loop of its own), or for a
    database URL asyncpg cannot take, psycopg's (`_any_loop_engine`)."""
    if getattr(state, "pages_loop", None) is asyncio.get_running_loop():
        served = getattr(state, "served_pages", None)
        if served is None:
            found = _asyncpg_url(engine.url)
            served = state.served_pages = _new_page_engine(state, engine, *found) \
                if found is not None else _any_loop_engine(state, engine)
        return served
    return _any_loop_engine(state, engine)


def _any_loop_engine(state: Any, engine: Engine) -> Any:
    """The pages' engine on psycopg's asyncio connection, which waits on whichever loop runs
    it: the same one serves every event loop. A page takes and gives back its connection
    within one loop; only waiting for a free one would bind the pool's queue to a loop, and
    the page limiter (as many as the pool holds, per loop) keeps pages from waiting there. One
    engine also means one dialect, for which `core.records` prepares each statement once."""
    page_engine = getattr(state, "page_engine", None)
    if page_engine is None:
        page_engine = state.page_engine = _new_page_engine(
            state, engine, engine.url.set(drivername="postgresql+psycopg_async"),
            {"cursor_factory": _plain_description_cursor(waiting=True)})
        event.listen(page_engine.sync_engine, "connect", _utc)
    return page_engine


def _new_page_engine(state: Any, engine: Engine, url: Any, connect_args: dict[str, Any]) -> Any:
    from sqlalchemy.ext.asyncio import create_async_engine

    page_engine = create_async_engine(
        url, json_deserializer=_json_loads, connect_args=connect_args,
        # Never more than these: a page beyond them waits for one (in order) rather than open
        # and close a connection of its own.
        pool_size=state.settings.db_page_connections, max_overflow=0)
    _ping_when_idle(page_engine.sync_engine)
    _heard_on(engine, page_engine.sync_engine)
    return page_engine


@asynccontextmanager
async def pages_served_here(state: Any) -> AsyncIterator[None]:
    """Within the block, the app's logged-in pages asked on this event loop read PostgreSQL
    through asyncpg (`_page_engine`); its connections close when the block ends, on this
    loop. The app's lifespan wraps its whole run in it: the loop that starts the app serves
    its requests. Blocks may nest (a test's loop inside a running app's): each restores the
    one around it."""
    around = (getattr(state, "pages_loop", None), getattr(state, "served_pages", None))
    state.pages_loop, state.served_pages = asyncio.get_running_loop(), None
    try:
        yield
    finally:
        served = state.served_pages
        state.pages_loop, state.served_pages = around
        if served is not None and served is not getattr(state, "page_engine", None):
            await served.dispose()


# Each pooled connection keeps this many statements prepared (asyncpg's own cache, which
# `core.records` reads through, and SQLAlchemy's, for the rest): every logged-in page's
# statements, lists of a few lengths each, with room to spare; asyncpg's default of 100
# would drop the least used of them and prepare them again.
PAGE_STATEMENTS_PREPARED = 300


def _asyncpg_url(url: Any) -> tuple[Any, dict[str, Any]] | None:
    """`url` (psycopg's) for asyncpg, and asyncpg's arguments for its options: libpq's names
    differ (`sslmode` is asyncpg's `ssl`). Connections talk UTC, as `_utc` makes psycopg's
    (asyncpg reads a time stamp as UTC anyway; this is for what the SQL itself computes). None
    for an option asyncpg has no counterpart for, or no asyncpg."""
    try:
        import asyncpg  # noqa: F401 (PostgreSQL's drivers are optional dependencies)
    except ImportError:
        return None
    settings: dict[str, str] = {"timezone": "UTC"}
    args: dict[str, Any] = {"server_settings": settings,
                            "statement_cache_size": PAGE_STATEMENTS_PREPARED}
    query: dict[str, Any] = {"prepared_statement_cache_size": str(PAGE_STATEMENTS_PREPARED)}
    for key, value in url.query.items():
        if key == "host":  # a socket's directory, or hosts to try
            query[key] = value
        elif key == "sslmode" and isinstance(value, str):
            args["ssl"] = value  # asyncpg takes libpq's modes by their names
        elif key == "application_name" and isinstance(value, str):
            settings[key] = value
        elif key == "connect_timeout" and isinstance(value, str) and value.isdigit():
            args["timeout"] = float(value)
        else:
            return None
    return url.set(drivername="postgresql+asyncpg", query=query), args


def _heard_on(engine: Engine, page_engine: Engine) -> None:
    """Who listens to `engine`'s statements (the tests that count and EXPLAIN a page's, the
    benchmark's timings) hears the pages' on `page_engine` too: it is the same database."""
    for name in ("before_cursor_execute", "after_cursor_execute"):
        def tell(*args: Any, name: str = name) -> None:
            # Looked up each time: a listener added later replaces the (empty) collection.
            for listener in getattr(engine.dispatch, name):
                listener(*args)
        event.listen(page_engine, name, tell)


async def release_page_engine(state: Any) -> None:
    """Close the pages' connections on psycopg (when the app stops; those on asyncpg close
    as `pages_served_here` ends)."""
    page_engine = getattr(state, "page_engine", None)
    if page_engine is not None:
        state.page_engine = None
        await page_engine.dispose()


def _on_a_file(engine: Engine) -> bool:
    # An in-memory database is one per connection: the loop's would be another, empty one.
    return engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:")


class _Turns:
    """Pages' work on the event loop, one page per pass of the loop, in the order they asked.
    Between two pages the loop takes in the requests that have arrived, which queue behind
    those already waiting. Before, every page that was ready in a pass ran in that pass, and
    requests read meanwhile waited for all of them before even queueing: under load the p99
    was up to 2.7 times the median (sessions tab 182 ms, median 72); now 1.1-1.6 times on
    every page (sessions 82-85 ms), for 0-12 % fewer pages a second (bench/README.md)."""

    def __init__(self) -> None:
        # No reference to the loop: it is the key of `_TURNS`, which would then keep it alive.
        self.waiting: deque[asyncio.Future] = deque()
        self.handing_on = False

    async def wait(self) -> None:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.waiting.append(future)
        if not self.handing_on:
            self.handing_on = True
            loop.call_soon(self._next)
        await future

    def _next(self) -> None:
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():  # not cancelled (the client went away)
                # Its page runs in the next pass, and the next page's turn comes after it.
                future.set_result(None)
                asyncio.get_running_loop().call_soon(self._next)
                return
        self.handing_on = False


_TURNS: WeakKeyDictionary[asyncio.AbstractEventLoop, _Turns] = WeakKeyDictionary()


def _turns() -> _Turns:
    # One queue per event loop (a test client may run each request in a loop of its own).
    loop = asyncio.get_running_loop()
    if loop not in _TURNS:
        _TURNS[loop] = _Turns()
    return _TURNS[loop]


def _on_the_loop(state: Any, engine: Engine, work: Callable[[Session], Any]) -> Any:
    """One attempt at `work` in one transaction, on a connection that for its length neither
    waits for another writer's lock (a page that meets it is rolled back at once, and `in_db`
    runs it again in a thread, which waits) nor copies the write-ahead log back into the
    database (a disk flush: the other connections' commits do it): see `_settings_for_taker`.
    The connection is the app's own for its pages on this thread (`_kept_for_pages`)."""
    kept = _kept_for_pages(state, engine)
    # A kept connection stays open after the page; one taken from the pool goes back to it.
    with (nullcontext(kept) if kept is not None else _taken_for_page(engine)) as connection:
        with _one_snapshot(connection.connection.driver_connection), \
                session_scope(connection, page_snapshot=True) as session:
            return work(session)


@contextmanager
def _one_snapshot(driver: Any) -> Iterator[None]:
    """The page's reads in one read transaction (SQLite's deferred BEGIN), not one each: each
    statement in a transaction of its own cost SQLite two `fcntl` locks and an `fstat` (a
    home page's eleven statements, 33 system calls) besides its own setting up, and every
    statement now reads the same state of the database. A page that writes too takes the
    write lock in it: if another connection has committed since the page's first read, SQLite
    refuses at once ("database is locked"), and `in_db` runs the page again in a thread, as it
    does for any lock met on the loop. Ended whatever happens, so no snapshot outlives its
    page (a snapshot held open would keep the write-ahead log from being checkpointed)."""
    if driver.in_transaction:  # not ours to end
        yield
        return
    driver.execute("BEGIN")
    try:
        yield
    except BaseException:
        if driver.in_transaction:
            driver.rollback()
        raise
    if driver.in_transaction:  # a page that only read: SQLAlchemy never began it
        driver.commit()


def _taken_for_page(engine: Engine) -> Connection:
    _taking.for_page = True
    try:
        return engine.connect()
    finally:
        _taking.for_page = False


def _kept_for_pages(state: Any, engine: Engine) -> Connection | None:
    """The connection an app's pages on the event loop use, one per thread, kept out of the
    pool between them: taking it from the pool and giving it back cost more than a small
    page's queries (documents 792-807 -> 853-860 pages a second held, home 486-492 -> 508).
    Pages on one loop run one at a time, each in a transaction it ends, so the next finds it
    as SQLite does any connection between transactions. Given back when the app stops
    (`release_kept`) or, for an app that never says so, when its state is collected; None for
    a state that cannot be weakly referenced (then a page takes one from the pool)."""
    kept = getattr(state, "kept_for_pages", None)
    if kept is None:
        kept = {}
        try:
            weakref.finalize(state, _give_back, kept)
        except TypeError:
            return None
        state.kept_for_pages = kept
    key = (engine, threading.get_ident())
    connection = kept.get(key)
    if connection is None or connection.closed or connection.invalidated:
        connection = kept[key] = _taken_for_page(engine)
    elif connection.in_transaction() or connection.connection.driver_connection.in_transaction:
        # Left inside a transaction (a page cut short): its snapshot and any write undone, so
        # that this page neither reads the old one nor runs inside it.
        connection.rollback()
        connection.connection.driver_connection.rollback()
    return connection


def release_kept(state: Any) -> None:
    """Give back the connections kept for pages (before the engine is disposed)."""
    _give_back(getattr(state, "kept_for_pages", {}))


def _give_back(kept: dict) -> None:
    while kept:
        _, connection = kept.popitem()
        connection.close()


# Set while a page on the event loop takes a connection from the pool (thread by thread: the
# pool's other takers are threads).
_taking = threading.local()


def _settings_for_taker(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """A SQLite connection as its taker needs it: for a page on the event loop, no waiting for
    a lock and no checkpoint (`_on_the_loop`); for anyone else, its own settings (writers wait
    out the busy timeout). Kept as they are from one taker to the next of the same kind: pages
    set and put back two settings each (four statements, 35-45 us a page) before. Set on the
    connection itself, below SQLAlchemy, so that its statements stay the page's alone; a
    connection made anew starts with its own settings and an empty `info`."""
    for_page = getattr(_taking, "for_page", False)
    if record.info.get("cp_for_page", False) == for_page:
        return
    usual = record.info.get("cp_usual")
    if usual is None:  # read once in the connection's life
        usual = record.info["cp_usual"] = tuple(
            dbapi_connection.execute(f"PRAGMA {name}").fetchone()[0]
            for name in ("busy_timeout", "wal_autocheckpoint"))
    waits, checkpoints = (0, 0) if for_page else usual
    dbapi_connection.execute(f"PRAGMA busy_timeout = {int(waits)}")
    dbapi_connection.execute(f"PRAGMA wal_autocheckpoint = {int(checkpoints)}")
    record.info["cp_for_page"] = for_page


def _read_limiter(state: Any) -> CapacityLimiter:
    return _limiter(state, "db_read_limiters", state.settings.db_read_threads)


def _page_limiter(state: Any) -> CapacityLimiter:
    return _limiter(state, "db_page_limiters", state.settings.db_page_connections)


def _limiter(state: Any, name: str, size: int) -> CapacityLimiter:
    # One per event loop (a test client may run each request in a loop of its own): a
    # limiter's waiters belong to the loop they wait in.
    limiters = getattr(state, name, None)
    if limiters is None:
        limiters = WeakKeyDictionary()
        setattr(state, name, limiters)
    loop = asyncio.get_running_loop()
    if loop not in limiters:
        limiters[loop] = CapacityLimiter(size)
    return limiters[loop]


LOCK_RETRIES = 6


def run_in_transaction(engine: Engine, work: Callable[[Session], Any]) -> Any:
    """`work` in one transaction, run again from the start when SQLite reports its one write
    lock taken for longer than the busy timeout or a snapshot gone stale under another writer
    ("database is locked"): the rolled-back attempt changed nothing, so a parent waits a
    little longer instead of getting an error."""
    for attempt in range(LOCK_RETRIES):
        try:
            with session_scope(engine) as session:
                return work(session)
        except OperationalError as error:
            if not _locked(error) or attempt == LOCK_RETRIES - 1:
                raise
            time.sleep(random.uniform(0.01, 0.05) * 2 ** attempt)
    raise AssertionError("unreachable")


def _locked(error: OperationalError) -> bool:
    return "database is locked" in str(error.orig) or "database table is locked" in str(error.orig)


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def migrate(database_url: str) -> None:
    """Bring the schema to the newest migration; the schema comes only from migrations."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(database_url), "heads")
