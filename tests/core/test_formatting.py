"""Money, dates and plurals read naturally in each language, at the school's local time."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from babel import dates as babel_dates
from babel.messages.pofile import read_po

from widget_server.core import i18n
from widget_server.core.formatting import (
    a_date,
    a_time,
    file_size,
    long_day,
    money,
    part,
    percent,
    relative_day,
    short_day,
    time_range,
    to_decimal,
)

LOCALE_DIR = i18n.LOCALE_DIR
LONDON, BRATISLAVA = "Europe/London", "Europe/Bratislava"


def test_money_is_stored_in_minor_units_and_shown_in_the_currencys_own_decimals():
    assert to_decimal(9600, "GBP") == Decimal("96.00")
    assert to_decimal(500, "JPY") == Decimal("500")
    assert to_decimal(1234, "KWD") == Decimal("1.234")
    assert money(9600, "GBP", "en_GB") == "£96.00"
    assert money(9000, "EUR", "sk") == "90,00\xa0€"
    assert money(123456, "EUR", "en_GB") == "€1,234.56"
    assert money(-1200, "GBP", "en_GB") == "-£12.00"


def test_a_price_shown_again_is_not_worked_out_by_babel_again(monkeypatch):
    """A school's prices repeat on every family's pages: Babel formats each amount once per
    currency and language, and the remembered text stays the one for that language."""
    from widget_server.core import formatting

    asked = []
    real = formatting.format_currency
    monkeypatch.setattr(formatting, "format_currency",
                        lambda *a, **k: asked.append(a[:2]) or real(*a, **k))
    formatting.money.cache_clear()
    shown = [money(9600, "GBP", "en_GB") for _ in range(5)]
    assert shown == ["£96.00"] * 5
    assert money(9600, "EUR", "sk") == "96,00\xa0€" and money(9600, "EUR", "en_GB") == "€96.00"
    assert money(9700, "GBP", "en_GB") == "£97.00"
    assert asked == [(Decimal("96.00"), "GBP"), (Decimal("96.00"), "EUR"),
                     (Decimal("96.00"), "EUR"), (Decimal("97.00"), "GBP")]


def test_times_are_the_schools_wall_clock_in_winter_and_summer():
    winter = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    summer = datetime(2026, 7, 4, 8, 0, tzinfo=UTC)
    assert a_time(winter, LONDON, "en_GB") == "09:00"
    assert a_time(summer, LONDON, "en_GB") == "09:00"  # BST
    assert a_time(summer, BRATISLAVA, "sk") == "10:00"  # CEST
    end = datetime(2026, 11, 28, 9, 45, tzinfo=UTC)
    assert time_range(winter, end, LONDON, "en_GB") == "09:00–09:45"
    assert time_range(winter, end, BRATISLAVA, "sk") == "10:00\u2009–\u200910:45"


def test_days_and_dates_in_english_and_slovak():
    moment = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    assert short_day(moment, LONDON, "en_GB") == "Sat 28 Nov"
    assert long_day(moment, LONDON, "en_GB") == "Saturday, 28 November 2026"
    assert long_day(moment, BRATISLAVA, "sk") == "Sobota 28. novembra 2026"
    assert a_date(date(2026, 11, 28), LONDON, "en_GB") == "28 Nov 2026"
    assert a_date(date(2026, 11, 28), LONDON, "sk") == "28. 11. 2026"
    assert percent(10, "en_GB") == "10%" and percent(Decimal("12.5"), "sk") == "12,5\xa0%"


def test_remembered_formats_read_as_babel_writes_them_every_hour_of_a_year():
    """Formats are remembered by local day and time of day (a page formats hundreds of values);
    they must still say what Babel says of each instant, across both clock changes."""
    start = datetime(2026, 1, 1, 0, 30, tzinfo=UTC)
    for hour in range(0, 365 * 24, 5):
        moment = start + timedelta(hours=hour)
        end = moment + timedelta(minutes=45 + 60 * (hour % 3))
        for tz, locale in ((LONDON, "en_GB"), (BRATISLAVA, "sk"), ("America/New_York", "en_US")):
            zone, where = ZoneInfo(tz), babel_dates.Locale.parse(locale)
            assert a_time(moment, tz, locale) == babel_dates.format_time(
                moment, "short", tzinfo=zone, locale=where)
            assert time_range(moment, end, tz, locale) == babel_dates.format_interval(
                moment, end, "Hm", tzinfo=zone, locale=where)
            assert short_day(moment, tz, locale) == babel_dates.format_skeleton(
                "MMMEd", moment, tzinfo=zone, locale=where)
            assert a_date(moment, tz, locale) == babel_dates.format_date(
                moment.astimezone(zone).date(), "medium", locale=where)
            for pattern in ("ccc", "d", "LLL", "HH:mm"):
                assert part(moment, pattern, tz, locale) == babel_dates.format_datetime(
                    moment, pattern, tzinfo=zone, locale=where)


def test_today_and_tomorrow_follow_the_schools_midnight():
    now = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)  # Sunday in London, Monday in Bratislava
    soon = datetime(2026, 11, 23, 0, 15, tzinfo=UTC)
    i18n.activate("en_GB")
    assert relative_day(soon, now, LONDON, "en_GB") == "Tomorrow"
    assert relative_day(soon, now, BRATISLAVA, "en_GB") == "Today"
    assert relative_day(datetime(2026, 11, 28, 9, tzinfo=UTC), now, LONDON, "en_GB") \
        == "Sat 28 Nov"


@pytest.mark.parametrize("n,expected", [(1, "1 hodina"), (2, "2 hodiny"), (4, "4 hodiny"),
                                        (5, "5 hodín"), (0, "0 hodín"), (22, "22 hodín")])
def test_slovak_has_three_plural_forms(n, expected):
    i18n.activate("sk")
    try:
        assert i18n.ngettext("%(num)d session", "%(num)d sessions", n) % {"num": n} == expected
    finally:
        i18n.activate("en_GB")


def test_the_slovak_catalogue_translates_every_message_with_the_right_placeholders():
    with (LOCALE_DIR / "messages.pot").open("rb") as handle:
        template = read_po(handle)
    with (LOCALE_DIR / "sk" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        slovak = read_po(handle, locale="sk")
    assert slovak.num_plurals == 3
    placeholder = re.compile(r"%\((\w+)\)[sd]")
    for message in template:
        if not message.id:
            continue
        translated = slovak.get(message.id)
        assert translated is not None and not translated.fuzzy, message.id
        strings = translated.string if isinstance(translated.string, tuple) \
            else (translated.string,)
        assert all(strings), message.id
        if message.pluralizable:
            assert len(strings) == 3, message.id
        allowed = set(placeholder.findall(" ".join(
            message.id if isinstance(message.id, tuple) else (message.id,))))
        for text in strings:
            assert set(placeholder.findall(text)) <= allowed, (message.id, text)


def test_a_rate_and_a_file_size_are_formatted_once_and_read_as_babel_writes_them(monkeypatch):
    """A page's VAT rate and its documents' sizes are the same on every page: Babel formats
    each once per process (15-25 us a call), and the text is still Babel's, 21 and 21.0 apart."""
    from babel.numbers import format_percent
    from babel.units import format_unit

    import widget_server.core.formatting as formatting

    assert percent(Decimal("21.0"), "en_GB") == format_percent(
        Decimal("0.210"), locale="en_GB", decimal_quantization=False)
    assert percent(21, "en_GB") == "21%" and percent(Decimal("21.5"), "sk") == "21,5\xa0%"
    assert file_size(2_450_000, "en_GB") == format_unit(
        2.45, "digital-megabyte", length="short", format="#,##0.#", locale="en_GB")
    assert file_size(980, "sk") == format_unit(980, "digital-byte", length="long", locale="sk")
    calls = []
    monkeypatch.setattr(formatting, "format_percent", lambda *a, **k: calls.append(a) or "")
    monkeypatch.setattr(formatting, "format_unit", lambda *a, **k: calls.append(a) or "")
    for _ in range(3):
        assert percent(21, "en_GB") == "21%" and file_size(2_450_000, "en_GB") == "2.4 MB"
    assert calls == []
