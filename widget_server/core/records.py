"""Rows shaped like the models, read past the ORM, for what a page only reads.

The ORM's per-statement and per-object work (identity map, loaders, instance state) cost more
than the query itself on the pages every parent opens (about 40 us a statement against 14, and
more per row). A `Shape` selects every column of some models plus any other expressions, runs
the statement on the session's connection, and hands back, per row, one immutable record per
model (a named tuple with the model's attribute names, so templates and domain code read
`booking.status` alike) and the plain value of each expression. Records cannot be changed or
added to a session: code that writes loads the ORM object.

The statements pages run are built once, at import, so each is also compiled once per database
dialect and then sent to the driver as it is (`_Prepared`): SQLAlchemy's own path works out the
statement's cache key, hashes it, looks up the compiled form and sets up a result object on
every run, about 220,000 instructions a statement against 175,000 for the whole trip through
the driver and SQLite. A statement built anew for each call takes SQLAlchemy's path: it is
compiled only once it has been run before.
"""

from __future__ import annotations

from collections import namedtuple
from functools import lru_cache
from typing import Any, Callable
from weakref import WeakKeyDictionary

from sqlalchemy import Select, inspect, select
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapper
from sqlalchemy.orm.util import AliasedInsp
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.util import await_only
from sqlmodel import Session


@lru_cache(maxsize=None)
def record_of(model: type) -> type:
    """The record type of a model: its columns' attribute names, in table order."""
    return namedtuple(f"{model.__name__}Record", [c.key for c in model.__table__.columns])


class Some:
    """Some of a model's columns, read back as one record of just those attributes: for a
    page that reads many rows of a model and shows a few of its columns (each value read
    costs the driver, a time stamp a conversion). Its first name must be the primary key.
    The model may be an `aliased()` one (its columns read from a subquery)."""

    def __init__(self, model: Any, names: str):
        self.model, self.names = model, tuple(names.split())
        self.record = namedtuple(f"{(_model_of(model) or model).__name__}Part", self.names)


def _model_of(part: Any) -> type | None:
    """The model a part stands for (itself, or an `aliased()` one), or None."""
    found = inspect(part, raiseerr=False)
    return found.mapper.class_ if isinstance(found, (Mapper, AliasedInsp)) else None


class Shape:
    """The columns of a statement in groups (a model's or an alias's every column, or one
    expression) and how to read each row back into the same groups. A model that an outer
    join did not find (its primary key is NULL) reads back as None, as the ORM gives it."""

    def __init__(self, *parts: Any):
        self.columns: list[Any] = []
        self._readers: list[tuple[int, int, Any, int]] = []
        for part in parts:
            start = len(self.columns)
            if isinstance(part, Some):
                self.columns.extend(getattr(part.model, name) for name in part.names)
                self._readers.append((start, len(self.columns), part.record._make, start))
                continue
            model = _model_of(part)
            if model is None:
                self.columns.append(part)
                self._readers.append((start, start + 1, None, 0))
                continue
            table = model.__table__.columns
            self.columns.extend(getattr(part, c.key) for c in table)
            key = [c.primary_key for c in table].index(True)
            self._readers.append((start, len(self.columns), record_of(model)._make, start + key))
        self._group = _grouper(self._readers)

    @property
    def width(self) -> int:
        """How many groups a row has."""
        return len(self._readers)

    def span(self, group: int) -> tuple[int, int]:
        """Where the `group`-th group's columns start and end among `columns`."""
        start, end, _, _ = self._readers[group]
        return start, end

    def select(self) -> Select:
        return select(*self.columns)

    def rows(self, db: Session, statement: Any, params: dict[str, Any]) -> list[tuple]:
        """Every row of `statement` (built from `select()`), each as its groups."""
        return list(map(self._group, read(db, statement, params)))

    def first(self, db: Session, statement: Any, params: dict[str, Any]) -> tuple | None:
        found = self.rows(db, statement, params)
        return found[0] if found else None


def dialect_function(name: str, kind: Any, sqlite: str, postgresql: str) -> type:
    """A SQL function (an aggregate) written one way on SQLite and another on PostgreSQL: each
    template's `{}` takes the function's arguments. Rendered in the statement's text, never
    bound: a value bound on every run sends a statement down `read`'s slow path."""
    element = type(name, (FunctionElement,), {"type": kind, "inherit_cache": True, "name": name})
    compiles(element)(lambda found, compiler, **kw: sqlite.format(
        compiler.process(found.clauses, **kw)))
    compiles(element, "postgresql")(lambda found, compiler, **kw: postgresql.format(
        compiler.process(found.clauses, **kw)))
    return element


def _grouper(readers: list[tuple[int, int, Any, int]]) -> Callable[[tuple], tuple]:
    """A function that reads one row into its groups, written out for the shape, as
    `collections.namedtuple` writes out its classes: a loop over the groups, run for every row,
    cost 1.4 us a row of two groups and this 0.55."""
    parts, makers = [], {}
    for n, (start, end, make, key) in enumerate(readers):
        if make is None:
            parts.append(f"row[{start}]")
        else:
            makers[f"make{n}"] = make
            parts.append(f"None if row[{key}] is None else make{n}(row[{start}:{end}])")
    return eval(f"lambda row: ({', '.join(parts)},)", makers)  # only numbers and names made here


def read(db: Session, statement: Any, params: dict[str, Any]) -> list[tuple]:
    """Run a SELECT on the session's connection (in its transaction), after flushing what the
    session holds, as the ORM's autoflush would. Rows come back as plain tuples."""
    if not db._is_clean():  # as the session's own commit asks (`new` and `dirty` build sets)
        db.flush()
    # Until the session begins a transaction, on the connection a page names (`READS_ON`).
    connection = db.info.get(READS_ON) if db._transaction is None else None
    if connection is None:
        connection = db.connection()
    known = _PREPARED.get(connection.dialect)
    if known is None:
        known = _PREPARED[connection.dialect] = WeakKeyDictionary()
    prepared = known.get(statement)
    if prepared is None:  # the first run, perhaps the only one: SQLAlchemy's path
        known[statement] = False
        # Through the session, which begins its transaction (the connection's own, begun
        # under it, would outlast the page).
        return [tuple(row) for row in db.connection().execute(statement, params)]
    if prepared is False:
        prepared = known[statement] = _Prepared(statement, connection.dialect)
    return prepared.run(connection, params)


# The connection a session's reads may run on before the session has begun a transaction of
# its own: a page's, already in a read transaction that the page ends (`db.session_scope`).
READS_ON = "cp_reads_on"
_CURSOR = "cp_records_cursor"  # the connection's cursor for these reads, in its pool `info`
# Per dialect (an engine's), per statement; both weakly, so neither outlives its owner.
_PREPARED: WeakKeyDictionary[Dialect, WeakKeyDictionary[Any, Any]] = WeakKeyDictionary()


class _Prepared:
    """A SELECT compiled once for a dialect: its SQL, the values it binds itself, how each
    parameter and each column is converted (the types' own processors, as SQLAlchemy applies
    them). A statement with a list to expand (`IN`) is expanded on each run by the compiled
    form itself."""

    def __init__(self, statement: Any, dialect: Dialect):
        compiled = statement.compile(dialect=dialect)
        self.compiled = compiled
        self.dialect = dialect
        self.sql = compiled.string
        binds = {name: bind for bind, name in compiled.bind_names.items()}
        # Left to the compiled form on each run: lists to expand, and values worked out then.
        self.expanding = bool(compiled.post_compile_params or compiled.literal_execute_params
                              or any(bind.callable for bind in binds.values()))
        self.order = compiled.positiontup  # the parameters' order, for a positional driver
        self.constants = {name: bind.effective_value for name, bind in binds.items()
                          if not bind.required}
        self.processors = {name: processor for name, bind in binds.items() if (
            processor := bind.type.dialect_impl(dialect).bind_processor(dialect))}
        self.types = [column.type for column in statement.selected_columns]
        self.converters: list | None = None  # per column, once the driver has described them
        # Lists of plain values the only thing to expand: the expanded form is the same for the
        # same lengths, so it is worked out once per lengths (`_Expanded`), not on every run.
        self.lists: tuple[str, ...] | None = tuple(sorted(
            bind.key for bind in compiled.post_compile_params if bind.required)) if (
            self.expanding and not compiled.literal_execute_params
            and not any(bind.callable for bind in binds.values())
            and not any(bind.type._is_tuple_type for bind in compiled.post_compile_params)
        ) else None
        self.expanded: dict[tuple[int, ...], _Expanded] = {}
        # On asyncpg, read through asyncpg itself once the columns are known (`_fetched`).
        self.direct = dialect.driver == "asyncpg"

    def run(self, connection: Connection, params: dict[str, Any]) -> list[tuple]:
        if self.lists is not None:
            lengths = tuple(len(params[name]) for name in self.lists)
            expanded = self.expanded.get(lengths)
            if expanded is None:
                expanded = self.expanded[lengths] = _Expanded(self.compiled, params, self.lists,
                                                              self.processors)
            sql, args = expanded.sql, expanded.args(params)
        elif self.expanding:
            state = self.compiled.construct_expanded_state(params)
            sql, args = state.statement, _args(state.parameters,
                                               {**self.processors, **state.processors},
                                               state.positiontup)
        else:
            sql = self.sql
            args = _args({**self.constants, **params} if self.constants else params,
                         self.processors, self.order)
        pooled = connection.connection
        # The DB-API connection SQLAlchemy itself uses (for an async driver, its adapter, whose
        # calls wait on the event loop for the page's greenlet: `db._pages_waiting_on_the_loop`).
        driver = pooled.dbapi_connection
        dispatch = connection.dispatch
        # One cursor per connection, kept with it (the pool clears `info` when it replaces the
        # connection): psycopg's execute cost 10 us more CPU on a new cursor, which sets up
        # the result's loaders again, than on one that has read the same columns before.
        cursor = pooled.info.get(_CURSOR)
        if cursor is None:
            cursor = pooled.info[_CURSOR] = driver.cursor()
        converters = self.converters
        try:
            # Listeners still see each statement (the tests that count and EXPLAIN them).
            for listener in dispatch.before_cursor_execute:
                listener(connection, cursor, sql, args, None, False)
            if self.direct and converters is not None:
                rows = _fetched(driver, sql, args)
            else:
                cursor.execute(sql, args)
                rows = cursor.fetchall()
            for listener in dispatch.after_cursor_execute:
                listener(connection, cursor, sql, args, None, False)
            if converters is None:
                converters = self.converters = self._converters(cursor.description)
        except self.dialect.loaded_dbapi.Error as error:
            gone = self.dialect.is_disconnect(error, driver, cursor)
            if gone:
                connection.invalidate(error)
            raise DBAPIError.instance(sql, args, error, self.dialect.loaded_dbapi.Error,
                                      connection_invalidated=gone,
                                      dialect=self.dialect) from error
        if not converters or not rows:
            # asyncpg's rows are its own records: as tuples, like every other driver's.
            return list(map(tuple, rows)) if self.direct else rows
        if len(rows) < 8:  # a visitor, a booking, its few programmes: row by row, not by column
            found = []
            for each in rows:
                row = list(each)
                for index, convert in converters:
                    row[index] = convert(row[index])
                found.append(tuple(row))
            return found
        # Column by column: `map` and `zip` loop in C (a page of many rows: ~1.5 % fewer
        # instructions than a loop over each row).
        columns: list[Any] = list(zip(*rows, strict=False))
        for index, convert in converters:
            columns[index] = map(convert, columns[index])
        return list(zip(*columns, strict=False))

    def _converters(self, description: Any) -> list[tuple[int, Any]]:
        """The columns that need converting, and their types' result processors."""
        pairs = zip(self.types, description, strict=True)
        found = ((index, kind.dialect_impl(self.dialect).result_processor(self.dialect, column[1]))
                 for index, (kind, column) in enumerate(pairs))
        return [(index, convert) for index, convert in found if convert is not None]


def _fetched(adapted: Any, sql: str, args: Any) -> list[Any]:
    """The rows (asyncpg's records) of a statement run by asyncpg's own `fetch` on the
    connection SQLAlchemy's adapter wraps (in a greenlet: `db._pages_waiting_on_the_loop`).
    The adapter's cursor around the same call cost a page's round trip about 25 us more CPU
    (its lock, its statement cache, a description and a row count built on every run): home
    447 -> 499 pages a second on PostgreSQL. asyncpg prepares each statement once per
    connection and keeps it (`db.PAGE_STATEMENTS_PREPARED`).

    The adapter begins a transaction at its first statement; until then these reads run
    each on its own. On PostgreSQL's READ COMMITTED every statement reads its own snapshot
    either way, and what a page writes (through the adapter) begins the transaction, which
    the reads after it are then part of. No BEGIN and COMMIT for a page that only reads."""
    try:
        return await_only(adapted.driver_connection.fetch(sql, *args))
    except Exception as error:
        # As the adapter's cursor would: asyncpg's error as the DB-API's (SQLAlchemy's own
        # translation), which `run` then reports as SQLAlchemy's.
        adapted._handle_exception(error)
        raise


def _args(values: dict[str, Any], processors: dict[str, Any], order: list[str] | None) -> Any:
    """The driver's parameters: positional in the compiled order, or by name; converted."""
    if order is not None:
        return tuple(processors[name](values[name]) if name in processors else values[name]
                     for name in order)
    if processors:
        return {name: processors[name](value) if name in processors else value
                for name, value in values.items()}
    return values


class _Expanded:
    """A statement's expanded form for lists of some lengths: its SQL, and where each of the
    driver's parameters comes from (a value, an element of a list, or a constant). Worked out by
    SQLAlchemy once, with a marker in each list's places: 17-23 us a run before."""

    def __init__(self, compiled: Any, params: dict[str, Any], lists: tuple[str, ...],
                 processors: dict[str, Any]):
        state = compiled.construct_expanded_state({**params, **{
            name: [_Mark(name, index) for index in range(len(params[name]))] for name in lists}})
        self.sql = state.statement
        self.positional = state.positiontup is not None
        self.names = state.positiontup if self.positional else list(state.parameters)
        # Per parameter: (a list's name, the element's index), (a value's name, None), or
        # (None, the constant the statement binds itself).
        self.sources: list[tuple[str | None, Any]] = []
        for name in self.names:
            value = state.parameters[name]
            if isinstance(value, _Mark):
                self.sources.append((value.name, value.index))
            elif name in params:
                self.sources.append((name, None))
            else:
                self.sources.append((None, value))
        # The expanded state converts only its lists' elements; every other value by the
        # statement's own processors, as SQLAlchemy merges them. Without them a date and time
        # went to SQLite as the driver's default text ("...+00:00", no fraction when it is
        # zero), which sorts apart from the stored text: at equal moments `>=` was false, and
        # at a whole second `>` true.
        merged = {**processors, **state.processors}
        self.processors = [merged.get(name) for name in self.names]

    def args(self, params: dict[str, Any]) -> Any:
        values = [params[name] if index is None else params[name][index] if name is not None
                  else index for name, index in self.sources]
        if any(self.processors):
            values = [value if convert is None else convert(value)
                      for value, convert in zip(values, self.processors, strict=True)]
        return tuple(values) if self.positional else dict(zip(self.names, values, strict=True))


class _Mark:
    """An element's place in a list, standing in for its value while the form is worked out."""

    __slots__ = ("name", "index")

    def __init__(self, name: str, index: int):
        self.name, self.index = name, index
