"""The pages' Jinja environment: a template's globals, and what rendering does with them."""

from __future__ import annotations

import gc
import weakref
from collections import ChainMap
from functools import lru_cache
from pathlib import Path

from jinja2 import pass_context
from markupsafe import Markup, escape

from widget_server.web.templating import make_templates

TEMPLATES = Path(__file__).resolve().parents[2] / "widget_server" / "templates"


def test_an_import_does_not_look_up_the_globals_one_by_one(tmp_path, monkeypatch):
    """Each `{% import %}` of each render asks which globals the importing template has that
    the imported one lacks. Asked of a ChainMap's key view, that was a Python loop over every
    global (12 us an import); the globals' keys are a set, so it is one set operation."""
    env = make_templates(TEMPLATES, tmp_path).env
    page = env.from_string('{% import "widget/_ui.html" as ui %}{{ ui.icon("pin") }}')
    first = page.render()
    looked_up = []
    original = ChainMap.__contains__

    def counting(self, key):
        looked_up.append(key)
        return original(self, key)

    monkeypatch.setattr(ChainMap, "__contains__", counting)
    assert page.render() == first and "<svg" in first
    assert looked_up == []


def test_a_template_sees_a_global_added_after_it_was_loaded(tmp_path):
    env = make_templates(TEMPLATES, tmp_path).env
    page = env.from_string("{{ greeting }}")
    env.globals["greeting"] = "Hello"
    assert page.render() == "Hello"
    assert "greeting" in page.globals.keys() and "url_for" in page.globals.keys()


def test_a_string_without_variables_is_formatted_and_marked_safe_as_one_with_them(tmp_path):
    """`_()` formats every string, as new-style gettext does ("%%" is "%"), the words
    themselves trusted and only the variables escaped; a string without variables skips
    Markup's formatting (1.0 us) and comes out the same."""
    from widget_server.core import i18n

    i18n.activate("en_GB")  # whatever page rendered before in this thread, in English
    env = make_templates(TEMPLATES, tmp_path).env
    page = env.from_string('{{ _("Terms &amp; conditions") }}|{{ _("100%% refund") }}|'
                           '{{ _("Hello, %(name)s", name="<Ann>") }}|{{ _("Bookings") }}')
    assert page.render() == "Terms &amp; conditions|100% refund|Hello, &lt;Ann&gt;|Bookings"
    plain = make_templates(TEMPLATES, tmp_path).env
    plain.autoescape = False
    assert plain.from_string('{{ _("100%% refund") }}').render() == "100% refund"


def test_every_kind_of_value_is_escaped_as_markupsafe_escapes_it(tmp_path):
    """The pages print values through a leaner `escape` than markupsafe's wrapper (each
    `{{ value }}` of each page passes through it): the same text for every kind of value."""
    class Safe:
        def __html__(self):
            return "<i>safe</i>"

    class Name(str):
        pass

    env = make_templates(TEMPLATES, tmp_path).env
    page = env.from_string("{% macro row(v) %}[{{ v }}]{% endmacro %}"
                           "{% for v in values %}{{ v }}|{{ row(v) }};{% endfor %}")
    values = ['<b>"Tom" & \'Ann\'</b>', "plain", "", Markup("<em>kept</em>"), Safe(), 42,
              1.5, None, Name("<x>"), Markup("a") + "<b>"]
    assert page.render(values=values) == "".join(
        f"{escape(v)}|[{escape(v)}];" for v in values)


def test_a_value_already_safe_is_printed_as_it_is_not_copied(tmp_path):
    """markupsafe's own `escape` makes a new Markup of a Markup (0.43 us, most of a page's
    macro and icon output); the pages' returns it as it is."""
    env = make_templates(TEMPLATES, tmp_path).env
    printing = env.from_string("{{ v }}").root_render_func.__globals__["escape"]
    shown = Markup("<em>kept</em>")
    assert printing(shown) is shown
    assert printing("<b>") == "&lt;b&gt;" and type(printing("<b>")) is Markup


def test_what_a_template_calls_gets_what_jinja_would_give_it(tmp_path, monkeypatch):
    """The pages' context calls functions and macros without Jinja's checks for a context to
    pass (0.7 us a call, 70 to 135 calls a page); every kind of callable gets the same
    arguments and gives the same page as through Jinja's own `Context.call`."""
    from jinja2 import pass_context, pass_environment, pass_eval_context
    from jinja2.runtime import Context

    env = make_templates(TEMPLATES, tmp_path).env

    @pass_context
    def in_context(context, suffix):  # sees what the loop set, as Jinja passes it
        return f"{context.get('shown')}{context.get('page')}{suffix}"

    class Callable:
        @pass_context
        def __call__(self, context, suffix):
            return f"[{context.get('shown')}{suffix}]"

    class Member:
        name = "Leo"

        def greet(self, word):
            return f"{word} {self.name}"

        @pass_context
        def seen(self, context):
            return f"{self.name}@{context.get('shown')}"

    def stops():
        raise StopIteration

    @lru_cache(maxsize=8)  # as the icons are
    def cached(name, cls=""):
        return Markup(f"<i {cls}>{name}</i>")

    cached_in_context = lru_cache(maxsize=8)(in_context)  # keeps its `pass_context`

    env.globals.update(
        cached=cached, cached_in_context=cached_in_context,
        in_context=in_context, callable=Callable(), stops=stops, plain=lambda a, b="": a + b,
        member=Member(), names={"x": "ex"},
        eval_ctx=pass_eval_context(lambda ctx, a: f"{ctx.autoescape}{a}"),
        environment=pass_environment(lambda e, a: f"{e is env}{a}"))
    page = env.from_string(
        '{% macro m(a, b="") %}<{{ a }}{{ b }}>{% endmacro %}'
        '{% for item in ["x", "y"] %}{% set shown = item %}{{ in_context("!") }}'
        '{{ callable("?") }}'
        '{{ plain(item, b="+") }}{{ m(item, b=plain("b")) }}{{ eval_ctx(item) }}'
        '{{ environment(item) }}{{ _("Hi %(n)s", n=item) }}{{ member.greet(item) }}'
        '{{ member.seen() }}{{ names.get(item, "?") }}{{ cached(item, cls="c") }}{% endfor %}'
        '{% set page = 2 %}{{ in_context(".") }}|{{ stops() }}|{{ m("<") }}'
        '{% set shown = "s" %}{{ cached_in_context("#") }}')
    through_jinja = []  # what the pages' own `call` leaves to Jinja's
    jinja_call = Context.call
    monkeypatch.setattr(Context, "call", lambda self, obj, *a, **k: (
        through_jinja.append(obj), jinja_call(self, obj, *a, **k))[1])
    ours = page.render(page=1)
    assert through_jinja and not {id(cached), id(cached_in_context)} & set(map(id, through_jinja))
    monkeypatch.setattr(Context, "call", jinja_call)
    assert type(page.new_context()).call is not Context.call  # the pages' own
    monkeypatch.setattr(type(page.new_context()), "call", Context.call)
    assert ours == page.render(page=1)  # the same page through Jinja's `call`
    assert ours.startswith("x1![x?]x+<xb>Truex") and "|<&lt;>" in ours
    assert "<i c>x</i>" in ours and ours.endswith("s2#")


def test_links_in_a_loop_are_made_without_a_context_for_each(tmp_path, monkeypatch):
    """`url_for` reads only the page's request: in a loop that sets variables Jinja derives a
    new context for each call of a context function (3-4 us a link); the pages' context
    passes the page's own to it, and every link is the same."""
    from jinja2.runtime import Context
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.routing import Route

    env = make_templates(TEMPLATES, tmp_path).env
    app = Starlette(routes=[Route("/t/{tenant}/bookings/{booking}", lambda r: None,
                                 name="booking")])
    request = Request({"type": "http", "method": "GET", "path": "/", "headers": [],
                       "query_string": b"", "server": ("example.com", 443), "scheme": "https",
                       "root_path": "", "app": app, "router": app.router})
    page = env.from_string('{% for ref in refs %}{% set shown = ref %}'
                           '{{ url_for("booking", tenant="demo", booking=shown) }} '
                           '{% endfor %}')
    derived = []
    real = Context.derived
    monkeypatch.setattr(Context, "derived", lambda self, *a: derived.append(1) or real(
        self, *a))
    links = page.render(request=request, refs=["b1", "b2"]).split()
    assert links == ["https://example.com/t/demo/bookings/b1",
                     "https://example.com/t/demo/bookings/b2"]
    assert derived == []


def _as_jinja(tmp_path):
    """Jinja's own environment with the pages' settings and filters: what ours must equal."""
    from jinja2 import Environment

    ours = make_templates(TEMPLATES, tmp_path).env
    plain = Environment(loader=ours.loader, autoescape=True, trim_blocks=True,
                        lstrip_blocks=True)
    plain.filters.update(ours.filters)
    plain.globals.update(ours.globals)
    return ours, plain


class _Row:
    """What a page's rows look like to a template: attributes, a property that fails, a dict."""

    ref, name, empty = "s-1", "<Swim> & co", ""
    notes = ({"author": "Kim", "text": "Bring goggles"},)
    extra = {"items": "a key named like a method", "label": "from the dict"}

    @property
    def broken(self):
        raise AttributeError("not set")

    def __getitem__(self, key):  # reached only when there is no attribute of that name
        return f"item {key}"


def test_attributes_and_items_are_read_as_jinja_reads_them(tmp_path):
    """`a.b` is read in place, not through `Environment.getattr`: attribute first, then item,
    then undefined, exactly as Jinja reads it, in loops, macros, call and set blocks."""
    ours, plain = _as_jinja(tmp_path)
    source = (
        '{% macro row(r) %}<li id="{{ r.ref }}">{{ r.name }}{{ caller() if caller }}</li>'
        '{% endmacro %}'
        '{% for r in rows %}{{ row(r) }}{% call row(r) %}[{{ r.notes.0.author }}]{% endcall %}'
        '{{ r.extra.label }}|{{ r.extra.items is callable }}|{{ r.broken }}|{{ r.nothing }}|'
        '{{ r.empty or "none" }}|{{ r.extra.missing is defined }}|{{ r.notes|length }}'
        '{% for n in r.notes %}{{ n.text }}{{ n.author.upper() }}{% endfor %}{% endfor %}'
        '{% set block %}<b>{{ rows.0.name }}</b>{% endset %}{{ block }}{{ block|length }}'
        '{% filter upper %}{{ rows.0.name }}{% endfilter %}{{ labels.cancel }}'
        '{{ (labels.cancel ~ rows.0.ref).startswith("C") }}')
    context = {"rows": [_Row(), _Row()], "labels": {"cancel": "Cancel <now>"}}
    page = ours.from_string(source).render(**context)
    assert page == plain.from_string(source).render(**context)
    assert '<li id="s-1">&lt;Swim&gt; &amp; co[Kim]</li>' in page
    assert "from the dict|True|item broken|item nothing|none|False|1" in page
    assert "Cancel &lt;now&gt;True" in page


def test_an_undefined_name_fails_as_in_jinja(tmp_path):
    from jinja2 import StrictUndefined, UndefinedError

    ours, plain = _as_jinja(tmp_path)
    ours.undefined = plain.undefined = StrictUndefined
    for env in (ours, plain):
        page = env.from_string("{{ missing.attribute }}")
        try:
            page.render()
        except UndefinedError as failure:
            assert "'missing' is undefined" in str(failure)
        else:
            raise AssertionError("an undefined name was printed")
        assert env.from_string("{{ d.key }}").render(d={"key": "v"}) == "v"


def test_a_page_reads_attributes_and_prints_text_without_a_call_for_each(tmp_path, monkeypatch):
    """A sessions tab reads a thousand attributes and prints 560 values: Jinja made a call of
    `Environment.getattr` for each read and of `escape` for each value printed. The pages'
    compiled templates read an attribute in place, and escape a string by markupsafe's C
    function; only a missing attribute (a dict's key) or a value of another type calls."""
    env = make_templates(TEMPLATES, tmp_path).env
    page = env.from_string("{% for r in rows %}<p>{{ r.name }} {{ r.ref }} {{ r.extra.label }}"
                           "</p>{% endfor %}{{ rows|length }}")
    got, escaped = [], []
    real_getattr = type(env).getattr
    monkeypatch.setattr(type(env), "getattr", lambda self, obj, name: got.append(name) or (
        real_getattr(self, obj, name)))
    printing = page.root_render_func.__globals__
    real_escape = printing["escape"]
    monkeypatch.setitem(printing, "escape", lambda v: escaped.append(v) or real_escape(v))
    html = page.render(rows=[_Row()] * 20)
    assert html.count("<p>&lt;Swim&gt; &amp; co s-1 from the dict</p>") == 20
    assert html.endswith("</p>20")
    assert got == [] and escaped == [20]  # the count, a number, escaped as before


def test_urlencode_quotes_as_jinja_s_own_and_remembers_texts(tmp_path):
    """A row's session id is quoted for its links by the pages' `urlencode`: Jinja's result for
    every kind of value, a text's quoted once."""
    from jinja2 import Environment

    from widget_server.web.templating import _quoted

    ours = make_templates(TEMPLATES, tmp_path).env.from_string("{{ value|urlencode }}")
    jinjas = Environment(autoescape=True).from_string("{{ value|urlencode }}")
    for value in ("s-12", "a b/c?d=e&f", "Zápis č. 5", "<x>", 42, {"a": "b c", "d": 1},
                  [("k", "v w")]):
        assert ours.render(value=value) == jinjas.render(value=value), value
    _quoted.cache_clear()
    ours.render(value="s-12")
    ours.render(value="s-12")
    assert _quoted.cache_info().hits == 1


class _Rows(list):
    """What a page is given, in a form a weak reference can follow."""


def test_a_rendered_page_leaves_nothing_for_the_cyclic_collector(tmp_path):
    """A macro a template defines, or imports with context, is kept in its context and refers
    back to it: every such page left a cycle holding all it was given, freed only by Python's
    cyclic collector (on a sessions tab 310 objects a page, and a young collection of 156 us
    every second page). The render takes its contexts apart, so what the page was given is
    freed when the last reference to it goes, with the collector off."""
    (tmp_path / "head.html").write_text(  # an include with a macro of its own
        "{% macro count(n) %}<h2>{{ n }}</h2>{% endmacro %}{{ count(rows|length) }}")
    env = make_templates(TEMPLATES, tmp_path).env
    page = env.from_string(
        '{% import "widget/_places.html" as places with context %}'
        '{% macro row(r) %}<li>{{ r }}{{ places.countdown(none, none) }}</li>{% endmacro %}'
        '{% set rows_seen = rows|length %}{% include "tenant:head.html" %}'
        "<ol>{% for r in rows %}{{ row(r) }}{% endfor %}</ol>{{ rows_seen }}")
    first = page.render(rows=_Rows(["a", "b"]), tenant=None)  # compiled, imports loaded
    gc.collect()
    gc.disable()
    try:
        rows = _Rows(["a", "b"])
        gone = weakref.ref(rows)
        again = page.render(rows=rows, tenant=None)
        del rows
        assert gone() is None
        assert gc.collect() == 0  # no cycle left behind either
    finally:
        gc.enable()
    assert again == first == "<h2>2</h2><ol><li>a</li><li>b</li></ol>2"


def test_a_module_imported_without_context_works_on_every_later_render(tmp_path):
    """Jinja keeps a module imported without context for every render: taking a render's
    contexts apart must not take that one's, whose variables a function its macros call
    with the context reads."""
    (tmp_path / "pieces.html").write_text(
        '{% set mark = "*" %}{% macro outer(x) %}[{{ seen() }}{{ x }}]{% endmacro %}')
    env = make_templates(TEMPLATES, tmp_path).env
    env.globals["seen"] = pass_context(lambda context: context.get("mark", "?"))
    page = env.from_string('{% import "tenant:pieces.html" as p %}{{ p.outer("a") }}'
                           '{% import "widget/_ui.html" as ui %}{{ ui.makeup_tag() }}')
    first = page.render()
    assert first.startswith("[*a]") and 'data-tone="purple"' in first
    assert [page.render() for _ in range(3)] == [first] * 3
    other = env.from_string('{% import "tenant:pieces.html" as p %}{{ p.outer("b") }}')
    assert other.render() == "[*b]"


def test_each_run_of_output_is_one_yield_and_the_page_is_the_same(tmp_path):
    """A template's top level and its blocks yield their output, and every piece passed up
    through each template the page extends (a base layout's 212 a page, through three
    generators). A run of text and values between two tags is joined in place and yielded
    once; the page is what Jinja gives."""
    env = make_templates(TEMPLATES, tmp_path).env
    values = {"who": "<Ann>", "n": 3, "safe": Markup("<b>ok</b>"), "items": ["a", "b"]}
    base = env.from_string("<p>{{ who }} has {{ n }} {{ safe }}</p>{% block body %}{% endblock %}")
    env.globals["layout"] = base
    page = env.from_string(
        '{% extends layout %}{% block body %}<i>{{ who }}</i>{{ n }}'
        '{% for x in items %}[{{ x }}|{{ loop.index }}]{% endfor %}{% endblock %}')
    expected = "<p>&lt;Ann&gt; has 3 <b>ok</b></p><i>&lt;Ann&gt;</i>3[a|1][b|2]"
    assert page.render(values) == expected
    assert list(base.root_render_func(base.new_context(values)))[0] == \
        "<p>&lt;Ann&gt; has 3 <b>ok</b></p>"  # seven pieces, one yield
    body = page.blocks["body"](page.new_context(values))
    assert list(body) == ["<i>&lt;Ann&gt;</i>3", "[a|1]", "[b|2]"]
    # A run Jinja folds into one constant is printed as it is.
    assert env.from_string('{{ "a" }}b').render() == "ab"


def test_markup_made_once_for_a_section_is_kept_apart_by_the_address_asked_at():
    """A tenant's pages answer at the service's address and at its own domain: the section
    tabs made for one carry its links, so each address has its own."""
    from starlette.requests import Request

    from widget_server.web.templating import PageRoute

    def request(host: str) -> Request:
        return Request({"type": "http", "scheme": "https", "server": (host, 443), "path": "/",
                        "root_path": "", "query_string": b"",
                        "headers": [(b"host", host.encode())]})

    route = PageRoute("/t/demo", (), None, {})
    made: list[str] = []

    def tabs(host: str):
        return lambda: made.append(host) or Markup(f'<a href="https://{host}/t/demo/">')

    ours = route.once(request("profile.example"), "nav", tabs("profile.example"))
    again = route.once(request("profile.example"), "nav", tabs("profile.example"))
    theirs = route.once(request("club.example"), "nav", tabs("club.example"))
    assert made == ["profile.example", "club.example"]  # once per address
    assert again is ours and "club.example" in theirs and "profile.example" in ours
    for n in range(50):  # any Host header a client sends: a few kept, never all
        route.once(request(f"h{n}.example"), "nav", tabs(f"h{n}.example"))
    assert 0 < len(route.made) <= 8
