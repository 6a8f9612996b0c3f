"""An independent reference for the figures, written plainly from domain.md.

It knows nothing of cells, SQL or the service: it replays plain records in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
DEADLINE_DAY = 15

NEXT_STATE = {
    "start_rectification": "rectifying",
    "submit_rectification": "rectified",
    "verify": "closed",
    "reject": "rectifying",
    "void": "voided",
}


@dataclass
class RUnit:
    id: object
    region: str
    required: bool
    operating_since: date | None
    closed_on: date | None
    closed_gap: tuple[date, date] | None = None  # [closed, reopened)


@dataclass
class REvent:
    type: str
    at: datetime
    received_at: datetime
    deadline: datetime | None = None


@dataclass
class RHazard:
    id: object
    unit_id: object
    region: str
    level: str
    source: str
    found_at: datetime
    received_at: datetime
    deadline: datetime | None  # None: fixed on the spot
    events: list[REvent] = field(default_factory=list)


@dataclass
class RInspection:
    id: object
    unit_id: object
    region: str
    at: datetime
    received_at: datetime


@dataclass
class RReport:
    id: object
    unit_id: object
    quarter: str
    versions: list[tuple[datetime, bool, bool]]  # (filed_at, by_unit, zero_hazard)


@dataclass
class RPeriod:
    kind: str  # month | quarter | year
    year: int
    index: int  # month 1-12, quarter 1-4, or 0 for a year

    def months(self) -> list[tuple[int, int]]:
        if self.kind == "month":
            return [(self.year, self.index)]
        if self.kind == "quarter":
            return [(self.year, 3 * (self.index - 1) + k) for k in (1, 2, 3)]
        return [(self.year, m) for m in range(1, 13)]

    def first_day(self) -> date:
        y, m = self.months()[0]
        return date(y, m, 1)

    def end_day(self) -> date:
        y, m = self.months()[-1]
        return date(y + 1, 1, 1) if m == 12 else date(y, m + 1, 1)

    def quarters(self) -> list[str]:
        if self.kind == "month":
            return []
        if self.kind == "quarter":
            return [f"{self.year}Q{self.index}"]
        return [f"{self.year}Q{q}" for q in (1, 2, 3, 4)]


def quarter_bounds(q: str) -> tuple[date, date]:
    year, n = int(q[:4]), int(q[5])
    first = date(year, 3 * (n - 1) + 1, 1)
    end = date(year + 1, 1, 1) if n == 4 else date(year, 3 * n + 1, 1)
    return first, end


def report_deadline(q: str) -> datetime:
    """End of the 15th day (local) of the month after the quarter."""
    _, end = quarter_bounds(q)
    return datetime.combine(end.replace(day=DEADLINE_DAY), time(23, 59, 59, 999999), TZ)


def local_month(at: datetime) -> tuple[int, int]:
    local = at.astimezone(TZ)
    return (local.year, local.month)


def on_roster(u: RUnit, first: date, end: date) -> bool:
    if u.operating_since is not None and u.operating_since >= end:
        return False
    if u.closed_on is not None and u.closed_on <= first:
        return False
    if u.closed_gap is not None and u.closed_gap[0] <= first and end <= u.closed_gap[1]:
        return False  # closed all through the period, reopened after it
    return True


def hazard_as_of(h: RHazard, cutoff: datetime, frozen_at: datetime | None):
    """(state, deadline, closed_at, last_submit_at) as of the cut-off, or None if unknown then."""
    if frozen_at is not None and (h.received_at > frozen_at or h.found_at > cutoff):
        return None
    state = "closed" if h.deadline is None else "reported"
    deadline = h.deadline
    closed_at = h.found_at if h.deadline is None else None
    submitted = None
    for e in h.events:
        if frozen_at is not None and (e.at > cutoff or e.received_at > frozen_at):
            break
        if e.type == "extend":
            deadline = e.deadline
        if e.type == "submit_rectification":
            submitted = e.at
        if e.type == "verify":
            closed_at = e.at
        state = NEXT_STATE.get(e.type, state)
    return state, deadline, closed_at, submitted


def figures(
    *,
    units: list[RUnit],
    hazards: list[RHazard],
    inspections: list[RInspection],
    reports: list[RReport],
    prefix: str,
    period: RPeriod,
    cutoff: datetime,
    frozen_at: datetime | None = None,
    frozen_roster: list[RUnit] | None = None,
) -> dict:
    """Every figure of the region whose codes start with `prefix`, in the API's shape."""
    months = set(period.months())
    found = closed = on_time = overdue = 0
    found_l = {"general": 0, "major": 0}
    closed_l = {"general": 0, "major": 0}
    for h in hazards:
        if not h.region.startswith(prefix) or local_month(h.found_at) not in months:
            continue
        st = hazard_as_of(h, cutoff, frozen_at)
        if st is None:
            continue
        state, deadline, closed_at, submitted = st
        if state == "voided":
            continue
        found += 1
        found_l[h.level] += 1
        if state == "closed":
            closed += 1
            closed_l[h.level] += 1
            if deadline is None or closed_at <= deadline:
                on_time += 1
        elif deadline is not None and deadline < cutoff:
            awaiting = state == "rectified" and submitted is not None and submitted <= deadline
            if not awaiting:
                overdue += 1

    def known(i: RInspection) -> bool:
        return frozen_at is None or (i.at <= cutoff and i.received_at <= frozen_at)

    n_inspections = sum(
        1
        for i in inspections
        if i.region.startswith(prefix) and local_month(i.at) in months and known(i)
    )
    inspected_units = {i.unit_id for i in inspections if local_month(i.at) in months and known(i)}
    roster = frozen_roster if frozen_roster is not None else units
    first, end = period.first_day(), period.end_day()
    period_roster = [u for u in roster if u.region.startswith(prefix) and on_roster(u, first, end)]
    roster_n = len(period_roster)
    covered = sum(1 for u in period_roster if u.id in inspected_units)

    required = filed = filed_on_time = self_filed = zero = 0
    for q in period.quarters():
        qf, qe = quarter_bounds(q)
        for u in roster:
            if not (u.region.startswith(prefix) and u.required and on_roster(u, qf, qe)):
                continue
            required += 1
            rep = next((r for r in reports if r.unit_id == u.id and r.quarter == q), None)
            if rep is None:
                continue
            versions = [v for v in rep.versions if v[0] <= cutoff]
            if not versions:
                continue
            filed += 1
            if versions[0][0] <= report_deadline(q):
                filed_on_time += 1
            if versions[0][1]:
                self_filed += 1
            if versions[-1][2]:
                zero += 1

    def rate(n: int, d: int) -> dict:
        return {"numerator": n, "denominator": d, "value": (n / d) if d else None}

    return {
        "rectification_rate": rate(closed, found),
        "rectification_rate_general": rate(closed_l["general"], found_l["general"]),
        "rectification_rate_major": rate(closed_l["major"], found_l["major"]),
        "on_time_rectification_rate": rate(on_time, closed),
        "reporting_rate": rate(filed, required),
        "on_time_reporting_rate": rate(filed_on_time, required),
        "self_reporting_rate": rate(self_filed, filed),
        "zero_hazard_rate": rate(zero, filed),
        "coverage": rate(covered, roster_n),
        "hazards_found": {"count": found},
        "hazards_closed": {"count": closed},
        "overdue_hazards": {"count": overdue},
        "inspections": {"count": n_inspections},
        "units_inspected": {"count": covered},
        "roster_units": {"count": roster_n},
        "required_units": {"count": required},
        "reports_filed": {"count": filed},
    }
