"""One URL map: every route, with its name."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from widget_server import assets, dev_mail, login_views, pages, profile, sync_api, webhook_api
from widget_server.settings import Settings

STATIC_DIR = Path(__file__).resolve().parent / "static"


def build_routes(settings: Settings) -> list[Route | Mount]:
    routes: list[Route | Mount] = [
        Route("/healthz", pages.healthz, name="healthz"),
        Route("/embed.js", assets.embed_plain, name="embed_js"),
        Route("/assets/{name}", assets.hashed, name="asset"),
        Route("/favicon.ico", pages.no_favicon, name="favicon"),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
        # The widget, per tenant.
        Route("/t/{tenant}/", profile.home, name="home"),
        Route("/t/{tenant}/bookings/{booking}", profile.booking, name="booking"),
        Route("/t/{tenant}/bookings/{booking}/sessions", profile.booking_sessions,
              name="booking_sessions"),
        Route("/t/{tenant}/bookings/{booking}/sessions/{session}.ics", profile.session_ics,
              name="session_ics"),
        Route("/t/{tenant}/benefits", profile.benefits, name="benefits"),
        Route("/t/{tenant}/orders", profile.orders, name="orders"),
        Route("/t/{tenant}/account", profile.account, name="account"),
        Route("/t/{tenant}/account/calendar", profile.calendar_link, methods=["POST"],
              name="calendar_link"),
        Route("/t/{tenant}/calendar/{token}.ics", profile.calendar_feed_file,
              name="calendar_feed"),
        Route("/t/{tenant}/login", login_views.login_form, methods=["GET"], name="login"),
        Route("/t/{tenant}/login", login_views.login_submit, methods=["POST"],
              name="login_submit"),
        Route("/t/{tenant}/login/code", login_views.code_submit, methods=["POST"],
              name="login_code"),
        Route("/t/{tenant}/login/link", login_views.link_page, methods=["GET"],
              name="login_link"),
        Route("/t/{tenant}/login/link", login_views.link_submit, methods=["POST"],
              name="login_link_submit"),
        Route("/t/{tenant}/logout", login_views.logout, methods=["POST"], name="logout"),
        Route("/t/{tenant}/logout/everywhere", login_views.logout, methods=["POST"],
              name="logout_everywhere"),
        # The provider sync API.
        Route("/api/v1/openapi.json", pages.openapi_json, name="api_openapi"),
        Route("/api/v1/profile-url", sync_api.profile_url_for, name="api_profile_url"),
        Route("/api/v1/import", sync_api.bulk_import, methods=["POST"], name="api_import"),
        # Before the generic resource routes, which would take these paths for a resource.
        Route("/api/v1/webhook-deliveries", webhook_api.list_deliveries, methods=["GET"],
              name="api_webhook_deliveries"),
        Route("/api/v1/webhook-deliveries/{webhook_id}", webhook_api.get_delivery,
              methods=["GET"], name="api_webhook_delivery"),
        Route("/api/v1/{resource}", sync_api.list_items, methods=["GET"], name="api_list"),
        Route("/api/v1/{resource}/{external_id}", sync_api.get_item, methods=["GET"],
              name="api_get"),
        Route("/api/v1/{resource}/{external_id}", sync_api.put_item, methods=["PUT"],
              name="api_put"),
        Route("/api/v1/{resource}/{external_id}", sync_api.delete_item, methods=["DELETE"],
              name="api_delete"),
    ]
    routes.append(Route("/", pages.root, name="root"))
    if settings.demo:
        routes += [
            Route("/demo/{tenant}", pages.demo_provider_page, name="demo_provider"),
            Route("/dev/mail", dev_mail.inbox, name="dev_mail"),
            Route("/dev/mail/{message_id:int}", dev_mail.message, name="dev_mail_message"),
        ]
    return routes
