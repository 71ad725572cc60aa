"""One settings object, built once from the environment and passed to `create_app`."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

# Templates, static files, catalogues and fonts ship inside the package (and so in the wheel).
PACKAGE_DIR = Path(__file__).resolve().parents[1]
DEFAULT_DATABASE_URL = "sqlite:///./var/widget.db"
SMTP_TLS_MODES = ("none", "starttls", "tls")
LOG_FORMATS = ("text", "json")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    secret_keys: tuple[str, ...] = ()
    base_url: str = "http://localhost:8000"
    tenants_dir: Path = Path("tenants")
    templates_dir: Path = PACKAGE_DIR / "templates"
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_tls: str = "starttls"
    demo: bool = False
    max_body_bytes: int = 1_000_000
    # A widget form's body: a few short fields (the login form is under 1 KB).
    max_form_bytes: int = 16_384
    max_import_bytes: int = 200_000_000
    # Documents shared with families: where their bytes live (None: in the database, which
    # needs no set-up; a folder moves them out of it) and the largest one a provider may upload.
    files_dir: Path | None = None
    max_document_bytes: int = 10_000_000
    # Origins allowed to frame every tenant's widget besides its own list (the demo's pages).
    frame_origins: tuple[str, ...] = ()
    # Drain the e-mail/webhook outbox inside the web process (`serve`, `demo`); a separate
    # `widget-server worker` can do it instead when this is off (WIDGET_OUTBOX_IN_PROCESS=0).
    send_in_process: bool = True
    # Seconds between rounds of the timed jobs (reminders, the make-up waiting list, credits
    # for missed sessions), run where the outbox is drained; 0 turns them off. Off unless set,
    # so tests run them by hand; from the environment it defaults to 60.
    scheduler_interval: float = 0
    # Login e-mails one IP may ask for per 15 minutes (offices and schools share an IP).
    login_emails_per_ip: int = 20
    # ... and one address (a parent retrying, or someone pestering that inbox).
    login_emails_per_address: int = 5
    # Codes one IP may type per 15 minutes, right or wrong.
    login_codes_per_ip: int = 30
    # Wrong login codes per hour a whole tenant takes, from all IPs together: past it, codes
    # are not even compared until the hour is over (the e-mailed link still logs in), so a
    # guesser spread over many addresses is stopped as well.
    wrong_codes_per_tenant: int = 100
    # Reverse proxies (addresses or CIDR networks) whose X-Forwarded-For is believed; none by
    # default, so the client address is the socket's and nobody can choose their own.
    trusted_proxies: tuple[str, ...] = ()
    # Threads of a process that run the database work of pages (GET outside the API). Few:
    # each request's work is short and indexed, and every extra thread competes for Python's
    # one lock with the event loop (one thread answered 1.7x the pages of anyio's 40).
    db_read_threads: int = 1
    # PostgreSQL connections per process for logged-in pages, whose work runs on the event
    # loop and awaits each statement (`db._pages_waiting_on_the_loop`): as many pages can be
    # waiting for PostgreSQL at once; more wait for a connection, in order.
    db_page_connections: int = 10
    # Who may read GET /metrics (addresses or CIDR networks); everyone else gets a 404.
    metrics_allow: tuple[str, ...] = ("127.0.0.1", "::1")
    # "json": one JSON object per log line, requests logged by us instead of uvicorn.
    log_format: str = "text"
    # The WhatsApp Business Cloud API (tests point it at a local fake).
    whatsapp_api_url: str = "https://graph.facebook.com"
    # Extra environment read for per-tenant secrets (API keys, webhook secrets).
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None, **overrides) -> "Settings":
        """Read every WIDGET_* variable, failing fast with the variable's name."""
        env = dict(os.environ if environ is None else environ)
        keys = tuple(k.strip() for k in env.get("WIDGET_SECRET_KEYS", "").split(",") if k.strip())
        tls = env.get("WIDGET_SMTP_TLS", "starttls").strip().lower()
        if tls not in SMTP_TLS_MODES:
            raise SettingsError(
                f"WIDGET_SMTP_TLS: must be one of {', '.join(SMTP_TLS_MODES)}, got {tls!r}"
            )
        log_format = env.get("WIDGET_LOG_FORMAT", "text").strip().lower() or "text"
        if log_format not in LOG_FORMATS:
            raise SettingsError(
                f"WIDGET_LOG_FORMAT: must be one of {', '.join(LOG_FORMATS)}, got {log_format!r}"
            )
        settings = cls(
            database_url=env.get("WIDGET_DATABASE_URL", DEFAULT_DATABASE_URL),
            secret_keys=keys,
            base_url=env.get("WIDGET_BASE_URL", "http://localhost:8000").rstrip("/"),
            tenants_dir=Path(env.get("WIDGET_TENANTS_DIR", "tenants")),
            smtp_host=env.get("WIDGET_SMTP_HOST") or None,
            smtp_port=_int(env, "WIDGET_SMTP_PORT", 465 if tls == "tls" else 587),
            smtp_username=env.get("WIDGET_SMTP_USERNAME") or None,
            smtp_password=env.get("WIDGET_SMTP_PASSWORD") or None,
            smtp_tls=tls,
            send_in_process=env.get("WIDGET_OUTBOX_IN_PROCESS", "1") not in ("0", "false", "no"),
            scheduler_interval=_float(env, "WIDGET_SCHEDULER_INTERVAL", 60.0),
            login_emails_per_ip=_int(env, "WIDGET_LOGIN_EMAILS_PER_IP", 20),
            login_emails_per_address=_int(env, "WIDGET_LOGIN_EMAILS_PER_ADDRESS", 5),
            login_codes_per_ip=_int(env, "WIDGET_LOGIN_CODES_PER_IP", 30),
            wrong_codes_per_tenant=_int(env, "WIDGET_WRONG_CODES_PER_TENANT", 100),
            max_form_bytes=_int(env, "WIDGET_MAX_FORM_BYTES", 16_384),
            files_dir=Path(env["WIDGET_FILES_DIR"].strip())
            if env.get("WIDGET_FILES_DIR", "").strip() else None,
            max_document_bytes=_positive(env, "WIDGET_MAX_DOCUMENT_BYTES", 10_000_000),
            db_read_threads=_positive(env, "WIDGET_DB_READ_THREADS", 1),
            db_page_connections=_positive(env, "WIDGET_DB_PAGE_CONNECTIONS", 10),
            trusted_proxies=_networks(env, "WIDGET_TRUSTED_PROXIES"),
            metrics_allow=(_networks(env, "WIDGET_METRICS_ALLOW", star="0.0.0.0/0, ::/0")
                           if "WIDGET_METRICS_ALLOW" in env else cls.metrics_allow),
            log_format=log_format,
            whatsapp_api_url=env.get("WIDGET_WHATSAPP_API_URL",
                                     "https://graph.facebook.com").rstrip("/"),
            environ=env,
        )
        return replace(settings, **overrides) if overrides else settings

    def require_secret(self) -> None:
        """Outside demo mode the service must not run on a made-up key."""
        if not self.secret_keys and not self.demo:
            raise SettingsError(
                "WIDGET_SECRET_KEYS: required outside demo mode "
                "(comma-separated; the first signs, all verify)"
            )


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    value = _int(env, name, default)
    if value < 1:
        raise SettingsError(f"{name}: must be 1 or more, got {value}")
    return value


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name}: must be an integer, got {raw!r}") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}: must be a number of seconds, got {raw!r}") from None
    if value < 0:
        raise SettingsError(f"{name}: must not be negative, got {raw!r}")
    return value


def _networks(env: Mapping[str, str], name: str, star: str | None = None) -> tuple[str, ...]:
    """Comma-separated IP addresses and CIDR networks, each checked and written canonically.

    `*` is refused; `star` names what to write instead where everyone is a sensible choice."""
    found = []
    for item in (part.strip() for part in env.get(name, "").split(",")):
        if not item:
            continue
        if item == "*" and star:
            raise SettingsError(f"{name}: write {star!r} rather than '*' to allow everyone")
        if item == "*":
            raise SettingsError(f"{name}: '*' would let any client choose its own address; "
                                "list the proxies' addresses or networks (e.g. 10.0.0.0/8)")
        try:
            found.append(str(ipaddress.ip_network(item) if "/" in item
                             else ipaddress.ip_address(item)))
        except ValueError:
            hint = ""
            if "/" in item:
                try:
                    hint = f" (did you mean {ipaddress.ip_network(item, strict=False)}?)"
                except ValueError:
                    pass
            raise SettingsError(f"{name}: {item!r} is not an IP address or network{hint}; "
                                "expected a comma-separated list like "
                                "'127.0.0.1, 10.0.0.0/8'") from None
    return tuple(found)
