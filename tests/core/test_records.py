"""Pages read rows as records past the ORM (core.records): the same values under the same
names as the models, None for what an outer join did not find, nothing a page could change by
mistake, and what the session was about to write already visible."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Integer, String, bindparam, cast, event, func
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.orm import aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlmodel import select

from widget_server.core import access as scope
from widget_server.core.access import Access
from widget_server.core.db import session_scope
from widget_server.core.models import Attendee, Client, Programme
from widget_server.core.records import Shape, Some

BORN = datetime(2020, 5, 1).date()


@pytest.fixture
def family(engine):
    """One client with a child, and a second client with no children."""
    with session_scope(engine) as db:
        ann = Client(tenant="demo", external_id="c1", email="ann@example.com", name="Ann Lee",
                     notifications={"reminders": True})
        bob = Client(tenant="demo", external_id="c2", email="bob@example.com", name="Bob Roe")
        db.add_all([ann, bob])
        db.flush()
        db.add(Attendee(tenant="demo", external_id="a1", client_id=ann.id, name="Leo Lee",
                        birth_date=BORN))
        return ann.id, bob.id


def test_a_record_reads_like_the_model_and_cannot_be_changed(engine, family):
    shape = Shape(Client, Attendee.name)
    statement = shape.select().join(Attendee, Attendee.client_id == Client.id).where(
        Client.tenant == bindparam("tenant"))
    with session_scope(engine) as db:
        [(client, child)] = shape.rows(db, statement, {"tenant": "demo"})
        orm = db.get(Client, family[0])
        for column in Client.__table__.columns:  # every column, with the ORM's value and type
            assert getattr(client, column.key) == getattr(orm, column.key), column.key
    assert client.notifications == {"reminders": True} and child == "Leo Lee"
    assert client.created_at.tzinfo is not None  # stored UTC, read back aware, as the ORM does
    with pytest.raises(AttributeError):
        client.name = "Someone else"


def test_some_columns_of_a_model_read_back_as_a_record_of_just_those(engine, family):
    """A page that reads many rows and shows a few columns of each reads only those: the
    statement names no other column, and the record has no other attribute."""
    shape = Shape(Some(Client, "id name created_at"), Attendee.name)
    statement = shape.select().join(Attendee, Attendee.client_id == Client.id)
    assert [c.key for c in statement.selected_columns] == ["id", "name", "created_at", "name"]
    with session_scope(engine) as db:
        [(client, child)] = shape.rows(db, statement, {})
        orm = db.get(Client, family[0])
    assert (client.id, client.name, client.created_at) == (orm.id, "Ann Lee", orm.created_at)
    assert client.created_at.tzinfo is not None and child == "Leo Lee"
    assert not hasattr(client, "email") and not hasattr(client, "updated_at")


def test_what_an_outer_join_did_not_find_is_none(engine, family):
    child = aliased(Attendee)
    shape = Shape(Client, child)
    statement = (shape.select().outerjoin(child, child.client_id == Client.id)
                 .order_by(Client.external_id))
    with session_scope(engine) as db:
        rows = shape.rows(db, statement, {})
    assert [(c.name, a.name if a else None) for c, a in rows] == [("Ann Lee", "Leo Lee"),
                                                                   ("Bob Roe", None)]


def test_what_the_session_holds_is_written_before_reading(engine, family):
    shape = Shape(Programme)
    with session_scope(engine) as db:
        db.add(Programme(tenant="demo", external_id="p1", name="Otters"))
        found = shape.first(db, shape.select().where(Programme.external_id == "p1"), {})
    assert found is not None and found[0].name == "Otters"
    with session_scope(engine) as db:
        assert shape.first(db, shape.select().where(Programme.external_id == "p9"), {}) is None


def _members(who):
    return select(Attendee).where(scope.family(Attendee, who)).order_by(Attendee.id)


def _counts(who):
    return select(Attendee.external_id, func.length(Attendee.name)).where(
        scope.family(Attendee, who))


def test_a_page_statement_gives_records_as_the_session_would_give_objects(engine, family):
    """`scope.run`: one thing selected gives the things, several give tuples."""
    ann = Access("demo", "ann@example.com", family[0])
    with session_scope(engine) as db:
        [leo] = scope.run(db, _members, ann)
        [(ref, letters)] = scope.run(db, _counts, ann)
        assert scope.run(db, _members, Access("demo", "bob@example.com", family[1])) == []
    assert (leo.name, leo.birth_date, ref, letters) == ("Leo Lee", BORN, "a1", 7)
    assert not isinstance(leo, Attendee)  # nothing a page could add to a session by mistake



# --- a statement run again goes straight to the driver ---------------------------------------

@pytest.fixture
def sqlalchemy_runs(monkeypatch) -> list[object]:
    """Every statement run through SQLAlchemy's `Connection.execute` from now on."""
    runs: list[object] = []
    execute = Connection.execute

    def counted(self, statement, *args, **kwargs):
        runs.append(statement)
        return execute(self, statement, *args, **kwargs)

    monkeypatch.setattr(Connection, "execute", counted)
    return runs


def test_a_statement_run_again_is_compiled_once_and_reads_the_same(engine, family,
                                                                    sqlalchemy_runs):
    """The first run takes SQLAlchemy's path; later ones send the SQL compiled then to the
    driver, with the same parameters converted and the same values read back."""
    shape = Shape(Client, Attendee.birth_date, Attendee.client_id.is_(None))
    statement = shape.select().outerjoin(Attendee, Attendee.client_id == Client.id).where(
        Client.tenant == bindparam("tenant"), Client.created_at < bindparam("before"),
        Client.email.in_(["ann@example.com", "bob@example.com"])).order_by(Client.email)
    later = datetime.now(timezone.utc) + timedelta(days=1)
    with session_scope(engine) as db:
        runs = [shape.rows(db, statement, {"tenant": "demo", "before": later})
                for _ in range(3)]
        orm = [db.get(Client, id) for id in family]
        assert shape.rows(db, statement, {"tenant": "demo", "before": later - timedelta(
            days=400)}) == []  # the parameter converted, not compared as it was given
    assert [s for s in sqlalchemy_runs if s is statement] == [statement]  # the first run only
    assert runs[0] == runs[1] == runs[2]
    (ann, born, alone), (bob, none_born, bob_alone) = runs[2]
    for record, model in ((ann, orm[0]), (bob, orm[1])):
        for column in Client.__table__.columns:
            assert getattr(record, column.key) == getattr(model, column.key), column.key
    assert ann.notifications == {"reminders": True} and ann.created_at.tzinfo is not None
    assert (born, alone, none_born, bob_alone) == (BORN, False, None, True)
    assert type(alone) is bool  # SQLite answers 0 or 1: the type reads it back


def test_a_list_to_expand_is_expanded_on_every_run(engine, family):
    shape = Shape(Client.external_id)
    statement = shape.select().where(Client.tenant == "demo",
                                     Client.external_id.in_(bindparam("refs"))).order_by(
        Client.external_id)
    with session_scope(engine) as db:
        found = [[ref for ref, in shape.rows(db, statement, {"refs": refs})]
                 for refs in (["c1"], ["c1", "c2"], ["c2", "c9", "c1"], [], ["c2"])]
    assert found == [["c1"], ["c1", "c2"], ["c1", "c2"], [], ["c2"]]


def test_a_list_is_expanded_once_per_length_with_the_values_of_each_run(engine, family,
                                                                        monkeypatch):
    """The expanded form of a statement depends only on its lists' lengths: SQLAlchemy works
    it out once per lengths, and each run binds its own values into it (converted by their
    types, the statement's own constants too)."""
    worked_out = []
    original = SQLCompiler.construct_expanded_state

    def spy(compiled, params=None, *args, **kwargs):
        worked_out.append(tuple(len(v) for k, v in sorted((params or {}).items())
                                if isinstance(v, list)))
        return original(compiled, params, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "construct_expanded_state", spy)
    shape = Shape(Client.external_id)
    statement = shape.select().where(
        Client.tenant == bindparam("tenant"), Client.created_at < bindparam("before"),
        Client.email.in_(["ann@example.com", "bob@example.com"]),
        Client.external_id.in_(bindparam("refs"))).order_by(Client.external_id)
    later = datetime.now(timezone.utc) + timedelta(days=1)
    earlier = later - timedelta(days=400)
    runs = [(["c1"], later), (["c2"], later), (["c2", "c1"], later), (["c1", "c9"], later),
            (["c1"], earlier), ([], later), (["c2"], later), (["c1", "c2"], earlier)]
    with session_scope(engine) as db:
        found = [[ref for ref, in shape.rows(db, statement, {"tenant": "demo", "refs": refs,
                                                             "before": before})]
                 for refs, before in runs]
    assert found == [["c1"], ["c2"], ["c1", "c2"], ["c1"], [], [], ["c2"], []]
    # The first run takes SQLAlchemy's own path; then once for each new length (1, 2, 0).
    assert sorted(set(worked_out)) == [(0,), (1,), (2,)]
    assert len(worked_out) <= 4


@pytest.mark.parametrize("fraction", [0, 250_000], ids=["whole second", "with a fraction"])
def test_a_moment_beside_a_list_compares_as_the_orm_compares_it(engine, family, fraction):
    """A date and time bound next to a list to expand (a page's "now" beside its ids) is
    converted by its type, as on every other path: at the very moment a row holds, `>=` finds
    it and `>` does not, as the ORM says. (SQLite compares the stored text; the driver's own
    default text for the same moment sorted apart from it.)"""
    moment = datetime(2025, 3, 4, 16, 30, 0, fraction, tzinfo=timezone.utc)
    with session_scope(engine) as db:
        db.get(Client, family[0]).created_at = moment
    shape = Shape(Client.external_id)
    refs = Client.external_id.in_(bindparam("refs", expanding=True))
    at_or_after = shape.select().where(refs, Client.created_at >= bindparam("at"))
    after = shape.select().where(refs, Client.created_at > bindparam("at"))
    # The same lists over again: the first run takes SQLAlchemy's path, the next the form
    # worked out for their lengths; another statement whose list is worked out on each run.
    every_run = shape.select().where(
        Client.external_id.in_(bindparam("refs", expanding=True, literal_execute=True)),
        Client.created_at >= bindparam("at"))
    params = {"refs": ["c1"], "at": moment}
    with session_scope(engine) as db:
        found = [[ref for ref, in shape.rows(db, statement, params)]
                 for statement in (at_or_after, after, at_or_after, after, every_run, every_run)]
        orm = [db.exec(select(Client.external_id).where(
            Client.external_id == "c1", condition)).all() for condition in (
            Client.created_at >= moment, Client.created_at > moment)]
    assert orm == [["c1"], []]
    assert found == [["c1"], [], ["c1"], [], ["c1"], ["c1"]]


def test_listeners_see_the_statements_sent_straight_to_the_driver(engine, family):
    """What counts and EXPLAINs a page's statements (tests/test_query_plans.py) still sees
    every one of them."""
    shape = Shape(Client.external_id)
    statement = shape.select().where(Client.tenant == bindparam("tenant"))
    seen: list[tuple[str, object]] = []

    def note(conn, cursor, sql, parameters, context, executemany) -> None:
        seen.append((sql, parameters))

    event.listen(engine, "before_cursor_execute", note)
    try:
        with session_scope(engine) as db:
            for _ in range(3):
                shape.rows(db, statement, {"tenant": "demo"})
    finally:
        event.remove(engine, "before_cursor_execute", note)
    mine = [(sql, parameters) for sql, parameters in seen if "external_id" in sql]
    assert len(mine) == 3 and len({sql for sql, _ in mine}) == 1
    assert "demo" in str(mine[2][1])


def test_a_driver_error_on_the_direct_path_is_sqlalchemys_error(engine, family):
    """Callers (the retry of a page that met SQLite's write lock, the error pages) catch
    SQLAlchemy's exceptions: a statement sent past it raises them too."""
    if engine.dialect.name == "sqlite":  # a JSON path SQLite cannot read
        shape = Shape(func.json_extract(Client.notifications, bindparam("path")))
        good, bad = {"path": "$.reminders"}, {"path": "$[bad"}
    else:  # text PostgreSQL cannot read as a number
        shape = Shape(cast(bindparam("text", type_=String), Integer))
        good, bad = {"text": "1"}, {"text": "one"}
    statement = shape.select().select_from(Client).where(Client.tenant == "demo")
    with session_scope(engine) as db:
        shape.rows(db, statement, good)
        shape.rows(db, statement, good)
    with pytest.raises(DBAPIError) as raised, session_scope(engine) as db:
        shape.rows(db, statement, bad)
    assert isinstance(raised.value, OperationalError if engine.dialect.name == "sqlite"
                      else DataError)
    with session_scope(engine) as db:  # the connection still serves
        assert len(shape.rows(db, statement, good)) == 2


def test_a_connection_keeps_one_cursor_for_these_reads_until_it_is_replaced(engine, family):
    """psycopg sets up a new cursor's result loaders again (10 us a statement): the reads of
    a connection share one, and a connection the pool replaces starts with its own."""
    from widget_server.core import records

    shape = Shape(Client.external_id)
    statement = shape.select().where(Client.tenant == bindparam("tenant")).order_by(Client.id)
    with session_scope(engine) as db:
        for _ in range(3):
            assert shape.rows(db, statement, {"tenant": "demo"}) == [("c1",), ("c2",)]
        pooled = db.connection().connection
        kept = pooled.info[records._CURSOR]
        assert shape.rows(db, Shape(Attendee.name).select().where(
            Attendee.tenant == "demo"), {}) and pooled.info[records._CURSOR] is kept
        db.connection().invalidate()  # as after a lost connection
        db.rollback()
    with session_scope(engine) as db:
        assert shape.rows(db, statement, {"tenant": "demo"}) == [("c1",), ("c2",)]
        assert db.connection().connection.info[records._CURSOR] is not kept


def test_a_value_worked_out_at_each_run_is_worked_out_at_each_run(engine, family):
    tenant = {"now": "demo"}
    shape = Shape(Client.external_id)
    statement = shape.select().where(
        Client.tenant == bindparam("tenant", callable_=lambda: tenant["now"])).order_by(
        Client.external_id)
    found = []
    with session_scope(engine) as db:
        for name in ("demo", "other", "demo"):
            tenant["now"] = name
            found.append([ref for ref, in shape.rows(db, statement, {})])
    assert found == [["c1", "c2"], [], ["c1", "c2"]]


def test_json_columns_read_back_as_written_each_row_its_own_value(engine, monkeypatch):
    """An empty list is read without the JSON parser (most add-on columns hold one); every
    row still gets a list of its own, and other JSON reads as written."""
    addons = [[], [], [{"name": "Kit", "price": "5.00"}], {}]
    with session_scope(engine) as db:
        db.add_all([Programme(tenant="demo", external_id=f"p{n}", name="P", addons=value)
                    for n, value in enumerate(addons)])
    parsed = []
    loads = json.loads
    monkeypatch.setattr(json, "loads", lambda text, *a, **k: (parsed.append(text),
                                                               loads(text, *a, **k))[1])
    shape = Shape(Programme.external_id, Programme.addons)
    statement = shape.select().where(Programme.tenant == bindparam("tenant")) \
        .order_by(Programme.external_id)
    for _ in range(2):  # SQLAlchemy's path, then the direct one
        with session_scope(engine) as db:
            rows = shape.rows(db, statement, {"tenant": "demo"})
        assert [value for _, value in rows] == addons
        rows[0][1].append("changed")  # a page's list is its own
        assert rows[1][1] == []
    if engine.dialect.name == "sqlite":  # (psycopg parses PostgreSQL's JSON itself)
        assert len(parsed) == 4 and "[]" not in parsed  # the kit list and {}, twice


def test_a_row_read_alone_reads_as_it_does_among_many(engine, family):
    """A page's visitor and its booking come one row a statement, a few rows each, converted
    row by row; many rows are converted column by column: the same values and types."""
    with session_scope(engine) as db:
        db.add_all([Client(tenant="demo", external_id=f"m{n}", email=f"m{n}@example.com",
                           name="M", notify_whatsapp=n % 2 == 0) for n in range(10)])
    shape = Shape(Client, Attendee.birth_date, Attendee.client_id.is_(None))
    statement = shape.select().outerjoin(Attendee, Attendee.client_id == Client.id).where(
        Client.tenant == bindparam("tenant"),
        Client.email.in_(bindparam("emails", expanding=True))).order_by(Client.email)
    emails = ["ann@example.com", "bob@example.com", *(f"m{n}@example.com" for n in range(10))]
    with session_scope(engine) as db:
        for _ in range(2):  # SQLAlchemy's path, then the direct one
            together = shape.rows(db, statement, {"tenant": "demo", "emails": emails})
            alone = [shape.rows(db, statement, {"tenant": "demo", "emails": [email]})[0]
                     for email in sorted(emails)]
            assert alone == together and len(alone) == 12
    (ann, born, without), (bob, _, bob_without) = alone[:2]
    assert ann.created_at.tzinfo is not None and ann.notifications == {"reminders": True}
    assert (born, without, bob_without) == (BORN, False, True) and type(without) is bool
    assert [type(client.notify_whatsapp) for client, _, _ in alone] == [bool] * 12
