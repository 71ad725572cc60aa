"""Python's cyclic garbage collector, paused for a stretch of allocation-heavy work.

A bulk import allocates tens of objects a line that reference counting frees by itself, yet
the collector still walks every 700 of them, and the walks cost the import 8-10 % of its
time (bench/bulk_import.py, 10,000 clients: 28,600-29,800 -> 31,800-32,700 lines/s on
SQLite). A pause is kept short (one batch of lines, under a tenth of a second) so that
garbage other requests leave meanwhile waits no longer than that: the first allocation after
it runs the collection that was due. Pauses may overlap (imports in several threads): the
collector runs again when the last one ends, and never if it was off before the first.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_pauses = 0  # pauses running now, in any thread
_enabled_before = False  # whether the collector ran before the first of them


@contextmanager
def paused() -> Iterator[None]:
    """The collector off while the block runs (and back on after it, if it was on)."""
    global _pauses, _enabled_before
    with _lock:
        if _pauses == 0:
            _enabled_before = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _enabled_before:
                gc.enable()
