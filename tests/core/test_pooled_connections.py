"""A pooled PostgreSQL connection that died while idle (server restart, idle timeout) is
replaced before a request uses it; a connection in constant use is not pinged first (a round
trip per request)."""

from __future__ import annotations

from types import SimpleNamespace

import anyio
import pytest
from conftest import postgres_only
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

import widget_server.core.db as db
from widget_server.core.settings import Settings


@pytest.fixture
def pings(engine, monkeypatch) -> list:
    pinged: list = []
    ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping",
                        lambda connection: pinged.append(connection) or ping(connection))
    return pinged


def backend_pid(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar()


@postgres_only  # SQLite opens a file: there is no server to lose the connection
def test_a_connection_that_died_while_idle_is_replaced_before_use(engine, pings, monkeypatch):
    first = backend_pid(engine)
    admin = create_engine(engine.url, poolclass=NullPool)
    with admin.connect() as other:  # the server ends the pooled session, as a restart would
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    admin.dispose()
    monkeypatch.setattr(db, "IDLE_BEFORE_PING", 0.0)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT 41 + 1")).scalar() == 42
        assert connection.execute(text("SELECT pg_backend_pid()")).scalar() != first
    assert len(pings) >= 1


@postgres_only
def test_a_connection_in_constant_use_is_not_pinged(engine, pings):
    for _ in range(3):
        backend_pid(engine)
    assert pings == []


@postgres_only  # psycopg's cursor; SQLite's driver describes results in tuples already
def test_results_are_described_in_plain_tuples_with_the_drivers_names_and_types(engine):
    """SQLAlchemy reads every result's description; psycopg's own builds an object per
    column each time. Ours gives the same names and type codes as the DB-API's 7-tuples."""
    import psycopg

    query = ("SELECT 1 AS n, 'a'::text AS word, now() AS at, 1.5::numeric AS price,"
             " '{}'::json AS doc, NULL AS nothing, 'x'::bytea")
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        ours = raw.cursor()
        ours.execute(query)
        theirs = psycopg.Cursor(raw)
        theirs.execute(query)
        assert [type(c) for c in ours.description] == [tuple] * 7
        assert [c[:2] for c in ours.description] == \
            [(c.name, c.type_code) for c in theirs.description]
        assert all(c[2:] == (None,) * 5 for c in ours.description)
        ours.execute("SET TIME ZONE 'UTC'")
        assert ours.description is None  # a command has no result columns
        row = connection.execute(text(query)).mappings().one()
        assert (row["n"], row["word"], row["doc"], row["nothing"]) == (1, "a", {}, None)


# --- the logged-in pages' own connections (asyncio, `db._pages_waiting_on_the_loop`) ----------

def on_a_page(engine, state, work):
    request = SimpleNamespace(method="GET", app=SimpleNamespace(state=state),
                              scope={"path": "/t/demo/"})
    return anyio.run(lambda: db.in_db(request, work, inline=True))


@pytest.fixture
def page_state(engine):
    state = SimpleNamespace(engine=engine, settings=Settings())
    yield state
    anyio.run(db.release_page_engine, state)


def page_backend(db_session) -> int:
    return db_session.connection().execute(text("SELECT pg_backend_pid()")).scalar()


@postgres_only
def test_a_pages_connection_that_died_while_idle_is_replaced_before_use(engine, page_state,
                                                                        monkeypatch):
    first = on_a_page(engine, page_state, page_backend)
    admin = create_engine(engine.url, poolclass=NullPool)
    with admin.connect() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    admin.dispose()
    monkeypatch.setattr(db, "IDLE_BEFORE_PING", 0.0)
    assert on_a_page(engine, page_state, page_backend) != first


@postgres_only
def test_a_pages_results_are_described_in_plain_tuples_too(engine, page_state):
    def described(db_session) -> tuple[list, dict]:
        connection = db_session.connection()
        cursor = connection.connection.dbapi_connection.cursor()
        cursor.execute("SELECT 1 AS n, 'a'::text AS word, now() AS at")
        row = connection.execute(text("SELECT 1 AS n, '{}'::json AS doc")).mappings().one()
        return list(cursor.description), dict(row)

    description, row = on_a_page(engine, page_state, described)
    assert [type(c) for c in description] == [tuple] * 3
    assert [c[0] for c in description] == ["n", "word", "at"]
    assert row == {"n": 1, "doc": {}}
