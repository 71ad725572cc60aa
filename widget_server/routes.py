"""One URL map: every route, with its name."""

from __future__ import annotations

from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from widget_server.account import sharing_views
from widget_server.account import views as account_views
from widget_server.api import document_views as document_api
from widget_server.api import switch_views as switch_api
from widget_server.api import views as sync_api
from widget_server.api import webhook_views as webhook_api
from widget_server.auth import views as login_views
from widget_server.console import embed_views as console_embed
from widget_server.console import help_views as console_help
from widget_server.console import preview_views as console_preview
from widget_server.console import views as console
from widget_server.core.settings import PACKAGE_DIR, Settings
from widget_server.demo import mail_views as dev_mail
from widget_server.demo import pay_views as demo_pay
from widget_server.demo import views as demo_views
from widget_server.money import views as payment_views
from widget_server.profile import document_views as documents
from widget_server.profile import views as profile
from widget_server.selfservice import makeup_views, offer_views, session_views, switch_views
from widget_server.web import assets, pages
from widget_server.web import metrics as operators

STATIC_DIR = PACKAGE_DIR / "static"


def page_and_form(path: str, page, page_name: str, submit, submit_name: str) -> list[Route]:
    """A page (GET) and the form it posts to (POST) at one address, each with its name."""
    return [Route(path, page, methods=["GET"], name=page_name),
            Route(path, submit, methods=["POST"], name=submit_name)]


def build_routes(settings: Settings) -> list[Route | Mount]:
    routes: list[Route | Mount] = [
        Route("/healthz", pages.healthz, name="healthz"),
        Route("/metrics", operators.metrics_page, name="metrics"),
        Route("/embed.js", assets.embed_plain, name="embed_js"),
        # The snippet's report of the page it runs on: from any site, without cookies.
        Route("/embed/seen/{tenant}", console_embed.seen, methods=["POST"], name="embed_seen"),
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
        # Session self-service: cancel, move, add-ons, make-ups, entry passes.
        *page_and_form("/t/{tenant}/bookings/{booking}/sessions/{session}/cancel",
                       session_views.cancel_page, "session_cancel",
                       session_views.cancel_submit, "session_cancel_submit"),
        *page_and_form("/t/{tenant}/bookings/{booking}/sessions/{session}/move",
                       session_views.move_page, "session_move",
                       session_views.move_submit, "session_move_submit"),
        *page_and_form("/t/{tenant}/bookings/{booking}/addons",
                       session_views.addons_page, "booking_addons",
                       session_views.addons_submit, "booking_addons_submit"),
        # Changing the booking's class for the rest of the term.
        *page_and_form("/t/{tenant}/bookings/{booking}/switch",
                       switch_views.switch_page, "booking_switch",
                       switch_views.switch, "booking_switch_submit"),
        Route("/t/{tenant}/bookings/{booking}/switch/cancel", switch_views.cancel_request,
              methods=["POST"], name="booking_switch_cancel"),
        Route("/t/{tenant}/makeups", makeup_views.hub, name="makeups"),
        Route("/t/{tenant}/makeups/{credit}", makeup_views.credit_page, name="makeup"),
        *page_and_form("/t/{tenant}/makeups/{credit}/sessions/{session}",
                       makeup_views.confirm_page, "makeup_confirm",
                       makeup_views.book, "makeup_book"),
        Route("/t/{tenant}/makeups/{credit}/waitlist", makeup_views.join_waitlist,
              methods=["POST"], name="makeup_waitlist_join"),
        Route("/t/{tenant}/makeups/{credit}/waitlist/leave", makeup_views.leave_waitlist,
              methods=["POST"], name="makeup_waitlist_leave"),
        Route("/t/{tenant}/makeups/{credit}/offer", makeup_views.take_offer, methods=["POST"],
              name="makeup_offer_take"),
        # Offers of a place: keep it (the offer page is the confirm step), or no, thanks.
        Route("/t/{tenant}/offers/{offer}", offer_views.offer_page, name="offer"),
        Route("/t/{tenant}/offers/{offer}/accept", offer_views.accept, methods=["POST"],
              name="offer_accept"),
        *page_and_form("/t/{tenant}/offers/{offer}/decline",
                       offer_views.decline_page, "offer_decline",
                       offer_views.decline, "offer_decline_submit"),
        Route("/t/{tenant}/passes/{entry_pass}", makeup_views.pass_page, name="entry_pass"),
        *page_and_form("/t/{tenant}/passes/{entry_pass}/sessions/{session}",
                       makeup_views.pass_confirm_page, "entry_pass_confirm",
                       makeup_views.pass_book, "entry_pass_book"),
        Route("/t/{tenant}/progress", profile.member_progress, name="progress"),
        Route("/t/{tenant}/progress/certificates/{level}.pdf", profile.certificate_file,
              name="certificate"),
        Route("/t/{tenant}/report-cards/{card}.pdf", profile.report_card_file,
              name="report_card_pdf"),
        Route("/t/{tenant}/report-cards/{card}", profile.report_card, name="report_card"),
        Route("/t/{tenant}/benefits", profile.benefits, name="benefits"),
        Route("/t/{tenant}/documents", documents.documents_page, name="documents"),
        Route("/t/{tenant}/documents/{document}", documents.document_file, name="document"),
        Route("/t/{tenant}/orders", payment_views.orders_page, name="orders"),
        Route("/t/{tenant}/account", account_views.account, name="account"),
        Route("/t/{tenant}/account/calendar", account_views.calendar_link, methods=["POST"],
              name="calendar_link"),
        Route("/t/{tenant}/calendar/{token}.ics", profile.calendar_feed_file,
              name="calendar_feed"),
        # Payments, orders and documents.
        Route("/t/{tenant}/orders/{order}", payment_views.order_page, name="order"),
        Route("/t/{tenant}/payments/{payment}", payment_views.payment_page, name="payment"),
        Route("/t/{tenant}/payments/{payment}/checkout", payment_views.checkout,
              methods=["POST"], name="payment_checkout"),
        Route("/t/{tenant}/payments/{payment}/bank-transfer", payment_views.bank_transfer_sent,
              methods=["POST"], name="payment_bank_transfer"),
        Route("/t/{tenant}/payments/{payment}/receipt.pdf", payment_views.receipt_pdf,
              name="payment_receipt"),
        Route("/t/{tenant}/invoices/{invoice}", payment_views.invoice_pdf, name="invoice"),
        Route("/t/{tenant}/purchases.csv", payment_views.purchases_csv, name="purchases_csv"),
        # Sharing a booking, and the account's own settings.
        *page_and_form("/t/{tenant}/bookings/{booking}/sharing",
                       sharing_views.sharing_page, "booking_sharing",
                       sharing_views.add_share, "booking_share_add"),
        Route("/t/{tenant}/bookings/{booking}/sharing/{share}/revoke",
              sharing_views.revoke_share, methods=["POST"], name="booking_share_revoke"),
        Route("/t/{tenant}/account/details", account_views.save_details, methods=["POST"],
              name="account_details"),
        Route("/t/{tenant}/account/notifications", account_views.save_notifications,
              methods=["POST"], name="account_notifications"),
        *page_and_form("/t/{tenant}/account/email",
                       account_views.email_code_page, "account_email",
                       account_views.start_email_change, "account_email_start"),
        Route("/t/{tenant}/account/email/confirm", account_views.confirm_email_change,
              methods=["POST"], name="account_email_confirm"),
        Route("/t/{tenant}/account/my-data.json", account_views.download_data,
              name="account_export"),
        *page_and_form("/t/{tenant}/account/delete",
                       account_views.deletion_page, "account_delete",
                       account_views.request_deletion, "account_delete_confirm"),
        *page_and_form("/t/{tenant}/login",
                       login_views.login_form, "login", login_views.login_submit, "login_submit"),
        Route("/t/{tenant}/login/code", login_views.code_submit, methods=["POST"],
              name="login_code"),
        *page_and_form("/t/{tenant}/login/link",
                       login_views.link_page, "login_link",
                       login_views.link_submit, "login_link_submit"),
        Route("/t/{tenant}/logout", login_views.logout, methods=["POST"], name="logout"),
        Route("/t/{tenant}/logout/everywhere", login_views.logout, methods=["POST"],
              name="logout_everywhere"),
        # The provider console: the staff's side (its own login and sessions).
        Route("/console/{tenant}/", console.home, name="console_home"),
        *page_and_form("/console/{tenant}/login", console.login_form, "console_login",
                       console.login_submit, "console_login_submit"),
        Route("/console/{tenant}/login/code", console.code_submit, methods=["POST"],
              name="console_code"),
        *page_and_form("/console/{tenant}/login/link", console.link_page, "console_link",
                       console.link_submit, "console_link_submit"),
        Route("/console/{tenant}/logout", console.logout, methods=["POST"],
              name="console_logout"),
        Route("/console/{tenant}/logout/everywhere", console.logout, methods=["POST"],
              name="console_logout_everywhere"),
        Route("/console/{tenant}/start", console_embed.start, name="console_start"),
        Route("/console/{tenant}/families", console.find_family, name="console_families"),
        Route("/console/{tenant}/families/{client}", console_help.family_page,
              name="console_family"),
        Route("/console/{tenant}/families/{client}/view-as", console.view_as,
              methods=["POST"], name="console_view_as"),
        Route("/console/{tenant}/families/{client}/resend-login", console_help.resend_login,
              methods=["POST"], name="console_resend_login"),
        Route("/console/{tenant}/webhooks", console_help.webhooks_page, name="console_webhooks"),
        Route("/console/{tenant}/webhooks/{webhook}/retry", console_help.retry_webhook,
              methods=["POST"], name="console_retry_webhook"),
        Route("/console/{tenant}/audit", console.audit, name="console_audit"),
        Route("/console/{tenant}/theme", console_preview.theme_page, name="console_theme"),
        Route("/console/{tenant}/theme/{screen}", console_preview.screen,
              name="console_theme_screen"),
        # Payment gateways report back here (server to server, signed).
        Route("/hooks/stripe/{tenant}", payment_views.stripe_webhook, methods=["POST"],
              name="stripe_webhook"),
        # The provider sync API.
        Route("/api/v1/openapi.json", sync_api.openapi_json, name="api_openapi"),
        Route("/api/v1/profile-url", sync_api.profile_url_for, name="api_profile_url"),
        Route("/api/v1/import", sync_api.bulk_import, methods=["POST"], name="api_import"),
        # Before the generic resource routes, which would take these paths for a resource.
        Route("/api/v1/webhook-deliveries", webhook_api.list_deliveries, methods=["GET"],
              name="api_webhook_deliveries"),
        Route("/api/v1/webhook-deliveries/{webhook_id}", webhook_api.get_delivery,
              methods=["GET"], name="api_webhook_delivery"),
        # Documents are uploaded as files, not JSON (read and deleted like any item).
        Route("/api/v1/documents", document_api.list_documents, methods=["GET"],
              name="api_documents"),
        Route("/api/v1/documents/{external_id}", document_api.get_document, methods=["GET"],
              name="api_document"),
        Route("/api/v1/documents/{external_id}", document_api.put_document, methods=["PUT"],
              name="api_document_put"),
        Route("/api/v1/documents/{external_id}", document_api.delete_document,
              methods=["DELETE"], name="api_document_delete"),
        Route("/api/v1/switches", switch_api.list_switches, methods=["GET"],
              name="api_switches"),
        Route("/api/v1/switches/{switch_id}", switch_api.get_switch, methods=["GET"],
              name="api_switch"),
        Route("/api/v1/switches/{switch_id}/confirm", switch_api.confirm_switch,
              methods=["POST"], name="api_switch_confirm"),
        Route("/api/v1/switches/{switch_id}/decline", switch_api.decline_switch,
              methods=["POST"], name="api_switch_decline"),
        Route("/api/v1/{resource}", sync_api.list_items, methods=["GET"], name="api_list"),
        Route("/api/v1/{resource}/{external_id}", sync_api.get_item, methods=["GET"],
              name="api_get"),
        Route("/api/v1/{resource}/{external_id}", sync_api.put_item, methods=["PUT"],
              name="api_put"),
        Route("/api/v1/{resource}/{external_id}", sync_api.delete_item, methods=["DELETE"],
              name="api_delete"),
    ]
    routes.append(Route("/", demo_views.index if settings.demo else pages.root, name="root"))
    if settings.demo:
        routes += [
            Route("/demo/{tenant}", demo_views.provider_page, name="demo_provider"),
            Route("/dev/mail", dev_mail.inbox, name="dev_mail"),
            # The demo's stand-in for a provider's payment page ("Pay online" without Stripe).
            Route(demo_pay.PATH, demo_pay.pay_page, methods=["GET"], name="demo_pay"),
            Route(demo_pay.PATH, demo_pay.pay_submit, methods=["POST"], name="demo_pay_submit"),
            Route("/dev/mail/{message_id:int}", dev_mail.message, name="dev_mail_message"),
        ]
    return routes
