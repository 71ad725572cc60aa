"""A worker freezes what its first requests built and keeps (`web.warm_up`)."""

from __future__ import annotations

import gc

import anyio
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from widget_server.web.warm_up import FreezeWhenWarm


def test_a_worker_freezes_again_what_its_first_requests_built():
    """Templates, compiled statements and formats are made on first use and kept: after its
    first requests (and once more later) the worker collects once and freezes them too."""
    built: list[dict] = []

    async def page(request):
        built.append({"kept": [[n] for n in range(1000)]})  # what a first view leaves
        return PlainTextResponse("ok")

    app = FreezeWhenWarm(Starlette(routes=[Route("/", page)]), after=(2, 4))
    counts: list[int] = []

    async def get() -> None:
        sent: list[dict] = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        await app({"type": "http", "method": "GET", "path": "/", "headers": [],
                   "query_string": b"", "root_path": ""}, receive, send)
        assert sent[0]["status"] == 200
        counts.append(gc.get_freeze_count())

    gc.collect()
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        for _ in range(5):
            anyio.run(get)
        grew = [b - a > 1000 for a, b in zip([before, *counts[:-1]], counts, strict=True)]
        assert grew == [False, True, False, True, False]
    finally:
        gc.unfreeze()
