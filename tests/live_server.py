"""The app behind the real uvicorn on a loopback port, in a thread, for stories that need a real
server (real sockets, proxy headers, concurrent clients)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from smtp import free_port
from starlette.applications import Starlette


@contextmanager
def serving(app: Starlette, **options: Any) -> Iterator[str]:
    """Serve `app` (uvicorn `options` such as `serve`'s proxy options) until the block ends;
    yields its base URL. The app's engine is disposed of afterwards."""
    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning",
                            **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.engine.dispose()
