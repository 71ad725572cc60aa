"""Payment screens: one payment (pay online, bank transfer, documents), one order, the
purchase history as CSV, invoice and receipt PDFs, and the gateway's webhook.

"Pay online" is a form that opens in a new top-level tab (payment pages refuse to be framed).
That tab does not carry the iframe's partitioned session cookie, so the form carries a signed
pay token naming the session and the payment instead; the frame meanwhile shows the payment
waiting, and reloads itself until the gateway's webhook has marked it paid.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from widget_server.core.access import Access
from widget_server.core.errors import NotFound
from widget_server.core.formatting import local_today
from widget_server.core.i18n import activate
from widget_server.core.i18n import gettext as _
from widget_server.core.profile_url import screen_url
from widget_server.core.signing import PAY
from widget_server.money import bank_transfer, invoices, invoices_pdf, payments, purchases
from widget_server.money.gateways import BadSignature, GatewayError
from widget_server.money.orders import load_order, load_orders
from widget_server.web.forms import form_fields, form_post, redirect, wake_senders
from widget_server.web.visit import (
    Visit,
    client_locale,
    download_visit,
    in_db,
    locale_for,
    logged_in_page,
    render,
    tenant_of,
)

log = logging.getLogger("widget_server.money.payments")

# How often the waiting screen looks again, and for how long after a click it waits even
# before the new tab has created the checkout.
REFRESH_SECONDS = 4
STARTED_GRACE_SECONDS = 120
MAX_WEBHOOK_BYTES = 1_000_000


def _pay_token(v: Visit, payment_id: str) -> str:
    assert v.web_session is not None
    return v.signer.sign(PAY, {"w": v.web_session.id, "p": payment_id})


async def payment_page(request: Request) -> Response:
    """One payment: what it is for, its status, how to pay it, its documents."""
    external_id = request.path_params["payment"]
    tenant = tenant_of(request)
    gateway = request.app.state.gateways.for_tenant(tenant)

    def load(db: Session, who: Access, v: Visit) -> dict[str, Any]:
        today = local_today(v.now, tenant.config.timezone)
        detail = payments.load_payment(db, who, external_id, today, read_only=True)
        started = request.query_params.get("started", "")
        recently = started.isdigit() and 0 <= v.now.timestamp() - int(started) \
            < STARTED_GRACE_SECONDS
        returned = request.query_params.get("checkout")
        # Back from the payment page without paying: offer the ways to pay again at once.
        waiting = (detail.payment.status == "unpaid" and returned != "cancelled"
                   and (detail.waiting(v.now) or recently))
        return {
            "detail": detail, "gateway": gateway if detail.payable else None,
            "bank": bank_transfer.instructions(tenant, detail.payment, today)
            if detail.payable else None,
            "pay_token": _pay_token(v, external_id), "waiting": waiting,
            "refresh": REFRESH_SECONDS if waiting else None,
            "returned": returned,
            "started_at": int(v.now.timestamp()),
        }

    return await logged_in_page(request, "widget/payment.html", "orders", load)


def _problems() -> dict[str, tuple[str, str]]:
    """What the new tab says when it cannot go on to the gateway (in the active language)."""
    return {
        "expired": (_("This button has expired"),
                    _("Go back to your profile, reload the page and try again.")),
        "logged_out": (_("You have been logged out"),
                       _("Log in to your profile again to pay.")),
        "paid": (_("Nothing to pay"), _("This payment is already paid or on its way.")),
        "unavailable": (_("Online payment is not available"),
                        _("Please choose another way to pay in your profile.")),
        "gateway": (_("The payment page did not open"),
                    _("We could not open the payment page. Nothing was charged. Please try "
                      "again in a moment.")),
    }


def _problem(v: Visit, status: int, kind: str, back: str, locale: str | None = None) -> Response:
    locale = locale or locale_for(v.tenant)
    activate(locale)
    title, detail = _problems()[kind]
    return render(v, "widget/pay_problem.html", {
        "title": title, "detail": detail, "back_url": back, "deep_link": False},
        status_code=status, locale=locale)


async def checkout(request: Request) -> Response:
    """The new tab of "Pay online": make (or reuse) the checkout and go to the gateway."""
    tenant, now = tenant_of(request), request.app.state.clock()
    settings = request.app.state.settings
    v = Visit(request, tenant, None, None, now)
    external_id = request.path_params["payment"]
    back = f"payments/{external_id}"
    form = await form_fields(request)
    claim = request.app.state.signer.check(PAY, form.get("pay_token") or "")
    if not isinstance(claim, dict) or claim.get("p") != external_id:
        return _problem(v, 403, "expired", screen_url(settings, tenant, ""))
    gateway = request.app.state.gateways.for_tenant(tenant)
    if gateway is None:
        return _problem(v, 404, "unavailable", screen_url(settings, tenant, back))
    urls = (screen_url(settings, tenant, back + "?checkout=done"),
            screen_url(settings, tenant, back + "?checkout=cancelled"))
    try:
        started, locale = await in_db(request, lambda db: payments.begin_with_pay_token(
            db, tenant, claim.get("w"), external_id, gateway.name, now, urls))
    except payments.LoggedOut:
        return _problem(v, 403, "logged_out", screen_url(settings, tenant, back))
    if started is None:
        return _problem(v, 409, "paid", screen_url(settings, tenant, back), locale)
    return await _to_gateway(v, gateway, started, back, locale)


async def _to_gateway(v: Visit, gateway: Any, started: payments.Started, back: str,
                      locale: str) -> Response:
    """Ask the gateway for its page (unless a fresh checkout is reused), then go there."""
    request, tenant = v.request, v.tenant
    url = started.url
    if started.request is not None:
        try:
            redirect = await run_in_threadpool(gateway.start, started.request)
        except GatewayError as exc:
            log.error("%s: %s", tenant.slug, exc)
            await in_db(request, lambda db: payments.checkout_failed(db, tenant,
                                                                     started.checkout_id))
            back_url = screen_url(request.app.state.settings, tenant, back)
            return _problem(v, 502, "gateway", back_url, locale)
        await in_db(request, lambda db: payments.checkout_opened(
            db, tenant, started.checkout_id, redirect, gateway.method))
        url = redirect.url
    return render(v, "widget/pay_redirect.html", {"gateway_url": url, "deep_link": False},
                  locale=locale)


@form_post
async def bank_transfer_sent(request: Request, v: Visit, form: dict[str, str]) -> Response:
    """"I have sent the transfer": the payment shows as reported, awaiting the provider's
    confirmation, and the provider hears of it."""
    external_id = request.path_params["payment"]
    who = Access.of(v.web_session)
    await in_db(request, lambda db: payments.announce_bank_transfer(db, v.tenant, who,
                                                                    external_id, v.now))
    wake_senders(request.app)  # the provider hears of it now (webhook)
    return redirect(request, "payment", tenant=v.tenant.slug, payment=external_id)


async def orders_page(request: Request) -> Response:
    """Every order of the family, newest first."""
    return await logged_in_page(request, "widget/orders.html", "orders", lambda db, who, v: {
        "orders": load_orders(db, who, v.now, v.tenant.config.timezone)})



async def order_page(request: Request) -> Response:
    """One order: items, VAT, promo code, payments, documents, and its pass's entries."""
    external_id = request.path_params["order"]

    def load(db: Session, who: Access, v: Visit) -> dict[str, Any]:
        orders, order = load_order(db, who, external_id, v.now, v.tenant.config.timezone)
        return {"orders": orders, "ov": order}

    return await logged_in_page(request, "widget/order.html", "orders", load)


def _attachment(body: bytes, media_type: str, filename: str) -> Response:
    return Response(body, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "private, no-store"})


async def _pdf(v: Visit, document: invoices.Document, locale: str) -> Response:
    body = await run_in_threadpool(invoices_pdf.render, document, locale,
                                   v.tenant.config.timezone)
    return _attachment(body, "application/pdf", document.filename)


def _invoicing(v: Visit) -> None:
    if not v.tenant.config.features.invoices:
        raise NotFound("Invoices are not available here.")


async def invoice_pdf(request: Request) -> Response:
    """An invoice: the provider's PDF, its link, or one made from our data."""
    v, who = await download_visit(request)
    _invoicing(v)
    external_id = request.path_params["invoice"]
    found, locale = await in_db(request, lambda db: (
        invoices.invoice(db, who, v.tenant, external_id, v.now), client_locale(db, v, who)))
    if isinstance(found, invoices.Stored):
        if found.pdf is not None:
            return _attachment(found.pdf, "application/pdf", found.filename)
        return RedirectResponse(str(found.url), status_code=303)
    return await _pdf(v, found, locale)


async def receipt_pdf(request: Request) -> Response:
    """A receipt for a paid payment, made from our data."""
    v, who = await download_visit(request)
    _invoicing(v)
    external_id = request.path_params["payment"]
    document, locale = await in_db(request, lambda db: (
        invoices.receipt(db, who, v.tenant, external_id), client_locale(db, v, who)))
    return await _pdf(v, document, locale)


async def purchases_csv(request: Request) -> Response:
    """The purchase history as a spreadsheet."""
    v, who = await download_visit(request)
    tz = v.tenant.config.timezone
    orders, locale = await in_db(request, lambda db: (load_orders(db, who, v.now, tz),
                                                      client_locale(db, v, who)))
    activate(locale)
    day = local_today(v.now, tz).isoformat()
    return _attachment(purchases.to_csv(orders, tz), "text/csv; charset=utf-8",
                       f"purchases-{v.tenant.slug}-{day}.csv")


async def stripe_webhook(request: Request) -> Response:
    """Stripe's report on a checkout: verified, then acted on once per event id."""
    tenant = request.app.state.tenants.get(request.path_params["tenant"])
    stripe = request.app.state.gateways.stripe(tenant.slug) if tenant else None
    if tenant is None or stripe is None:
        return JSONResponse({"error": "no Stripe gateway here"}, status_code=404)
    body = await request.body()
    if len(body) > MAX_WEBHOOK_BYTES:
        return JSONResponse({"error": "body too large"}, status_code=413)
    try:
        notice = stripe.notice(body, request.headers.get("stripe-signature"))
    except BadSignature as exc:
        log.warning("%s: refused a Stripe webhook: %s", tenant.slug, exc)
        return JSONResponse({"error": f"signature: {exc}"}, status_code=400)
    now: datetime = request.app.state.clock()
    try:
        outcome = await in_db(request, lambda db: payments.apply_notice(
            db, tenant, stripe.name, stripe.method, notice, now))
    except IntegrityError:
        outcome = "duplicate"  # the same event, delivered twice at the same moment
    return JSONResponse({"received": True, "outcome": outcome})
