"""Fixed-window rate limits kept in the database, so they hold across several workers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from widget_server.core import metrics
from widget_server.core.models import RateLimitCounter


def window_start(now: datetime, window: timedelta) -> datetime:
    seconds = int(window.total_seconds())
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=timezone.utc)


def hit(session: Session, key: str, window: timedelta, now: datetime) -> int:
    """Count one hit for `key` in the current window; returns the hits so far, this one included."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = RateLimitCounter.__table__
    statement = (
        insert(table)
        .values(key=key[:400], window_start=window_start(now, window), hits=1)
        .on_conflict_do_update(index_elements=["key", "window_start"],
                               set_={"hits": table.c.hits + 1})
        .returning(table.c.hits)
    )
    return session.exec(statement).scalar_one()  # type: ignore[call-overload]


def allow(session: Session, key: str, limit: int, window: timedelta, now: datetime) -> bool:
    """Whether one more hit is within the limit (the hit is counted either way)."""
    if hit(session, key, window, now) <= limit:
        return True
    # The limit's name is the key up to its first colon; the rest names an IP or an address.
    metrics.RATE_LIMITED.labels(key.split(":", 1)[0]).inc()
    return False


def count(session: Session, key: str, window: timedelta, now: datetime) -> int:
    """The hits for `key` in the current window so far, counting none."""
    hits = session.exec(select(RateLimitCounter.hits).where(
        RateLimitCounter.key == key[:400],
        RateLimitCounter.window_start == window_start(now, window))).first()
    return hits or 0
