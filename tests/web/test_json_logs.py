"""With `WIDGET_LOG_FORMAT=json` every log line is one JSON object a log collector can read,
each request's with its id, tenant and route, and none holds a login code, a link's token, an
API key, a session id or an e-mail address."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from dataclasses import replace

import httpx
import pytest
from conftest import API_KEYS
from samples import load_base
from smtp import free_port
from visitor import Visitor, code_of, hosted_link, token_of

from widget_server.core.logs import JsonFormatter, logging_config

SARAH = "sarah@example.com"


@pytest.fixture
def settings(settings):
    return replace(settings, log_format="json")


@pytest.fixture
def log_lines():
    """What the handler `widget-server serve` installs in JSON mode writes, captured."""
    assert logging_config("json")["formatters"]["main"]["()"].endswith(".JsonFormatter")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    ours = logging.getLogger("widget_server")
    level = ours.level
    ours.addHandler(handler)
    ours.setLevel(logging.INFO)
    yield lambda: stream.getvalue().splitlines()
    ours.removeHandler(handler)
    ours.setLevel(level)


def parsed(lines: list[str]) -> list[dict]:
    return [json.loads(line) for line in lines]


def test_a_login_and_api_calls_log_json_lines_without_secrets(client, api, mailbox, log_lines):
    load_base(api)
    parent = Visitor(client)
    parent.request_code(SARAH)
    message = mailbox.wait_for(1)[0]
    code, token = code_of(message), token_of(message)
    wrong = "000000" if code != "000000" else "111111"
    assert parent.enter_code(SARAH, wrong).status_code == 422
    parent.open(hosted_link(message).split("/t/demo/")[1])  # the e-mailed link, ?token=...
    assert parent.post("login/link", {"token": token}).status_code == 303
    assert parent.home().status_code == 200
    sid = client.cookies.get("cp_sid")
    assert sid
    assert api.get("clients", "c1").status_code == 200
    assert api.get("clients", limit=5).status_code == 200

    lines = log_lines()
    entries = parsed(lines)  # every line is JSON
    requests = [entry for entry in entries if entry["logger"] == "widget_server.request"]
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= entry.keys()
    for entry in requests:
        assert {"request_id", "route", "path", "method", "status", "duration_ms"} <= entry.keys()
        assert entry["tenant"] == "demo", entry
    routes = [(entry["route"], entry["status"]) for entry in requests]
    assert ("login_submit", 200) in routes
    assert ("login_code", 422) in routes
    assert ("login_link", 200) in routes
    assert ("login_link_submit", 303) in routes
    assert ("home", 200) in routes
    assert ("api_get", 200) in routes and ("api_list", 200) in routes
    assert ("api_put", 201) in routes
    link = next(entry for entry in requests if entry["route"] == "login_link")
    assert link["path"] == "/t/{tenant}/login/link"
    assert len({entry["request_id"] for entry in requests}) == len(requests)

    text = "\n".join(lines)
    for secret in (code, token, API_KEYS["demo"], sid, SARAH, SARAH.split("@")[0], "token="):
        assert secret not in text, secret


def test_a_request_id_is_taken_when_sane_and_always_echoed(client, log_lines):
    given = client.get("/t/demo/login", headers={"X-Request-ID": "lb-7f3a.42"})
    assert given.headers["X-Request-ID"] == "lb-7f3a.42"
    forged = client.get("/t/demo/login", headers={"X-Request-ID": "x" * 65})
    made = client.get("/healthz")
    assert forged.headers["X-Request-ID"] not in ("x" * 65, "")
    assert made.headers["X-Request-ID"] != forged.headers["X-Request-ID"]
    ids = [entry.get("request_id") for entry in parsed(log_lines())]
    assert ids == ["lb-7f3a.42", forged.headers["X-Request-ID"], made.headers["X-Request-ID"]]


def test_serve_in_json_mode_logs_json_and_no_raw_url(tmp_path, sqlite_template):
    """uvicorn's own lines are JSON too, and its access log, which prints URLs with their
    query strings, is replaced by ours."""
    shutil.copy(sqlite_template, tmp_path / "widget.db")
    port = free_port()
    environ = {**os.environ, "WIDGET_LOG_FORMAT": "json",
               "WIDGET_DATABASE_URL": f"sqlite:///{tmp_path / 'widget.db'}",
               "WIDGET_SECRET_KEYS": "test-secret", "WIDGET_OUTBOX_IN_PROCESS": "0"}
    environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "widget_server", "serve", "--host", "127.0.0.1",
         "--port", str(port)], env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None and time.monotonic() < deadline
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        answer = httpx.get(f"{base}/t/demo/login/link?token=not-a-real-token-123")
        assert answer.status_code == 410
        assert answer.headers["X-Request-ID"]
    finally:
        process.terminate()
        out, err = process.communicate(timeout=10)
    lines = (out + err).decode().splitlines()
    entries = parsed(lines)
    assert any(entry["logger"].startswith("uvicorn") for entry in entries)
    link = [entry for entry in entries if entry.get("route") == "login_link"]
    assert [(entry["status"], entry["tenant"], entry["request_id"]) for entry in link] == [
        (410, "demo", answer.headers["X-Request-ID"])]
    assert "not-a-real-token-123" not in "\n".join(lines)
