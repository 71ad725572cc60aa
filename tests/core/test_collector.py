"""The cyclic garbage collector paused for a stretch of work, and always running again after."""

from __future__ import annotations

import gc
import threading

import pytest

from widget_server.core import collector


@pytest.fixture(autouse=True)
def collector_on():
    gc.enable()
    yield
    gc.enable()


def test_the_collector_is_off_in_a_pause_and_on_again_after_it():
    with collector.paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_it_is_on_again_after_a_pause_that_failed():
    with pytest.raises(ValueError), collector.paused():
        raise ValueError("a bad batch")
    assert gc.isenabled()


def test_overlapping_pauses_in_two_threads_end_when_the_last_one_does():
    first_in, second_out = threading.Event(), threading.Event()
    seen = {}

    def first():
        with collector.paused():
            first_in.set()
            second_out.wait(5)
            seen["after the other's end"] = gc.isenabled()

    thread = threading.Thread(target=first)
    thread.start()
    first_in.wait(5)
    with collector.paused():
        pass
    second_out.set()
    thread.join(5)
    assert seen == {"after the other's end": False}
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off():
    gc.disable()
    with collector.paused():
        pass
    assert not gc.isenabled()


def test_a_worker_freezes_again_what_its_first_requests_built():
    """Templates, compiled statements and formats are made on first use and kept: after its
    first requests (and once more later) the worker collects once and freezes them too."""
    import gc

    import anyio
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from widget_server.core.collector import FreezeWhenWarm

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
