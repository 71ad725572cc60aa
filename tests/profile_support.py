"""Helpers for the profile stories: a fixed clock, the demo families, logged-in browsers and
page text."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from smtp import MAIL_WAIT
from sqlalchemy import event
from starlette.applications import Starlette
from starlette.testclient import TestClient
from visitor import Visitor

from widget_server.app import create_app
from widget_server.core.db import session_scope
from widget_server.core.settings import Settings
from widget_server.demo.data import load_demo

# A Sunday noon in Bristol (GMT) and Bratislava (CET+1): the demo's "week 0" Saturday class
# is on 28 November, the online class on Wednesday 25 November at 18:00 London time.
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SARAH = "sarah.thompson@example.com"  # demo family 1: Oliver and Mia
JAMES = "james.patel@example.com"  # demo family 2: Aisha
GRANDMA = "margaret.thompson@example.com"  # Oliver's beginners booking is shared with her
JANA = "jana.kovacova@example.com"  # demo-sk family 1: Ema and Sofia
EMILY = "emily.clarke@example.com"  # demo-sk, reads English
DAD = "dad.thompson@example.com"  # not in the demo data: the stories share Mia's booking with him
BEGINNERS = "bk-1001"  # Oliver's; shared with grandma (view) in the demo data
IMPROVERS = "bk-1002"  # Mia's; its pay-1005 is still to pay
OVERDUE = "pay-1005"  # Sarah's £54.00 instalment for Mia's Improvers, due 12 Nov, overdue
ORDER_PAYMENT = "pay-1007"  # Sarah's £18.00 for order SPL-5002, the family's, not a booking's
CODE = re.compile(r"\b(\d{6})\b")  # a login code, in an e-mail's subject in any language


def freeze(app, moment: datetime = NOW) -> None:
    app.state.clock = lambda: moment


def hold_still(app) -> None:
    """The app's clock stopped at this real moment. Rate limits count in fixed windows (15
    minutes, an hour): a test counting its hits up to a limit must not see the window roll
    over between two of them (it did once in CI, at 15:00)."""
    freeze(app, datetime.now(UTC))


def load_demo_families(app, *tenants: str) -> None:
    """The demo data, placed around NOW, pushed through the provider sync code."""
    with session_scope(app.state.engine) as session:
        for tenant in tenants or ("demo", "demo-sk"):
            load_demo(session, tenant, NOW.date())


@contextmanager
def demo_app(settings: Settings) -> Iterator[Starlette]:
    """An app of its own on these settings, started, with the demo families loaded and the clock
    at NOW (the `demo` fixture, for stories that change the settings)."""
    app = create_app(settings)
    with TestClient(app):
        freeze(app)
        load_demo_families(app)
        yield app
    app.state.engine.dispose()


def browser(app, mailbox, email: str, tenant: str = "demo") -> Visitor:
    """A new browser (its own cookies) in which `email` has logged in, with the code from the
    newest login e-mail to that address (other e-mails may be on their way at the same time)."""
    visitor = Visitor(TestClient(app), tenant)
    before = len(mailbox.to(email))
    visitor.request_code(email)
    deadline = time.monotonic() + MAIL_WAIT
    while not (codes := [CODE.search(m["Subject"]) for m in mailbox.to(email)[before:]
                         if CODE.search(m["Subject"])]):
        assert time.monotonic() < deadline, f"no login code for {email}"
        time.sleep(0.02)
    assert visitor.enter_code(email, codes[-1].group(1)).status_code == 303
    return visitor


def text_of(page_html: str) -> str:
    """The visible words of a page, whitespace collapsed (for "the page says" checks)."""
    body = page_html.split("<body", 1)[1].split(">", 1)[1] if "<body" in page_html \
        else page_html
    body = re.sub(r"<(svg|style|script)\b.*?</\1>", " ", body, flags=re.S)
    body = re.sub(r"<wbr>", "", body)  # a break opportunity, not a space
    body = re.sub(r"<[^>]+>", " ", body)
    return re.sub(r"\s+", " ", html.unescape(body)).strip()


def section(page_html: str, element_id: str) -> str:
    """The text of the element with this id, up to the next sibling section."""
    start = page_html.index(f'id="{element_id}"')
    rest = page_html[page_html.index(">", start) + 1:]
    end = min((i for i in (rest.find("<section", 1), rest.find("</section>")) if i > 0),
              default=len(rest))
    return text_of(rest[:end])


@contextmanager
def counting_statements(app) -> Iterator[list[tuple[str, Any, bool]]]:
    """Every SQL statement the app sends for pages while the block runs: its text, its
    parameters, and whether it ran for many rows at once.

    The e-mail outbox drainer polls its tables on the same engine from a background task;
    its statements are not the page's and are left out."""
    statements: list[tuple[str, Any, bool]] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        if not re.search(r"\b(outbox_message|webhook_\w+)\b", statement):
            statements.append((statement, parameters, executemany))

    engine = app.state.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)
