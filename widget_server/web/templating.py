"""One Jinja environment; tenant folders shadow the default templates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PrefixLoader,
    pass_context,
    select_autoescape,
)
from starlette.datastructures import URL
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from widget_server.core import formatting, i18n
from widget_server.web import icons
from widget_server.web.assets import asset_url


def make_templates(templates_dir: Path, tenants_dir: Path) -> Jinja2Templates:
    """`tenants/<slug>/templates/x.html` overrides `x.html` for that tenant (as `<slug>/x.html`),
    and any template may extend the original as `default:x.html`."""
    loader = ChoiceLoader([
        FileSystemLoader(str(templates_dir)),
        PrefixLoader({"default": FileSystemLoader(str(templates_dir)),
                      "tenant": FileSystemLoader(str(tenants_dir))}, delimiter=":"),
    ])
    env = Environment(loader=loader, autoescape=select_autoescape(["html", "xml"]),
                      trim_blocks=True, lstrip_blocks=True)
    i18n.install(env)
    formatting.install(env)
    env.globals["asset_url"] = asset_url
    env.globals["url_for"] = url_for
    env.globals["svg_icon"] = icons.icon
    return Jinja2Templates(env=env)


@pass_context
def url_for(context: Any, name: str, /, **path_params: Any) -> URL:
    """Starlette's `url_for` for templates, without its walk over every route per link (a
    page makes dozens of links): routes by name, and the request's base URL, found once."""
    request = context["request"]
    router = request.scope["router"]
    routes = getattr(router, "cp_routes_by_name", None)
    if routes is None:
        routes = router.cp_routes_by_name = {
            route.name: route for route in router.routes if isinstance(route, Route)}
    route = routes.get(name)
    path = (route or router).url_path_for(name, **path_params)
    base = request.scope.get("cp.base_url")
    if base is None:
        base = request.scope["cp.base_url"] = str(request.base_url).rstrip("/")
    return URL(base + path)

