"""The package's layers, read from the imports: the README's "Code layout" rules, enforced.

`core` imports nothing of ours; `web` and `delivery` only `core`; a domain package never
imports another package's views; only views (and the web layer, the app and its URL map)
import Starlette; nobody imports another module's `_private` name; no import cycles.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

from widget_server.core.settings import PACKAGE_DIR

TOP = "widget_server"
BASE = {"core": set(), "web": {"core"}, "delivery": {"core"}}
DOMAINS = {"auth", "profile", "selfservice", "money", "account", "api", "demo", "console"}
# Modules that put the app together may import anything of ours.
ASSEMBLY = {"app", "routes", "asgi", "cli", "scheduler", "__main__", "__init__"}
STARLETTE_ALLOWED = {"web", "app", "routes"}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # the imported module, dotted
    names: tuple[str, ...]  # names taken from it (`from x import a, b`)
    line: int


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(module: str, source: str, is_package: bool = False) -> list[Import]:
    """Every import in a module's source, relative ones resolved."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [Import(module, a.name, (), node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:
                base = module.split(".")[: len(module.split(".")) - node.level + is_package]
                target = ".".join([*base, *([target] if target else [])])
            names = tuple(a.name for a in node.names)
            ours = [f"{target}.{n}" for n in names if target.startswith(TOP)]
            # `from widget_server.core import access` imports the module `access`.
            submodules = [t for t in ours if (PACKAGE_DIR.parent / (t.replace(".", "/") + ".py"))
                          .exists() or (PACKAGE_DIR.parent / t.replace(".", "/")).is_dir()]
            found.append(Import(module, target, names, node.lineno))
            found += [Import(module, t, (), node.lineno) for t in submodules]
    return found


def read_package(root: Path = PACKAGE_DIR) -> list[Import]:
    found = []
    for path in sorted(root.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        found += imports_of(module_name(path, root), path.read_text(encoding="utf-8"),
                            path.name == "__init__.py")
    return found


def package_of(module: str) -> str:
    """`widget_server.money.views` -> `money`; a top-level module is its own name."""
    return module.split(".")[1] if module.count(".") >= 1 else ""


def is_view(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return last == "views" or last.endswith("_views")


def problems(found: list[Import]) -> list[str]:
    """Every broken rule, one line each naming the module, the line and the import."""
    out = []
    for imp in found:
        where = f"{imp.module}:{imp.line} imports {imp.target}"
        source, target = package_of(imp.module), package_of(imp.target)
        if imp.target.split(".")[0] == "starlette" and source not in STARLETTE_ALLOWED \
                and not is_view(imp.module):
            out.append(f"{where}: only views, the web layer and the app import Starlette")
        if not imp.target.startswith(TOP + "."):
            continue
        private = [n for n in imp.names if n.startswith("_") and not n.startswith("__")]
        if private:
            out.append(f"{where}: private name {', '.join(private)}")
        if source in ASSEMBLY or target == source:
            continue
        if source in BASE and target not in BASE[source]:
            out.append(f"{where}: {source} may only import {sorted(BASE[source]) or 'nothing'}")
        if source in DOMAINS and target != source and is_view(imp.target):
            out.append(f"{where}: a domain never imports another package's views")
        if source in DOMAINS | set(BASE) and target in ASSEMBLY:
            out.append(f"{where}: only the app's assembly imports {target}")
    return out + cycles(found)


def cycles(found: list[Import]) -> list[str]:
    """Import cycles between our modules (Tarjan's strongly connected components)."""
    graph: dict[str, set[str]] = {}
    for imp in found:
        graph.setdefault(imp.module, set())
        if imp.target.startswith(TOP + ".") and imp.target != imp.module:
            graph[imp.module].add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in graph:
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            # A package's __init__ importing its own modules is not a cycle worth refusing.
            if len(component) > 1:
                out.append("import cycle: " + " -> ".join(sorted(component)))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return out


def test_the_package_keeps_its_layers():
    assert problems(read_package()) == []


@pytest.mark.parametrize("module, source, broken", [
    ("widget_server.core.models", "from widget_server.web import visit", "core may only import"),
    ("widget_server.delivery.outbox", "from widget_server.money import payments",
     "delivery may only import"),
    ("widget_server.web.visit", "import widget_server.auth.login", "web may only import"),
    ("widget_server.money.payments", "from widget_server.profile import views",
     "never imports another package's views"),
    ("widget_server.account.sharing", "from starlette.requests import Request",
     "only views, the web layer and the app import Starlette"),
    ("widget_server.profile.bookings", "from widget_server.core.access import _scope",
     "private name _scope"),
    ("widget_server.core.errors", "from widget_server import app", "core may only import"),
])
def test_a_forbidden_import_is_refused(module, source, broken):
    found = imports_of(module, source)
    assert any(broken in problem for problem in problems(found)), problems(found)


def test_allowed_imports_pass():
    allowed = [("widget_server.money.views", "from starlette.responses import Response"),
               ("widget_server.money.payments", "from widget_server.profile import bookings"),
               ("widget_server.web.visit", "from widget_server.core import access"),
               ("widget_server.routes", "from widget_server.money import views")]
    assert problems([i for m, s in allowed for i in imports_of(m, s)]) == []


def test_a_cycle_is_refused():
    found = imports_of("widget_server.money.a", "import widget_server.money.b") + \
        imports_of("widget_server.money.b", "import widget_server.money.a")
    assert problems(found) == ["import cycle: widget_server.money.a -> widget_server.money.b"]
