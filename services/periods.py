"""Periods (month, quarter, year) in the configured local time zone.

A record's period comes from its own time (found, inspected) in local time, computed once at
write time and stored, so late uploads never move it and figures need no time-zone work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from services.errors import Invalid

_PERIOD = re.compile(r"^(\d{4})(?:Q([1-4])|-(0[1-9]|1[0-2]))?$")

# The years a record's times, dates and periods may fall in. Others are no record of this
# system's, and they overflow Python's dates in the arithmetic they meet (the local month of
# 0001-01-01T00:00+08:00, the end of the deadline day 9999-12-31, the quarter after 9999Q4):
# they were answered 500, and one with an offset was stored and then broke every list showing it.
YEARS = range(1900, 2100)
YEARS_RULE = f"must fall in the years {YEARS.start}-{YEARS.stop - 1}"


@lru_cache(maxsize=4096)
def local_month(at: datetime, tz: ZoneInfo) -> date:
    """First day of the local month that `at` falls in.

    Cached: an inspection's hazards are found at its own time, so a batch asks for the same
    instant three times over."""
    local = at.astimezone(tz)
    return date(local.year, local.month, 1)


def quarter_of(d: date) -> str:
    return f"{d.year}Q{(d.month - 1) // 3 + 1}"


def add_months(d: date, months: int) -> date:
    index = d.year * 12 + d.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True, order=True)
class Period:
    """A month (`2026-05`), quarter (`2026Q2`) or year (`2026`)."""

    kind: str  # "month" | "quarter" | "year"
    first_month: date
    months: int

    @property
    def key(self) -> str:
        if self.kind == "year":
            return str(self.first_month.year)
        if self.kind == "quarter":
            return quarter_of(self.first_month)
        return f"{self.first_month.year}-{self.first_month.month:02d}"

    def __str__(self) -> str:
        return self.key

    @property
    def end_month(self) -> date:
        """First day of the month after the period."""
        return add_months(self.first_month, self.months)

    @property
    def last_month(self) -> date:
        return add_months(self.first_month, self.months - 1)

    @property
    def first_day(self) -> date:
        return self.first_month

    @property
    def last_day(self) -> date:
        return self.end_month - timedelta(days=1)

    def start(self, tz: ZoneInfo) -> datetime:
        return datetime.combine(self.first_month, time(), tz)

    def end(self, tz: ZoneInfo) -> datetime:
        """The first instant after the period (exclusive bound)."""
        return datetime.combine(self.end_month, time(), tz)

    def month_starts(self) -> list[date]:
        return [add_months(self.first_month, i) for i in range(self.months)]

    def quarters(self) -> list[Period]:
        if self.kind == "month":
            return []
        return [Period("quarter", m, 3) for m in self.month_starts()[::3]]

    def report_deadline(self, tz: ZoneInfo, deadline_day: int) -> datetime:
        """Quarterly reports are due by the end of day `deadline_day` of the next month."""
        if self.kind != "quarter":
            raise ValueError("only quarters have a reporting deadline")
        due = self.end_month.replace(day=deadline_day) + timedelta(days=1)
        return datetime.combine(due, time(), tz) - timedelta(microseconds=1)

    def next(self) -> Period:
        return Period(self.kind, add_months(self.first_month, self.months), self.months)


def parse_period(text: str, field: str = "period") -> Period:
    match = _PERIOD.match(text or "")
    if not match:
        raise Invalid(field, "must be a year (2026), quarter (2026Q2) or month (2026-05)")
    year, quarter, month = match.groups()
    if int(year) not in YEARS:
        raise Invalid(field, YEARS_RULE)
    if quarter:
        return Period("quarter", date(int(year), (int(quarter) - 1) * 3 + 1, 1), 3)
    if month:
        return Period("month", date(int(year), int(month), 1), 1)
    return Period("year", date(int(year), 1, 1), 12)


def parse_quarter(text: str, field: str = "quarter") -> Period:
    period = parse_period(text, field)
    if period.kind != "quarter":
        raise Invalid(field, "must be a quarter such as 2026Q2")
    return period


def period_of(at: datetime, kind: str, tz: ZoneInfo) -> Period:
    month = local_month(at, tz)
    if kind == "month":
        return Period("month", month, 1)
    if kind == "quarter":
        return Period("quarter", date(month.year, (month.month - 1) // 3 * 3 + 1, 1), 3)
    return Period("year", date(month.year, 1, 1), 12)
