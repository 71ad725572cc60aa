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
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from widget_server.core import formatting, i18n
from widget_server.web import icons


def make_templates(templates_dir: Path, tenants_dir: Path) -> Jinja2Templates:
    """`tenants/<slug>/templates/x.html` overrides `x.html` for that tenant (as `<slug>/x.html`),
    and any template may extend the original as `default:x.html`. Templates are read once
    (no check of the files' times on every use): a changed template takes a restart, as a
    changed tenant file does."""
    loader = ChoiceLoader([
        FileSystemLoader(str(templates_dir)),
        PrefixLoader({"default": FileSystemLoader(str(templates_dir)),
                      "tenant": FileSystemLoader(str(tenants_dir))}, delimiter=":"),
    ])
    env = Environment(loader=loader, autoescape=select_autoescape(["html", "xml"]),
                      trim_blocks=True, lstrip_blocks=True, auto_reload=False)
    env.cp_tenants_dir = tenants_dir  # type: ignore[attr-defined]
    env.cp_overrides = {}  # type: ignore[attr-defined]
    i18n.install(env)
    formatting.install(env)
    env.globals["asset_url"] = asset_url
    env.globals["url_for"] = url_for
    env.globals["svg_icon"] = icons.icon
    return Jinja2Templates(env=env)


def screen_template(env: Environment, tenant: str, template: str) -> str:
    """The name to render a screen by: the tenant's own `templates/<template>` if it has one,
    else the default. Each tenant's folder is listed once, so a page costs no failed file
    lookup (Jinja does not remember a template it did not find)."""
    overrides = env.cp_overrides.get(tenant)  # type: ignore[attr-defined]
    if overrides is None:
        folder = env.cp_tenants_dir / tenant / "templates"  # type: ignore[attr-defined]
        overrides = frozenset(path.relative_to(folder).as_posix()
                              for path in folder.rglob("*") if path.is_file()) \
            if folder.is_dir() else frozenset()
        env.cp_overrides[tenant] = overrides  # type: ignore[attr-defined]
    return f"tenant:{tenant}/templates/{template}" if template in overrides else template


class Link(str):
    """An absolute link as templates print it, with its `path` (what base.html needs of a URL):
    cheaper than parsing a Starlette `URL` for each of a page's dozens of links."""

    path: str

    def __new__(cls, base: str, path: str) -> "Link":
        link = super().__new__(cls, base + path)
        link.path = path
        return link


_PATHS_KEPT = 4096  # links by route and parameters; a page's links repeat across visitors


@pass_context
def url_for(context: Any, name: str, /, **path_params: Any) -> Link:
    """Starlette's `url_for` for templates, without its walk over every route per link (a
    page makes dozens of links): routes by name, paths remembered by route and parameters,
    and the request's base URL found once."""
    return link_for(context["request"], name, **path_params)


def asset_url(request: Any, name: str) -> Link:
    """The address of a static asset by its content's digest (`widget.css` ->
    `/assets/widget.<digest>.css`)."""
    return link_for(request, "asset", name=request.app.state.assets[name].hashed_name)


def link_for(request: Any, name: str, /, **path_params: Any) -> Link:
    router = request.scope["router"]
    paths = getattr(router, "cp_paths", None)
    if paths is None:
        paths = router.cp_paths = {}
        router.cp_routes_by_name = {
            route.name: route for route in router.routes if isinstance(route, Route)}
    key = (name, *path_params.items())
    path = paths.get(key)
    if path is None:
        route = router.cp_routes_by_name.get(name)
        path = str((route or router).url_path_for(name, **path_params))
        if len(paths) >= _PATHS_KEPT:
            paths.clear()
        paths[key] = path
    base = request.scope.get("cp.base_url")
    if base is None:
        base = request.scope["cp.base_url"] = str(request.base_url).rstrip("/")
    return Link(base, path)
