"""What `widget-server serve` runs in each worker: the app from the environment, with the heap
built at start-up, and what its first requests build, kept out of the cyclic collector's full
collections."""

from __future__ import annotations

import os
import subprocess
import sys

from widget_server.demo import TENANTS_DIR


def _in_a_worker(tmp_path, code: str) -> list[str]:
    """What `code` prints, run after importing the app as a worker does."""
    environ = os.environ | {"WIDGET_DATABASE_URL": f"sqlite:///{tmp_path / 'widget.db'}",
                            "WIDGET_SECRET_KEYS": "test", "WIDGET_TENANTS_DIR": str(TENANTS_DIR),
                            "WIDGET_SMTP_HOST": "127.0.0.1"}  # never used: nothing is sent
    return subprocess.run(
        [sys.executable, "-c", "import gc; import widget_server.asgi as a\n" + code],
        env=environ, capture_output=True, text=True, check=True, timeout=60).stdout.split()


def test_a_worker_freezes_what_it_built_at_start_up(tmp_path):
    frozen = _in_a_worker(tmp_path, "print(type(a.app).__name__, gc.get_freeze_count(), "
                                    "[m.cls.__name__ for m in a.app.user_middleware][0])")
    assert frozen[0] == "WidgetApp" and int(frozen[1]) > 10_000
    assert frozen[2] == "FreezeWhenWarm"  # and again once its first requests have built more


def test_pages_in_flight_do_not_set_off_the_collector_but_garbage_cycles_still_go(tmp_path):
    # Twenty pages in flight hold thousands of young objects, all alive: with Python's default
    # a collection ran every 700 of them and found nothing to free.
    ran = _in_a_worker(tmp_path, """
import weakref
runs = []
gc.callbacks.append(lambda phase, info: runs.append(1) if phase == "start" else None)
in_flight = [{"row": n} for n in range(8_000)]
print(len(runs))
class Node: pass
first = Node(); first.me = first; gone = weakref.ref(first); del first
for _ in range(20_000):
    cycle = Node(); cycle.me = cycle
print(len(runs), gone() is None)
""")
    assert ran[0] == "0"  # 8,000 live objects: no collection
    assert int(ran[1]) >= 1 and ran[2] == "True"  # a cycle left behind is collected
