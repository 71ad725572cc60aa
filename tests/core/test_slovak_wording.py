"""Slovak declines names, and a template cannot: a person's or the provider's name must stand
where Slovak puts the nominative (as the subject, after a dash or a colon, or in brackets
after a common noun: "Náhrada – Sofia", "obráťte sa na prevádzkovateľa (Tanečná škola
Piruetka)"), never after a preposition or as an object ("pre Sofia", "Požiadajte Tanečná škola
Piruetka"), and no verb may take a gender from a name it cannot know ("aby ... vedel")."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from widget_server.core import i18n

CATALOGUE = i18n.LOCALE_DIR / "sk" / "LC_MESSAGES" / "messages.po"
NAMES = r"%\((?:name|child|owner|member|invitee|provider|person|attendee)\)s"
PREPOSITIONS = ("pre", "pri", "o", "s", "so", "na", "v", "vo", "k", "ku", "u", "od", "do",
                "z", "zo", "bez", "cez", "za", "po", "medzi", "nad", "pod", "pred")
GENDERED = (r"(?:bol|bola|mohol|mohla|vedel|vedela|dostal|dostala|prijal|prijala|poslal|poslala"
            r"|potvrdil|potvrdila|zrušil|zrušila|naplánoval|naplánovala|išiel|išla|prišiel"
            r"|prišla|urobil|urobila|zmenil|zmenila|zdieľal|zdieľala|požiadal|požiadala"
            r"|chcel|chcela|mal|mala)")
BAD = {
    "a preposition before a name": re.compile(
        rf"\b(?:{'|'.join(PREPOSITIONS)})\s+{NAMES}", re.IGNORECASE),
    "a name as the object of a verb": re.compile(
        rf"\b(?:kontaktujte|požiadajte|požiadali|požiadame|odovzdali|vedieť|opýtajte sa,?"
        rf"(?: prosím,)?|spýtajte sa|napíšte|zavolajte|informujte|upozornite)\s+{NAMES}",
        re.IGNORECASE),
    # A name in brackets is an apposition (the verb agrees with the noun before it).
    "a gendered past or conditional on a name": re.compile(
        rf"(?<!\(){NAMES}(?:\s+\S+){{0,3}}?\s+{GENDERED}\b"
        rf"|\b{GENDERED}(?:\s+\S+){{0,2}}?\s+(?<!\(){NAMES}", re.IGNORECASE),
}


def slovak() -> list[tuple[str, str]]:
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle, locale="sk")
    pairs = []
    for message in catalogue:
        if not message.id:
            continue
        source = message.id if isinstance(message.id, str) else message.id[0]
        for text in message.string if isinstance(message.string, tuple) else (message.string,):
            pairs.append((source, text))
    return pairs


@pytest.mark.parametrize("rule", sorted(BAD))
def test_names_stand_where_slovak_needs_no_declension(rule):
    wrong = [(source, text) for source, text in slovak() if BAD[rule].search(text)]
    assert wrong == [], f"{rule}: {wrong}"


def test_the_rules_catch_the_forms_reported_in_issue_11():
    assert BAD["a preposition before a name"].search("Náhrada pre %(name)s")
    assert BAD["a name as the object of a verb"].search("Požiadajte %(provider)s o zrušenie")
    assert BAD["a gendered past or conditional on a name"].search(
        "aby %(provider)s vedel, kto platil")
    assert not any(rule.search("Náhrada – %(name)s") for rule in BAD.values())
    assert not any(rule.search("obráťte sa na prevádzkovateľa (%(provider)s)")
                   for rule in BAD.values())
