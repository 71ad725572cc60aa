"""A real HTTP webhook receiver on loopback for tests (http.server in its own thread).

Use it through a fixture::

    @pytest.fixture
    def receiver():
        hooks = Receiver()
        hooks.start()
        yield hooks
        hooks.stop()

then point a tenant's `webhook_url` at ``receiver.url``. ``receiver.stop()`` makes the port
refuse connections (the provider's server is down) and ``receiver.start()`` brings it back on
the same port; ``receiver.answer`` is the status it replies with (a number, or a function of
the parsed body, e.g. 503 for one client's events only).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable


@dataclass(frozen=True)
class Request:
    """One POST as the receiver saw it, and the status it answered."""

    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


class Receiver:
    """Records every request; answers `answer` (200 unless told otherwise)."""

    def __init__(self) -> None:
        self.port = 0
        self.answer: int | Callable[[dict[str, Any]], int] = 200
        self.delay = 0.0
        self.requests: list[Request] = []
        self._arrived = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/client-profile"

    def start(self) -> None:
        """Listen (again, after stop(), on the same port)."""
        if self._server is not None:
            return
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop listening: connections are refused until start()."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def accepted(self) -> list[Request]:
        """The requests answered 2xx, in the order they arrived."""
        with self._arrived:
            return [r for r in self.requests if r.accepted]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Request]:
        """Block until `count` requests were accepted; fail the test otherwise."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.accepted) >= count, timeout):
                raise AssertionError(f"expected {count} webhook(s) within {timeout} s, "
                                     f"got {len(self.accepted)}")
        return self.accepted

    def _status_for(self, body: bytes) -> int:
        if callable(self.answer):
            return self.answer(json.loads(body))
        return self.answer

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if receiver.delay:
                    threading.Event().wait(receiver.delay)
                status = receiver._status_for(body)
                # Recorded before answering, so the arrival order is the order of the answers.
                with receiver._arrived:
                    receiver.requests.append(Request(
                        self.path, {k.lower(): v for k, v in self.headers.items()}, body, status))
                    receiver._arrived.notify_all()
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
