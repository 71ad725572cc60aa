"""A local fake of Stripe for tests: the API's `POST /v1/checkout/sessions` and a hosted
checkout page that "completes" a payment and sends Stripe's signed webhook.

It is a real HTTP server on loopback (http.server in its own thread) that speaks Stripe's
request format: form-encoded bodies with bracketed keys (`line_items[0][price_data][currency]`),
`Authorization: Bearer sk_...`, an `Idempotency-Key`; it answers checkout.session objects, and
its events are signed as Stripe signs them (`Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
"t.body">`, keyed with the endpoint's `whsec_` secret as a string). The real `stripe` library
is pointed at it with `WIDGET_STRIPE_API_BASE`.

    stripe = FakeStripe(); stripe.start()
    stripe.sessions            # every checkout session made, by id
    stripe.calls               # every API request: (path, headers, form)
    stripe.completed(id)       # -> (body, headers) of a checkout.session.completed event
    stripe.widget = "https://127.0.0.1:8443"   # where the hosted page delivers its webhooks
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import httpx

SECRET_KEY = "sk_test_fake_51Hq"
WEBHOOK_SECRET = "whsec_fake_endpoint_secret_0123456789"


@dataclass(frozen=True)
class Call:
    path: str
    headers: dict[str, str]
    form: dict[str, Any]


def unflatten(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding back to nested dicts and lists: `a[0][b]=1` -> {"a": [{"b": "1"}]}."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value

    def lists(node: Any) -> Any:
        if isinstance(node, dict):
            if node and all(k.isdigit() for k in node):
                return [lists(node[k]) for k in sorted(node, key=int)]
            return {k: lists(v) for k, v in node.items()}
        return node

    return lists(root)


def signature(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header for a body, as Stripe computes it."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


class FakeStripe:
    def __init__(self, secret_key: str = SECRET_KEY, webhook_secret: str = WEBHOOK_SECRET):
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret
        self.sessions: dict[str, dict[str, Any]] = {}
        self.calls: list[Call] = []
        self.deliveries: list[tuple[str, int]] = []  # (event type, the widget's status)
        self.fail_with: int | None = None  # answer API calls with this error status
        self.widget: str | None = None
        self.port = 0
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # --- the API ---------------------------------------------------------------------------

    def create_session(self, form: dict[str, Any]) -> dict[str, Any]:
        line = form["line_items"][0]
        amount = int(line["price_data"]["unit_amount"]) * int(line["quantity"])
        session_id = "cs_test_" + secrets.token_hex(12)
        session = {
            "id": session_id, "object": "checkout.session", "mode": form["mode"],
            "amount_subtotal": amount, "amount_total": amount,
            "currency": line["price_data"]["currency"],
            "client_reference_id": form.get("client_reference_id"),
            "customer_email": form.get("customer_email"), "locale": form.get("locale"),
            "metadata": form.get("metadata", {}), "created": int(time.time()),
            "expires_at": int(form["expires_at"]), "livemode": False,
            "payment_intent": None, "payment_status": "unpaid", "status": "open",
            "success_url": form["success_url"], "cancel_url": form["cancel_url"],
            "url": f"{self.url}/pay/{session_id}",
        }
        self.sessions[session_id] = session
        return session

    # --- events ----------------------------------------------------------------------------

    def event(self, session_id: str, event_type: str, *, timestamp: int | None = None,
              event_id: str | None = None, **changes: Any) -> tuple[bytes, dict[str, str]]:
        """A signed delivery of an event about a session: (raw body, headers)."""
        session = {**self.sessions[session_id], **changes}
        body = json.dumps({
            "id": event_id or "evt_" + secrets.token_hex(12), "object": "event",
            "api_version": "2025-06-30.basil", "created": int(time.time()),
            "data": {"object": session}, "livemode": False, "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None}, "type": event_type,
        }).encode()
        return body, {"Content-Type": "application/json", "User-Agent": "Stripe/1.0",
                      "Stripe-Signature": signature(body, self.webhook_secret, timestamp)}

    def completed(self, session_id: str, **kwargs: Any) -> tuple[bytes, dict[str, str]]:
        """checkout.session.completed for a card payment that went through."""
        return self.event(session_id, "checkout.session.completed", status="complete",
                          payment_status="paid", url=None,
                          payment_intent="pi_" + secrets.token_hex(12), **kwargs)

    def deliver(self, session_id: str) -> int:
        """Pay on the hosted page: send the signed webhook to the widget, as Stripe does."""
        assert self.widget, "set FakeStripe.widget to the widget server's address"
        body, headers = self.completed(session_id)
        tenant = self.sessions[session_id]["metadata"]["tenant"]
        answer = httpx.post(f"{self.widget}/hooks/stripe/{tenant}", content=body,
                            headers=headers, verify=False, timeout=10)
        self.sessions[session_id]["status"] = "complete"
        self.deliveries.append(("checkout.session.completed", answer.status_code))
        return answer.status_code

    # --- the HTTP side ---------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, status: int, body: bytes, content_type: str,
                      headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def _json(self, status: int, data: dict[str, Any]) -> None:
                self._send(status, json.dumps(data).encode(), "application/json",
                           {"Request-Id": "req_" + secrets.token_hex(7)})

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                raw = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
                if self.path == "/v1/checkout/sessions":
                    return self._create(raw)
                found = re.fullmatch(r"/pay/(cs_test_\w+)/complete", self.path)
                if found and found.group(1) in fake.sessions:
                    status = fake.deliver(found.group(1))
                    if status != 200:
                        return self._send(502, b"the shop did not accept the payment",
                                          "text/plain")
                    self.send_response(303)
                    self.send_header("Location", fake.sessions[found.group(1)]["success_url"])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                return self._json(404, {"error": {"type": "invalid_request_error",
                                                  "message": "Unrecognized request URL"}})

            def _create(self, raw: str) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                form = unflatten(parse_qsl(raw, keep_blank_values=True))
                fake.calls.append(Call(self.path, headers, form))
                if headers.get("authorization") != f"Bearer {fake.secret_key}":
                    return self._json(401, {"error": {
                        "type": "invalid_request_error", "message": "Invalid API Key provided"}})
                if fake.fail_with:
                    return self._json(fake.fail_with, {"error": {
                        "type": "api_error", "message": "Something went wrong on Stripe's end."}})
                return self._json(200, fake.create_session(form))

            def do_GET(self) -> None:  # noqa: N802
                found = re.fullmatch(r"/pay/(cs_test_\w+)", self.path)
                session = fake.sessions.get(found.group(1)) if found else None
                if session is None:
                    return self._send(404, b"no such checkout", "text/plain")
                amount = f"{session['amount_total'] / 100:.2f} {session['currency'].upper()}"
                page = f"""<!doctype html><html lang="en"><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Fake Stripe Checkout</title><link rel="icon" href="data:,">
<body style="font-family:system-ui;max-width:28rem;margin:3rem auto;padding:0 1rem">
<h1>Pay {html.escape(amount)}</h1><p>Test mode: no money moves.</p>
<form method="post" action="/pay/{session['id']}/complete"><button>Pay</button></form>
<p><a href="{html.escape(session['cancel_url'])}">Cancel</a></p></body></html>"""
                return self._send(200, page.encode(), "text/html; charset=utf-8")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
