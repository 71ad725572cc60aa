"""A pooled PostgreSQL connection that died while idle (server restart, idle timeout) is
replaced before a request uses it; a connection in constant use is not pinged first (a round
trip per request)."""

from __future__ import annotations

import pytest
from conftest import postgres_only
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

import widget_server.core.db as db


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
