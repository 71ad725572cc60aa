"""No cache between a parent and their pages keeps a copy: not a shared proxy, not the browser's
back-forward history on a shared tablet at the swimming pool's front desk."""

from __future__ import annotations

import re

from profile_support import BEGINNERS, OVERDUE, SARAH
from visitor import Visitor

PRIVATE = "private, no-store"


def test_every_logged_in_page_is_kept_by_no_cache(sarah):
    for page in ["", f"bookings/{BEGINNERS}", f"bookings/{BEGINNERS}/sessions", "benefits",
                 "orders", "account", "makeups", f"payments/{OVERDUE}",
                 f"bookings/{BEGINNERS}/sharing"]:
        response = sarah.open(page)
        assert response.status_code == 200, page
        assert response.headers["cache-control"] == PRIVATE, page


def test_the_secret_calendar_address_is_shown_on_a_page_no_cache_keeps(sarah):
    sarah.open("account")
    shown = sarah.post("account/calendar", {}, follow_redirects=True)
    assert shown.status_code == 200
    assert re.search(r"/calendar/[^\"'<\s]+\.ics", shown.text)  # the secret address is on it
    assert shown.headers["cache-control"] == PRIVATE


def test_the_login_pages_are_kept_by_no_cache(demo, client):
    visitor = Visitor(client, "demo")
    assert visitor.open("login").headers["cache-control"] == PRIVATE
    code_page = visitor.request_code(SARAH)  # "enter the code we sent you"
    assert code_page.status_code == 200 and 'name="code"' in code_page.text
    assert code_page.headers["cache-control"] == PRIVATE
    wrong = visitor.enter_code(SARAH, "000000")
    assert wrong.status_code == 422 and wrong.headers["cache-control"] == PRIVATE


def test_assets_are_still_cached_by_browsers(client):
    embed = client.get("/embed.js")
    assert embed.status_code == 200 and "no-store" not in embed.headers["cache-control"]
    page = client.get("/t/demo/login").text
    stylesheet = re.search(r'href="[^"]*(/assets/[^"]+\.css)"', page).group(1)
    asset = client.get(stylesheet)
    assert asset.status_code == 200 and "max-age" in asset.headers["cache-control"]
