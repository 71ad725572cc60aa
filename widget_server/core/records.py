"""Rows shaped like the models, read past the ORM, for what a page only reads.

The ORM's per-statement and per-object work (identity map, loaders, instance state) cost more
than the query itself on the pages every parent opens (about 40 us a statement against 14, and
more per row). A `Shape` selects every column of some models plus any other expressions, runs
the statement on the session's connection, and hands back, per row, one immutable record per
model (a named tuple with the model's attribute names, so templates and domain code read
`booking.status` alike) and the plain value of each expression. Records cannot be changed or
added to a session: code that writes loads the ORM object.
"""

from __future__ import annotations

from collections import namedtuple
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, inspect, select
from sqlalchemy.orm import Mapper
from sqlalchemy.orm.util import AliasedInsp
from sqlmodel import Session


@lru_cache(maxsize=None)
def record_of(model: type) -> type:
    """The record type of a model: its columns' attribute names, in table order."""
    return namedtuple(f"{model.__name__}Record", [c.key for c in model.__table__.columns])


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
            model = _model_of(part)
            if model is None:
                self.columns.append(part)
                self._readers.append((start, start + 1, None, 0))
                continue
            table = model.__table__.columns
            self.columns.extend(getattr(part, c.key) for c in table)
            key = [c.primary_key for c in table].index(True)
            self._readers.append((start, len(self.columns), record_of(model)._make, start + key))

    @property
    def width(self) -> int:
        """How many groups a row has."""
        return len(self._readers)

    def select(self) -> Select:
        return select(*self.columns)

    def rows(self, db: Session, statement: Any, params: dict[str, Any]) -> list[tuple]:
        """Every row of `statement` (built from `select()`), each as its groups."""
        readers = self._readers
        return [tuple((None if row[key] is None else make(row[a:b])) if make else row[a]
                      for a, b, make, key in readers)
                for row in read(db, statement, params)]

    def first(self, db: Session, statement: Any, params: dict[str, Any]) -> tuple | None:
        found = self.rows(db, statement, params)
        return found[0] if found else None


def read(db: Session, statement: Any, params: dict[str, Any]) -> Any:
    """Run a SELECT on the session's connection (in its transaction), after flushing what the
    session holds, as the ORM's autoflush would."""
    if db.new or db.dirty or db.deleted:
        db.flush()
    return db.connection().execute(statement, params).all()
