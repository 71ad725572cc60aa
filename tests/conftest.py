"""Shared fixtures: a migrated database (SQLite, and PostgreSQL when configured), its engine,
the app, an HTTP client, an `api` helper that speaks the provider sync API as a tenant, the
demo families (`demo`) and Sarah logged in to them (`sarah`), and fakes of Stripe and of a
provider's webhook endpoint."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from fake_stripe import FakeStripe
from profile_support import SARAH, browser, freeze, load_demo_families
from receiver import Receiver
from smtp import Mailbox
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from widget_server.app import create_app
from widget_server.core.db import make_engine, migrate, release_page_engine
from widget_server.core.settings import Settings
from widget_server.demo import TENANTS_DIR as DEMO_TENANTS

API_KEYS = {"demo": "test-key-demo", "demo-sk": "test-key-demo-sk"}
POSTGRES_URL = os.environ.get("WIDGET_TEST_DATABASE_URL")
DATABASES = ["sqlite"] + (["postgres"] if POSTGRES_URL else [])
# For a story about PostgreSQL itself (its planner, its server-side sessions): run on it alone,
# as `database_url`'s only parameter, never as a skipped SQLite run.
postgres_only = pytest.mark.parametrize("database_url", ["postgres"] if POSTGRES_URL else [],
                                        indirect=True)
# For a story about SQLite itself (its one write lock, its files).
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture(autouse=True)
def demo_tenants_folder(monkeypatch):
    """Commands read from the environment find the demo tenants, wherever pytest runs from."""
    monkeypatch.setenv("WIDGET_TENANTS_DIR", str(DEMO_TENANTS))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """Migrate once, copy per test: every test starts from a fresh, migrated file."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_ready() -> str:
    """Migrate the PostgreSQL test database once; a configured but unreachable server fails."""
    assert POSTGRES_URL, "WIDGET_TEST_DATABASE_URL is not set"
    engine = create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    migrate(POSTGRES_URL)
    return POSTGRES_URL


def truncate_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        tables = connection.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'alembic_version'")).scalars().all()
        connection.execute(text(
            "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=DATABASES)
def database_url(request, tmp_path) -> str:
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_ready")
        truncate_postgres(url)
        return url
    path = tmp_path / "widget.db"
    shutil.copy(request.getfixturevalue("sqlite_template"), path)
    return f"sqlite:///{path}"


@pytest.fixture
def engine(database_url) -> Iterator[Engine]:
    """An engine on the test database, for stories told below the app."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def mailbox():
    """A real SMTP server (aiosmtpd) on loopback that collects what we send."""
    box = Mailbox()
    box.start()
    yield box
    box.stop()


@pytest.fixture
def settings(database_url, mailbox) -> Settings:
    environ = {f"WIDGET_API_KEY_{slug.upper().replace('-', '_')}": key
               for slug, key in API_KEYS.items()}
    return Settings(
        database_url=database_url,
        secret_keys=("test-secret-new", "test-secret-old"),
        base_url="http://testserver",
        tenants_dir=DEMO_TENANTS,
        smtp_host="127.0.0.1",
        smtp_port=mailbox.port,
        smtp_tls="none",
        environ=environ,
    )


@pytest.fixture
def app(settings):
    application = create_app(settings)
    yield application
    anyio.run(release_page_engine, application.state)  # if no lifespan did (PostgreSQL pages)
    application.state.engine.dispose()


@pytest.fixture
def client(app):
    with TestClient(app) as test_client:
        yield test_client


class Api:
    """Speaks the provider sync API as one tenant: `api.put("clients", "c1", {...})`."""

    def __init__(self, client: TestClient, tenant: str = "demo"):
        self.client = client
        self.tenant = tenant
        self.headers = {"Authorization": f"Bearer {API_KEYS[tenant]}"}

    def as_tenant(self, tenant: str) -> "Api":
        return Api(self.client, tenant)

    def put(self, resource: str, external_id: str, body: dict, **headers):
        return self.client.put(f"/api/v1/{resource}/{external_id}", json=body,
                               headers=self.headers | headers)

    def get(self, resource: str, external_id: str | None = None, **params):
        path = f"/api/v1/{resource}" + (f"/{external_id}" if external_id else "")
        return self.client.get(path, params=params, headers=self.headers)

    def delete(self, resource: str, external_id: str, **headers):
        return self.client.delete(f"/api/v1/{resource}/{external_id}",
                                  headers=self.headers | headers)

    def import_ndjson(self, text_body: str):
        return self.client.post("/api/v1/import", content=text_body.encode(),
                                headers=self.headers | {"Content-Type": "application/x-ndjson"})


@pytest.fixture
def api(client) -> Api:
    return Api(client)


@pytest.fixture
def demo(app, client):
    """The app, started, with both demo tenants' families loaded and the clock at NOW."""
    freeze(app)
    load_demo_families(app)
    return app


@pytest.fixture
def sarah(demo, mailbox):
    """Sarah Thompson (demo family 1: Oliver and Mia), logged in in her own browser."""
    return browser(demo, mailbox, SARAH)


@pytest.fixture
def stripe() -> Iterator[FakeStripe]:
    """Stripe's API and hosted checkout, faked on loopback (fake_stripe.py)."""
    fake = FakeStripe()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A provider's webhook endpoint on loopback, recording what it is sent."""
    hooks = Receiver()
    hooks.start()
    yield hooks
    hooks.stop()
