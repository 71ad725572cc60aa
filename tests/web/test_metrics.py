"""An operator's Prometheus scrapes `GET /metrics`: requests by route, latency, the outbox's
backlog, logins and rate limits; nobody else even learns the endpoint is there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
from profile_support import hold_still
from prometheus_client.parser import text_string_to_metric_families
from samples import BASE, load_base
from smtp import free_port
from starlette.testclient import TestClient
from visitor import Visitor

from widget_server.core.db import session_scope
from widget_server.core.models import OutboxMessage
from widget_server.core.settings import Settings

SARAH = "sarah@example.com"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def settings(settings):
    """One login e-mail per address per 15 minutes, so a second ask meets the limit."""
    return replace(settings, login_emails_per_address=1)


def parse(text: str) -> Samples:
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def grew(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


@pytest.fixture
def prometheus(app, client) -> TestClient:
    """The operator's scraper, on the machine itself (the default WIDGET_METRICS_ALLOW)."""
    return TestClient(app, client=("127.0.0.1", 40000))


def queue_undelivered(app, channel: str, count: int, waited: timedelta, due: bool) -> None:
    """Messages that have waited `waited`: due now, or set aside until much later."""
    now = app.state.clock()  # the clock the backlog's age is measured by
    with session_scope(app.state.engine) as session:
        for _ in range(count):
            session.add(OutboxMessage(
                tenant="demo", channel=channel, created_at=now - waited,
                next_attempt_at=now if due else now + timedelta(days=1),
                payload={"tenant": "demo", "to": "+447700900123", "message": {}}))


def test_an_operator_sees_requests_logins_limits_and_the_outbox_backlog(
        app, client, api, mailbox, prometheus):
    hold_still(app)  # the two login e-mails below count in one window of the limit
    before = scrape(prometheus)
    load_base(api)  # a PUT per item through the API
    assert api.get("clients", "c1").status_code == 200
    parent = Visitor(client)
    assert parent.home().status_code == 303  # home, before logging in: to the login page
    assert parent.request_code(SARAH).status_code == 200
    assert mailbox.wait_for(1)
    assert parent.request_code(SARAH).status_code == 429  # one e-mail per address
    assert parent.enter_code(SARAH, "000000").status_code == 422
    queue_undelivered(app, "webhook", 3, timedelta(minutes=10), due=False)
    # WhatsApp is not configured for the tenant: its sends fail and are retried later.
    queue_undelivered(app, "whatsapp", 1, timedelta(minutes=2), due=True)
    deadline = time.monotonic() + 10
    while True:
        after = scrape(prometheus)
        failed = grew(before, after, "widget_outbox_deliveries_failed_total",
                      channel="whatsapp", outcome="retry")
        if failed or time.monotonic() > deadline:
            break
        time.sleep(0.1)

    assert grew(before, after, "widget_http_requests_total",
                route="api_put", method="PUT", status="2xx") == len(BASE)
    assert grew(before, after, "widget_http_requests_total",
                route="api_get", method="GET", status="2xx") == 1
    assert grew(before, after, "widget_http_requests_total",
                route="home", method="GET", status="3xx") == 1
    assert grew(before, after, "widget_http_requests_total",
                route="login", method="GET", status="2xx") == 2
    assert grew(before, after, "widget_http_requests_total",
                route="login_submit", method="POST", status="2xx") == 1
    assert grew(before, after, "widget_http_requests_total",
                route="login_submit", method="POST", status="4xx") == 1
    assert grew(before, after, "widget_http_requests_total",
                route="metrics", method="GET", status="2xx") >= 1
    # Route names, never paths: no id or address becomes a label.
    labels = {v for (_, pairs) in after for _, v in pairs}
    assert not [label for label in labels if "/" in label or "c1" in label or "@" in label]
    # The latency histogram: every request lands in +Inf, the quick ones in low buckets too.
    assert grew(before, after, "widget_http_request_duration_seconds_count",
                route="api_put", method="PUT") == len(BASE)
    assert grew(before, after, "widget_http_request_duration_seconds_bucket",
                route="api_put", method="PUT", le="+Inf") == len(BASE)
    assert grew(before, after, "widget_http_request_duration_seconds_sum",
                route="api_put", method="PUT") > 0
    assert value(after, "widget_http_request_duration_seconds_bucket",
                 route="api_put", method="PUT", le="0.005") <= value(
        after, "widget_http_request_duration_seconds_bucket",
        route="api_put", method="PUT", le="10.0")

    assert grew(before, after, "widget_login_emails_total") == 1
    assert grew(before, after, "widget_login_codes_refused_total", reason="wrong_code") == 1
    assert grew(before, after, "widget_rate_limit_hits_total", limit="login-email") == 1
    assert failed >= 1

    # The backlog is read from the database at each scrape, per channel.
    assert value(after, "widget_outbox_depth", channel="webhook") == 3
    assert value(after, "widget_outbox_depth", channel="whatsapp") == 1
    assert value(after, "widget_outbox_depth", channel="email") == 0
    assert 600 <= value(after, "widget_outbox_oldest_age_seconds", channel="webhook") < 700
    assert 120 <= value(after, "widget_outbox_oldest_age_seconds", channel="whatsapp") < 220
    assert value(after, "widget_outbox_oldest_age_seconds", channel="email") == 0


def test_from_any_other_address_metrics_is_just_another_unknown_address(app, client):
    outsider = TestClient(app, client=("203.0.113.7", 40000))
    refused = outsider.get("/metrics")
    unknown = outsider.get("/no-such-page")
    assert refused.status_code == unknown.status_code == 404
    assert refused.text == unknown.text
    assert "widget_http_requests_total" not in refused.text


def test_the_allowed_addresses_are_a_setting(settings):
    from widget_server.app import create_app

    allow = Settings.from_environ({"WIDGET_METRICS_ALLOW": "10.0.0.0/8, 192.0.2.1"}).metrics_allow
    assert allow == ("10.0.0.0/8", "192.0.2.1")
    assert Settings.from_environ({}).metrics_allow == ("127.0.0.1", "::1")
    app = create_app(replace(settings, metrics_allow=allow))
    try:
        with TestClient(app, client=("10.20.30.40", 1)) as inside:
            assert inside.get("/metrics").status_code == 200
            assert TestClient(app, client=("192.0.2.1", 1)).get("/metrics").status_code == 200
            assert TestClient(app, client=("127.0.0.1", 1)).get("/metrics").status_code == 404
    finally:
        app.state.engine.dispose()


def serve(port: int, environ: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "widget_server", "serve", "--host", "127.0.0.1",
         "--port", str(port)],
        env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_until_up(process: subprocess.Popen, base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode()
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"{base} did not start")


def test_two_serve_processes_add_up_in_multiprocess_mode(tmp_path, sqlite_template):
    """Two `serve` processes sharing PROMETHEUS_MULTIPROC_DIR: either one's scrape counts
    the requests both answered."""
    shutil.copy(sqlite_template, tmp_path / "widget.db")
    (tmp_path / "prometheus").mkdir()
    environ = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
               "WIDGET_DATABASE_URL": f"sqlite:///{tmp_path / 'widget.db'}",
               "WIDGET_SECRET_KEYS": "test-secret", "WIDGET_OUTBOX_IN_PROCESS": "0",
               "WIDGET_SCHEDULER_INTERVAL": "0"}
    ports = [free_port(), free_port()]
    processes = [serve(port, environ) for port in ports]
    try:
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        for process, base in zip(processes, bases, strict=True):
            wait_until_up(process, base)
        first, second = (parse(httpx.get(f"{base}/metrics").text) for base in bases)
        healthz = {"route": "healthz", "method": "GET", "status": "2xx"}
        counted = value(second, "widget_http_requests_total", **healthz)
        for _ in range(3):
            httpx.get(f"{bases[0]}/healthz")
        for _ in range(2):
            httpx.get(f"{bases[1]}/healthz")
        for base in bases:
            both = parse(httpx.get(f"{base}/metrics").text)
            assert value(both, "widget_http_requests_total", **healthz) == counted + 5
            assert value(both, "widget_http_request_duration_seconds_count",
                         route="healthz", method="GET") == counted + 5
        assert value(first, "widget_outbox_depth", channel="email") == 0
        assert len(list((tmp_path / "prometheus").glob("counter_*.db"))) == 2
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)
            process.stderr.close()
