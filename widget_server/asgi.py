"""The ASGI application for `widget-server serve` (uvicorn imports it in each worker)."""

import gc

from widget_server.app import create_app
from widget_server.core.settings import Settings
from widget_server.web.warm_up import FreezeWhenWarm

app = create_app(Settings.from_environ())
app.add_middleware(FreezeWhenWarm)

# Everything built so far (modules, routes, templates' environment, the app) lives as long as
# the worker: frozen, the cyclic collector stops walking it on every full collection, pauses
# that showed as a p99 twice the median (bench/profile_pages.py: make-ups p99 146 -> 53 ms,
# home 186 -> 101 ms at the same throughput).
gc.collect()
gc.freeze()
