"""What operators watch (`GET /metrics`): plain prometheus_client objects, incremented where
things happen, and the exposition of them plus the outbox's state read at scrape time.

With `PROMETHEUS_MULTIPROC_DIR` set (before start-up, for every `serve` worker and `worker`
process of one host) prometheus_client keeps each process's values in files there and a scrape
adds them up; without it, this process's own registry is read. There are only counters and a
histogram in those files (the outbox gauges are read from the database at each scrape), so a
stopped process needs no `mark_process_dead`: its counts stay in the sums, as they should.
"""

from __future__ import annotations

import os
from datetime import datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func
from sqlmodel import Session, select

from widget_server.core.models import OutboxMessage

CONTENT_TYPE = CONTENT_TYPE_LATEST
# `_created` series per label set double the output and tell Prometheus nothing it uses here.
disable_created_metrics()
# Always reported, at 0 when empty, so an alert on them never sees the series vanish.
OUTBOX_CHANNELS = ("email", "webhook", "whatsapp")
WAITING = ("pending", "sending")

# Labels are route names (never raw paths: ids would make a series per family) and classes.
REQUESTS = Counter("widget_http_requests_total", "HTTP requests answered",
                   ["route", "method", "status"])
LATENCY = Histogram("widget_http_request_duration_seconds",
                    "Time to answer an HTTP request, headers and body", ["route", "method"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
DELIVERIES_FAILED = Counter("widget_outbox_deliveries_failed_total",
                            "Outbox sends that failed; outcome retry or given_up",
                            ["channel", "outcome"])
LOGIN_EMAILS = Counter("widget_login_emails_total",
                       "Login e-mails queued for a known address")
CODES_REFUSED = Counter("widget_login_codes_refused_total",
                        "Login codes that did not log in, by reason", ["reason"])
RATE_LIMITED = Counter("widget_rate_limit_hits_total",
                       "Requests refused by a rate limit, by the limit's name", ["limit"])


def status_class(status: int) -> str:
    """`404` -> `4xx`."""
    return f"{status // 100}xx"


def outbox_waiting(session: Session, now: datetime) -> dict[str, tuple[int, float]]:
    """Per channel: messages not yet delivered, and seconds the oldest of them has waited.

    One query on `ix_outbox_waiting` (status, channel, created_at): sent messages, which pile
    up, are never read."""
    rows = session.exec(
        select(OutboxMessage.channel, func.count(), func.min(OutboxMessage.created_at))
        .where(OutboxMessage.status.in_(WAITING))  # type: ignore[attr-defined]
        .group_by(OutboxMessage.channel)
    ).all()
    waiting = {channel: (0, 0.0) for channel in OUTBOX_CHANNELS}
    for channel, depth, oldest in rows:
        if oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=now.tzinfo)
        waiting[channel] = (depth, max((now - oldest).total_seconds(), 0.0))
    return waiting


def _outbox_families(waiting: dict[str, tuple[int, float]]) -> list[GaugeMetricFamily]:
    depth = GaugeMetricFamily("widget_outbox_depth", "Outbox messages not yet delivered",
                              labels=["channel"])
    age = GaugeMetricFamily("widget_outbox_oldest_age_seconds",
                            "How long the oldest undelivered outbox message has waited",
                            labels=["channel"])
    for channel, (count, seconds) in sorted(waiting.items()):
        depth.add_metric([channel], count)
        age.add_metric([channel], seconds)
    return [depth, age]


class _Snapshot:
    """A collector of metric families read once, at this scrape."""

    def __init__(self, families: list[GaugeMetricFamily]):
        self.families = families

    def collect(self) -> list[GaugeMetricFamily]:
        return self.families


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def exposition(waiting: dict[str, tuple[int, float]]) -> bytes:
    """The text format: every process's counters (or this one's) and the outbox gauges."""
    if multiprocess_dir():
        # Metrics live in the files; the default registry would export this process twice.
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        counters = generate_latest(registry)
    else:
        counters = generate_latest(REGISTRY)
    gauges = CollectorRegistry(auto_describe=True)
    gauges.register(_Snapshot(_outbox_families(waiting)))
    return counters + generate_latest(gauges)
