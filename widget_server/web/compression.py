"""Responses compressed for the browser: zstd where it is accepted (Chromium and Firefox ask for
it), else gzip (Safari, older browsers). Each at its fastest level: about the same size (a
home page 2,975 B in zstd, 2,995 in gzip), but a zstd context is kept per thread and reused,
where zlib sets up and clears its state for every response: a home page's server 2.24 -> 2.11 ms
of CPU (bench/README.md). Starlette's middleware decides what to compress and how (small
bodies, ranges, images, streams, large bodies in a thread); only the encoder is added."""

from __future__ import annotations

import threading
from typing import Any

import anyio.to_thread
import zstandard
from starlette.datastructures import Headers
from starlette.middleware.gzip import GZipMiddleware, GZipResponder, IdentityResponder
from starlette.types import ASGIApp, Receive, Scope, Send

# The fastest level of both (nginx's default for gzip too): zlib's level 6 took 30-140 us more
# a page (a sixth of a light page's time) for 4-11 % fewer bytes.
LEVEL = 1
_contexts = threading.local()


def _context() -> zstandard.ZstdCompressor:
    # A context compresses one body at a time: one per thread (large bodies go to a thread).
    context = getattr(_contexts, "zstd", None)
    if context is None:
        context = _contexts.zstd = zstandard.ZstdCompressor(level=LEVEL)
    return context


def accepts(header: str, coding: str) -> bool:
    """Whether an Accept-Encoding header takes `coding` (RFC 9110: not with q=0)."""
    for item in header.split(","):
        name, _, params = item.partition(";")
        if name.strip().lower() == coding:
            for param in params.split(";"):
                key, _, value = param.strip().partition("=")
                if key.strip().lower() == "q":
                    try:
                        return float(value) > 0
                    except ValueError:
                        return False
            return True
    return False


class _ZstdResponder(IdentityResponder):
    content_encoding = "zstd"

    def __init__(self, app: ASGIApp, minimum_size: int, thread_minimum_size: int,
                 **options: Any) -> None:
        super().__init__(app, minimum_size, **options)
        self.thread_minimum_size = thread_minimum_size
        self._stream: Any = None  # a streamed body's frame, across its messages

    async def apply_compression(self, body: bytes, *, more_body: bool) -> bytes:
        if len(body) >= self.thread_minimum_size:  # would hold up the event loop
            return await anyio.to_thread.run_sync(self._compress, body, more_body)
        return self._compress(body, more_body)

    def _compress(self, body: bytes, more_body: bool) -> bytes:
        if self._stream is None and not more_body:  # the whole body at once: every page
            return _context().compress(body)
        if self._stream is None:
            self._stream = zstandard.ZstdCompressor(level=LEVEL).compressobj()
        if more_body:  # what has come so far, decodable before the rest arrives
            return self._stream.compress(body) + self._stream.flush(
                zstandard.COMPRESSOBJ_FLUSH_BLOCK)
        return self._stream.compress(body) + self._stream.flush()


class Compression(GZipMiddleware):
    """Starlette's `GZipMiddleware`, with zstd first."""

    def __init__(self, app: ASGIApp, **options: Any) -> None:
        super().__init__(app, compresslevel=LEVEL, **options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        accepted = Headers(scope=scope).get("Accept-Encoding", "")
        responder: IdentityResponder
        if accepts(accepted, "zstd"):
            responder = _ZstdResponder(self.app, self.minimum_size, self.thread_minimum_size,
                                       exclude_content_types=self.exclude_content_types)
        elif accepts(accepted, "gzip"):
            responder = GZipResponder(self.app, self.minimum_size,
                                      compresslevel=self.compresslevel,
                                      thread_minimum_size=self.thread_minimum_size,
                                      exclude_content_types=self.exclude_content_types)
        else:
            responder = IdentityResponder(self.app, self.minimum_size,
                                          exclude_content_types=self.exclude_content_types)
        await responder(scope, receive, send)
