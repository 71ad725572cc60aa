"""Initial loads arrive as newline-delimited JSON; good lines are kept, bad ones explained."""

from __future__ import annotations

import gc
import json
import re
from contextlib import contextmanager
from dataclasses import replace

import pytest
from conftest import Api, postgres_only, sqlite_only
from profile_support import counting_statements
from samples import BASE, PDF
from sqlalchemy import event, func, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select
from starlette.testclient import TestClient

from widget_server.api.bulk_import import import_lines
from widget_server.api.resources import RESOURCES
from widget_server.app import create_app
from widget_server.core.db import session_scope
from widget_server.core.errors import field_error
from widget_server.core.models import Client


def ndjson(*lines) -> str:
    return "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"


def line(resource: str, external_id: str | None, **fields) -> dict:
    item = {"id": external_id, **fields} if external_id is not None else fields
    return {"resource": resource, "item": item}


def ok(number: int, status: str, resource: str, external_id: str) -> dict:
    return {"status": status, "resource": resource, "id": external_id, "line": number}


def bad(number: int, resource: str | None, external_id: str | None, path: list,
        reason: str) -> dict:
    return {"status": "error", "resource": resource, "id": external_id,
            "errors": [field_error(path, reason)], "line": number}


def test_every_resource_imports_in_one_go(api):
    body = ndjson(*[{"resource": r, "item": {"id": i, **b}} for r, i, b in BASE])
    report = api.import_ndjson(body).json()
    assert report["imported"] == len(BASE)
    assert report["failed"] == 0
    for resource, external_id, _ in BASE:
        assert api.get(resource, external_id).status_code == 200
    again = api.import_ndjson(body).json()
    assert {r["status"] for r in again["results"]} == {"updated"}
    assert len(api.get("clients").json()["items"]) == 1


def test_mixed_good_and_bad_lines(api):
    body = ndjson(
        {"resource": "clients", "item": {"id": "c1", "email": "a@example.com", "name": "A"}},
        "{broken json",
        {"resource": "clients", "item": {"id": "c2", "email": "not-an-email", "name": "B"}},
        {"resource": "gadgets", "item": {"id": "g1"}},
        {"resource": "attendees", "item": {"id": "a1", "client_id": "c1", "name": "Kid"}},
        {"resource": "attendees", "item": {"id": "a2", "client_id": "ghost", "name": "Kid"}},
        {"resource": "clients", "item": {"email": "x@example.com", "name": "No id"}},
        {"resource": "clients", "item": {"id": "c3", "email": "a@example.com", "name": "Dup"}},
        {"resource": "clients", "item": {"id": "c4", "email": "d@example.com", "name": "D"}},
    )
    response = api.import_ndjson(body)
    assert response.status_code == 200
    report = response.json()
    assert report["imported"] == 3
    assert report["failed"] == 6
    by_line = {r["line"]: r for r in report["results"]}
    assert by_line[1]["status"] == "created"
    assert "malformed JSON" in by_line[2]["errors"][0]["reason"]
    assert by_line[3]["errors"][0]["field"] == "item.email"
    assert by_line[4]["errors"][0] == {"field": "resource", "path": ["resource"],
                                       "reason": "unknown resource 'gadgets'"}
    assert by_line[5]["status"] == "created"
    assert by_line[6]["errors"][0]["field"] == "item.client_id"
    assert by_line[7]["errors"][0]["field"] == "item.id"
    assert by_line[8]["errors"][0]["reason"] == "already used by client 'c1'"
    assert by_line[9]["status"] == "created"
    ids = [c["id"] for c in api.get("clients").json()["items"]]
    assert ids == ["c1", "c4"]


def test_batches_commit_as_they_go(settings, monkeypatch):
    import widget_server.api.bulk_import as bulk

    # No outbox sender in this app, so every commit counted is the import's own.
    app = create_app(replace(settings, send_in_process=False))
    api = Api(TestClient(app))
    commits = []
    event.listen(app.state.engine, "commit", lambda connection: commits.append(1))
    monkeypatch.setattr(bulk, "BATCH_SIZE", 2)
    lines = [{"resource": "clients", "item": {"id": f"c{n}", "email": f"p{n}@example.com",
                                              "name": f"P{n}"}} for n in range(5)]
    report = api.import_ndjson(ndjson(*lines)).json()
    assert report["imported"] == 5
    assert len(commits) == 3  # 2 + 2 + 1
    assert len(api.get("clients").json()["items"]) == 5


def test_the_collector_rests_while_a_batch_is_read_and_written(app, monkeypatch):
    """Reference counting frees what a line leaves behind; the cyclic collector's walks over
    a batch's objects cost an import about a tenth of its time. It is off while a batch's
    lines are read, checked and written, and on again when the import ends, even a failed one."""
    import widget_server.api.bulk_import as bulk

    monkeypatch.setattr(bulk, "BATCH_SIZE", 2)
    collecting = []

    def lines(fail_at: int | None = None):
        for n in range(5):
            collecting.append(gc.isenabled())
            if n == fail_at:
                raise OSError("the upload broke off")
            yield json.dumps({"resource": "clients", "item": {
                "id": f"c{n}", "email": f"p{n}@example.com", "name": f"P{n}"}})

    assert gc.isenabled()
    with session_scope(app.state.engine) as session:
        report = import_lines(session, "demo", lines())
    assert report["imported"] == 5
    assert collecting == [False] * 5 and gc.isenabled()
    with pytest.raises(OSError), session_scope(app.state.engine) as session:
        import_lines(session, "demo", lines(fail_at=3))
    assert gc.isenabled()


@sqlite_only
def test_a_parent_can_write_while_an_import_reads_its_next_lines(app, monkeypatch):
    """SQLite lets one writer in at a time. An import takes the write lock for a batch's
    writes only, not while it reads and checks the lines of the next batch, so a parent's
    change (here a writer that will not wait at all) gets in between two batches."""
    import sqlite3

    import widget_server.api.bulk_import as bulk

    monkeypatch.setattr(bulk, "BATCH_SIZE", 2)
    other = sqlite3.connect(app.state.engine.url.database, timeout=0, isolation_level=None)
    got_in = []

    def lines():
        for n in range(5):
            if n == 3:  # the first batch (c0, c1) is written; c2 is being read
                other.execute("BEGIN IMMEDIATE")
                other.execute("COMMIT")
                got_in.append(n)
            yield json.dumps({"resource": "clients", "item": {
                "id": f"c{n}", "email": f"p{n}@example.com", "name": f"P{n}"}})

    try:
        with session_scope(app.state.engine) as session:
            report = import_lines(session, "demo", lines())
    finally:
        other.close()
    assert report["imported"] == 5 and got_in == [3]


@postgres_only
def test_the_server_writes_a_batch_while_the_next_lines_are_read(app, monkeypatch):
    """On PostgreSQL a batch's writes are sent without waiting for them: while the server
    writes one batch (here slowly: the first batch's second client takes half a second),
    the import already reads and checks the lines of the next."""
    import widget_server.api.bulk_import as bulk

    monkeypatch.setattr(bulk, "BATCH_SIZE", 2)
    engine = app.state.engine
    with engine.begin() as connection:
        connection.execute(text("""
            CREATE FUNCTION test_slow_write() RETURNS trigger AS $$
            BEGIN
              IF NEW.external_id = 'c1' THEN PERFORM pg_sleep(0.5); END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql"""))
        connection.execute(text("CREATE TRIGGER test_slow_write BEFORE INSERT ON client "
                                "FOR EACH ROW EXECUTE FUNCTION test_slow_write()"))
    writing = []

    def lines():
        for n in range(4):
            if n == 3:  # c0 and c1 were sent as the first batch; c2 is read, c3 next
                with engine.connect() as other:
                    writing.extend(other.execute(text(
                        "SELECT state FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
                        " AND query LIKE 'INSERT INTO client %'")).scalars())
            yield json.dumps({"resource": "clients", "item": {
                "id": f"c{n}", "email": f"p{n}@example.com", "name": f"P{n}"}})

    try:
        with session_scope(engine) as session:
            report = import_lines(session, "demo", lines())
    finally:
        with engine.begin() as connection:
            connection.execute(text("DROP TRIGGER test_slow_write ON client"))
            connection.execute(text("DROP FUNCTION test_slow_write()"))
    assert report["imported"] == 4
    assert writing == ["active"]


@postgres_only
def test_a_failure_while_a_batch_is_on_its_way_leaves_the_connection_as_it_was(app,
                                                                                monkeypatch):
    """Reading the lines fails while the server still writes the batch before (sent in
    psycopg's pipeline mode): that batch is rolled back with the rest, and the connection
    goes back to the pool out of pipeline mode, fit for the next request."""
    import widget_server.api.bulk_import as bulk

    monkeypatch.setattr(bulk, "BATCH_SIZE", 2)
    engine = app.state.engine

    used = []

    def lines():
        for n in range(2):
            yield json.dumps({"resource": "clients", "item": {
                "id": f"c{n}", "email": f"p{n}@example.com", "name": f"P{n}"}})
        used.append(session.connection().connection.dbapi_connection)
        assert used[0].pgconn.pipeline_status != 0  # the first batch is on its way
        raise OSError("the upload broke off")

    with Session(engine) as session:
        try:
            import_lines(session, "demo", lines())
        except OSError:
            # Out of pipeline mode as the error leaves the import: not later, when Python
            # collects the pipeline (the connection may be someone else's by then).
            assert used[0].pgconn.pipeline_status == 0
            session.rollback()
        else:
            pytest.fail("the import went on without its lines")
    with engine.connect() as connection:
        assert connection.execute(text(
            "SELECT count(*) FROM client WHERE tenant = 'demo'")).scalar() == 0


def test_import_is_scoped_to_the_key_tenant(api):
    api.import_ndjson(ndjson({"resource": "clients",
                              "item": {"id": "c1", "email": "a@example.com", "name": "A"}}))
    assert api.as_tenant("demo-sk").get("clients", "c1").status_code == 404


def test_import_requires_a_key(client):
    assert client.post("/api/v1/import", content=b"{}").status_code == 401


@pytest.mark.postgres
def test_a_batch_that_fails_leaves_no_row_of_it(app, monkeypatch):
    """A batch is all or nothing on every database: when the server fails in the middle of
    one (here: the database goes away while writing its second line), the lines before it in
    that batch are not kept, while the batches already committed are."""
    import widget_server.api.bulk_import as bulk

    monkeypatch.setattr(bulk, "BATCH_SIZE", 3)
    lines = [json.dumps({"resource": "clients", "item": {
        "id": f"c{n}", "email": f"p{n}@example.com", "name": f"P{n}"}}) for n in range(6)]
    with database_going_away_at_client(app, "c4") as gone:
        with pytest.raises(gone), session_scope(app.state.engine) as session:
            bulk.import_lines(session, "demo", lines)
    with Session(app.state.engine) as session:
        stored = set(session.exec(select(Client.external_id).where(Client.tenant == "demo")))
    assert stored == {"c0", "c1", "c2"}


@contextmanager
def database_going_away_at_client(app, external_id: str):
    """The database fails while it writes this client; yields the error the import meets.
    On PostgreSQL the failure is the server's own (a batch's writes are sent in psycopg's
    pipeline, not through SQLAlchemy's statement hooks); on SQLite, a hook's."""
    engine = app.state.engine
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text(f"""
                CREATE FUNCTION test_goes_away() RETURNS trigger AS $$
                BEGIN
                  IF NEW.external_id = '{external_id}' THEN
                    RAISE EXCEPTION 'the database went away' USING ERRCODE = 'admin_shutdown';
                  END IF;
                  RETURN NEW;
                END $$ LANGUAGE plpgsql"""))
            connection.execute(text("CREATE TRIGGER test_goes_away BEFORE INSERT ON client "
                                    "FOR EACH ROW EXECUTE FUNCTION test_goes_away()"))
        try:
            yield OperationalError
        finally:
            with engine.begin() as connection:
                connection.execute(text("DROP TRIGGER test_goes_away ON client"))
                connection.execute(text("DROP FUNCTION test_goes_away()"))
        return

    def goes_away(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("INSERT INTO client ") and re.search(
                rf"""['"]{external_id}['"]""", repr(parameters)):
            raise RuntimeError("the database went away")

    event.listen(engine, "before_cursor_execute", goes_away)
    try:
        yield RuntimeError
    finally:
        event.remove(engine, "before_cursor_execute", goes_away)


def mixed_lines() -> list:
    """Created, updated, invalid, and forward and backward references, all in one batch."""
    c1 = {"email": "c1@example.com", "name": "First"}
    order = {"client_id": "c1", "ordered_at": "2026-11-01T10:00:00Z", "currency": "GBP"}
    uses = [{"used_at": "2026-11-10T09:00:00Z", "session_id": "s1"}]
    return [
        line("clients", "c1", **c1),  # 1
        line("clients", "old", email="old@example.com", name="Renamed"),
        "{broken json",
        line("attendees", "a1", client_id="c1", name="Kid"),
        line("attendees", "a2", client_id="c9", name="Too early"),  # 5: c9 comes on line 6
        line("clients", "c9", email="c9@example.com", name="Nine"),
        line("attendees", "a3", client_id="old", name="Stored parent"),
        line("clients", "c2", email="taken@example.com", name="Dup e-mail"),
        line("clients", "c1", **c1 | {"name": "First, renamed"}),
        line("clients", "c3", email="not-an-email", name="Bad"),  # 10
        line("bookings", "b1", client_id="c1", attendee_id="a2", programme_id="p-old"),
        line("bookings", "b2", client_id="c1", attendee_id="a1", programme_id="p-new"),
        line("programmes", "p-new", name="Dolphins"),
        line("orders", "o1", **order, items=[{"name": "Cap", "unit_price": 500},
                                             {"name": "Towel", "unit_price": 150}]),
        line("entry-passes", "e1", client_id="c1", name="Pass", total_entries=5, uses=uses),
        line("sessions", "s1", programme_id="p-new", starts_at="2026-12-05T09:00:00Z",
             ends_at="2026-12-05T09:45:00Z"),
        line("entry-passes", "e2", client_id="c9", name="Pass", total_entries=5,
             programme_id="p-new", uses=uses),
        line("clients", "taken", email="free@example.com", name="Moved"),
        line("clients", "c4", email="taken@example.com", name="Takes it over"),
        line("gadgets", "g1"),  # 20
        line("clients", None, email="x@example.com", name="No id"),
        line("attendees", "a1", client_id="c1", name=""),
        "",
        line("bookings", "b3", client_id="c1", attendee_id="a1", programme_id="p-new"),
        line("invoices", "i1", client_id="c1", number="INV-1", issue_date="2026-11-02",
             pdf_base64=PDF),  # 25
        line("orders", "o1", **order, items=[{"name": "Goggles", "unit_price": 900}]),
        line("programmes", "p-old", name="Old, unchanged"),
        line("attendees", "a4", client_id="c2", name="Parent refused"),
    ]


def store_before_mixed_lines(api) -> None:
    api.put("clients", "old", {"email": "old@example.com", "name": "Old"})
    api.put("clients", "taken", {"email": "taken@example.com", "name": "Taken"})
    api.put("programmes", "p-old", {"name": "Old, unchanged"})


def test_a_mixed_file_is_answered_line_by_line(api):
    """What one upsert per line in file order answered (recorded from that path)."""
    store_before_mixed_lines(api)
    report = api.import_ndjson(ndjson(*mixed_lines())).json()
    assert report["results"] == [
        ok(1, "created", "clients", "c1"),
        ok(2, "updated", "clients", "old"),
        bad(3, None, None, [], "malformed JSON: Expecting property name enclosed in double "
            "quotes at column 2"),
        ok(4, "created", "attendees", "a1"),
        bad(5, "attendees", "a2", ["item", "client_id"], "no clients item with id 'c9'"),
        ok(6, "created", "clients", "c9"),
        ok(7, "created", "attendees", "a3"),
        bad(8, "clients", "c2", ["item", "email"], "already used by client 'taken'"),
        ok(9, "updated", "clients", "c1"),
        bad(10, "clients", "c3", ["item", "email"],
            "value is not a valid email address: An email address must have an @-sign."),
        bad(11, "bookings", "b1", ["item", "attendee_id"], "no attendees item with id 'a2'"),
        bad(12, "bookings", "b2", ["item", "programme_id"],
            "no programmes item with id 'p-new'"),
        ok(13, "created", "programmes", "p-new"),
        ok(14, "created", "orders", "o1"),
        bad(15, "entry-passes", "e1", ["item", "uses", 0, "session_id"],
            "no sessions item with id 's1'"),
        ok(16, "created", "sessions", "s1"),
        ok(17, "created", "entry-passes", "e2"),
        ok(18, "updated", "clients", "taken"),
        ok(19, "created", "clients", "c4"),
        bad(20, "gadgets", None, ["resource"], "unknown resource 'gadgets'"),
        bad(21, "clients", None, ["item", "id"], "required (the provider's id)"),
        bad(22, "attendees", "a1", ["item", "name"], "String should have at least 1 character"),
        ok(24, "created", "bookings", "b3"),
        ok(25, "created", "invoices", "i1"),
        ok(26, "updated", "orders", "o1"),
        ok(27, "updated", "programmes", "p-old"),
        bad(28, "attendees", "a4", ["item", "client_id"], "no clients item with id 'c2'"),
    ]
    assert (report["imported"], report["failed"]) == (16, 11)
    clients = {c["id"]: c for c in api.get("clients").json()["items"]}
    assert {i: (c["email"], c["name"]) for i, c in clients.items()} == {
        "old": ("old@example.com", "Renamed"), "taken": ("free@example.com", "Moved"),
        "c1": ("c1@example.com", "First, renamed"), "c9": ("c9@example.com", "Nine"),
        "c4": ("taken@example.com", "Takes it over")}
    assert api.get("attendees", "a1").json()["name"] == "Kid"
    assert [i["name"] for i in api.get("orders", "o1").json()["items"]] == ["Goggles"]
    assert api.get("entry-passes", "e2").json()["uses"][0]["session_id"] == "s1"


def test_the_set_write_answers_and_stores_as_the_line_by_line_path(api, monkeypatch):
    """The same files into two tenants, one batch by batch, the other line by line."""
    reports = import_both_ways(api, monkeypatch)
    assert reports["demo"] == reports["demo-sk"]
    for resource in RESOURCES:
        assert api.get(resource).json() == api.as_tenant("demo-sk").get(resource).json()


@sqlite_only
def test_the_set_write_stores_each_value_as_sqlalchemy_binds_it(app, api, monkeypatch):
    """SQLite takes a batch's rows as one JSON text: each value lands with the storage class
    and text that SQLAlchemy's own binding gives it on the line-by-line path (a time as
    text, a bool as 0 or 1, JSON as its text, a rate as a real)."""
    import_both_ways(api, monkeypatch)
    with app.state.engine.connect() as connection:
        for resource in RESOURCES.values():
            parent = resource.model.__table__
            tables = [(parent, parent)]
            if resource.children:
                child = resource.children.model.__table__
                tables.append((child, child.join(
                    parent, parent.c.id == child.c[resource.children.parent_column])))
            for table, joined in tables:
                # Ids and times differ between the tenants; their storage classes may not.
                kept = [c for c in table.c if c.name not in {"id", "tenant", "created_at",
                        "updated_at"} and not c.foreign_keys and not c.name.endswith("_id")]
                query = select(*[func.typeof(c) for c in table.c], *kept).select_from(joined)
                rows = {tenant: sorted(map(tuple, connection.execute(
                    query.where(parent.c.tenant == tenant))), key=repr)
                    for tenant in ("demo", "demo-sk")}
                assert rows["demo"] == rows["demo-sk"], table.name
                assert rows["demo"], f"no line of the files fills {table.name}"


def import_both_ways(api, monkeypatch) -> dict[str, list[dict]]:
    """`BASE` and `mixed_lines()` into the tenant demo through the set write, and into
    demo-sk line by line, in batches of 7; each tenant's reports."""
    import widget_server.api.bulk_import as bulk

    def line_by_line(session, tenant, batch, **context):
        if tenant == "demo-sk":
            raise IntegrityError("forced", None, Exception("forced"))
        return write_set(session, tenant, batch, **context)

    write_set = bulk._write_set
    monkeypatch.setattr(bulk, "_write_set", line_by_line)
    monkeypatch.setattr(bulk, "BATCH_SIZE", 7)
    base = ndjson(*[{"resource": r, "item": {"id": i, **b}} for r, i, b in BASE])
    reports = {}
    for tenant in ("demo", "demo-sk"):
        provider = api.as_tenant(tenant)
        store_before_mixed_lines(provider)
        mixed = ndjson(*mixed_lines())
        reports[tenant] = [provider.import_ndjson(body).json()
                           for body in (mixed, base, base + mixed)]
    return reports


def stored_client(app, external_id: str) -> Client:
    with Session(app.state.engine) as session:
        return session.exec(select(Client).where(Client.tenant == "demo",
                                                 Client.external_id == external_id)).one()


def test_the_same_id_twice_in_one_batch(app, api):
    """The later line wins; each line is answered as if written on its own."""
    api.put("clients", "old", {"email": "old@example.com", "name": "Old"})
    before = stored_client(app, "old")
    report = api.import_ndjson(ndjson(
        line("clients", "c1", email="c1@example.com", name="First"),
        line("clients", "c1", email="c1@example.com", name="Second"),
        line("clients", "old", email="old@example.com", name="Old"),
        line("clients", "c1", email="not-an-email", name="Third"),
    )).json()
    assert report["results"] == [
        ok(1, "created", "clients", "c1"), ok(2, "updated", "clients", "c1"),
        ok(3, "updated", "clients", "old"),
        bad(4, "clients", "c1", ["item", "email"],
            "value is not a valid email address: An email address must have an @-sign."),
    ]
    assert api.get("clients", "c1").json()["name"] == "Second"
    assert stored_client(app, "old").updated_at == before.updated_at  # nothing changed
    api.import_ndjson(ndjson(line("clients", "old", email="old@example.com", name="New"),
                             line("clients", "old", email="old@example.com", name="Old")))
    after = stored_client(app, "old")
    assert after.name == "Old" and after.updated_at != before.updated_at


def test_a_reference_to_an_id_created_earlier_in_the_batch(api):
    report = api.import_ndjson(ndjson(
        line("attendees", "a0", client_id="c1", name="Before its parent"),
        line("clients", "c1", email="c1@example.com", name="Parent"),
        line("programmes", "p1", name="Dolphins"),
        line("attendees", "a1", client_id="c1", name="Kid"),
        line("bookings", "b1", client_id="c1", attendee_id="a1", programme_id="p1"),
        line("payments", "pay1", client_id="c1", booking_id="b1", amount=100, currency="GBP"),
    )).json()
    assert report["results"] == [
        bad(1, "attendees", "a0", ["item", "client_id"], "no clients item with id 'c1'"),
        ok(2, "created", "clients", "c1"), ok(3, "created", "programmes", "p1"),
        ok(4, "created", "attendees", "a1"), ok(5, "created", "bookings", "b1"),
        ok(6, "created", "payments", "pay1"),
    ]
    assert api.get("payments", "pay1").json()["booking_id"] == "b1"


def test_a_batch_whose_set_write_breaks_a_constraint_is_answered_line_by_line(app, api):
    """A unique constraint the import does not check (added here) fails the batch's set
    write; the batch is then written line by line and only the offending line is refused."""
    unique_phone = "CREATE UNIQUE INDEX ux_test_client_phone ON client (tenant, phone)"
    with app.state.engine.begin() as connection:
        connection.execute(text(unique_phone))
    try:
        report = api.import_ndjson(ndjson(
            line("clients", "c1", email="c1@example.com", name="A", phone="+44 1"),
            line("attendees", "a1", client_id="c1", name="Kid"),
            line("clients", "c2", email="c2@example.com", name="B", phone="+44 1"),
            line("clients", "c3", email="c3@example.com", name="C", phone="+44 3"),
        )).json()
    finally:
        with app.state.engine.begin() as connection:
            connection.execute(text("DROP INDEX ux_test_client_phone"))
    assert report["results"] == [
        ok(1, "created", "clients", "c1"), ok(2, "created", "attendees", "a1"),
        bad(3, "clients", "c2", ["item"], "conflicts with stored data"),
        ok(4, "created", "clients", "c3"),
    ]
    assert [c["id"] for c in api.get("clients").json()["items"]] == ["c1", "c3"]


def store_a_booking(api) -> None:
    """Client c1's booking b1 of programme p1, whose sessions s1 and s2 are stored."""
    for resource, external_id, body in BASE:
        if resource in {"clients", "attendees", "programmes", "sessions", "bookings"}:
            api.put(resource, external_id, body)
    api.put("sessions", "s2", {"programme_id": "p1", "starts_at": "2026-12-12T09:00:00Z",
                               "ends_at": "2026-12-12T09:45:00Z"})


def attendance_lines(count: int) -> str:
    return ndjson(*[line("attendance", f"at{n}", booking_id="b1",
                         session_id=f"s{1 + n % 2}", status="expected") for n in range(count)])


def test_a_row_only_referenced_is_looked_up_once_per_import(app, api, monkeypatch):
    """Every batch of attendance refers to the same sessions: the import asks the database
    for their ids in its first batch only."""
    import widget_server.api.bulk_import as bulk

    store_a_booking(api)
    monkeypatch.setattr(bulk, "BATCH_SIZE", 2)
    with counting_statements(app) as statements:
        report = api.import_ndjson(attendance_lines(6)).json()
    assert report["imported"] == 6
    lookups = [sql for sql, _, _ in statements
               if re.search(r"FROM session\b", sql) and "external_id" in sql]
    assert len(lookups) == 1
    assert [a["session_id"] for a in api.get("attendance").json()["items"]] == ["s1", "s2"] * 3


def test_a_referenced_row_deleted_during_an_import_is_answered_line_by_line(app, api,
                                                                            monkeypatch):
    """The first batch looks session s2 up (for a line refused for its booking); s2 is then
    deleted. The next batch's set write, given s2's old id, fails its foreign key, and its
    lines are answered one by one; the batch after asks for s2 again."""
    import widget_server.api.bulk_import as bulk

    store_a_booking(api)
    monkeypatch.setattr(bulk, "BATCH_SIZE", 2)
    finish, batches = bulk._finish, []

    def delete_s2_after_the_first_batch(session, written, *args):
        finish(session, written, *args)
        if written is not None:
            batches.append(written)
            if len(batches) == 1:
                assert api.delete("sessions", "s2").status_code == 204
    monkeypatch.setattr(bulk, "_finish", delete_s2_after_the_first_batch)
    upsert_line, redone = bulk._upsert_line, []

    def one_line(session, tenant, line, *args):
        redone.append(line.number)
        return upsert_line(session, tenant, line, *args)
    monkeypatch.setattr(bulk, "_upsert_line", one_line)
    report = api.import_ndjson(ndjson(*[
        line("attendance", external_id, booking_id=booking, session_id=session,
             status="expected")
        for external_id, booking, session in (("at0", "b1", "s1"), ("at1", "b9", "s2"),
                                              ("at2", "b1", "s2"), ("at3", "b1", "s1"),
                                              ("at4", "b1", "s2"), ("at5", "b1", "s1"))])).json()
    no_s2 = ["item", "session_id"], "no sessions item with id 's2'"
    assert report["results"] == [
        ok(1, "created", "attendance", "at0"),
        bad(2, "attendance", "at1", ["item", "booking_id"], "no bookings item with id 'b9'"),
        bad(3, "attendance", "at2", *no_s2), ok(4, "created", "attendance", "at3"),
        bad(5, "attendance", "at4", *no_s2), ok(6, "created", "attendance", "at5"),
    ]
    assert redone == [3, 4]  # the third batch asked for s2 again and was told it is gone
    assert [a["id"] for a in api.get("attendance").json()["items"]] == ["at0", "at3", "at5"]


def test_statements_per_batch_do_not_grow_with_its_lines(app, monkeypatch):
    """References are resolved and rows written per resource, not per line."""
    import widget_server.api.bulk_import as bulk

    monkeypatch.setattr(bulk, "BATCH_SIZE", 1000)  # each import is one batch

    def families(count: int, prefix: str) -> list[str]:
        return [json.dumps(family_line) for n in range(count) for family_line in (
            line("clients", f"{prefix}c{n}", email=f"{prefix}{n}@example.com", name="P"),
            line("attendees", f"{prefix}a{n}", client_id=f"{prefix}c{n}", name="Kid"))]

    counts = []
    for count, prefix in ((25, "small-"), (250, "large-")):
        with counting_statements(app) as statements, \
                session_scope(app.state.engine) as session:
            report = import_lines(session, "demo", families(count, prefix))
        assert report["imported"] == 2 * count
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 10


@postgres_only
def test_an_import_keeps_postgresqls_statistics_up_with_the_tables_it_fills(app):
    """PostgreSQL plans a batch's lookup of its ids (`external_id IN (...)`) by the table's
    statistics. A table an import fills has none until autovacuum comes round, minutes later,
    and without them the planner read the whole table at every batch: the import analyzes
    each table it has doubled."""
    with app.state.engine.connect() as connection:
        began = connection.execute(text("SELECT now()")).scalar()
    lines = [json.dumps({"resource": "clients", "item": {
        "id": f"c{n}", "email": f"p{n}@example.com", "name": f"P{n}"}}) for n in range(1200)]
    with session_scope(app.state.engine) as session:
        report = import_lines(session, "demo", lines)
    assert report["imported"] == 1200
    with app.state.engine.connect() as connection:
        analyzed = connection.execute(text(
            "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'client'")).scalar()
        rows_known = connection.execute(text(
            "SELECT reltuples FROM pg_class WHERE relname = 'client'")).scalar()
    assert analyzed is not None and analyzed >= began
    assert rows_known >= 1000


def test_a_time_with_another_offset_is_stored_as_the_same_moment(api):
    """On PostgreSQL the rows go to the server as JSON text: a time written in Bratislava's
    winter offset must come back as the same instant, as a single PUT stores it."""
    times = {"starts_at": "2026-12-05T10:00:00+01:00", "ends_at": "2026-12-05T10:45:00+01:00"}
    report = api.import_ndjson(ndjson(line("programmes", "p1", name="Dolphins"),
                                      line("sessions", "s1", programme_id="p1", **times))).json()
    assert report["failed"] == 0
    api.put("sessions", "s2", {"programme_id": "p1", **times})
    imported, put = api.get("sessions", "s1").json(), api.get("sessions", "s2").json()
    assert imported["starts_at"] == put["starts_at"] == "2026-12-05T09:00:00Z"
    assert imported["ends_at"] == put["ends_at"] == "2026-12-05T09:45:00Z"


def test_equal_times_at_other_offsets_are_each_bound_as_their_column_writes_them():
    """SQLite's rows are bound a column at a time, each distinct time once: 10:00+01:00 and
    09:00Z are equal, but a column that keeps the wall time writes them apart."""
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import DateTime
    from sqlalchemy.dialects import sqlite

    import widget_server.api.bulk_import as bulk

    winter = datetime(2026, 12, 5, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    utc = datetime(2026, 12, 5, 9, 0, tzinfo=timezone.utc)
    assert winter == utc
    assert bulk._bound(DateTime(), sqlite.dialect(), [winter, utc, None, winter]) == [
        "2026-12-05 10:00:00.000000", "2026-12-05 09:00:00.000000", None,
        "2026-12-05 10:00:00.000000"]
