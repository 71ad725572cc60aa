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
