"""Pages read rows as records past the ORM (core.records): the same values under the same
names as the models, None for what an outer join did not find, nothing a page could change by
mistake, and what the session was about to write already visible."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import bindparam, func
from sqlalchemy.orm import aliased
from sqlmodel import select

from widget_server.core import access as scope
from widget_server.core.access import Access
from widget_server.core.db import session_scope
from widget_server.core.models import Attendee, Client, Programme
from widget_server.core.records import Shape

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

