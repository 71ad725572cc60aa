"""The pages' Jinja environment: a template's globals, and what rendering does with them."""

from __future__ import annotations

from collections import ChainMap
from pathlib import Path

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
    env = make_templates(TEMPLATES, tmp_path).env
    page = env.from_string('{{ _("Terms &amp; conditions") }}|{{ _("100%% refund") }}|'
                           '{{ _("Hello, %(name)s", name="<Ann>") }}|{{ _("Bookings") }}')
    assert page.render() == "Terms &amp; conditions|100% refund|Hello, &lt;Ann&gt;|Bookings"
    plain = make_templates(TEMPLATES, tmp_path).env
    plain.autoescape = False
    assert plain.from_string('{{ _("100%% refund") }}').render() == "100% refund"
