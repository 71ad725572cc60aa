"""The `widget-server` command."""

from __future__ import annotations

import argparse
import logging
import logging.config
import secrets
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from widget_server.core.logs import logging_config
from widget_server.core.settings import Settings, SettingsError
from widget_server.core.tenants import TenantError, check_file, contrast_warnings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="widget-server", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="migrate SQLite, load demo data and serve")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)

    serve = commands.add_parser("serve", help="serve in production (configured by WIDGET_*)")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)

    commands.add_parser("migrate", help="apply database migrations")

    worker = commands.add_parser("worker", help="send queued e-mails and webhooks (outbox)")
    worker.add_argument("--interval", type=float, default=1.0)

    url = commands.add_parser("profile-url", help="print WIDGET_PROFILE_URL for a client")
    url.add_argument("--tenant", required=True)
    url.add_argument("--email", required=True)

    tenants = commands.add_parser("tenants", help="tenant files")
    tenant_commands = tenants.add_subparsers(dest="tenants_command", required=True)
    tenant_commands.add_parser("check", help="validate every tenant file")

    args = parser.parse_args(argv)
    try:
        if args.command in ("demo", "serve", "worker"):
            logging.config.dictConfig(logging_config(Settings.from_environ().log_format))
        if args.command == "demo":
            return run_demo(args.host, args.port)
        if args.command == "serve":
            return run_serve(args.host, args.port, args.workers)
        if args.command == "migrate":
            return run_migrate()
        if args.command == "worker":
            return run_outbox_worker(args.interval)
        if args.command == "profile-url":
            return run_profile_url(Settings.from_environ(), args.tenant, args.email)
        if args.command == "tenants":
            return run_tenants_check(Settings.from_environ())
    except (SettingsError, TenantError) as exc:
        print(f"widget-server: {exc}", file=sys.stderr)
        return 2
    return 1


def run_migrate() -> int:
    from widget_server.core.db import migrate

    settings = Settings.from_environ()
    migrate(settings.database_url)
    print(f"Database is up to date: {settings.database_url}")
    return 0


def run_tenants_check(settings: Settings) -> int:
    """Print each problem as `file: key: reason`; non-zero when any file is invalid."""
    paths = sorted(settings.tenants_dir.glob("*.toml"))
    if not paths:
        print(f"{settings.tenants_dir}: (directory): no tenant files (*.toml) found")
        return 1
    problems = 0
    for path in paths:
        config, errors = check_file(path)
        for line in errors:
            print(line)
        problems += len(errors)
        if config is not None:
            for line in contrast_warnings(path, config.theme):
                print(f"warning: {line}")
    print(f"{len(paths)} tenant file(s) checked, {problems} problem(s)", file=sys.stderr)
    return 1 if problems else 0


def run_profile_url(settings: Settings, slug: str, email: str) -> int:
    """Print the profile URL a provider's e-mail to this client should link to."""
    from widget_server.core.profile_url import profile_url
    from widget_server.core.signing import Signer
    from widget_server.core.tenants import load_tenants

    tenant = load_tenants(settings.tenants_dir, settings.environ).get(slug)
    if tenant is None:
        print(f"widget-server: no tenant {slug!r} in {settings.tenants_dir}", file=sys.stderr)
        return 2
    settings.require_secret()
    print(profile_url(settings, Signer(settings.secret_keys), tenant, email=email))
    return 0


def run_outbox_worker(interval: float) -> int:
    """Send queued e-mails and webhooks until stopped."""
    import asyncio

    from widget_server.core.tenants import load_tenants
    from widget_server.delivery.mailer import make_transport
    from widget_server.delivery.outbox import EMAIL
    from widget_server.delivery.webhooks import WEBHOOK, WebhookSender
    from widget_server.delivery.whatsapp import WHATSAPP, WhatsAppSender
    from widget_server.scheduler import run_worker

    settings = Settings.from_environ()
    # Webhooks are signed with each tenant's secret, so the worker needs the tenant files too.
    tenants = load_tenants(settings.tenants_dir, settings.environ, demo=settings.demo)
    senders = [(EMAIL, make_transport(settings)), (WEBHOOK, WebhookSender(tenants)),
               (WHATSAPP, WhatsAppSender(tenants, settings.environ,
                                         api_url=settings.whatsapp_api_url))]
    asyncio.run(run_worker(settings, tenants, senders, interval=interval))
    return 0


def run_serve(host: str, port: int, workers: int) -> int:
    import uvicorn

    from widget_server.app import create_app

    settings = Settings.from_environ()
    create_app(settings)  # fail fast on bad settings or tenant files, before forking workers
    uvicorn.run("widget_server.asgi:app", host=host, port=port, workers=workers,
                log_level="info", **proxy_options(settings), **log_options(settings))
    return 0


def log_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's logging: in JSON mode ours in every worker, and no access log of its own (it
    prints raw URLs); the app logs each request by route instead."""
    if settings.log_format != "json":
        return {}
    return {"log_config": logging_config("json"), "access_log": False}


def proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's proxy settings: believe X-Forwarded-For only from `WIDGET_TRUSTED_PROXIES`.

    The rate limits count by `request.client`, which uvicorn sets from that header for trusted
    peers only; left on its defaults it would trust 127.0.0.1 (any local process, or a local
    proxy that passes the header through), so both settings are always given."""
    return {"proxy_headers": bool(settings.trusted_proxies),
            "forwarded_allow_ips": list(settings.trusted_proxies)}


def demo_secret(path: Path) -> str:
    """A secret kept across demo restarts, so logins survive them."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
    return path.read_text().strip()


def run_demo(host: str, port: int) -> int:
    import uvicorn

    from widget_server.app import create_app
    from widget_server.core.db import make_engine, migrate, session_scope
    from widget_server.demo import TENANTS_DIR as DEMO_TENANTS_DIR
    from widget_server.demo.data import DEMO_TENANTS, load_demo

    env = Settings.from_environ()
    keys = env.secret_keys or (demo_secret(Path("var/demo-secret-key")),)
    # The demo provider pages live on 127.0.0.1 and frame the widget from localhost:
    # two different sites, so the demo shows real cross-site behaviour without certificates.
    settings = Settings.from_environ(demo=True, secret_keys=keys,
                                     base_url=f"http://localhost:{port}",
                                     frame_origins=(f"http://127.0.0.1:{port}",))
    if not any(settings.tenants_dir.glob("*.toml")):
        # Run from anywhere (an installed wheel, an empty folder): the bundled demo tenants.
        settings = replace(settings, tenants_dir=DEMO_TENANTS_DIR)
    migrate(settings.database_url)
    app = create_app(settings)
    engine = make_engine(settings.database_url)
    loaded = 0
    with session_scope(engine) as session:
        for slug in DEMO_TENANTS:
            if app.state.tenants.get(slug):
                loaded += load_demo(session, slug, date.today(), app.state.files)
    engine.dispose()
    print(demo_banner(app, settings, port, loaded), flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", **proxy_options(settings),
                **log_options(settings))
    return 0


def demo_banner(app, settings: Settings, port: int, loaded: int) -> str:
    lines = [
        "",
        "Client Profile demo is running.",
        f"  Database:     {settings.database_url} ({loaded} demo items loaded)",
        f"  Demo index:   http://localhost:{port}/",
        f"  Mail viewer:  http://localhost:{port}/dev/mail"
        + ("" if not settings.smtp_host else f" (sending through {settings.smtp_host})"),
        f"  API document: http://localhost:{port}/api/v1/openapi.json",
    ]
    for tenant in app.state.tenants:
        lines.append(f"  {tenant.name}: provider page http://127.0.0.1:{port}/demo/{tenant.slug}"
                     f"  ·  hosted profile http://localhost:{port}/t/{tenant.slug}/")
    for tenant in app.state.tenants:
        if tenant.generated_api_key:
            lines.append(f"  API key of {tenant.slug!r}: {tenant.generated_api_key}")
    lines.append("  Try: curl -H 'Authorization: Bearer <key>' "
                 f"http://localhost:{port}/api/v1/clients")
    lines.append("Press Ctrl+C to stop.")
    return "\n".join(lines)
