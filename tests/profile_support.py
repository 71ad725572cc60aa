"""Helpers for the profile stories: a fixed clock, the demo families, browsers, page text."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import event
from starlette.testclient import TestClient
from visitor import Visitor

from widget_server.core.db import session_scope
from widget_server.demo.data import load_demo

# A Sunday noon in Bristol (GMT) and Bratislava (CET+1): the demo's "week 0" Saturday class
# is on 28 November, the online class on Wednesday 25 November at 18:00 London time.
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SARAH = "sarah.thompson@example.com"  # demo family 1: Oliver and Mia
JAMES = "james.patel@example.com"  # demo family 2: Aisha
GRANDMA = "margaret.thompson@example.com"  # Oliver's beginners booking is shared with her
JANA = "jana.kovacova@example.com"  # demo-sk family 1: Ema and Sofia
EMILY = "emily.clarke@example.com"  # demo-sk, reads English


def freeze(app, moment: datetime = NOW) -> None:
    app.state.clock = lambda: moment


def load_demo_families(app, *tenants: str) -> None:
    """The demo data, placed around NOW, pushed through the provider sync code."""
    with session_scope(app.state.engine) as session:
        for tenant in tenants or ("demo", "demo-sk"):
            load_demo(session, tenant, NOW.date())


def browser(app, mailbox, email: str, tenant: str = "demo") -> Visitor:
    """A new browser (its own cookies) in which `email` has logged in."""
    visitor = Visitor(TestClient(app), tenant)
    before = len(mailbox.messages)
    visitor.request_code(email)
    message = mailbox.wait_for(before + 1)[-1]
    code = re.search(r"\b(\d{6})\b", message["Subject"]).group(1)  # in any language
    assert visitor.enter_code(email, code).status_code == 303
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
def counting_statements(app) -> Iterator[list[str]]:
    """Every SQL statement the app sends for pages while the block runs.

    The e-mail outbox drainer polls its tables on the same engine from a background task;
    its statements are not the page's and are left out."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        if not re.search(r"\b(outbox_message|webhook_\w+)\b", statement):
            statements.append(statement)

    engine = app.state.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)
