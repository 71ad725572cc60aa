"""Dates, times and money as the visitor reads them: Babel, their language, the tenant's clock.

Datetimes are stored in UTC and shown in the tenant's time zone (a swimming class at 09:00 in
Bristol is at 09:00 for every parent, wherever their phone is). Money is stored in minor units
and becomes a `Decimal` with the currency's own number of decimals before Babel formats it.
Templates get these as filters; the language is the one `i18n.activate` chose for the page.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_interval, format_skeleton
from babel.dates import format_time as babel_time
from babel.numbers import (
    format_currency,
    format_decimal,
    format_percent,
    get_currency_precision,
)
from babel.units import format_unit
from jinja2 import Environment, pass_context
from jinja2.runtime import Context

from widget_server.core import i18n


@lru_cache(maxsize=64)
def babel_locale(code: str) -> Locale:
    """The parsed locale, once per language: Babel parses a locale string again on every call,
    and a sessions page formats hundreds of values."""
    return Locale.parse(code)


def to_decimal(amount: int, currency: str) -> Decimal:
    """Minor units as a Decimal in the currency's unit (9600 GBP -> 96.00)."""
    return Decimal(amount).scaleb(-get_currency_precision(currency))


# Memoised like the dates below: a school's prices repeat on every family's pages, and Babel
# builds the currency pattern again on each call (a booking page's three amounts took 5 % of
# its time).
@lru_cache(maxsize=4096)
def money(amount: int, currency: str, locale: str) -> str:
    return format_currency(to_decimal(amount, currency), currency, locale=babel_locale(locale))


@lru_cache(maxsize=4096)
def money_number(amount: int, currency: str, locale: str) -> str:
    """The amount alone, as typed into a banking app: `54.00` / `90,00` (no symbol, no grouping)."""
    digits = get_currency_precision(currency)
    pattern = "0." + "0" * digits if digits else "0"
    return format_decimal(to_decimal(amount, currency), format=pattern, locale=babel_locale(locale),
                          group_separator=False)


def local(moment: datetime, tz: str) -> datetime:
    return moment.astimezone(ZoneInfo(tz))


def local_today(now: datetime, tz: str) -> date:
    """Today's date where the provider is (what "overdue" and "expired" are measured by)."""
    return local(now, tz).date()


# The formats below are memoised on the local calendar day or time of day, whose values every
# visitor shares (a term has a few dozen class days and a handful of start times), not on the
# instant: Babel builds its patterns again on every call, a page formats hundreds of values.
_DATE_FIELDS = set("GyYuUrQqMLlwWdDFgEec")


def _local_day(moment: datetime | date, tz: str) -> date:
    return local(moment, tz).date() if isinstance(moment, datetime) else moment


def short_day(moment: datetime | date, tz: str, locale: str) -> str:
    """`Sat 28 Nov` / `so 28. 11.`"""
    return _short_day(_local_day(moment, tz), locale)


@lru_cache(maxsize=4096)
def _short_day(day: date, locale: str) -> str:
    return format_skeleton("MMMEd", day, locale=babel_locale(locale))


def part(moment: datetime, pattern: str, tz: str, locale: str) -> str:
    """One stand-alone part of a date (`ccc` -> `Sat`, `d` -> `28`, `LLL` -> `Nov`)."""
    if set(pattern) <= _DATE_FIELDS:
        return _date_part(local(moment, tz).date(), pattern, locale)
    return format_datetime(moment, pattern, tzinfo=ZoneInfo(tz), locale=babel_locale(locale))


@lru_cache(maxsize=4096)
def _date_part(day: date, pattern: str, locale: str) -> str:
    return format_date(day, pattern, locale=babel_locale(locale))


def long_day(moment: datetime | date, tz: str, locale: str) -> str:
    """`Saturday 28 November 2026` / `Sobota 28. novembra 2026`."""
    return _long_day(_local_day(moment, tz), locale)


@lru_cache(maxsize=4096)
def _long_day(day: date, locale: str) -> str:
    text = format_date(day, "full", locale=babel_locale(locale))
    return text[:1].upper() + text[1:]


def a_date(day: date | datetime, tz: str, locale: str) -> str:
    """`28 Nov 2026` / `28. 11. 2026`."""
    return _a_date(_local_day(day, tz), locale)


@lru_cache(maxsize=4096)
def _a_date(day: date, locale: str) -> str:
    return format_date(day, "medium", locale=babel_locale(locale))


def a_time(moment: datetime, tz: str, locale: str) -> str:
    return _a_time(local(moment, tz).time(), locale)


@lru_cache(maxsize=4096)
def _a_time(moment: time, locale: str) -> str:
    return babel_time(moment, "short", locale=babel_locale(locale))


def a_datetime(moment: datetime, tz: str, locale: str) -> str:
    return format_datetime(moment, "medium", tzinfo=ZoneInfo(tz), locale=babel_locale(locale))


def time_range(start: datetime, end: datetime, tz: str, locale: str) -> str:
    """`09:00–09:45` / `9:00 – 9:45`."""
    start, end = local(start, tz), local(end, tz)
    if start.date() != end.date():
        return format_interval(start, end, "Hm", locale=babel_locale(locale))
    return _time_range(start.time(), end.time(), locale)


@lru_cache(maxsize=4096)
def _time_range(start: time, end: time, locale: str) -> str:
    day = date(2000, 1, 1)
    return format_interval(datetime.combine(day, start), datetime.combine(day, end), "Hm",
                           locale=babel_locale(locale))


class When(NamedTuple):
    """Everything a list row says about a session's time, formatted at once."""

    weekday: str  # `Sat`, the date chip's top line
    day: str  # `28`
    month: str  # `Nov`
    long: str  # `Saturday 28 November 2026`
    short: str  # the short day (`Sat 28 Nov`)
    range: str  # `09:00–09:45`


def session_when(start: datetime, end: datetime, tz: str, locale: str) -> When:
    """One call per row instead of six filters, by the sessions tab's loader: a tab lists
    dozens of rows, and a term's sessions share a few start times, so the result is memoised
    on the instants."""
    return _session_when(start, end or start, tz, locale)


@lru_cache(maxsize=8192)
def _session_when(start: datetime, end: datetime, tz: str, locale: str) -> When:
    day = local(start, tz).date()
    return When(_date_part(day, "ccc", locale), _date_part(day, "d", locale),
                _date_part(day, "LLL", locale), _long_day(day, locale),
                short_day(start, tz, locale), time_range(start, end, tz, locale))


def soon(moment: datetime, now: datetime, tz: str, locale: str) -> str:
    """`Today` or `Tomorrow` where the provider is; otherwise nothing."""
    days = (local(moment, tz).date() - local(now, tz).date()).days
    if days == 0:
        return i18n.gettext("Today")
    if days == 1:
        return i18n.gettext("Tomorrow")
    return ""


def relative_day(moment: datetime, now: datetime, tz: str, locale: str) -> str:
    """`Today`, `Tomorrow`, or the short day."""
    return soon(moment, now, tz, locale) or short_day(moment, tz, locale)


def number(value: Decimal | int, locale: str) -> str:
    return format_decimal(value, locale=babel_locale(locale))


def percent(value: Decimal | int, locale: str) -> str:
    """A percentage given in whole numbers (10 -> `10%` / `10 %`)."""
    # Kept per process, as money is: a page's few rates (VAT, a discount) are the same on
    # every page, and Babel took 15 us each. By the text, so that 21 and 21.0 stay apart.
    return _percent(str(value), locale)


@lru_cache(maxsize=1024)
def _percent(value: str, locale: str) -> str:
    return format_percent(Decimal(value) / 100, locale=babel_locale(locale),
                          decimal_quantization=False)


@lru_cache(maxsize=4096)  # a tenant's documents are listed on every family's page; 25 us each
def file_size(size: int, locale: str) -> str:
    """A file's size in the locale's words: `980 B`, `120 kB`, `2.4 MB` (decimal units, as the
    documents' size limit is stated)."""
    for unit, factor in (("digital-megabyte", 1_000_000), ("digital-kilobyte", 1_000)):
        if size >= factor:
            return format_unit(size / factor, unit, length="short", format="#,##0.#",
                               locale=babel_locale(locale))
    return format_unit(size, "digital-byte", length="long", locale=babel_locale(locale))


def _tz(context: Context) -> str:
    tenant = context.get("tenant")
    return tenant.config.timezone if tenant is not None else "UTC"


def install(env: Environment) -> None:
    """Register the filters (`{{ amount|money(currency) }}`, `{{ starts_at|day }}` ...)."""

    def filter_with_tz(function):
        @pass_context
        def apply(context: Context, value, *args):
            if value is None:
                return ""
            return function(value, *args, _tz(context), i18n.active_locale())
        return apply

    env.filters["money"] = lambda amount, currency: (
        "" if amount is None else money(amount, currency, i18n.active_locale()))
    env.filters["money_number"] = lambda amount, currency: (
        "" if amount is None else money_number(amount, currency, i18n.active_locale()))
    env.filters["day"] = filter_with_tz(short_day)
    env.filters["longday"] = filter_with_tz(long_day)
    env.filters["datepart"] = filter_with_tz(part)
    env.filters["date"] = filter_with_tz(a_date)
    env.filters["time"] = filter_with_tz(a_time)
    env.filters["datetime"] = filter_with_tz(a_datetime)
    env.filters["timerange"] = filter_with_tz(time_range)
    env.filters["relday"] = filter_with_tz(relative_day)
    env.filters["soon"] = filter_with_tz(soon)
    env.filters["number"] = lambda value: number(value, i18n.active_locale())
    env.filters["percent"] = lambda value: percent(value, i18n.active_locale())
    env.filters["filesize"] = lambda size: file_size(size, i18n.active_locale())

