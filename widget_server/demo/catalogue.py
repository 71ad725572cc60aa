"""The two fictional demo tenants: their programmes and weekly slots, families, goods and
wording. The data is in `catalogue.toml` (a table per tenant slug), read here into `Profile`s;
`widget_server.demo.data` turns a tenant's catalogue into dated sync items."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEMO_TENANTS = ("demo", "demo-sk")


@dataclass(frozen=True)
class Prog:
    """A programme and its weekly slot (weekday 0 = Monday, local wall-clock time)."""

    key: str
    weekday: int
    start: str
    minutes: int
    capacity: int
    location: str
    body: dict[str, Any]
    livestream_url: str | None = None


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    phone: str | None = None
    locale: str | None = None


@dataclass(frozen=True)
class Profile:
    """What differs between the demo tenants. Programmes: beginners (full), the second
    child's, online, drop-in (used with the entry pass)."""

    tz: str
    currency: str
    locale: str
    vat: str
    credit_from_missed: bool
    programmes: tuple[Prog, Prog, Prog, Prog]
    catch_up: tuple[int, str]  # weekday and local start of the beginners' make-up class
    family1: Person
    children1: tuple[tuple[str, int], tuple[str, int]]  # (name, age)
    grandparent: str
    family2: Person
    child2: tuple[str, int]
    fillers: tuple[tuple[Person, str, int], ...]  # parent, child, age
    goods: tuple[tuple[str, int, int], ...]  # name, quantity, unit price incl. VAT
    pass_item: tuple[str, int]
    later_item: tuple[str, int]
    text: dict[str, str] = field(default_factory=dict)
    whatsapp: bool = False  # clients with a phone number get WhatsApp reminders
    # A second weekly group (weekday, local start) of the beginners' and the second child's
    # programmes, with free places: somewhere to reschedule to and to book make-ups in.
    second_groups: tuple[tuple[int, str], tuple[int, str]] = ((6, "09:30"), (6, "10:30"))
    # Levels, rating scale, assessor and instructors' notes (see catalogue.toml).
    progress: dict[str, Any] = field(default_factory=dict)
    offers: dict[str, str] = field(default_factory=dict)  # offers of a place: their words


def _rows(rows: list[list[Any]]) -> tuple[tuple[Any, ...], ...]:
    return tuple(tuple(row) for row in rows)


def _profile(table: dict[str, Any]) -> Profile:
    """A tenant's table of `catalogue.toml` as a `Profile` (TOML arrays become tuples)."""
    fields = dict(table)
    fields["programmes"] = tuple(Prog(**prog) for prog in table["programmes"])
    fields["family1"], fields["family2"] = Person(**table["family1"]), Person(**table["family2"])
    fields["fillers"] = tuple((Person(**{k: v for k, v in f.items() if k not in ("child", "age")}),
                               f["child"], f["age"]) for f in table["fillers"])
    for key in ("catch_up", "child2", "pass_item", "later_item"):
        fields[key] = tuple(table[key])
    for key in ("children1", "goods", "second_groups"):
        if key in table:
            fields[key] = _rows(table[key])
    return Profile(**fields)


with (Path(__file__).resolve().parent / "catalogue.toml").open("rb") as _file:
    _CATALOGUE = tomllib.load(_file)

SPLASH = _profile(_CATALOGUE["demo"])
PIRUETKA = _profile(_CATALOGUE["demo-sk"])
PROFILES = {"demo": SPLASH, "demo-sk": PIRUETKA}


def demo_logins() -> dict[str, list[tuple[str, str]]]:
    """Whom a newcomer can log in as, per demo tenant: (who, e-mail address)."""
    return {slug: [(f"{p.family1.name} (the most to see)", p.family1.email),
                   (f"{p.family2.name} (unpaid term)", p.family2.email),
                   ("A grandparent (one booking shared with them)", p.grandparent)]
            for slug, p in PROFILES.items()}
