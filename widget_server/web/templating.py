"""One Jinja environment; tenant folders shadow the default templates."""

from __future__ import annotations

from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, select_autoescape
from starlette.templating import Jinja2Templates

from widget_server.core import formatting, i18n
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
    return Jinja2Templates(env=env)
