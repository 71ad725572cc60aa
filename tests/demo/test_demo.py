"""A newcomer runs the demo: rich data, loaded idempotently, served with the URLs they need."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from widget_server.api.documents import list_documents
from widget_server.api.resources import RESOURCES
from widget_server.api.sync import list_items
from widget_server.core.db import session_scope
from widget_server.demo.data import DEMO_TENANTS, demo_items, load_demo


def dump(engine) -> dict:
    with Session(engine) as session:
        return {(slug, name): list_items(session, slug, name, limit=1000)["items"]
                for slug in DEMO_TENANTS for name in RESOURCES} | {
            (slug, "documents"): list_documents(session, slug, limit=1000)["items"]
            for slug in DEMO_TENANTS}


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
    assert all(len(first[(slug, "documents")]) == 2 for slug in DEMO_TENANTS)


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
        # The index leads to every page a newcomer needs, with addresses to log in as.
        for link in ("/demo/demo", "/demo/demo-sk", "/t/demo/", "/t/demo-sk/", "/dev/mail"):
            assert f'{link}"' in page.text, link
        assert "sarah.thompson@example.com" in page.text
        assert "jana.kovacova@example.com" in page.text
        slovak = client.get("/demo/demo-sk").text
        assert '<html lang="sk">' in slovak and "Môj profil" in slovak
        assert "My profile" not in slovak
    demo.state.engine.dispose()


def test_demo_only_pages_are_absent_in_production(client):
    assert client.get("/dev/mail").status_code == 404
    assert client.get("/demo/demo").status_code == 404


def test_demo_shows_whatsapp_and_webhooks_in_its_viewer_instead_of_failing(settings):
    """Nothing answers the demo's WhatsApp and webhook addresses: it keeps what it would have
    sent, as delivered, next to the e-mails, and logs no failures."""
    import time
    from dataclasses import replace

    from starlette.testclient import TestClient

    from widget_server.app import create_app
    from widget_server.core.models import OutboxMessage
    from widget_server.delivery import whatsapp
    from widget_server.delivery.webhooks import WEBHOOK, enqueue_event
    from widget_server.delivery.whatsapp import WHATSAPP

    demo = create_app(replace(settings, demo=True, environ={}, scheduler_interval=0))
    tenant = demo.state.tenants.get("demo-sk")
    with TestClient(demo) as client:
        with session_scope(demo.state.engine) as session:
            enqueue_event(session, tenant, "account.deletion_requested", client_id=None,
                          data={"email": "jana.kovacova@example.com"})
            whatsapp.enqueue(session, tenant, phone="+421900123456", template="session_reminder",
                             locale="sk", parameters=["Sofia", "Balet", "so 5. 12. 9:00"],
                             kind="reminder")
        for drainer in (demo.state.webhook_drainer, demo.state.whatsapp_drainer):
            drainer.wake()
        for _ in range(100):  # the drainers run in the app's own thread
            with Session(demo.state.engine) as session:
                rows = session.exec(select(OutboxMessage).where(
                    OutboxMessage.channel.in_([WEBHOOK.name, WHATSAPP.name]))).all()
            if len(rows) == 2 and {r.status for r in rows} == {"sent"}:
                break
            time.sleep(0.05)
        assert [r.status for r in rows] == ["sent", "sent"], [r.last_error for r in rows]
        page = client.get("/dev/mail").text
        assert "Webhook: account.deletion_requested" in page
        assert "WhatsApp: session_reminder" in page and "+421900123456" in page
    demo.state.engine.dispose()
