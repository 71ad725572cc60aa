"""One Jinja environment; tenant folders shadow the default templates."""

from __future__ import annotations

from collections import ChainMap
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import BuiltinFunctionType, FunctionType, MethodType
from typing import Any, Callable, NamedTuple

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PrefixLoader,
    Template,
    pass_context,
    pass_environment,
    pass_eval_context,
    select_autoescape,
)
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from jinja2.filters import do_urlencode
from jinja2.nodes import Expr, Getattr, Output
from jinja2.runtime import Context, Macro
from jinja2.utils import htmlsafe_json_dumps, internalcode, url_quote
from markupsafe import Markup, escape
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from widget_server.core import formatting, i18n
from widget_server.web import icons


class _Globals(ChainMap):
    """A template's globals, Jinja's ChainMap over the environment's, whose `keys()` is a set.
    Jinja takes them from a set at every `{% import %}` of every render (to see whether the
    importer brings globals of its own), and a ChainMap's key view made that a loop in Python
    over every global: 12 us an import, and a page makes three or more."""

    def keys(self) -> frozenset:  # type: ignore[override]
        return frozenset(self)


try:  # markupsafe's C escaping of a string (the one its own `escape` calls)
    from markupsafe._speedups import _escape_inner
except ImportError:  # a build without its C part: escaping as markupsafe does it
    def _escape_inner(value: str, /) -> str:
        return str(escape(value))

_as_markup = str.__new__


def _escape(value: Any, /) -> Markup:
    """markupsafe's `escape`, the same result for less: every `{{ value }}` of every page goes
    through it (400 times on a sessions tab). Its wrapper checks the type in Python and builds
    the result through `Markup.__new__`, in Python too (0.34 us a string, 0.43 us a Markup);
    here a string is escaped by markupsafe's C function into a Markup directly (0.16 us), and a
    Markup, already safe and immutable, is returned as it is (0.04 us)."""
    if type(value) is str:
        return _as_markup(Markup, _escape_inner(value))
    if type(value) is Markup:
        return value
    return escape(value)


# What Jinja's decorators mark a function with (its `jinja_pass_arg`).
_PASS_CONTEXT, _PASS_EVAL_CONTEXT, _PASS_ENVIRONMENT = (
    mark(lambda: None).jinja_pass_arg  # type: ignore[attr-defined]
    for mark in (pass_context, pass_eval_context, pass_environment))


_CACHED = type(lru_cache(maxsize=None)(lambda: None))  # a function behind `functools.lru_cache`

# Context functions that read only what the page was given (`_Context.call`).
_PAGE_CONTEXT_ONLY: set[Any] = set()


# The contexts a render makes (its page's, its includes', its imports' with context), for
# `_Template.render` to take apart when it is done; None outside a render, and while a module
# that Jinja keeps for every render (an import without context) is made.
_MADE: ContextVar[list[Context] | None] = ContextVar("cp_template_contexts", default=None)


class _Context(Context):
    """Jinja's context, calling what a template calls for less. `Context.call` runs for every
    `_()`, icon, link and macro a page calls (70 to 135 a page) and spent 0.7 us each working
    out whether the callable wants the context, mostly for plain functions and macros, which
    never do. Here a function's `jinja_pass_arg` is read directly and a macro is called as it
    is; anything else goes through Jinja's own `call`. The outcome is Jinja's."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        made = _MADE.get()
        if made is not None:
            made.append(self)

    @internalcode  # left out of a template error's traceback, as Jinja's own `call`
    def call(__self, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 (Jinja's)
        kind = type(__obj)
        if kind is Macro or kind is BuiltinFunctionType:  # neither ever wants a context
            pass_arg = None
        elif kind is FunctionType or kind is MethodType or kind is _CACHED:
            # Their `__call__` never carries a pass argument; a method's is its function's,
            # a cached function's its own (`functools.wraps` copies it): the icons are.
            pass_arg = getattr(__obj, "jinja_pass_arg", None)
        else:
            return Context.call(__self, __obj, *args, **kwargs)
        if kwargs:
            loop_vars = kwargs.pop("_loop_vars", None)
            block_vars = kwargs.pop("_block_vars", None)
        else:
            loop_vars = block_vars = None
        if pass_arg is not None:
            if pass_arg is _PASS_CONTEXT:
                # As Jinja: the context passed sees the loop's and the block's variables, but
                # for a function that reads only the page's own (`_PAGE_CONTEXT_ONLY`): a
                # context derived for each link in a loop cost 3-4 us.
                if __obj not in _PAGE_CONTEXT_ONLY:
                    if loop_vars:
                        __self = __self.derived(loop_vars)
                    if block_vars:
                        __self = __self.derived(block_vars)
                args = (__self, *args)
            elif pass_arg is _PASS_EVAL_CONTEXT:
                args = (__self.eval_ctx, *args)
            elif pass_arg is _PASS_ENVIRONMENT:
                args = (__self.environment, *args)
        try:
            return __obj(*args, **kwargs)
        except StopIteration:
            return __self.environment.undefined(
                "value was undefined because a callable raised a StopIteration exception")


class _CodeGenerator(CodeGenerator):
    """Jinja's compiler, with `a.b` read in place. Jinja compiles each `a.b` to a call of
    `environment.getattr(a, "b")`, a Python function that tries the attribute and then the
    item: a sessions tab reads a thousand (thirty a row), and the call cost more than the read.
    Here the attribute is read by the built-in `getattr` with a default, and only when it is
    missing (a dict's key, an undefined name) is the item read, as Jinja's own `getattr` then
    does, so the outcome is Jinja's. The object is held in a local so it is worked out once."""

    @optimizeconst
    def visit_Getattr(self, node: Getattr, frame: Frame) -> None:
        if self.environment.is_async:
            return super().visit_Getattr(node, frame)
        self.write("(_cp_v if (_cp_v := getattr((_cp_o := ")
        self.visit(node.node, frame)
        self.write(f"), {node.attr!r}, _cp_missing)) is not _cp_missing"
                   f" else _cp_item(environment, _cp_o, {node.attr!r}))")
        return None

    # Each `{{ value }}` of a page, escaped in place: Jinja calls `escape` for every one (560
    # on a sessions tab), and its result, a Markup, is only ever joined into the page (a block,
    # a macro or a `set` block wraps its whole output as Markup itself). A string is escaped
    # by markupsafe's C function, a Markup is safe as it is, anything else goes through
    # `escape` as before; the text of the page is the same.
    def _inline_escape(self, frame: Frame, finalize: Any) -> bool:
        return (frame.eval_ctx.autoescape and not frame.eval_ctx.volatile
                and finalize.src is None and not self.environment.is_async)

    def _output_child_pre(self, node: Expr, frame: Frame, finalize: Any) -> None:
        if not self._inline_escape(frame, finalize):
            return super()._output_child_pre(node, frame, finalize)
        self.write("(_cp_h if (_cp_t := type(_cp_h := ")
        return None

    def _output_child_post(self, node: Expr, frame: Frame, finalize: Any) -> None:
        if not self._inline_escape(frame, finalize):
            return super()._output_child_post(node, frame, finalize)
        self.write(")) is _cp_markup else _cp_escape_text(_cp_h) if _cp_t is str"
                   " else escape(_cp_h))")
        return None

    # A template's top level and its blocks yield their output (its caller joins it), and a
    # page's every yield passes up through the templates it extends: one yield a piece (a
    # base layout's 212 on every page, each through three generators) cost more than
    # joining a tag's pieces in place. Each run of output between two tags is one yield here.
    def visit_Output(self, node: Output, frame: Frame) -> None:
        if frame.buffer is not None or self.environment.is_async or len(node.nodes) < 2:
            return super().visit_Output(node, frame)
        frame.buffer = _JOINED
        try:
            super().visit_Output(node, frame)
        finally:
            frame.buffer = None
        return None

    def writeline(self, x: str, node: Any = None, extra: int = 0) -> None:
        # Jinja's lines for a buffer, turned into one yield of the pieces (`visit_Output`).
        if x.startswith(_JOINED):
            x = _YIELD_JOINED[x]
        super().writeline(x, node, extra)


_JOINED = "_cp_joined"
_YIELD_JOINED = {f"{_JOINED}.extend((": "yield _cp_concat((",
                 f"{_JOINED}.append(": "yield _cp_one("}


_MISSING = object()


def _item(environment: Environment, obj: Any, name: str) -> Any:
    """The rest of Jinja's `Environment.getattr` once the attribute is known missing."""
    try:
        return obj[name]
    except (TypeError, LookupError, AttributeError):
        return environment.undefined(obj=obj, name=name)


class _Template(Template):
    @classmethod
    def from_code(cls, environment: Any, code: Any, globals: Any,  # noqa: A002 (Jinja's name)
                  uptodate: Any = None) -> Template:
        template = super().from_code(environment, code, globals, uptodate)
        # The compiled template's module namespace: its render functions and macros look
        # `escape` up there on each call.
        namespace = template.root_render_func.__globals__
        namespace["escape"] = _escape
        # What `_CodeGenerator`'s code reads: the mark of a missing attribute, the types and
        # the escaping of a value printed.
        namespace["_cp_missing"], namespace["_cp_item"] = _MISSING, _item
        namespace["_cp_markup"] = Markup
        namespace["_cp_escape_text"] = _escape_inner
        # A run folded into one constant text: `str` gives it back as it is.
        namespace["_cp_concat"], namespace["_cp_one"] = "".join, str
        return template

    def render(self, *args: Any, **kwargs: Any) -> str:
        """Jinja's render, then the render's contexts taken apart. A macro a template defines
        (or imports with context) is kept in its context's variables and refers back to that
        context, so every page with one left a cycle that held all it was given (its rows, the
        request), which only Python's cyclic collector could free: on a sessions tab 310
        objects a page, a young collection every two pages of 156 us each. Emptied here, they
        are freed as soon as the page is rendered."""
        made: list[Context] = []
        token = _MADE.set(made)
        try:
            return super().render(*args, **kwargs)
        finally:
            _MADE.reset(token)
            for context in made:  # its variables hold the macros (its exports are only names)
                context.vars.clear()

    @internalcode
    def _get_default_module(self, ctx: Context | None = None) -> Any:
        # A module imported without context is kept by Jinja for every later render: its
        # context is not this render's to take apart.
        token = _MADE.set(None)
        try:
            return super()._get_default_module(ctx)
        finally:
            _MADE.reset(token)


class _Environment(Environment):
    template_class = _Template
    context_class = _Context
    code_generator_class = _CodeGenerator

    def make_globals(self, d: Any) -> _Globals:
        return _Globals({} if d is None else d, self.globals)


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
    env = _Environment(loader=loader, autoescape=select_autoescape(["html", "xml"]),
                       trim_blocks=True, lstrip_blocks=True, auto_reload=False)
    env.cp_tenants_dir = tenants_dir  # type: ignore[attr-defined]
    env.cp_overrides = {}  # type: ignore[attr-defined]
    i18n.install(env)
    formatting.install(env)
    env.globals["asset_url"] = asset_url
    env.globals["url_for"] = url_for
    env.globals["svg_icon"] = icons.icon
    env.globals["page_route"] = page_route
    env.globals["made_once"] = made_once
    env.globals["theme_head"] = theme_head
    env.filters["urlencode"] = urlencode
    env.cp_shells = {}  # type: ignore[attr-defined]
    env.cp_made = {}  # type: ignore[attr-defined]
    env.cp_heads = {}  # type: ignore[attr-defined]
    return Jinja2Templates(env=env)


_quoted = lru_cache(maxsize=4096)(url_quote)  # a text's quoting, remembered


def urlencode(value: Any) -> str:
    """Jinja's `urlencode`, a text's remembered: a sessions tab quotes every row's session id
    for its links, the same ids on every view of the class's sessions."""
    return _quoted(value) if type(value) is str else do_urlencode(value)


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


_PAGE_CONTEXT_ONLY.add(url_for)  # it reads the request, never a loop's variable


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
    return Link(_base_url(request), path)


def _base_url(request: Any) -> str:
    """The request's base URL without its trailing slash, worked out once a request."""
    base = request.scope.get("cp.base_url")
    if base is None:
        base = request.scope["cp.base_url"] = str(request.base_url).rstrip("/")
    return base


class Section(NamedTuple):
    key: str
    endpoint: str
    label: str
    glyph: str


_SHELLS_KEPT = 1024
_MADE_KEPT = 8  # markup made once, per section: its names and addresses
_MARKS_KEPT = 1024  # markup made once per tenant, language and name (`made_once`)
_HEADS_KEPT = 1024  # theme heads, per tenant, theme and address (`theme_head`)


@pass_context
def made_once(context: Any, name: str, make: Callable[[Any], Any],
              keys: tuple[Any, ...]) -> dict[Any, Markup]:
    """What `make` (a macro of one argument) prints for each of `keys`, made on a tenant's
    first page in a language and then reused: markup without links or the visitor's data,
    the same on every page (a sessions tab's status badges: 18 macro calls a page). `name`
    and `keys` are the caller's, the same on every call from one place of a template."""
    key = (context["tenant"].slug, i18n.active_locale(), name)
    made = context.environment.cp_made
    found = made.get(key)
    if found is None:
        if len(made) >= _MARKS_KEPT:
            made.pop(next(iter(made)))
        found = made[key] = {each: Markup(make(each)) for each in keys}
    return found


@dataclass(frozen=True)
class PageRoute:
    """What base.html's `<html>` element says of the screen: its root path, the sections (for
    the tabs) and `data-route`, the cp:route message widget.js hands the provider's page."""

    root: str
    sections: tuple[Section, ...]
    json: Markup | None
    # Markup made once for every page of the section (its `key`), by the request's base URL
    # (a custom domain's links are its own): see `once`.
    made: dict[tuple[str, str], Markup] = field(compare=False)

    def once(self, request: Any, name: str, make: Callable[[], Any]) -> Markup:
        """What `make` (a macro of the layout) prints, made on the section's first page and
        then reused: the section tabs, 45 us of every logged-in page to make, are the same
        for every page of a section in a tenant's theme and language."""
        key = (name, _base_url(request))
        found = self.made.get(key)
        if found is None:
            if len(self.made) >= _MADE_KEPT:  # the address is the client's Host header
                self.made.clear()
            found = self.made[key] = Markup(make())
        return found


@pass_context
def theme_head(context: Any, make: Callable[[], Any]) -> Markup:
    """What `make` prints (the layout's `_theme_head.html`: the stylesheet's and the script's
    links, the theme as CSS variables), made on the first page of a tenant's theme at one
    address and then reused: the same on every page, and 25 us of each to make. The theme is
    known by its object, which a tenant keeps while the process runs (the console's previews
    make their own, so they never share one); kept with its head, no other object can take its
    `id` meanwhile."""
    theme, tenant = context.get("theme"), context.get("tenant")
    if theme is None or tenant is None:  # a page without them: as the include alone was
        return Markup(make())
    key = (tenant.slug, id(theme), _base_url(context["request"]), bool(context.get("preview")))
    heads = context.environment.cp_heads
    found = heads.get(key)
    if found is None:
        if len(heads) >= _HEADS_KEPT:  # the address is the client's Host header
            heads.pop(next(iter(heads)))
        found = heads[key] = (theme, Markup(make()))
    return found[1]


@pass_context
def page_route(context: Any, section: str | None, subpage: bool, deep: Any) -> PageRoute:
    """The screen's `PageRoute`. The sections, their links, labels and the bar's styles are
    the same for every page of a section in a tenant's theme and language: built once (6 %
    of a simple page's time when the template built them); only the path is the page's."""
    request, theme = context["request"], context["theme"]
    key = (context["tenant"].slug, i18n.active_locale(), section, bool(subpage),
           theme.background, theme.font, theme.muted, theme.primary)
    shells = context.environment.cp_shells
    shell = shells.get(key)
    if shell is None:
        shell = shells[key] = _shell(request, key)
        if len(shells) > _SHELLS_KEPT:
            shells.pop(next(iter(shells)))
    root, sections, head, tail, made = shell
    if not deep:
        return PageRoute(root, sections, None, made)
    path = deep if isinstance(deep, str) else "/" + request.url.path[len(root):]
    return PageRoute(root, sections, Markup(head + str(htmlsafe_json_dumps(path)) + tail), made)


def _shell(request: Any, key: tuple) -> tuple[str, tuple[Section, ...], str, str, dict]:
    """(root path, sections, the cp:route JSON before its path, and after it, and the markup
    made once for the section's pages: empty until its first page)."""
    tenant, _, section, subpage, background, font, muted, primary = key
    # The logged-in screens' sections, in the order of their tabs and of the framed bar.
    sections = (Section("bookings", "home", i18n.gettext("Bookings"), "calendar"),
                Section("progress", "progress", i18n.gettext("Progress"), "chart"),
                Section("benefits", "benefits", i18n.gettext("Benefits"), "gift"),
                Section("orders", "orders", i18n.gettext("Orders"), "receipt"),
                Section("account", "account", i18n.gettext("Account"), "user"))
    root = link_for(request, "home", tenant=tenant).path
    nav = [[s.label, "/" + link_for(request, s.endpoint, tenant=tenant).path[len(root):],
            ("true" if subpage else "page") if s.key == section else ""]
           for s in sections] if section is not None else []
    bar_link = ("flex:1;display:flex;border:0;background:none;font-family:inherit;"
                "align-items:center;justify-content:center;min-height:56px;padding:4px;"
                "font-size:14px;text-decoration:none;font-weight:")
    message = str(htmlsafe_json_dumps({
        "type": "cp:route", "path": "", "nav": nav, "label": i18n.gettext("Sections"),
        "bar": "position:fixed;left:0;right:0;bottom:0;z-index:99999;box-shadow:0 -2px 10px "
               "rgb(16 24 40/.15);padding-bottom:env(safe-area-inset-bottom);background:"
               f"{background};font-family:{font}",
        "link": f"{bar_link}600;color:{muted}",
        "on": f"{bar_link}800;box-shadow:inset 0 3px {primary};color:{primary}"},
        sort_keys=True))  # as Jinja's `tojson` wrote it
    head, _, tail = message.partition('"path": ""')
    return root, sections, head + '"path": ', tail, {}
