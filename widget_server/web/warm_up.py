"""A worker's heap, once its first requests have built what it keeps, kept out of the cyclic
collector's full collections, as the worker's start keeps what it built (`widget_server.asgi`).
"""

from __future__ import annotations

import gc

from starlette.types import ASGIApp, Receive, Scope, Send

# A worker's young collections: once this many objects are made and not yet freed
# (`widget_server.asgi`, which says why).
YOUNG_COLLECTION_EVERY = 10_000


class FreezeWhenWarm:
    """After the worker's first requests, and again later, collect once and freeze what is
    left: what the first pages built lives as long as the worker too (each template compiled
    on first use, statements compiled per database, formats and records made once), 67,000
    objects for the benchmark's twelve pages, which every full collection walked again
    (17 ms each, every in-flight request waiting)."""

    def __init__(self, app: ASGIApp, after: tuple[int, ...] = (500, 5_000)):
        self.app = app
        self.after = after
        self.served = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
        if scope["type"] == "http":
            self.served += 1
            if self.served in self.after:
                gc.collect()
                gc.freeze()
