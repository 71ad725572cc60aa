"""Tenant files: a bad one stops start-up, naming the file, the key and the reason."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from tenant_support import GOOD, problems, write

from widget_server.app import create_app
from widget_server.cli import main
from widget_server.core.settings import Settings
from widget_server.core.tenants import TenantError, hash_api_key, load_tenants
from widget_server.demo import TENANTS_DIR as DEMO_TENANTS


@pytest.fixture
def tenants_dir(tmp_path) -> Path:
    (tmp_path / "good.toml").write_text(GOOD.format(slug="good"))
    return tmp_path


def test_shipped_tenant_files_are_valid():
    registry = load_tenants(DEMO_TENANTS, {}, demo=True)
    assert {t.slug for t in registry} == {"demo", "demo-sk"}
    assert registry.get("demo-sk").config.currency == "EUR"
    assert registry.get("demo").config.timezone == "Europe/London"


@pytest.mark.parametrize("snippet,key,reason", [
    ('locale = "xx_QQ"', "locale", "unknown locale"),
    ('currency = "GBX"', "currency", "unknown ISO 4217 currency"),
    ('timezone = "Mars/Base"', "timezone", "unknown time zone"),
    ('allowed_origins = ["example.com"]', "allowed_origins", "is not an origin"),
    ('api_key_hash = "plain"', "api_key_hash", "sha256"),
    ('colour = "red"', "colour", "Extra inputs are not permitted"),
    ('api_key = "s3cret"', "api_key", "secrets must not live in the tenant file"),
    ('[theme]\nprimary = "blue"', "theme.primary", "is not a colour"),
    ('[makeups]\nvalidity_days = 0', "makeups.validity_days", "greater than or equal to 1"),
    ('[theme]\nfont = "x; } body { display: none"', "theme.font", "is not a font stack"),
])
def test_bad_values_are_reported_as_file_key_reason(tenants_dir, snippet, key, reason):
    text = GOOD.format(slug="bad")
    text = snippet + "\n" + text if not snippet.startswith("[") else text + snippet
    path = write(tenants_dir, "bad.toml", text)
    found = problems(tenants_dir)
    assert len(found) == 1, found
    assert found[0].startswith(f"{path}: {key}: ")
    assert reason in found[0]


def test_missing_required_keys_and_broken_toml(tenants_dir):
    missing = write(tenants_dir, "missing.toml", 'slug = "missing"\n')
    broken = write(tenants_dir, "broken.toml", 'slug = "broken\n')
    found = problems(tenants_dir)
    assert f"{missing}: name: Field required" in found
    assert f"{missing}: email: Field required" in found
    assert any(line.startswith(f"{broken}: (file): invalid TOML") for line in found)


def test_slug_must_match_file_name(tenants_dir):
    path = write(tenants_dir, "other.toml", GOOD.format(slug="different"))
    assert problems(tenants_dir) == [
        f"{path}: slug: 'different' must match the file name 'other'"]


def test_start_up_stops_on_a_bad_tenant_file(tenants_dir, tmp_path):
    write(tenants_dir, "bad.toml", 'currency = "XXZ"\n' + GOOD.format(slug="bad"))
    settings = Settings(database_url=f"sqlite:///{tmp_path}/x.db", secret_keys=("k",),
                        tenants_dir=tenants_dir)
    with pytest.raises(TenantError, match="bad.toml: currency: unknown ISO 4217"):
        create_app(settings)


def test_api_key_from_environment_or_hash(tenants_dir):
    write(tenants_dir, "hashed.toml",
          f'api_key_hash = "{hash_api_key("from-file")}"\n' + GOOD.format(slug="hashed"))
    registry = load_tenants(tenants_dir, {"WIDGET_API_KEY_GOOD": "from-env"})
    assert registry.by_api_key("from-env").slug == "good"
    assert registry.by_api_key("from-file").slug == "hashed"
    assert registry.by_api_key("from-env-x") is None
    # Without a key, a tenant has none outside demo mode, and a generated one in demo mode.
    assert registry.get("good").generated_api_key is None
    demo = load_tenants(tenants_dir, {}, demo=True)
    generated = demo.get("good").generated_api_key
    assert generated and demo.by_api_key(generated).slug == "good"


def test_tenants_check_command(tenants_dir, monkeypatch, capsys):
    monkeypatch.setenv("WIDGET_TENANTS_DIR", str(tenants_dir))
    assert main(["tenants", "check"]) == 0
    path = write(tenants_dir, "bad.toml", 'timezone = "Nowhere"\n' + GOOD.format(slug="bad"))
    assert main(["tenants", "check"]) == 1
    assert f"{path}: timezone: unknown time zone 'Nowhere'" in capsys.readouterr().out


def test_tenants_check_warns_about_poor_contrast(tenants_dir, monkeypatch, capsys):
    write(tenants_dir, "pale.toml",
          GOOD.format(slug="pale") + '[theme]\ntext = "#aaaaaa"\nbackground = "#ffffff"\n')
    monkeypatch.setenv("WIDGET_TENANTS_DIR", str(tenants_dir))
    assert main(["tenants", "check"]) == 0
    assert "theme.text: contrast with theme.background is 2.32:1" in capsys.readouterr().out


def test_serving_without_a_secret_key_is_refused(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path}/x.db", secret_keys=(),
                        tenants_dir=DEMO_TENANTS)
    with pytest.raises(ValueError, match="WIDGET_SECRET_KEYS"):
        create_app(settings)
    create_app(replace(settings, demo=True)).state.engine.dispose()


def test_shipped_files_copy_cleanly(tmp_path):
    for path in DEMO_TENANTS.glob("*.toml"):
        shutil.copy(path, tmp_path / path.name)
    assert len(load_tenants(tmp_path, {}, demo=True)) == 2
