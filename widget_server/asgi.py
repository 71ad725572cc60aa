"""The ASGI application for `widget-server serve` (uvicorn imports it in each worker)."""

from widget_server.app import create_app
from widget_server.core.settings import Settings

app = create_app(Settings.from_environ())
