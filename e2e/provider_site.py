"""A provider's website for the browser tests: pages that frame the Client Profile widget.

Run by e2e/conftest.py as its own uvicorn process over HTTPS. It answers for every host name
(provider.test, other.test, rogue.test...), so one process plays several unrelated sites: the
host decides the site, and with it the cookie partition and whether the widget lets itself be
framed. WIDGET_ORIGIN is the widget server, e.g. https://widget.test:8443.

- `/` frames the login page with a hand-written iframe (the simplest embedding);
- `/my-profile` uses the two-line embed snippet, and is the tenant's `profile_page_url`, so the
  login links the widget e-mails land there.
"""

from __future__ import annotations

import html
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

TENANT = "demo"
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
{embed}
</body>
</html>
"""
IFRAME = """<iframe id="profile" title="Client Profile" src="{origin}/t/{tenant}/login"
 allow="payment" style="width:100%;height:700px;border:0"></iframe>"""
SNIPPET = """<div data-client-profile data-tenant="{tenant}">
<a href="{origin}/t/{tenant}/">My profile</a></div>
<script src="{origin}/embed.js" async></script>"""


def _page(request: Request, embed: str) -> HTMLResponse:
    origin = html.escape(os.environ["WIDGET_ORIGIN"])
    return HTMLResponse(PAGE.format(host=html.escape(request.url.netloc),
                                    embed=embed.format(origin=origin, tenant=TENANT)))


async def framed(request: Request) -> HTMLResponse:
    return _page(request, IFRAME)


async def with_snippet(request: Request) -> HTMLResponse:
    return _page(request, SNIPPET)


app = Starlette(routes=[Route("/", framed, name="framed"),
                        Route("/my-profile", with_snippet, name="with_snippet")])
