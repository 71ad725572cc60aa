"""A provider's website for the browser tests: one page that frames the Client Profile widget.

Run by e2e/conftest.py as its own uvicorn process over HTTPS. It answers for every host name
(provider.test, other.test, rogue.test...), so one process plays several unrelated sites: the
host decides the site, and with it the cookie partition and whether the widget lets itself be
framed. WIDGET_URL is the widget page to frame, e.g. https://widget.test:8443/t/demo/login.
"""

from __future__ import annotations

import html
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>My profile · Splash Swim School</title>
</head>
<body style="margin:0;font-family:system-ui,sans-serif">
<header style="padding:12px 16px;background:#0b5cad;color:#fff">
<h1 style="margin:0;font-size:20px">Splash Swim School</h1>
<small>{host}</small>
</header>
<iframe id="profile" title="Client Profile" src="{src}" allow="payment"
 style="width:100%;height:700px;border:0"></iframe>
</body>
</html>
"""


async def profile_page(request: Request) -> HTMLResponse:
    src = html.escape(os.environ["WIDGET_URL"])
    return HTMLResponse(PAGE.format(src=src, host=html.escape(request.url.netloc)))


app = Starlette(routes=[Route("/", profile_page, name="profile_page")])
