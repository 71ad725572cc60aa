"""A provider's website for the browser tests: pages that frame the Client Profile widget.

Run by e2e/conftest.py as its own uvicorn process over HTTPS. It answers for every host name
(provider.test, other.test, rogue.test...), so one process plays several unrelated sites: the
host decides the site, and with it the cookie partition and whether the widget lets itself be
framed. WIDGET_ORIGIN is the widget server, e.g. https://widget.test:8443.

- `/` frames the login page with a hand-written iframe (the simplest embedding);
- `/my-profile` uses the two-line embed snippet, and is the tenant's `profile_page_url`, so the
  login links the widget e-mails land there;
- `/two-schools` embeds two tenants' widgets on one page; `/piruetka` the Slovak school's alone;
- `/long-page` has the provider's own content above and below the snippet's widget;
- `/with-rogue-frame` embeds the widget next to a third-party frame (`/rogue` on another site)
  that floods the page with forged `cp:` messages.
"""

from __future__ import annotations

import html
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
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


TWO = """<div data-client-profile data-tenant="demo" id="first">
<a href="{origin}/t/demo/">My profile</a></div>
<div data-client-profile data-tenant="demo-sk" id="second">
<a href="{origin}/t/demo-sk/">Môj profil</a></div>
<script src="{origin}/embed.js" async></script>
<script src="{origin}/embed.js" async></script>"""
ROGUE_FRAME = SNIPPET + """<iframe id="rogue" title="Advert" src="https://rogue.test:{port}/rogue"
 style="width:300px;height:50px;border:0"></iframe>"""
ROGUE = """<!doctype html><meta charset="utf-8"><title>Advert</title><p>Advert</p>
<script src="/rogue.js"></script>"""
# Forged messages: tiny heights and a route away from the profile, sent to everyone.
ROGUE_JS = """setInterval(function () {
  parent.postMessage({type: "cp:height", height: 3}, "*");
  parent.postMessage({type: "cp:route", path: "/evil"}, "*");
}, 50);"""


def _page(request: Request, embed: str) -> HTMLResponse:
    origin = html.escape(os.environ["WIDGET_ORIGIN"])
    return HTMLResponse(PAGE.format(
        host=html.escape(request.url.netloc),
        embed=embed.format(origin=origin, tenant=TENANT, port=request.url.port)))


async def framed(request: Request) -> HTMLResponse:
    return _page(request, IFRAME)


async def with_snippet(request: Request) -> HTMLResponse:
    return _page(request, SNIPPET)


async def piruetka(request: Request) -> HTMLResponse:
    """The Slovak dance school's profile page (tenant demo-sk), embedded with the snippet."""
    return _page(request, SNIPPET.replace("{tenant}", "demo-sk"))


async def two_schools(request: Request) -> HTMLResponse:
    return _page(request, TWO)


LONG = ("""<section id="above" style="height:1400px;padding:16px"><h2>Our classes</h2></section>"""
        + SNIPPET
        + """<footer id="below" style="height:1600px;padding:16px"><h2>Find us</h2></footer>""")


async def long_page(request: Request) -> HTMLResponse:
    return _page(request, LONG)


async def with_rogue_frame(request: Request) -> HTMLResponse:
    return _page(request, ROGUE_FRAME)


async def rogue(request: Request) -> HTMLResponse:
    return HTMLResponse(ROGUE)


async def rogue_js(request: Request) -> Response:
    return Response(ROGUE_JS, media_type="text/javascript")


app = Starlette(routes=[Route("/", framed, name="framed"),
                        Route("/my-profile", with_snippet, name="with_snippet"),
                        Route("/two-schools", two_schools, name="two_schools"),
                        Route("/piruetka", piruetka, name="piruetka"),
                        Route("/long-page", long_page, name="long_page"),
                        Route("/with-rogue-frame", with_rogue_frame, name="with_rogue_frame"),
                        Route("/rogue", rogue, name="rogue"),
                        Route("/rogue.js", rogue_js, name="rogue_js")])
