"""Driving the app as a server would, for bodies a test client would read whole first."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable


def drive(app, path: str, headers: dict[str, str], chunks: Iterable[bytes],
          method: str = "POST") -> tuple[int, int]:
    """Send one request straight to the ASGI app, its body in chunks pulled only when the app
    asks for them; returns the answer's status and how many chunks the app read."""
    read = 0
    status = 0
    body = iter(chunks)

    async def receive():
        nonlocal read
        chunk = next(body, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        read += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "client": ("127.0.0.1", 40000),
             "server": ("testserver", 80), "state": {},
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}
    asyncio.run(app(scope, receive, send))
    return status, read
