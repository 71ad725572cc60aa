"""Bulk import of newline-delimited JSON for initial loads.

Each line is `{"resource": "<name>", "item": {"id": "...", ...}}`. Every line is validated and
answered on its own, exactly as one `sync.upsert` per line in file order would answer it, but
the good lines are written a batch at a time: per batch one query per resource for the rows and
references already stored, then per resource (in dependency order) one multi-row
`INSERT ... ON CONFLICT (tenant, external_id) DO UPDATE ... RETURNING`. On PostgreSQL the new
rows' ids are taken from their sequences first and a batch's writes are sent in psycopg's
pipeline mode without waiting: the server writes one batch while the next is read and checked,
and a batch commits once the next is ready to go. Should a batch's set write still break a
constraint, that batch is redone line by line, each in a savepoint, so every line gets its own
answer. A batch is atomic, on SQLite too (its transaction is opened first).
"""

from __future__ import annotations

import base64
import json
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from graphlib import TopologicalSorter
from itertools import islice
from typing import Any, Callable, Iterable, Iterator

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    LargeBinary,
    String,
    Table,
    Text,
    bindparam,
    cast,
    func,
    select,
    true,
)
from sqlalchemy import column as field_of
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session

from widget_server.api.resources import RESOURCE_OF_MODEL, RESOURCES, Resource
from widget_server.api.sync import (
    RefResolver,
    column_values,
    differs,
    email_in_use,
    parse,
    upsert,
)
from widget_server.core import collector
from widget_server.core import models as m
from widget_server.core.db import begin_writing
from widget_server.core.errors import AppError, field_error
from widget_server.core.wire import read_json
from widget_server.delivery.notices import Notices

# Valid lines per commit. Each batch pays a fixed set of statements and a commit: 2,000
# against 500 took the 10,000-client import from 20,600-21,300 to 21,200-24,100 lines/s on
# SQLite and from 13,300-14,800 to 16,000-17,100 on PostgreSQL.
BATCH_SIZE = 2000
QUERY_CHUNK = 5000  # ids per IN (...), well under SQLite's and PostgreSQL's parameter limits


def _dependency_order() -> list[str]:
    """Resources with what they reference first, so a batch writes a row before its referrers."""
    graph = {name: {RESOURCE_OF_MODEL[t] for t in [*r.refs.values(),
                                                   *(r.children.refs.values() if r.children
                                                     else [])]}
             for name, r in RESOURCES.items()}
    return list(TopologicalSorter(graph).static_order())


WRITE_ORDER = _dependency_order()


@dataclass
class _Line:
    """A valid line waiting for its batch's write."""

    index: int  # in the report's results
    number: int
    resource: Resource
    external_id: str
    item: dict[str, Any]  # as sent, for the line-by-line path
    values: dict[str, Any]  # as `sync.parse` returned them


def import_lines(session: Session, tenant: str, lines: Iterable[bytes | str],
                 batch_size: int | None = None, *, today: date | None = None,
                 notices: Notices | None = None) -> dict[str, Any]:
    """Upsert every good line; report each line's outcome by line number. `today` is the
    tenant's date and `notices` tells families of news, as for `sync.upsert`."""
    batch_size = batch_size or BATCH_SIZE
    today = today or m.utcnow().date()
    resolver = RefResolver(session, tenant)
    results: list[dict[str, Any]] = []
    written: _Written | None = None  # the batch the server may still be writing
    statistics = _Statistics(session)
    known: dict[type, dict[str, int]] = defaultdict(dict)  # `_stored_rows`' ids found before
    good = _good_lines(lines, results)
    try:
        while True:
            # Per batch, not for the whole import: other requests' garbage waits no longer.
            with collector.paused():
                batch = list(islice(good, batch_size))
                if not batch:
                    break
                # The batch before this one was being written by the server while these
                # lines were read and checked: wait for it, then send this one.
                _finish(session, written, results, statistics)
                written = _write_batch(session, tenant, batch, resolver, today, notices,
                                       known)
                if not written.writes.pipelined:
                    _finish(session, written, results, statistics)
                    written = None
        # The pages read what the last batch filled, too (`_Statistics`).
        _finish(session, written, results, statistics)
    except BaseException:
        if written is not None:  # the connection must not go back to the pool mid-pipeline
            written.writes.abandon()
        raise
    failed = sum(r["status"] == "error" for r in results)
    return {"imported": len(results) - failed, "failed": failed, "results": results}


def _good_lines(lines: Iterable[bytes | str], results: list[dict]) -> Iterator[_Line]:
    """The lines read and checked in file order: a bad one is answered in `results` at once,
    a good one is yielded (answered when its batch is written)."""
    for number, raw in enumerate(lines, start=1):
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
        if not text.strip():
            continue
        outcome = _read_line(text)
        if isinstance(outcome, dict):
            results.append({**outcome, "line": number})
            continue
        resource, external_id, item = outcome
        try:
            values = parse(resource, item, external_id)
        except AppError as exc:
            results.append({**_refusal(resource.name, external_id, exc), "line": number})
            continue
        results.append({})
        yield _Line(len(results) - 1, number, resource, external_id, item, values)


class _Statistics:
    """Keeps PostgreSQL's statistics up with the tables an import fills. A batch finds its
    stored rows by `external_id IN (<its ids>)`; for a table without statistics (new, or
    grown far past what autovacuum last saw: it analyzes a minute or more later) the planner
    takes that to match every row and reads the whole table at every batch, so an import into
    a new database slowed as it went (15 ms a batch for bookings alone by 30,000 of them).
    A table is analyzed each time the import has doubled it: a few times per table, a few
    milliseconds each, and never for a table already much larger than the import."""

    FIRST = 1000  # rows before a new table is worth analyzing

    def __init__(self, session: Session):
        self.on = session.get_bind().dialect.name == "postgresql"
        self.written: Counter[type] = Counter()  # rows of lines of this import, per model
        self.known: dict[type, float] = {}  # rows the table's statistics know of

    def grown(self, session: Session, batch: list[_Line]) -> None:
        """After a batch's commit: analyze the tables it has doubled."""
        if not self.on:
            return
        for line in batch:
            self.written[line.resource.model] += 1
        for model in {line.resource.model for line in batch}:
            table = model.__table__.name
            if model not in self.known:
                self.known[model] = max(0.0, session.execute(sql_text(
                    "SELECT reltuples FROM pg_class WHERE oid = to_regclass(:table)"),
                    {"table": table}).scalar() or 0.0)
            if self.written[model] >= max(self.FIRST, self.known[model]):
                session.execute(sql_text(f'ANALYZE "{table}"'))
                session.commit()
                self.known[model] += self.written[model]
                self.written[model] = 0


def _read_line(text: str) -> dict | tuple[Resource, str, dict]:
    """The line's resource, provider id and item, or the error that answers it."""
    try:
        line = read_json(text)
    except json.JSONDecodeError as exc:
        reason = f"malformed JSON: {exc.msg} at column {exc.colno}"
        return _error(None, None, [field_error([], reason)])
    if not isinstance(line, dict) or set(line) - {"resource", "item"}:
        return _error(None, None, [field_error([], 'expected {"resource": ..., "item": {...}}')])
    resource, item = line.get("resource"), line.get("item")
    if not isinstance(resource, str):
        return _error(None, None, [field_error(["resource"], "must be a resource name")])
    if resource not in RESOURCES:
        return _error(resource, None, [field_error(["resource"], f"unknown resource {resource!r}")])
    if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
        return _error(resource, None, [field_error(["item", "id"], "required (the provider's id)")])
    return RESOURCES[resource], item["id"], item


@dataclass
class _Written:
    """A batch answered and sent: on PostgreSQL the server may still be writing it."""

    batch: list[_Line]
    outcomes: dict[int, dict]
    writes: _Writes
    savepoint: Any | None  # open until the writes are done; None once written line by line
    redo: Callable[[], dict[int, dict]]  # the batch line by line: outcomes by line index


def _write_batch(session: Session, tenant: str, batch: list[_Line], resolver: RefResolver,
                 today: date, notices: Notices | None,
                 known: dict[type, dict[str, int]]) -> _Written | None:
    if not batch:
        return None
    # The transaction (on SQLite the write lock) opens for the batch's writes only: while the
    # next lines are read and checked, other writers (a parent cancelling a session) get in.
    begin_writing(session)

    def redo() -> dict[int, dict]:
        # A constraint the checks here do not foresee (or another writer got in between):
        # only one upsert per line can say which line broke it. An id known from an earlier
        # batch may be one of a row deleted since: they are asked for again.
        known.clear()
        return {line.index: _upsert_line(session, tenant, line, resolver, today, notices)
                for line in batch}

    writes = _Writes(session)
    savepoint = session.begin_nested()
    try:
        outcomes = _write_set(session, tenant, batch, today=today, notices=notices,
                              writes=writes, known=known)
    except IntegrityError:
        writes.abandon()
        savepoint.rollback()
        return _Written(batch, redo(), writes, None, redo)
    except BaseException:
        writes.abandon()
        raise
    return _Written(batch, outcomes, writes, savepoint, redo)


def _finish(session: Session, written: _Written | None, results: list[dict],
            statistics: _Statistics) -> None:
    """Wait for a batch's writes, answer its lines and commit it."""
    if written is None:
        return
    outcomes = written.outcomes
    if written.savepoint is not None:
        try:
            written.writes.wait()
        except IntegrityError:
            written.savepoint.rollback()
            outcomes = written.redo()
        else:
            written.savepoint.commit()
    for line in written.batch:
        results[line.index] = {**outcomes[line.index], "line": line.number}
    session.commit()
    statistics.grown(session, written.batch)


class _Writes:
    """Where a batch's writes go. On PostgreSQL they are sent in psycopg's pipeline mode and
    not waited for: the server writes a batch while the next lines are read and checked
    (reading and checking in a second thread instead gained little: Python's lock hands the
    writes' answers back late). So no write may need another's answer: new rows' ids are
    taken from their sequences first (`_new_ids`), not read back. On SQLite they run at once."""

    def __init__(self, session: Session):
        self.session = session
        self.pipelined = session.get_bind().dialect.name == "postgresql"
        self._pipeline: Any | None = None

    def send(self, statement: Any, params: dict[str, Any]) -> None:
        if not self.pipelined:
            self.session.execute(statement, params)
            return
        connection = self.session.connection()
        driver = connection.connection.dbapi_connection
        if self._pipeline is None:
            self._pipeline = driver.pipeline()
            self._pipeline.__enter__()
        sql, constants = _sql(statement, connection.dialect)
        with _as_sqlalchemy_errors(sql):  # may report an earlier write's failure already
            driver.execute(sql, {**constants, **params})

    def wait(self) -> None:
        """Wait for the writes sent; one the server refused raises as SQLAlchemy would have."""
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is None:
            return
        with _as_sqlalchemy_errors("(the batch's writes)"):
            pipeline.__exit__(None, None, None)

    def abandon(self) -> None:
        """Leave pipeline mode after a failure; the transaction is rolled back after this."""
        try:
            self.wait()
        except DBAPIError:
            pass


@contextmanager
def _as_sqlalchemy_errors(sql: str) -> Iterator[None]:
    """psycopg's errors as SQLAlchemy's (an `IntegrityError` is what sends a batch line by
    line), for statements sent past SQLAlchemy."""
    import psycopg  # PostgreSQL's driver is an optional dependency

    try:
        yield
    except psycopg.Error as exc:
        raise DBAPIError.instance(sql, None, exc, psycopg.Error) from exc


@lru_cache(maxsize=256)
def _sql(statement: Any, dialect: Any) -> tuple[str, dict[str, Any]]:
    """A statement's text for psycopg and the values it binds itself (a `decode`'s
    'base64'), compiled once."""
    compiled = statement.compile(dialect=dialect)
    return str(compiled), {name: value for name, value in compiled.params.items()
                           if value is not None}


def _upsert_line(session: Session, tenant: str, line: _Line, resolver: RefResolver,
                 today: date, notices: Notices | None) -> dict:
    model, name, external_id = line.resource.model, line.resource.name, line.external_id
    try:
        with session.begin_nested():
            _, created = upsert(session, tenant, name, external_id, line.item, resolver,
                                read_back=False, today=today, notices=notices)
    except AppError as exc:
        resolver.forget(model, external_id)
        return _refusal(name, external_id, exc)
    except IntegrityError:
        resolver.forget(model, external_id)
        return _error(name, external_id, [field_error(["item"], "conflicts with stored data")])
    return {"status": "created" if created else "updated", "resource": name, "id": external_id}


class _BatchRefs:
    """Resolves provider ids as the per-line path would at one line of the batch: a row stored
    before the batch, or one written by an earlier line of it (not by a later one)."""

    def __init__(self, stored: dict[type, dict[str, Any]]):
        self.stored = stored
        self.written: dict[type, dict[str, tuple[int, int]]] = defaultdict(dict)
        self.line = 0  # the number of the line being resolved

    def resolve(self, model: type, external_id: str) -> int | None:
        row = self.stored[model].get(external_id)
        if row is not None:
            return row["id"]
        first, pk = self.written[model].get(external_id, (self.line, None))
        return pk if first < self.line else None


@dataclass
class _Row:
    """What one provider id's row becomes over the batch's lines."""

    current: dict[str, Any] | None  # the row's values as the previous line left them
    stored: bool  # in the database before the batch
    first: int = 0  # the first line that wrote it
    changed: bool = False  # some line changed a stored row, or a later line a new one
    columns: dict[str, Any] = field(default_factory=dict)  # the last line's
    children: list[dict] = field(default_factory=list)


def _write_set(session: Session, tenant: str, batch: list[_Line], *, today: date,
               notices: Notices | None = None, writes: _Writes,
               known: dict[type, dict[str, int]]) -> dict[int, dict]:
    """Answer and write the batch's lines, resource by resource; a constant number of
    statements per batch whatever its size. Every read comes before the first write."""
    by_resource: dict[str, list[_Line]] = defaultdict(list)
    for line in batch:
        by_resource[line.resource.name].append(line)
    refs = _BatchRefs(_stored_rows(session, tenant, batch, known))
    emails = _EmailOwners(session, tenant, by_resource["clients"], refs.stored[m.Client]) \
        if "clients" in by_resource else None
    ids = _new_ids(session, by_resource, refs) if writes.pipelined else None
    outcomes: dict[int, dict] = {}
    for name in WRITE_ORDER:
        if name in by_resource:
            outcomes.update(_write_resource(session, tenant, RESOURCES[name],
                                            by_resource[name], refs, today, notices,
                                            writes, ids, emails))
    return outcomes


# Ids for a batch's new rows, taken from each table's sequence in one statement.
_NEW_IDS = sql_text(
    "SELECT wanted.key, nextval(sequence.id) FROM json_each_text(CAST(:wanted AS json)) AS wanted,"
    " LATERAL (SELECT pg_get_serial_sequence(quote_ident(wanted.key), 'id')::regclass AS id)"
    " AS sequence, generate_series(1, wanted.value::integer)")


def _new_ids(session: Session, by_resource: dict[str, list[_Line]],
             refs: _BatchRefs) -> dict[type, list[int]]:
    """Enough ids for every row the batch may create (a provider id not stored yet) that
    another of its rows may need, per model: what the batch's resources and their nested
    lists refer to, and what has a nested list. Their rows' ids are then known before they
    are written, so that the writes of a batch can all be sent without waiting for one
    another. A row nothing in the batch can refer to (a place, a payment) takes its id from
    the table's default, in the write that is not waited for: each `nextval` costs the
    server about 4.5 us here, 9 ms for a batch's 2,000."""
    needed: set[type] = set()
    for resource in map(RESOURCES.__getitem__, by_resource):
        needed.update(resource.refs.values())
        if resource.children:
            needed.add(resource.model)
            needed.update(resource.children.refs.values())
    wanted = {}
    for name, lines in by_resource.items():
        model = RESOURCES[name].model
        new = {line.external_id for line in lines} - refs.stored[model].keys()
        if new and model in needed:
            wanted[model.__table__.name] = len(new)
    ids: dict[type, list[int]] = {}
    if wanted:
        tables = {RESOURCES[name].model.__table__.name: RESOURCES[name].model
                  for name in by_resource}
        for table, value in session.execute(_NEW_IDS, {"wanted": json.dumps(wanted)}):
            ids.setdefault(tables[table], []).append(value)
    for taken in ids.values():
        taken.sort(reverse=True)  # popped smallest first: rows get ids in file order
    return ids


def _stored_rows(session: Session, tenant: str, batch: list[_Line],
                 known: dict[type, dict[str, int]]) -> dict[type, dict[str, Any]]:
    """Per model, the stored rows the batch writes or references, by provider id; one query
    per model (read before anything of the batch is written). Rows a replace rule checks are
    locked until the batch commits, as `upsert` locks its row.

    The id of a row only referenced is asked for once per import (`known`, filled here): a
    batch of attendance refers to most of the timetable's sessions, every batch again. A
    row's id never changes, and one deleted since fails its foreign key, which sends the
    batch line by line."""
    locked = {line.resource.model for line in batch if line.resource.replace_rule}
    own: dict[type, set[str]] = defaultdict(set)
    referenced: dict[type, set[str]] = defaultdict(set)
    for line in batch:
        resource, values = line.resource, line.values
        own[resource.model].add(line.external_id)
        for name, target in resource.refs.items():
            if values.get(name) is not None:
                referenced[target].add(values[name])
        if resource.children:
            for child in values.get(resource.children.field, []):
                for name, target in resource.children.refs.items():
                    if child.get(name) is not None:
                        referenced[target].add(child[name])
    stored: dict[type, dict[str, Any]] = defaultdict(dict)
    dialect = session.get_bind().dialect.name
    for model in own.keys() | referenced.keys():
        # Whole rows for the batch's own ids: a line that changes nothing must not touch them.
        whole = model in own
        query = _lookup(model.__table__, dialect, whole=whole, locked=model in locked)
        if whole:
            ids = own[model] | referenced[model]
        else:  # a walk of the batch's references, not of `known`: that grows with the import
            ids = set()
            for external_id in referenced[model]:
                pk = known[model].get(external_id)
                if pk is None:
                    ids.add(external_id)
                else:
                    stored[model][external_id] = {"external_id": external_id, "id": pk}
        ids = sorted(ids)
        for start in range(0, len(ids), QUERY_CHUNK):
            for row in session.execute(query, {"tenant": tenant, **_listed(
                    ids[start:start + QUERY_CHUNK])}).mappings():
                stored[model][row["external_id"]] = row
                if not whole:
                    known[model][row["external_id"]] = row["id"]
    return stored


@lru_cache(maxsize=256)
def _lookup(table: Table, dialect: str, *, whole: bool, locked: bool) -> Any:
    """The tenant's rows of these provider ids (`_listed`), built once per table and shape."""
    query = select(*([table] if whole else [table.c.external_id, table.c.id])).where(
        table.c.tenant == bindparam("tenant"), _among(dialect, table.c.external_id))
    return query.with_for_update() if locked else query


def _among(dialect: str, column: Any) -> Any:
    """`column IN (<the values>)`, the values one JSON list (`_listed`) taken apart by the
    database: SQLAlchemy expands an IN list into a parameter per value and processes each (a
    third of a batch's lookup time in the profile), and psycopg dumps an array element by
    element in Python (1.1 us an id, against 0.09 for `json.dumps`)."""
    listed = bindparam("listed", type_=Text)
    if dialect == "postgresql":
        value = func.json_array_elements_text(cast(listed, JSON)).table_valued("value").c.value
        # Text compares with a string column as it is (a cast to VARCHAR(n) would cut it).
        return column.in_(select(value if isinstance(column.type, String)
                                 else cast(value, column.type)))
    return column.in_(select(func.json_each(listed).table_valued("value").c.value))


def _listed(values: list) -> dict[str, str]:
    """The parameter of an `_among` statement."""
    return {"listed": json.dumps(values)}


def _write_resource(session: Session, tenant: str, resource: Resource, lines: list[_Line],
                    refs: _BatchRefs, today: date, notices: Notices | None, writes: _Writes,
                    ids: dict[type, list[int]] | None,
                    emails: _EmailOwners | None) -> dict[int, dict]:
    """Answer one resource's lines in file order, then write the rows they leave behind, and
    tell families of what is news to them (each line as its own PUT would)."""
    model, name, rule = resource.model, resource.name, resource.replace_rule
    news: list[str] = []
    emails = emails if model is m.Client else None
    rows: dict[str, _Row] = {}
    outcomes: dict[int, dict] = {}
    for line in lines:
        refs.line = line.number
        columns, children, errors = column_values(resource, line.values, refs)
        if errors:
            outcomes[line.index] = _error(name, line.external_id, _under_item(errors))
            continue
        if emails and (other := emails.claim(line.external_id, columns["email"])):
            outcomes[line.index] = _refusal(name, line.external_id, email_in_use(other))
            continue
        row = rows.get(line.external_id)
        if row is None:
            stored = refs.stored[model].get(line.external_id)
            row = _Row(dict(stored) if stored else None, stored is not None, line.number)
        if rule and row.current is not None:
            try:
                rule.check(row.current, columns, today)
            except AppError as exc:
                outcomes[line.index] = _refusal(name, line.external_id, exc)
                continue
            if rule.is_news(notices, row.current, columns, today):
                news.append(line.external_id)
        rows.setdefault(line.external_id, row)
        created = row.current is None
        if created:
            row.current = dict(columns)
        elif any(differs(row.current.get(column), value) for column, value in columns.items()):
            row.current.update(columns)
            row.changed = True
        row.columns, row.children = columns, children
        outcomes[line.index] = {"status": "created" if created else "updated",
                                "resource": name, "id": line.external_id}
    pks = _upsert_rows(session, tenant, resource, rows, refs.stored[model], writes,
                       None if ids is None else ids.get(model))
    for external_id, row in rows.items():
        if not row.stored:  # without an id only where nothing in the batch refers to it
            refs.written[model][external_id] = (row.first, pks.get(external_id))
        else:
            pks.setdefault(external_id, refs.stored[model][external_id]["id"])
    if resource.children:
        _replace_children(session, resource, rows, pks, writes)
    if news:
        writes.wait()  # telling families reads what was written
        rule.tell(session, notices, [pks[external_id] for external_id in news])
    return outcomes


def _upsert_rows(session: Session, tenant: str, resource: Resource, rows: dict[str, _Row],
                 stored: dict[str, Any], writes: _Writes,
                 ids: list[int] | None) -> dict[str, int]:
    """Insert the new rows and update the changed ones in one statement; their ids by
    provider id. Stored rows no line changed keep their updated_at, as with `upsert`. Where
    the writes are pipelined the statement is sent without waiting for it, the new rows
    with their `ids` taken already if they need one (`_new_ids`); else the ids are read
    back."""
    model = resource.model
    defaults = _constructor_defaults(model)
    now = m.utcnow()
    values = []
    pks: dict[str, int] = {}
    with_ids = ids is not None  # every row of the statement, or none, has its id with it
    for external_id, row in rows.items():
        if row.stored and not row.changed:
            continue
        updated_at = m.utcnow() if row.changed and not row.stored else now
        value = {**defaults, **row.columns, "tenant": tenant, "external_id": external_id,
                 "created_at": now, "updated_at": updated_at}
        if with_ids:
            value["id"] = pks[external_id] = stored[external_id]["id"] if row.stored \
                else ids.pop()
        values.append(value)
    if not values:
        return {}
    table = model.__table__
    statement, params = _insert(session, table, values)
    updated = (*next(iter(rows.values())).columns, "updated_at")
    if writes.pipelined:
        writes.send(_upserting(statement, updated, returning=False), params)
        return pks
    return dict(session.execute(_upserting(statement, updated), params).all())


@lru_cache(maxsize=256)
def _upserting(statement: Any, updated: tuple[str, ...], *, returning: bool = True) -> Any:
    """The INSERT, updating these columns of a row the provider id already names (its id
    stays), and unless told otherwise returning each row's id: built once per statement,
    columns and returning."""
    table = statement.table
    upserting = statement.on_conflict_do_update(
        index_elements=[table.c.tenant, table.c.external_id],
        set_={column: statement.excluded[column] for column in updated})
    return upserting.returning(table.c.external_id, table.c.id) if returning else upserting


def _insert(session: Session, table: Table, values: list[dict[str, Any]]) -> tuple[Any, Any]:
    """A multi-row INSERT of these rows, and the parameters to execute it with."""
    dialect = session.get_bind().dialect
    names = tuple(values[0])
    if dialect.name == "sqlite":
        if any(_is_binary(table.c[name]) for name in names):  # JSON cannot carry bytes
            return _sqlite_insert(table), values
        # The rows as one JSON text too (`_json_each_insert`), each column's values bound by
        # its type first, a column at a time: SQLAlchemy's executemany bound them a value at a
        # time (a fifth of the import's time on SQLite).
        columns = [_bound(table.c[name].type, dialect, [row.get(name) for row in values])
                   for name in names]
        return _json_each_insert(table, names), {
            "rows": json.dumps(list(zip(*columns, strict=True)), separators=(",", ":"))}
    # All the rows as one JSON text, taken apart by the server (`json_to_recordset`): rows as
    # VALUES made a statement so long that psycopg's rewriting of it, on every batch, cost
    # more than the writes, and an array per column was dumped by psycopg element by element
    # in Python (8.7 us a row of eight columns; this JSON 1.7 us).
    return _recordset_insert(table, names), {
        "rows": json.dumps(values, default=_json_value, separators=(",", ":"))}


def _json_value(value: Any) -> Any:
    """What `json.dumps` cannot write itself, as the text PostgreSQL reads back into the
    column's type (bytes in base64, decoded by the statement)."""
    if isinstance(value, datetime):
        return _moment(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not a column value")


@lru_cache(maxsize=4096)
def _moment(value: datetime) -> str:
    """A time with its offset (the columns are timestamptz), written once: every row of a
    batch has the same created_at and updated_at (2 of a row's 3 us in the profile). A time
    equal to one seen before, at another offset, is the same instant."""
    return value.isoformat()


@lru_cache(maxsize=256)
def _sqlite_insert(table: Table) -> Any:
    return sqlite_insert(table)


def _bound(type_: Any, dialect: Any, values: list[Any]) -> list[Any]:
    """A column's values as the driver would be given them (SQLite: a time as text, a bool
    as 0 or 1, JSON as its text); a time once per distinct value (a batch's rows share their
    created_at and updated_at)."""
    process, of_time = _bind_processor(type_, dialect)
    if process is None:
        return values
    if of_time:
        # Keyed by the offset too: 09:00+01:00 equals 08:00Z, but a column that keeps the
        # wall time (not UTCDateTime) writes them differently.
        keys = [(value, getattr(value, "tzinfo", None)) for value in values]
        done = {key: process(key[0]) for key in set(keys)}
        return [done[key] for key in keys]
    return list(map(process, values))


@lru_cache(maxsize=1024)
def _bind_processor(type_: Any, dialect: Any) -> tuple[Callable[[Any], Any] | None, bool]:
    """The type's bind processor, and whether its values are times or dates."""
    impl = getattr(type_, "impl", type_)  # a TypeDecorator's (UTCDateTime's) own type
    return type_.dialect_impl(dialect).bind_processor(dialect), isinstance(impl, (DateTime, Date))


@lru_cache(maxsize=256)
def _json_each_insert(table: Table, names: tuple[str, ...]) -> Any:
    """`INSERT ... SELECT json_extract(value, '$[0]'), ... FROM json_each(:rows) WHERE true`,
    each row a JSON array of its values in `names`' order, built once per table and
    columns. SQLite reads a JSON string as text, a number as a number and null as NULL,
    which is what the values bound by their types are (`_bound`); the WHERE keeps SQLite
    from reading the upsert's ON CONFLICT as a join's ON."""
    rows = func.json_each(bindparam("rows", type_=Text)).table_valued("value")
    picked = [func.json_extract(rows.c.value, f"$[{position}]")
              for position in range(len(names))]
    return sqlite_insert(table).from_select(list(names), select(*picked).where(true()))


@lru_cache(maxsize=256)
def _recordset_insert(table: Table, names: tuple[str, ...]) -> Any:
    """`INSERT ... SELECT ... FROM json_to_recordset(:rows) AS rows(<column> <type>, ...)`,
    built once per table and columns (building it took as long as a batch's writes)."""
    fields = [field_of(name, Text if _is_binary(table.c[name]) else table.c[name].type)
              for name in names]
    rows = func.json_to_recordset(cast(bindparam("rows", type_=Text), JSON)) \
        .table_valued(*fields).render_derived(name="rows", with_types=True)
    picked = [func.decode(rows.c[name], "base64") if _is_binary(table.c[name]) else rows.c[name]
              for name in names]
    return postgresql_insert(table).from_select(list(names), select(*picked))


def _is_binary(col: Column) -> bool:
    return isinstance(col.type, LargeBinary)


def _constructor_defaults(model: type) -> dict[str, Any]:
    """What the model's constructor sets for fields the API leaves out (as `upsert` does)."""
    return {name: info.get_default(call_default_factory=True)
            for name, info in model.model_fields.items()
            if name not in {"id", "created_at", "updated_at"} and not info.is_required()}


def _replace_children(session: Session, resource: Resource, rows: dict[str, _Row],
                      pks: dict[str, int], writes: _Writes) -> None:
    """A written item's nested list replaces the stored one wholesale, as with `upsert`."""
    spec = resource.children
    table = spec.model.__table__
    stored = [pks[external_id] for external_id, row in rows.items() if row.stored]
    for start in range(0, len(stored), QUERY_CHUNK):
        writes.send(_children_deletion(table, spec.parent_column,
                                       session.get_bind().dialect.name),
                    _listed(stored[start:start + QUERY_CHUNK]))
    defaults = _constructor_defaults(spec.model)
    children = [{**defaults, **child, spec.parent_column: pks[external_id], "position": position}
                for external_id, row in rows.items()
                for position, child in enumerate(row.children)]
    if children:
        statement, params = _insert(session, table, children)
        writes.send(statement, params)


@lru_cache(maxsize=64)
def _children_deletion(table: Table, parent: str, dialect: str) -> Any:
    # Keyed by the column's name: a column compared with `==` is an SQL expression.
    return table.delete().where(_among(dialect, table.c[parent]))


@lru_cache(maxsize=4)
def _email_owners(dialect: str) -> Any:
    return select(m.Client.email, m.Client.external_id).where(
        m.Client.tenant == bindparam("tenant"), _among(dialect, m.Client.email))


class _EmailOwners:
    """Which client holds each e-mail address of the batch, line after line (`upsert` refuses
    an address another client has)."""

    def __init__(self, session: Session, tenant: str, lines: list[_Line],
                 stored: dict[str, Any]):
        wanted = sorted({line.values["email"] for line in lines})
        self.owner: dict[str, str] = {}
        query = _email_owners(session.get_bind().dialect.name)
        for start in range(0, len(wanted), QUERY_CHUNK):
            self.owner.update(session.execute(query, {
                "tenant": tenant, **_listed(wanted[start:start + QUERY_CHUNK])}).all())
        self.email_of = {external_id: row["email"] for external_id, row in stored.items()}

    def claim(self, external_id: str, email: str) -> str | None:
        """Give the address to this client, or return the client that already has it."""
        other = self.owner.get(email)
        if other is not None and other != external_id:
            return other
        previous = self.email_of.get(external_id)
        if previous is not None and self.owner.get(previous) == external_id:
            del self.owner[previous]
        self.owner[email] = external_id
        self.email_of[external_id] = email
        return None


def _refusal(resource: str, external_id: str, exc: AppError) -> dict:
    return _error(resource, external_id,
                  _under_item(exc.errors) or [field_error(["item"], exc.detail)])


def _under_item(errors: list[dict]) -> list[dict]:
    return [field_error(["item", *e["path"]], e["reason"]) for e in errors]


def _error(resource: str | None, external_id: str | None, errors: list[dict]) -> dict:
    return {"status": "error", "resource": resource, "id": external_id, "errors": errors}
