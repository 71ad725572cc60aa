"""Provider sync: idempotent upserts, reads, lists and deletes keyed by the provider's ids.

Plain functions that take a database session and a tenant slug; the HTTP layer lives in
`api.views`. Every query is scoped by tenant, so one provider's ids never reach another's rows.
"""

from __future__ import annotations

import base64
from datetime import date, datetime, timezone
from typing import Any, Mapping

from pydantic import ValidationError
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from widget_server.api.resources import RESOURCE_OF_MODEL, RESOURCES, Resource
from widget_server.core import models as m
from widget_server.core.errors import (
    Conflict,
    NotFound,
    ValidationFailed,
    field_error,
    pydantic_errors,
)
from widget_server.core.wire import jsonable
from widget_server.delivery.notices import Notices

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
MAX_ROW_ID = 2**31 - 1  # ids are INTEGER columns


class RefResolver:
    """Turns provider ids into row ids, caching what it has seen (one import, many lines)."""

    def __init__(self, session: Session, tenant: str):
        self.session = session
        self.tenant = tenant
        self._cache: dict[tuple[type, str], int] = {}
        # The other way round, for reading an item back: its references' provider ids are
        # those the write named, no need to look them up again.
        self.external: dict[tuple[type, int], str] = {}

    def remember(self, model: type, external_id: str, pk: int) -> None:
        self._cache[(model, external_id)] = pk
        self.external[(model, pk)] = external_id

    def forget(self, model: type, external_id: str) -> None:
        pk = self._cache.pop((model, external_id), None)
        self.external.pop((model, pk), None)

    def resolve(self, model: type, external_id: str) -> int | None:
        key = (model, external_id)
        if key not in self._cache:
            pk = self.session.exec(
                select(model.id).where(model.tenant == self.tenant,
                                       model.external_id == external_id)
            ).first()
            if pk is None:
                return None
            self.remember(model, external_id, pk)
        return self._cache[key]


def parse(resource: Resource, body: Any, external_id: str) -> dict[str, Any]:
    """Validate a body against the resource's schema; a different id than the URL's is refused."""
    if not isinstance(body, dict):
        raise ValidationFailed("The body must be a JSON object.",
                               errors=[field_error([], "must be a JSON object")])
    try:
        data = resource.schema.model_validate(body)
    except ValidationError as exc:
        raise ValidationFailed(f"Invalid {resource.name} item.",
                               errors=pydantic_errors(exc)) from None
    if data.id is not None and data.id != external_id:
        raise ValidationFailed(
            "The body's id differs from the URL's.",
            errors=[field_error(["id"], f"is {data.id!r} but the URL says {external_id!r}")],
        )
    return data.model_dump(exclude={"id", *resource.read_only})


def column_values(resource: Resource, values: dict[str, Any],
                  resolver: RefResolver) -> tuple[dict[str, Any], list[dict], list[dict]]:
    """Map API values onto columns, resolving references; returns (columns, children, errors)."""
    columns, errors = {}, []
    children = values.pop(resource.children.field, []) if resource.children else []
    for name, value in values.items():
        if name in resource.refs:
            if value is None:
                columns[name] = None
                continue
            pk = resolver.resolve(resource.refs[name], value)
            if pk is None:
                target = RESOURCE_OF_MODEL[resource.refs[name]]
                errors.append(field_error([name], f"no {target} item with id {value!r}"))
            columns[name] = pk
        elif name in resource.codecs:
            column, to_column, _ = resource.codecs[name]
            columns[column] = to_column(value)
        else:
            columns[name] = value
    if resource.children:
        for index, child in enumerate(children):
            for name, target in resource.children.refs.items():
                if child.get(name) is not None:
                    pk = resolver.resolve(target, child[name])
                    if pk is None:
                        errors.append(field_error(
                            [resource.children.field, index, name],
                            f"no {RESOURCE_OF_MODEL[target]} item with id {child[name]!r}"))
                    child[name] = pk
    return columns, children, errors


def _check_unique(session: Session, tenant: str, resource: Resource, external_id: str,
                  columns: dict[str, Any], stored: Any) -> None:
    """A client's e-mail address is another client's: refused. Asked only when the address
    is new or changes (most writes of a client leave it as it is)."""
    if resource.model is m.Client and (stored is None or stored.email != columns["email"]):
        # Equality on both columns of its unique index (an `external_id !=` here led
        # PostgreSQL to walk the tenant's clients by id instead).
        other = session.exec(
            select(m.Client.external_id).where(m.Client.tenant == tenant,
                                               m.Client.email == columns["email"])
        ).first()
        if other is not None and other != external_id:
            raise email_in_use(other)


def email_in_use(other: str) -> ValidationFailed:
    """The refusal of a client e-mail address that client `other` already has."""
    return ValidationFailed("Another client already uses this e-mail address.", errors=[
        field_error(["email"], f"already used by client {other!r}")])


def upsert(session: Session, tenant: str, resource_name: str, external_id: str, body: Any,
           resolver: RefResolver | None = None, *, read_back: bool = True,
           today: date | None = None,
           notices: Notices | None = None) -> tuple[dict[str, Any] | None, bool]:
    """Create or replace one item; returns (item as read back, or None without read_back,
    created?). Bulk loads skip the read-back: it was a third of their time. `today` is the
    tenant's date, for the resource's replace rule (by default the date in UTC); `notices`
    (the tenant's `Notices`) tells families of a change that is news to them (see
    `ReplaceRule`)."""
    today = today or m.utcnow().date()
    resource = RESOURCES[resource_name]
    resolver = resolver or RefResolver(session, tenant)
    values = parse(resource, body, external_id)
    columns, children, errors = column_values(resource, values, resolver)
    if errors:
        raise ValidationFailed(f"Invalid {resource.name} item.", errors=errors)
    model = resource.model
    query = select(model).where(model.tenant == tenant, model.external_id == external_id)
    rule = resource.replace_rule
    row = session.exec(query.with_for_update() if rule else query).first()
    created = row is None
    _check_unique(session, tenant, resource, external_id, columns, row)
    stored = row.model_dump() if rule and not created else None
    if rule and stored is not None:
        rule.check(stored, columns, today)
    news = rule is not None and rule.is_news(notices, stored, columns, today)
    if created:
        row = model(tenant=tenant, external_id=external_id, **columns)
        session.add(row)
    elif any(differs(getattr(row, name), value) for name, value in columns.items()):
        for name, value in columns.items():
            setattr(row, name, value)
        row.updated_at = m.utcnow()
    session.flush()
    resolver.remember(model, external_id, row.id)
    if resource.children:
        spec = resource.children
        parent_col = getattr(spec.model, spec.parent_column)
        if not created:
            session.exec(delete(spec.model).where(parent_col == row.id))
        for position, child in enumerate(children):
            session.add(spec.model(**{spec.parent_column: row.id}, position=position, **child))
        session.flush()
    if news:
        rule.tell(session, notices, [row.id])
    return (serialize(session, resource, [row], resolver.external)[0] if read_back
            else None), created


def differs(stored: Any, new: Any) -> bool:
    """Compare a stored value with a new one (SQLite hands datetimes back without a zone)."""
    if isinstance(stored, datetime) and isinstance(new, datetime):
        if stored.tzinfo is None:
            stored = stored.replace(tzinfo=timezone.utc)
    return stored != new


def _row(session: Session, tenant: str, resource: Resource, external_id: str) -> Any:
    """The tenant's item with this provider id, or NotFound."""
    model = resource.model
    row = session.exec(
        select(model).where(model.tenant == tenant, model.external_id == external_id)
    ).first()
    if row is None:
        raise NotFound(f"No {resource.name} item with id {external_id!r}.")
    return row


def get_one(session: Session, tenant: str, resource_name: str, external_id: str) -> dict[str, Any]:
    resource = RESOURCES[resource_name]
    return serialize(session, resource, [_row(session, tenant, resource, external_id)])[0]


def list_items(session: Session, tenant: str, resource_name: str, *, limit: int = DEFAULT_LIMIT,
               cursor: str | None = None,
               filters: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """One page of items in a stable order, and the cursor of the next page (or None).
    `filters`: for some of the resource's filters, the texts asked for (`["open,expired"]`)."""
    resource = RESOURCES[resource_name]
    model = resource.model
    after = decode_cursor(cursor)
    query = select(model).where(model.tenant == tenant, model.id > after)
    for name, texts in (filters or {}).items():
        query = query.where(_filter(resource, name, texts))
    rows = session.exec(query.order_by(model.id).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": serialize(session, resource, rows),
        "next_cursor": encode_cursor(rows[-1].id) if more else None,
    }


def _filter(resource: Resource, name: str, texts: list[str]) -> Any:
    """The condition `?name=a,b` asks for, or a refusal naming the values the filter takes."""
    allowed = resource.filters.get(name)
    if allowed is None:
        raise ValidationFailed(f"{resource.name} cannot be filtered by {name}.", errors=[
            field_error([name], f"not a filter of {resource.name}")])
    values = {value for text in texts for value in text.split(",")}
    unknown = sorted(values - set(allowed))
    if unknown:
        raise ValidationFailed(f"Invalid {name}.", errors=[field_error([name], (
            f"unknown {name} {', '.join(map(repr, unknown))}: give one or more of "
            f"{', '.join(allowed)}, separated by commas"))])
    column = getattr(resource.model, name)
    # One value reads the index (tenant, column, id) in the order of the page.
    return column == values.pop() if len(values) == 1 else column.in_(sorted(values))


def delete_one(session: Session, tenant: str, resource_name: str, external_id: str) -> None:
    resource = RESOURCES[resource_name]
    row = _row(session, tenant, resource, external_id)
    try:
        with session.begin_nested():
            session.delete(row)
            session.flush()
    except IntegrityError:
        raise Conflict(
            f"{resource.name} item {external_id!r} is still referenced by other items; "
            "delete or re-point those first."
        ) from None


def encode_cursor(pk: int) -> str:
    return base64.urlsafe_b64encode(f"id:{pk}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The row id in a cursor `encode_cursor` gave, 0 for none. Anything else is refused: a
    cursor must be the very one we would give, so padding, stray characters and numbers past
    the id column's range never reach a query (a 20-digit id was a server error)."""
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = raw.partition(":")
        pk = int(value) if prefix == "id" and value.isdigit() else 0
    except (ValueError, UnicodeDecodeError):
        pk = 0
    if not 0 < pk <= MAX_ROW_ID or encode_cursor(pk) != cursor:
        raise ValidationFailed("Invalid cursor.", errors=[
            field_error(["cursor"], "not a cursor this API gave")])
    return pk


def serialize(session: Session, resource: Resource, rows: list,
              known: Mapping[tuple[type, int], str] | None = None) -> list[dict[str, Any]]:
    """Rows as the API shows them, with references as provider ids; constant queries per page.
    `known` gives provider ids already at hand, by (model, row id)."""
    if not rows:
        return []
    external: dict[type, dict[int, str]] = {}
    wanted: dict[type, set[int]] = {}
    for name, target in resource.refs.items():
        wanted.setdefault(target, set()).update(
            getattr(r, name) for r in rows if getattr(r, name) is not None)
    children: dict[int, list] = {}
    if resource.children:
        spec = resource.children
        parent_col = getattr(spec.model, spec.parent_column)
        for child in session.exec(
            select(spec.model).where(parent_col.in_([r.id for r in rows]))
            .order_by(parent_col, spec.model.position)
        ):
            children.setdefault(getattr(child, spec.parent_column), []).append(child)
            for name, target in spec.refs.items():
                if getattr(child, name) is not None:
                    wanted.setdefault(target, set()).add(getattr(child, name))
    for target, ids in wanted.items():
        at_hand = {pk: known[(target, pk)] for pk in ids if (target, pk) in (known or {})}
        missing = ids - at_hand.keys()
        external[target] = at_hand | (dict(session.exec(
            select(target.id, target.external_id).where(target.id.in_(missing))
        ).all()) if missing else {})

    fields = resource.read_schema.model_fields
    out = []
    for row in rows:
        item: dict[str, Any] = {"id": row.external_id}
        for name in fields:
            if name == "id" or (resource.children and name == resource.children.field):
                continue
            if name in resource.refs:
                pk = getattr(row, name)
                item[name] = external[resource.refs[name]].get(pk) if pk is not None else None
            elif name in resource.codecs:
                column, _, from_column = resource.codecs[name]
                item[name] = from_column(getattr(row, column))
            else:
                item[name] = jsonable(getattr(row, name))
        if resource.children:
            spec = resource.children
            child_schema = resource.schema.model_fields[spec.field].annotation.__args__[0]
            child_fields = child_schema.model_fields
            item[spec.field] = [
                {
                    name: (external[spec.refs[name]].get(getattr(c, name))
                           if name in spec.refs and getattr(c, name) is not None
                           else jsonable(getattr(c, name)))
                    for name in child_fields
                }
                for c in children.get(row.id, [])
            ]
        out.append(item)
    return out


