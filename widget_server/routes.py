"""One URL map: every route, with its name."""

from __future__ import annotations

from starlette.routing import Route

from widget_server import pages, sync_api
from widget_server.settings import Settings


def build_routes(settings: Settings) -> list[Route]:
    routes = [
        Route("/healthz", pages.healthz, name="healthz"),
        Route("/api/v1/openapi.json", pages.openapi_json, name="api_openapi"),
        Route("/api/v1/import", sync_api.bulk_import, methods=["POST"], name="api_import"),
        Route("/api/v1/{resource}", sync_api.list_items, methods=["GET"], name="api_list"),
        Route("/api/v1/{resource}/{external_id}", sync_api.get_item, methods=["GET"],
              name="api_get"),
        Route("/api/v1/{resource}/{external_id}", sync_api.put_item, methods=["PUT"],
              name="api_put"),
        Route("/api/v1/{resource}/{external_id}", sync_api.delete_item, methods=["DELETE"],
              name="api_delete"),
    ]
    if settings.demo:
        routes.append(Route("/", pages.demo_index, name="demo_index"))
    return routes
