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
