"""Billing periods, local time and proration (pricing G3/G4)."""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property, lru_cache
from zoneinfo import ZoneInfo

TIMEZONES = {"NL": "Europe/Amsterdam", "BE": "Europe/Brussels", "DK": "Europe/Copenhagen"}


def zone(country: str) -> ZoneInfo:
    return ZoneInfo(TIMEZONES[country])


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int
    # first/days/end are cached: they are asked for in tight loops over records

    @classmethod
    def parse(cls, text: str) -> "Month":
        try:
            y, m = text.strip().split("-")
            if not (len(y) == 4 and len(m) == 2 and y.isdigit() and m.isdigit()):
                raise ValueError(text)
            result = cls(int(y), int(m))
        except ValueError as exc:
            raise ValueError(f"not a month {text!r}: expected YYYY-MM, e.g. 2026-10") from exc
        if not 1 <= result.month <= 12 or not 1900 < result.year < 3000:
            raise ValueError(f"not a month {text!r}: expected YYYY-MM, e.g. 2026-10")
        return result

    @classmethod
    def of(cls, day: date) -> "Month":
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @cached_property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @cached_property
    def days(self) -> int:
        return calendar.monthrange(self.year, self.month)[1]

    @cached_property
    def end(self) -> date:
        """First day after the month (exclusive end)."""
        return self.first + timedelta(days=self.days)

    @property
    def last(self) -> date:
        return self.end - timedelta(days=1)

    def next(self) -> "Month":
        return Month.of(self.end)

    def prev(self) -> "Month":
        return Month.of(self.first - timedelta(days=1))

    @property
    def quarter(self) -> "Quarter":
        return Quarter(self.year, (self.month - 1) // 3 + 1)

    def day_list(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range(self.days)]


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    q: int

    def __str__(self) -> str:
        return f"{self.year}-Q{self.q}"

    @classmethod
    def of(cls, day: date) -> "Quarter":
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def first(self) -> date:
        return date(self.year, 3 * (self.q - 1) + 1, 1)

    @property
    def end(self) -> date:
        return Quarter.of(self.first).next().first

    @property
    def last_month(self) -> Month:
        return Month(self.year, 3 * self.q)

    def next(self) -> "Quarter":
        return Quarter(self.year + 1, 1) if self.q == 4 else Quarter(self.year, self.q + 1)


def active_days(valid_from: date, valid_to: date | None, month: Month) -> list[date]:
    return list(_active_days(valid_from, valid_to, month))


@lru_cache(maxsize=65536)
def _active_days(valid_from: date, valid_to: date | None, month: Month) -> tuple[date, ...]:
    # thousands of subscription rows share a few (from, to) pairs per month
    lo = max(valid_from, month.first)
    hi = min(valid_to or month.end, month.end)
    return tuple(lo + timedelta(days=i) for i in range(max((hi - lo).days, 0)))


def is_active(valid_from: date, valid_to: date | None, day: date) -> bool:
    return valid_from <= day and (valid_to is None or day < valid_to)


def prorated_allowance(allowance: int, days: int, month: Month) -> int:
    """G4: floor(allowance × active days / days in the month)."""
    return (allowance * days) // month.days

