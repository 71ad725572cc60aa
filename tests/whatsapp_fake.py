"""A local stand-in for the WhatsApp Business Cloud API (http.server in its own thread).

It speaks the API's request and answer formats for `POST /v21.0/<phone-number-id>/messages`:
a Bearer token, a JSON body with `messaging_product: "whatsapp"`, `to` and a `template`
(name, language code, body parameters); it answers `{"messaging_product": "whatsapp",
"contacts": [...], "messages": [{"id": "wamid...."}]}`, or the API's error body
`{"error": {"message", "type", "code", "fbtrace_id"}}` with 401 for a wrong token and 400 for
a malformed message. `fail_next` makes the next answers fail with a given status (429, 503).
"""

from __future__ import annotations

import json
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator, Mapping

# The dance school's (demo-sk) WhatsApp number and token, as the tests' environment has them.
PIRUETKA_ENV = {"WIDGET_WHATSAPP_TOKEN_DEMO_SK": "EAAG-test-token",
                "WIDGET_WHATSAPP_PHONE_ID_DEMO_SK": "106540352242922"}


@dataclass(frozen=True)
class Sent:
    phone_number_id: str
    token: str
    body: dict[str, Any]
    status: int


class FakeCloudApi:
    def __init__(self, phone_number_id: str, token: str):
        self.phone_number_id = phone_number_id
        self.token = token
        self.requests: list[Sent] = []
        self.fail_next: list[int] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def delivered(self) -> list[Sent]:
        with self._lock:
            return [r for r in self.requests if r.status == 200]

    def start(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def answer(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict]:
        found = re.fullmatch(r"/v21\.0/(\d+)/messages", path)
        token = headers.get("authorization", "").removeprefix("Bearer ")
        if found is None:
            return 404, _error("Unknown path components", "OAuthException", 2500)
        if token != self.token:
            return 401, _error("Invalid OAuth access token.", "OAuthException", 190)
        if found.group(1) != self.phone_number_id:
            return 400, _error("Unsupported post request.", "GraphMethodException", 100)
        try:
            body = json.loads(raw)
            template = body["template"]
            assert body["messaging_product"] == "whatsapp" and body["type"] == "template"
            assert re.fullmatch(r"\d{8,15}", body["to"])
            assert template["name"] and template["language"]["code"]
            for component in template["components"]:
                assert component["type"] == "body"
                assert all(p["type"] == "text" and p["text"] for p in component["parameters"])
        except (ValueError, KeyError, TypeError, AssertionError):
            return 400, _error("(#100) Invalid parameter", "OAuthException", 100)
        with self._lock:
            if self.fail_next:
                status = self.fail_next.pop(0)
                return status, _error("Service temporarily unavailable", "OAuthException",
                                      2 if status >= 500 else 130429)
        return 200, {"messaging_product": "whatsapp",
                     "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                     "messages": [{"id": f"wamid.HBgM{len(self.requests):06d}"}]}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, answer = api.answer(self.path, headers, raw)
                body = json.loads(raw) if status != 404 and raw.startswith(b"{") else {}
                with api._lock:
                    api.requests.append(Sent(self.path.split("/")[2] if status != 404 else "",
                                             headers.get("authorization", ""), body, status))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


def _error(message: str, kind: str, code: int) -> dict:
    return {"error": {"message": message, "type": kind, "code": code,
                      "fbtrace_id": "AbCdEfGh12345"}}


@contextmanager
def cloud_api_for(env: Mapping[str, str] = PIRUETKA_ENV) -> Iterator[FakeCloudApi]:
    """The fake, serving the dance school's number and token, for the block's length."""
    api = FakeCloudApi(env["WIDGET_WHATSAPP_PHONE_ID_DEMO_SK"],
                       env["WIDGET_WHATSAPP_TOKEN_DEMO_SK"])
    api.start()
    try:
        yield api
    finally:
        api.stop()
