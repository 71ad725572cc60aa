"""The two fictional demo tenants: their programmes and weekly slots, families, goods and
wording. `widget_server.demo.data` turns a tenant's catalogue into dated sync items."""

from __future__ import annotations

from dataclasses import dataclass, field
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


def _prog(key: str, slot: tuple[int, str, int], capacity: int, location: str,
          livestream_url: str | None = None, **body: Any) -> Prog:
    return Prog(key, *slot, capacity, location, body, livestream_url)


_SPLASH_VENUE = {"venue": "Harbourside Leisure Centre",
                 "venue_address": "Cumberland Road, Bristol BS1 6XG, United Kingdom"}
_SPLASH_MAKEUPS = {"makeup_policy": "same_programme", "makeup_validity_days": 60,
                   "cancel_cutoff_hours": 2}

SPLASH = Profile(
    tz="Europe/London", currency="GBP", locale="en-GB", vat="20", credit_from_missed=False,
    programmes=(
        _prog("beginners", (5, "09:00", 45), 8, "Learner pool", **_SPLASH_VENUE,
              **_SPLASH_MAKEUPS, name="Beginners (Stage 1)",
              description="Water confidence, floating and first strokes for children aged "
              "5-7 who are new to swimming. Two teachers, at most eight children.",
              instructor="Hannah Brooks", schedule="Saturdays 09:00-09:45", price=9600,
              min_age=5, max_age=7,
              addons=[{"id": "addon-towel", "name": "Towel hire", "price": 150},
                      {"id": "addon-photos", "name": "Progress photo pack", "price": 900}]),
        _prog("improvers", (5, "10:00", 45), 10, "Main pool, lanes 1-3", **_SPLASH_VENUE,
              **_SPLASH_MAKEUPS, name="Improvers (Stage 3)",
              description="Front crawl, backstroke and breathing technique for confident "
              "swimmers aged 8-10, working towards the 25 m badge.",
              instructor="Tom Reeves", schedule="Saturdays 10:00-10:45", price=10800,
              min_age=8, max_age=10),
        _prog("water-safety", (2, "18:00", 30), 25, "Online (video call)",
              "https://meet.example.com/splash-water-safety", **_SPLASH_MAKEUPS,
              name="Water Safety Online", online=True, venue="Online",
              description="A live video class on staying safe at pools, rivers and the "
              "seaside, with quizzes and games. Join from home with a grown-up.",
              instructor="Hannah Brooks", schedule="Wednesdays 18:00-18:30", price=4800),
        _prog("family-swim", (6, "14:00", 60), 30, "Main pool", **_SPLASH_VENUE,
              name="Family Fun Swim", makeup_policy="none", cancel_cutoff_hours=0,
              description="Relaxed swim for the whole family with floats and inflatables. "
              "Pay per visit or use a 10-visit pass.",
              instructor="Lifeguard on duty", schedule="Sundays 14:00-15:00", price=600),
    ),
    catch_up=(2, "16:30"),
    family1=Person("Sarah Thompson", "sarah.thompson@example.com", "+44 7700 900123"),
    children1=(("Oliver Thompson", 7), ("Mia Thompson", 9)),
    grandparent="margaret.thompson@example.com",
    family2=Person("James Patel", "james.patel@example.com", "+44 7700 900456"),
    child2=("Aisha Patel", 6),
    fillers=(
        (Person("Emma Wilson", "emma.wilson@example.com"), "Isla Wilson", 6),
        (Person("Daniel Hughes", "daniel.hughes@example.com"), "Jack Hughes", 7),
        (Person("Priya Shah", "priya.shah@example.com"), "Arjun Shah", 6),
        (Person("Laura Bennett", "laura.bennett@example.com"), "Freya Bennett", 5),
        (Person("Tom O'Connor", "tom.oconnor@example.com"), "Finn O'Connor", 7),
        (Person("Chloe Evans", "chloe.evans@example.com"), "Ruby Evans", 6),
    ),
    goods=(("Splash silicone swim cap", 2, 800), ("Junior anti-fog goggles", 1, 1400)),
    pass_item=("Family Fun Swim 10-visit pass", 5000),
    later_item=("Splash kit bag", 1800),
    text={
        "instalment": "instalment {n} of 2", "order": "Order {number}", "promo": "SPLASH10",
        "order_no": "SPL-{n}", "invoice_no": "INV-{year}-{seq:04d}", "reference": "SPLASH-{n}",
        "topup": "Top-up", "spent_order": "Used for order {number}",
        "spent_booking": "Used for {programme}", "sibling": "Sibling discount",
        "loyalty": "Loyalty discount", "early_bird": "Early bird", "old_pass": "5-visit pass",
    },
)

_PIRUETKA_VENUE = {"venue": "Tanečné štúdio Piruetka",
                   "venue_address": "Obchodná 12, 811 06 Bratislava"}
_BALET = {"makeup_policy": "programme_group", "makeup_group": "balet",
          "makeup_validity_days": 90, "cancel_cutoff_hours": 6}

PIRUETKA = Profile(
    tz="Europe/Bratislava", currency="EUR", locale="sk", vat="23", credit_from_missed=True,
    whatsapp=True,
    programmes=(
        _prog("pripravka", (5, "09:00", 45), 8, "Sála A", **_PIRUETKA_VENUE, **_BALET,
              name="Baletná prípravka (5 – 7 rokov)",
              description="Prvé baletné krôčiky hravou formou: držanie tela, rytmus, "
              "koordinácia a radosť z pohybu. Najviac osem detí v skupine.",
              instructor="Mgr. Katarína Novotná", schedule="Soboty 09:00 – 09:45", price=9000,
              min_age=5, max_age=7,
              addons=[{"id": "addon-kostym", "name": "Kostým na vianočné vystúpenie",
                       "price": 2500}]),
        _prog("klasicky-balet", (2, "16:30", 60), 12, "Sála A", **_PIRUETKA_VENUE, **_BALET,
              name="Klasický balet (8 – 11 rokov)",
              description="Základy klasickej baletnej techniky pri tyči aj na voľnom "
              "priestore, príprava na vystúpenia.",
              instructor="Mgr. art. Zuzana Hrušková", schedule="Stredy 16:30 – 17:30",
              price=12000, min_age=8, max_age=11),
        _prog("strecing-online", (3, "17:30", 30), 20, "Online (videohovor)",
              "https://meet.example.com/piruetka-strecing", name="Detský strečing online",
              online=True, venue="Online", makeup_policy="programme_group",
              makeup_group="strecing", makeup_validity_days=90, cancel_cutoff_hours=6,
              description="Živá online hodina strečingu a posilňovania pre deti, "
              "ktorú zvládnete doma v obývačke.",
              instructor="Bc. Lenka Šimková", schedule="Štvrtky 17:30 – 18:00", price=4500),
        _prog("moderny-tanec", (6, "10:00", 60), 16, "Sála B", **_PIRUETKA_VENUE,
              name="Moderný tanec – voľné vstupy", makeup_policy="none",
              description="Nedeľné hodiny moderného tanca pre deti od 6 rokov. "
              "Platí sa za vstup alebo permanentkou.",
              instructor="Michal Ďurica", schedule="Nedele 10:00 – 11:00", price=700),
    ),
    catch_up=(4, "16:00"),
    family1=Person("Jana Kováčová", "jana.kovacova@example.com", "+421 905 123 456"),
    children1=(("Ema Kováčová", 7), ("Sofia Kováčová", 9)),
    grandparent="maria.kovacova@example.com",
    family2=Person("Peter Horváth", "peter.horvath@example.com", "+421 908 765 432"),
    child2=("Lukáš Horváth", 6),
    fillers=(
        (Person("Lucia Nováková", "lucia.novakova@example.com"), "Nina Nováková", 6),
        (Person("Martin Baláž", "martin.balaz@example.com"), "Tamara Balážová", 7),
        (Person("Zuzana Šťastná", "zuzana.stastna@example.com"), "Lea Šťastná", 5),
        (Person("Tomáš Kráľ", "tomas.kral@example.com"), "Viktória Kráľová", 6),
        (Person("Emily Clarke", "emily.clarke@example.com", locale="en"), "Grace Clarke", 7),
        (Person("Monika Žiaková", "monika.ziakova@example.com"), "Bianka Žiaková", 6),
    ),
    goods=(("Baletky (textilné)", 1, 1490), ("Baletný dres s krátkym rukávom", 1, 2290)),
    pass_item=("Permanentka na 10 vstupov – Moderný tanec", 6000),
    second_groups=((1, "16:30"), (0, "16:30")),
    later_item=("Vak na baletné potreby", 1590),
    text={
        "instalment": "{n}. splátka", "order": "Objednávka {number}", "promo": "PIRUETKA10",
        "order_no": "OBJ-{n}", "invoice_no": "FA{year}{seq:03d}", "reference": "{year}00{n}",
        "topup": "Dobitie kreditu", "spent_order": "Úhrada objednávky {number}",
        "spent_booking": "Úhrada: {programme}", "sibling": "Súrodenecká zľava",
        "loyalty": "Zľava za vernosť", "early_bird": "Zľava za skorý zápis",
        "old_pass": "Permanentka na 5 vstupov",
    },
)

PROFILES = {"demo": SPLASH, "demo-sk": PIRUETKA}


def demo_logins() -> dict[str, list[tuple[str, str]]]:
    """Whom a newcomer can log in as, per demo tenant: (who, e-mail address)."""
    return {slug: [(f"{p.family1.name} (the most to see)", p.family1.email),
                   (f"{p.family2.name} (unpaid term)", p.family2.email),
                   ("A grandparent (one booking shared with them)", p.grandparent)]
            for slug, p in PROFILES.items()}
