"""Moments are stored in UTC and come back as aware UTC datetimes, whatever zone they were
written in, the database's session is in, or the form SQLite holds them in (`models.UTCDateTime`
reads them in one step; anything unusual takes sqlmodel's own way)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from conftest import postgres_only, sqlite_only
from sqlalchemy import select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import asyncpg, psycopg
from sqlmodel import Session
from sqlmodel.sql.sqltypes import UTCDateTime as SqlmodelUTCDateTime

from widget_server.core.models import TIMESTAMPTZ, Reminder, UTCDateTime

BRATISLAVA = ZoneInfo("Europe/Bratislava")


def remember(engine, moment: datetime) -> int:
    with Session(engine) as db:
        row = Reminder(tenant="swim", kind="session", subject_id=1, moment=moment)
        db.add(row)
        db.commit()
        return row.id


def test_a_moment_written_in_a_local_zone_comes_back_the_same_instant_in_utc(engine):
    written = datetime(2026, 12, 1, 17, 30, 15, 250, tzinfo=BRATISLAVA)
    reminder = remember(engine, written)
    with Session(engine) as db:
        moment, created = db.exec(select(Reminder.moment, Reminder.created_at)
                                  .where(Reminder.id == reminder)).one()
        row = db.get(Reminder, reminder)
    assert moment == written and moment.tzinfo is UTC
    assert moment.hour == 16 and moment.microsecond == 250
    assert row.moment == written and row.moment.tzinfo is UTC
    assert created.tzinfo is UTC and abs(created - datetime.now(UTC)) < timedelta(minutes=5)


def test_every_datetime_column_reads_through_the_one_step_type():
    from sqlmodel import SQLModel
    kinds = {type(c.type) for t in SQLModel.metadata.tables.values() for c in t.columns
             if issubclass(type(c.type), SqlmodelUTCDateTime)}
    assert kinds == {UTCDateTime}


def test_sqlites_stored_forms_read_as_sqlmodel_reads_them():
    dialect = sqlite.dialect()
    fast = UTCDateTime()._cached_result_processor(dialect, None)
    general = SqlmodelUTCDateTime()._cached_result_processor(dialect, None)
    for stored in ("2026-12-01 10:00:00.000000", "2026-12-01 10:00:00.123456",
                   "2026-12-01 10:00:00", "2026-12-01 10:00", "2026-12-01T10:00:00",
                   "2026-12-01 10:00:00+01:00", "2026-12-01", None):
        assert fast(stored) == general(stored), stored
        if stored:
            assert fast(stored).tzinfo is UTC


@sqlite_only  # PostgreSQL keeps a timestamp, not text
def test_a_moment_stored_by_hand_in_another_form_still_reads(engine):
    reminder = remember(engine, datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    with engine.begin() as connection:
        connection.execute(text("UPDATE reminder SET moment = '2026-12-01 10:00' WHERE id = :id"),
                           {"id": reminder})
    with Session(engine) as db:
        assert db.get(Reminder, reminder).moment == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@postgres_only
def test_postgresql_connections_talk_in_utc(engine):
    with engine.connect() as connection:
        assert connection.execute(text("SHOW TIME ZONE")).scalar() == "UTC"


@postgres_only
def test_a_postgresql_session_in_another_zone_still_reads_utc(engine):
    written = datetime(2026, 6, 1, 8, 0, tzinfo=timezone.utc)
    reminder = remember(engine, written)
    with Session(engine) as db:
        db.connection().execute(text("SET TIME ZONE 'America/New_York'"))
        moment = db.scalar(select(Reminder.moment).where(Reminder.id == reminder))
        db.exec(update(Reminder).where(Reminder.id == reminder)
                .values(moment=datetime(2026, 6, 1, 12, 0, tzinfo=BRATISLAVA)))
        moved = db.scalar(select(Reminder.moment).where(Reminder.id == reminder))
    assert moment == written and moment.tzinfo is UTC
    assert moved == datetime(2026, 6, 1, 10, 0, tzinfo=UTC) and moved.tzinfo is UTC


def test_asyncpgs_time_stamps_with_a_zone_are_read_as_they_come():
    # asyncpg gives every `timestamptz` as an aware datetime in UTC already (its values, read
    # in another zone, in tests/core/test_db_asyncpg.py); psycopg's follow the connection's
    # zone, and a time stamp without a zone has none: those two are still converted.
    assert UTCDateTime().result_processor(asyncpg.dialect(), TIMESTAMPTZ) is None
    assert UTCDateTime().result_processor(psycopg.dialect(), TIMESTAMPTZ) is not None
    assert UTCDateTime().result_processor(asyncpg.dialect(), 1114) is not None


def test_a_moment_is_written_for_sqlite_as_sqlmodel_writes_it():
    """The one-step writing gives the text sqlmodel's own gives (what the stored values and
    every comparison with them rest on), and refuses what it refuses."""
    dialect = sqlite.dialect()
    fast = UTCDateTime()._cached_bind_processor(dialect)
    general = SqlmodelUTCDateTime()._cached_bind_processor(dialect)
    for moment in (datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
                   datetime(2026, 12, 1, 10, 0, 0, 250, tzinfo=UTC),
                   datetime(2026, 12, 1, 10, 0, 0, 999_999, tzinfo=timezone.utc),
                   datetime(2026, 12, 1, 11, 0, tzinfo=BRATISLAVA),
                   datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("UTC")),
                   datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC), None):
        assert fast(moment) == general(moment), moment
    assert fast(datetime(2026, 12, 1, 10, 0, 0, 250, tzinfo=UTC)) == "2026-12-01 10:00:00.000250"
    naive = datetime(2026, 12, 1, 10, 0)
    for write in (fast, general):
        with pytest.raises(ValueError):
            write(naive)
