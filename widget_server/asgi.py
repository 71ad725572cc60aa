"""The ASGI application for `widget-server serve` (uvicorn imports it in each worker)."""

import gc

from widget_server.app import create_app
from widget_server.core.settings import Settings
from widget_server.web.warm_up import YOUNG_COLLECTION_EVERY, FreezeWhenWarm

app = create_app(Settings.from_environ())
app.add_middleware(FreezeWhenWarm)

# Everything built so far (modules, routes, templates' environment, the app) lives as long as
# the worker: frozen, the cyclic collector stops walking it on every full collection, pauses
# that showed as a p99 twice the median (bench/profile_pages.py: make-ups p99 146 -> 53 ms,
# home 186 -> 101 ms at the same throughput).
gc.collect()
gc.freeze()

# A young collection once 10,000 objects have been made and not yet freed, not 700 (Python's
# default): the pages in flight at once (20 under `wrk`, most awaiting PostgreSQL) hold
# thousands of young objects, all alive, which every collection walked to free nothing (a
# render leaves no cycles, `web.templating`): on PostgreSQL the sessions tab ran one every
# four pages, 257 us each, 68 us a page. A cycle left behind still goes within 1,000 pages.
gc.set_threshold(YOUNG_COLLECTION_EVERY, *gc.get_threshold()[1:])
