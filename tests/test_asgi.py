"""What `widget-server serve` runs in each worker: the app from the environment, with the heap
built at start-up, and what its first requests build, kept out of the cyclic collector's full
collections."""

from __future__ import annotations

import os
import subprocess
import sys

from widget_server.demo import TENANTS_DIR


def test_a_worker_freezes_what_it_built_at_start_up(tmp_path):
    environ = os.environ | {"WIDGET_DATABASE_URL": f"sqlite:///{tmp_path / 'widget.db'}",
                            "WIDGET_SECRET_KEYS": "test", "WIDGET_TENANTS_DIR": str(TENANTS_DIR),
                            "WIDGET_SMTP_HOST": "127.0.0.1"}  # never used: nothing is sent
    frozen = subprocess.run(
        [sys.executable, "-c",
         "import gc; import widget_server.asgi as a; "
         "print(type(a.app).__name__, gc.get_freeze_count(), "
         "[m.cls.__name__ for m in a.app.user_middleware][0])"],
        env=environ, capture_output=True, text=True, check=True, timeout=60).stdout.split()
    assert frozen[0] == "WidgetApp" and int(frozen[1]) > 10_000
    assert frozen[2] == "FreezeWhenWarm"  # and again once its first requests have built more
