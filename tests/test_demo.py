"""A newcomer runs the demo: rich data, loaded idempotently, served with the URLs they need."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from widget_server.db import session_scope
from widget_server.demo_data import DEMO_TENANTS, demo_items, load_demo
from widget_server.resources import RESOURCES
from widget_server.sync import list_items


def dump(engine) -> dict:
    with Session(engine) as session:
        return {(slug, name): list_items(session, slug, name, limit=1000)["items"]
                for slug in DEMO_TENANTS for name in RESOURCES}


def test_loading_the_demo_twice_changes_nothing(app):
    engine, today = app.state.engine, date(2026, 11, 22)
    with session_scope(engine) as session:
        for slug in DEMO_TENANTS:
            load_demo(session, slug, today)
    first = dump(engine)
    with session_scope(engine) as session:
        for slug in DEMO_TENANTS:
            load_demo(session, slug, today)
    assert dump(engine) == first
    assert all(first[(slug, "clients")] for slug in DEMO_TENANTS)


def test_demo_data_shows_every_screen(app):
    with session_scope(app.state.engine) as session:
        load_demo(session, "demo", date(2026, 11, 22))
    by = {name: items for (slug, name), items in dump(app.state.engine).items()
          if slug == "demo"}
    statuses = {a["status"] for a in by["attendance"]}
    assert {"attended", "missed", "excused", "cancelled_by_provider", "expected"} <= statuses
    assert any(a["makeup"] for a in by["attendance"])
    assert any(s.get("livestream_url") for s in by["sessions"])
    assert {"paid", "unpaid"} <= {p["status"] for p in by["payments"]}
    assert by["invoices"] and by["orders"] and by["entry-passes"] and by["credits"]
    assert any(s["relation"] == "grandparent" for s in by["shares"])
    assert any(d.get("attendee_id") is None for d in by["discounts"])
    assert any(not c.get("used_attendance_id") for c in by["makeup-credits"])


def test_demo_dates_follow_today():
    later = demo_items("demo", date(2027, 6, 1))
    starts = [i["starts_at"] for r, i in later if r == "sessions"]
    assert min(starts) < "2027-06-01" < max(starts)


def test_demo_index_lists_tenants_and_keys(settings):
    from dataclasses import replace

    from starlette.testclient import TestClient

    from widget_server.app import create_app

    demo = create_app(replace(settings, demo=True, environ={}))
    with TestClient(demo) as client:
        page = client.get("/")
        assert "Splash Swim School" in page.text and "Tanečná škola Piruetka" in page.text
        key = demo.state.tenants.get("demo").generated_api_key
        assert key in page.text
        listed = client.get("/api/v1/clients", headers={"Authorization": f"Bearer {key}"})
        assert listed.status_code == 200
        assert client.get("/dev/mail").status_code == 200
        provider = client.get("/demo/demo")
        assert 'data-client-profile data-tenant="demo"' in provider.text
        assert "/embed.js" in provider.text
    demo.state.engine.dispose()


def test_demo_only_pages_are_absent_in_production(client):
    assert client.get("/dev/mail").status_code == 404
    assert client.get("/demo/demo").status_code == 404
