"""Tenant files: one TOML file per provider in `tenants/`, validated into typed settings.

Secrets never live in the TOML: the provider API key is stored only as a hash (the plain key
comes from `WIDGET_API_KEY_<SLUG>` or, in demo mode, is generated), and the webhook signing
secret comes from `WIDGET_WEBHOOK_SECRET_<SLUG>`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.numbers import get_currency_name
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    field_validator,
)

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
COLOUR_RE = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
ORIGIN_RE = re.compile(r"^https?://[a-zA-Z0-9.-]+(?::\d{1,5})?$")
SECRET_KEYS = {"api_key", "webhook_secret", "secret", "password", "smtp_password"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Theme(_Strict):
    primary: str = "#1f6feb"
    primary_text: str = "#ffffff"
    background: str = "#ffffff"
    surface: str = "#f6f8fa"
    text: str = "#1f2328"
    muted: str = "#59636e"
    logo_url: str | None = None
    font: str = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
    radius: str = "10px"
    mode: Literal["light", "dark"] = "light"

    @field_validator("primary", "primary_text", "background", "surface", "text", "muted")
    @classmethod
    def _colour(cls, value: str) -> str:
        if not COLOUR_RE.match(value):
            raise ValueError(f"{value!r} is not a colour like '#1f6feb'")
        return value

    @field_validator("font")
    @classmethod
    def _font(cls, value: str) -> str:
        # Written into a <style> block unescaped, so only what a font stack needs is allowed.
        if not re.match(r"""^[A-Za-z0-9 ,'"-]{1,200}$""", value):
            raise ValueError(f"{value!r} is not a font stack like \"'Nunito', sans-serif\"")
        return value

    @field_validator("radius")
    @classmethod
    def _radius(cls, value: str) -> str:
        if not re.match(r"^\d{1,2}(?:\.\d+)?(?:px|rem|em)$|^0$", value):
            raise ValueError(f"{value!r} is not a length like '8px'")
        return value


class Email(_Strict):
    sender: str
    reply_to: str | None = None


class Features(_Strict):
    online_payments: bool = False
    bank_transfer: bool = False
    invoices: bool = False
    makeups: bool = True
    sharing: bool = True
    whatsapp: bool = False


class Makeups(_Strict):
    policy: Literal["none", "same_programme", "programme_group"] = "same_programme"
    validity_days: int = Field(default=60, ge=1, le=730)
    cancel_cutoff_hours: int = Field(default=2, ge=0, le=336)
    from_missed: bool = False


class Offers(_Strict):
    # Days before an open offer closes (the end of its deadline day) that the family is
    # reminded, e.g. [7, 1]; [] sends none.
    reminder_days: list[StrictInt] = Field(default=[7, 1], max_length=5)

    @field_validator("reminder_days")
    @classmethod
    def _days(cls, values: list[int]) -> list[int]:
        for value in values:
            if not 1 <= value <= 60:
                raise ValueError(f"{value} is not a whole number of days from 1 to 60 "
                                 "(e.g. [7, 1])")
            if values.count(value) > 1:
                raise ValueError(f"{value} is listed twice")
        return values


class StaffMember(_Strict):
    email: str
    role: Literal["owner", "staff"] = "staff"

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        value = value.strip().lower()
        if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", value) or len(value) > 320:
            raise ValueError(f"{value!r} is not an e-mail address")
        return value


class Console(_Strict):
    # Who may log in to the provider console (/console/<tenant>/): an owner also reads the
    # audit log of what staff did to families' profiles.
    staff: list[StaffMember] = Field(default_factory=list, max_length=200)
    # The first day of the term the dashboard counts from (default: 1 September of the
    # school year).
    term_start: date | None = None

    def role_of(self, email: str) -> str | None:
        email = email.strip().lower()
        return next((m.role for m in self.staff if m.email == email), None)


class Bank(_Strict):
    account_holder: str
    iban: str
    bic: str | None = None


class TenantFile(_Strict):
    slug: str
    name: str = Field(min_length=1, max_length=200)
    locale: str = "en_GB"
    currency: str = "GBP"
    timezone: str = "Europe/London"
    allowed_origins: list[str] = Field(default_factory=list)
    hosts: list[str] = Field(default_factory=list)
    profile_page_url: str | None = None
    api_key_hash: str | None = None
    webhook_url: str | None = None
    # The provider's own payment page, for online payments without Stripe (see gateways).
    payment_page_url: str | None = None
    address: str | None = None
    # The country the school is in (ISO 3166-1 alpha-2, e.g. "SK"); from `locale` if left out.
    # It decides, for one, which QR code banking apps there read (PAY by square in Slovakia).
    country: str | None = None
    # What invoices must say about the supplier (EU rules, and Slovak ones: IČO, DIČ, IČ DPH):
    # the company registration number, the tax id where it differs from the VAT id, the VAT
    # id, and where the company is registered.
    legal_name: str | None = Field(default=None, max_length=200)  # if not `name`
    company_number: str | None = None
    tax_id: str | None = None
    vat_id: str | None = None
    registration: str | None = Field(default=None, max_length=300)
    email: Email
    theme: Theme = Theme()
    features: Features = Features()
    makeups: Makeups = Makeups()
    offers: Offers = Offers()
    console: Console = Console()
    bank: Bank | None = None

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG_RE.match(value):
            raise ValueError("use lower-case letters, digits and '-' (e.g. 'demo-sk')")
        return value

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        try:
            return str(Locale.parse(value.replace("-", "_")))
        except (ValueError, UnknownLocaleError):
            raise ValueError(f"unknown locale {value!r}") from None

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        if value is not None and (not re.match(r"^[A-Z]{2}$", value)
                                  or value not in Locale("en").territories):
            raise ValueError(f"unknown ISO 3166 country code {value!r} (e.g. 'SK', 'GB')")
        return value

    @field_validator("company_number", "tax_id")
    @classmethod
    def _registration_number(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[A-Za-z0-9][A-Za-z0-9 ./-]{0,31}$", value):
            raise ValueError(f"{value!r} is not a registration number like '09876543'")
        return value

    @field_validator("vat_id")
    @classmethod
    def _vat_id(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[A-Z]{2}[0-9A-Z+*.]{2,13}$", value):
            raise ValueError(f"{value!r} is not a VAT id like 'SK2020123456' (country code "
                             "first, no spaces)")
        return value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if not re.match(r"^[A-Z]{3}$", value) or get_currency_name(value) == value:
            raise ValueError(f"unknown ISO 4217 currency {value!r}")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, values: list[str]) -> list[str]:
        for value in values:
            if not ORIGIN_RE.match(value):
                raise ValueError(f"{value!r} is not an origin like 'https://www.example.com'")
        return values

    @field_validator("payment_page_url")
    @classmethod
    def _payment_page(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s#]+$", value):
            raise ValueError(f"{value!r} is not a URL like 'https://pay.example.com/checkout'")
        return value

    @field_validator("api_key_hash")
    @classmethod
    def _key_hash(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^sha256:[0-9a-f]{64}$", value):
            raise ValueError("must be 'sha256:' followed by 64 hex digits")
        return value


@dataclass(frozen=True)
class Tenant:
    """A provider, as the running service sees it."""

    config: TenantFile
    path: Path
    api_key_hashes: tuple[str, ...] = ()
    webhook_secret: str | None = None
    generated_api_key: str | None = field(default=None, repr=False)

    @property
    def slug(self) -> str:
        return self.config.slug

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.config.timezone)

    @property
    def country(self) -> str | None:
        """The school's country: as the file says, else the one its locale points to."""
        return self.config.country or country_of(self.config.locale)


def country_of(locale: str) -> str | None:
    """The country a locale points to: "en_GB" gives GB, "sk" gives SK (its likely one)."""
    parsed = Locale.parse(locale)
    if parsed.territory:
        return parsed.territory
    likely = get_global("likely_subtags").get(parsed.language, "")
    return likely.split("_")[-1] if "_" in likely else None


def env_name(prefix: str, slug: str) -> str:
    """`WIDGET_API_KEY_DEMO_SK` for slug `demo-sk`."""
    return f"{prefix}{slug.upper().replace('-', '_')}"


def hash_api_key(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


class TenantError(Exception):
    """One or more tenant files are invalid; each problem reads `file: key: reason`."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class TenantRegistry:
    """All tenants, looked up by slug, by custom host name, or by API key."""

    def __init__(self, tenants: list[Tenant]):
        self._by_slug = {t.slug: t for t in tenants}
        self._by_host = {h.lower(): t for t in tenants for h in t.config.hosts}

    def __iter__(self):
        return iter(self._by_slug.values())

    def __len__(self) -> int:
        return len(self._by_slug)

    def get(self, slug: str) -> Tenant | None:
        return self._by_slug.get(slug)

    def by_host(self, host: str) -> Tenant | None:
        return self._by_host.get(host.split(":")[0].lower())

    def by_api_key(self, key: str) -> Tenant | None:
        presented = hash_api_key(key)
        found = None
        for tenant in self._by_slug.values():
            for known in tenant.api_key_hashes:
                if hmac.compare_digest(presented, known):
                    found = tenant
        return found


def _problem_key(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "(file)"


def check_file(path: Path) -> tuple[TenantFile | None, list[str]]:
    """Parse and validate one tenant file; return the config or its problems."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        return None, [f"{path}: (file): invalid TOML: {exc}"]
    problems = [
        f"{path}: {key}: secrets must not live in the tenant file; set it in the environment"
        for key in raw
        if key in SECRET_KEYS
    ]
    clean = {k: v for k, v in raw.items() if k not in SECRET_KEYS}
    try:
        config = TenantFile.model_validate(clean)
    except ValidationError as exc:
        for error in exc.errors():
            reason = error["msg"].removeprefix("Value error, ")
            problems.append(f"{path}: {_problem_key(error['loc'])}: {reason}")
        return None, problems
    if config.slug != path.stem:
        problems.append(f"{path}: slug: {config.slug!r} must match the file name {path.stem!r}")
    return (None if problems else config), problems


@dataclass(frozen=True)
class ContrastCheck:
    """One pair of theme colours a page puts on each other, and its WCAG contrast ratio."""

    fg: str  # Theme field names: the text colour...
    bg: str  # ...and what it is written on
    ratio: float

    @property
    def passes(self) -> bool:
        return self.ratio >= AA_CONTRAST


AA_CONTRAST = 4.5  # WCAG AA for body text
CONTRAST_PAIRS = (("text", "background"), ("primary_text", "primary"), ("text", "surface"))


def contrast_checks(theme: Theme) -> list[ContrastCheck]:
    """Every text-on-colour pair of the theme, with its ratio (`tenants check`, the console)."""
    return [ContrastCheck(fg, bg, contrast_ratio(getattr(theme, fg), getattr(theme, bg)))
            for fg, bg in CONTRAST_PAIRS]


def contrast_warnings(path: Path, theme: Theme) -> list[str]:
    """Theme colour pairs that fail WCAG AA contrast (4.5:1 for body text)."""
    return [f"{path}: theme.{c.fg}: contrast with theme.{c.bg} is {c.ratio:.2f}:1, "
            "below WCAG AA 4.5:1" for c in contrast_checks(theme) if not c.passes]


def contrast_ratio(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _luminance(colour: str) -> float:
    hexes = colour.lstrip("#")
    if len(hexes) == 3:
        hexes = "".join(c * 2 for c in hexes)
    channels = [int(hexes[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def load_tenants(
    directory: Path, environ: Mapping[str, str], *, demo: bool = False
) -> TenantRegistry:
    """Load every `*.toml` in the directory, or raise TenantError listing every problem."""
    if not directory.is_dir():
        raise TenantError([f"{directory}: (directory): tenants directory not found"])
    tenants, problems, seen_hosts = [], [], {}
    for path in sorted(directory.glob("*.toml")):
        config, file_problems = check_file(path)
        problems += file_problems
        if config is None:
            continue
        for host in config.hosts:
            if host.lower() in seen_hosts:
                problems.append(f"{path}: hosts: {host!r} is already used by {seen_hosts[host]}")
            seen_hosts[host.lower()] = path.name
        hashes, generated = [], None
        plain = environ.get(env_name("WIDGET_API_KEY_", config.slug))
        if plain:
            hashes.append(hash_api_key(plain))
        if config.api_key_hash:
            hashes.append(config.api_key_hash)
        if not hashes and demo:
            generated = "demo_" + secrets.token_urlsafe(24)
            hashes.append(hash_api_key(generated))
        tenants.append(
            Tenant(
                config=config,
                path=path,
                api_key_hashes=tuple(hashes),
                webhook_secret=environ.get(env_name("WIDGET_WEBHOOK_SECRET_", config.slug)),
                generated_api_key=generated,
            )
        )
    if not tenants and not problems:
        problems.append(f"{directory}: (directory): no tenant files (*.toml) found")
    if problems:
        raise TenantError(problems)
    return TenantRegistry(tenants)
