"""Deadlines in business days (días hábiles), as Mexican administrative law counts them.

A business day is Monday to Friday, not a federal holiday of Mexico and not one of the tenant's own
days off. Federal holidays come from the maintained ``holidays`` library (``holidays.Mexico``: the
mandatory rest days of the Ley Federal del Trabajo, art. 74, including the movable Mondays and the
presidential inauguration day every six years)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import lru_cache

import holidays

__all__ = ["add_business_days", "business_days_between", "is_business_day"]


@lru_cache(maxsize=64)
def _federal(year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays("MX", years=year).keys())


def is_business_day(day: dt.date, days_off: Iterable[dt.date] = ()) -> bool:
    """Whether ``day`` is a business day (weekday, not a federal holiday, not in ``days_off``)."""
    return day.weekday() < 5 and day not in _federal(day.year) and day not in set(days_off)


def add_business_days(start: dt.date, days: int, days_off: Iterable[dt.date] = ()) -> dt.date:
    """The date ``days`` business days after ``start`` (``start`` itself not counted: a request
    received on a Friday with 1 business day is due the next Monday, if it is one). ``days`` ≥ 0.

    Raises ``ValueError`` for a negative ``days``."""
    if days < 0:
        raise ValueError("days must be 0 or more")
    off = set(days_off)
    day, left = start, days
    while left:
        day += dt.timedelta(days=1)
        if is_business_day(day, off):
            left -= 1
    return day


def business_days_between(start: dt.date, end: dt.date, days_off: Iterable[dt.date] = ()) -> int:
    """Business days after ``start`` up to and including ``end`` (0 when ``end <= start``)."""
    off = set(days_off)
    n, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        n += is_business_day(day, off)
    return n
