"""A logged-in page reads its session and the session's client in one statement: only a live
session of this tenant counts, the client only if it is this tenant's, and the expiry slides
without a write on every page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from widget_server.core.access import Identity
from widget_server.core.db import session_scope
from widget_server.core.models import Attendee, Client, WebSession
from widget_server.web import web_sessions

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@pytest.fixture
def clients(engine) -> dict[str, int]:
    with session_scope(engine) as db:
        ann = Client(tenant="demo", external_id="c1", email="ann@example.com", name="Ann Lee")
        other = Client(tenant="demo-sk", external_id="c1", email="ann@example.com",
                       name="Anna Lee")
        db.add_all([ann, other])
        db.flush()
        return {"demo": ann.id, "demo-sk": other.id}


def start(engine, tenant: str, client_id: int | None) -> str:
    with session_scope(engine) as db:
        return web_sessions.start(db, tenant, Identity("ann@example.com", client_id), NOW)


def test_a_session_comes_with_its_client(engine, clients):
    sid = start(engine, "demo", clients["demo"])
    with session_scope(engine) as db:
        session, client, shares = web_sessions.load_with_client(db, "demo", sid, NOW)
    assert session.email == "ann@example.com" and client.name == "Ann Lee"
    assert shares is False  # no booking is shared with Ann: her pages read her family alone


def test_another_tenants_session_or_client_is_nobody(engine, clients):
    sid = start(engine, "demo", clients["demo"])
    foreign = start(engine, "demo", clients["demo-sk"])  # a client id of another tenant
    with session_scope(engine) as db:
        assert web_sessions.load_with_client(db, "demo-sk", sid, NOW) == (None, None, True)
        session, client, _ = web_sessions.load_with_client(db, "demo", foreign, NOW)
        assert session is not None and client is None
        assert web_sessions.load_with_client(db, "demo", None, NOW) == (None, None, True)
        assert web_sessions.load_with_client(db, "demo", "made-up", NOW) == (None, None, True)


def test_an_adult_a_booking_is_shared_with_has_a_session_but_no_client(engine, clients):
    sid = start(engine, "demo", None)
    with session_scope(engine) as db:
        session, client, _ = web_sessions.load_with_client(db, "demo", sid, NOW)
    assert session is not None and client is None


def test_home_and_progress_read_the_familys_own_members_with_the_session(engine, clients):
    """In the order the provider added them, names as they are (quotes, commas, accents), and
    no one of another family or another school's."""
    with session_scope(engine) as db:
        neighbour = Client(tenant="demo", external_id="c2", email="bo@example.com", name="Bo")
        db.add(neighbour)
        db.flush()
        db.add_all([Attendee(tenant="demo", external_id="a-zoe", client_id=clients["demo"],
                             name='Zoë "Zee" O\'Neil, Jr.'),
                    Attendee(tenant="demo", external_id="a-bo", client_id=neighbour.id,
                             name="Bo Junior"),
                    Attendee(tenant="demo-sk", external_id="a-anna", client_id=clients["demo-sk"],
                             name="Anička"),
                    Attendee(tenant="demo", external_id="a-ben", client_id=clients["demo"],
                             name="Ben, the elder")])
    sid = start(engine, "demo", clients["demo"])
    foreign = start(engine, "demo", clients["demo-sk"])  # a client id of another school's
    shared = start(engine, "demo", None)  # an adult a booking is shared with
    with session_scope(engine) as db:
        session, client, shares, members = web_sessions.load_with_family(db, "demo", sid, NOW)
        assert (session.email, client.name, shares) == ("ann@example.com", "Ann Lee", False)
        assert members == [("a-zoe", 'Zoë "Zee" O\'Neil, Jr.'), ("a-ben", "Ben, the elder")]
        session, client, _, members = web_sessions.load_with_family(db, "demo", foreign, NOW)
        assert session is not None and client is None and members == []
        session, client, _, members = web_sessions.load_with_family(db, "demo", shared, NOW)
        assert session is not None and client is None and members == []
        assert web_sessions.load_with_family(db, "demo", "made-up", NOW) == (None, None, True, [])


def test_the_expiry_slides_only_every_few_minutes(engine, clients):
    sid = start(engine, "demo", clients["demo"])

    def stored() -> datetime:
        with session_scope(engine) as db:
            return db.exec(select(WebSession.expires_at)).one()

    first = stored()
    with session_scope(engine) as db:
        web_sessions.load_with_client(db, "demo", sid, NOW + timedelta(minutes=2))
    assert stored() == first  # not yet: no write on every page
    later = NOW + web_sessions.TOUCH_EVERY + timedelta(minutes=1)
    with session_scope(engine) as db:
        session, *_ = web_sessions.load_with_client(db, "demo", sid, later)
    assert session.expires_at == later + web_sessions.IDLE_LIFETIME
    assert stored() == later + web_sessions.IDLE_LIFETIME


def test_an_expired_or_ended_session_is_nobody(engine, clients):
    sid = start(engine, "demo", clients["demo"])
    with session_scope(engine) as db:
        assert web_sessions.load(db, "demo", sid, NOW + web_sessions.IDLE_LIFETIME
                                 + timedelta(seconds=1)) is None
        web_sessions.end(db, "demo", sid, NOW)
    with session_scope(engine) as db:
        assert web_sessions.load_with_client(db, "demo", sid, NOW) == (None, None, True)
