"""Random histories: every figure at every level equals the plain reference, and adds up."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import MultiRange, Range

from services.actors import SYSTEM
from services.db import get_engine, unit_of_work
from services.metrics import read, refresh
from services.metrics.compute import Target, compute_cells, enclosing
from services.models import Base, Unit
from services.models.metrics import CELL_COUNTS
from tests.builders import (
    COUNTY,
    TOWN_A,
    TOWN_B,
    VILLAGE_A1,
    VILLAGE_A2,
    VILLAGE_B1,
    make_region_tree,
)
from tests.metrics import reference as ref
from tests.metrics.builders import Ev, Version, add_hazard, add_inspection, add_report
from tests.metrics.reference import TZ

LEAVES = [VILLAGE_A1, VILLAGE_A2, VILLAGE_B1, TOWN_B]  # TOWN_B: a unit kept on the township
REGIONS = [COUNTY, TOWN_A, TOWN_B, VILLAGE_A1, VILLAGE_A2, VILLAGE_B1]
# Instants around local-time period boundaries (00:30 on 1 October is still 30 September in UTC).
INSTANTS = [
    datetime(2025, 7, 1, 0, 30, tzinfo=TZ),
    datetime(2025, 8, 14, 9, 0, tzinfo=TZ),
    datetime(2025, 9, 30, 23, 30, tzinfo=TZ),
    datetime(2025, 10, 1, 0, 30, tzinfo=TZ),
    datetime(2025, 10, 15, 23, 0, tzinfo=TZ),
    datetime(2025, 11, 30, 23, 59, tzinfo=TZ),
    datetime(2025, 12, 1, 0, 1, tzinfo=TZ),
    datetime(2025, 12, 31, 23, 30, tzinfo=TZ),
]
STEPS = [timedelta(hours=1), timedelta(days=3), timedelta(days=12), timedelta(days=40)]
DELAYS = [timedelta(0), timedelta(days=2), timedelta(days=30)]
DAYS = [None, date(2025, 8, 15), date(2025, 10, 1), date(2025, 11, 10), date(2025, 12, 1)]
FILED = [
    datetime(2025, 10, 10, 12, tzinfo=TZ),
    datetime(2025, 10, 15, 23, 59, tzinfo=TZ),
    datetime(2025, 10, 16, 0, 1, tzinfo=TZ),
    datetime(2025, 12, 2, tzinfo=TZ),
    datetime(2026, 1, 14, tzinfo=TZ),
    datetime(2026, 2, 1, tzinfo=TZ),
]
FROZEN_AT = {
    "2025Q3": datetime(2025, 10, 20, tzinfo=TZ),
    "2025Q4": datetime(2026, 1, 20, tzinfo=TZ),
}
EVENT_TYPES = list(ref.NEXT_STATE) + ["extend", "supervise", "transfer"]
ALLOWED = {
    "start_rectification": {"reported"},
    "submit_rectification": {"reported", "rectifying"},
    "verify": {"reported", "rectifying", "rectified"},
    "reject": {"rectified"},
    "extend": {"reported", "rectifying", "rectified"},
    "supervise": {"reported", "rectifying", "rectified"},
    "transfer": {"reported", "rectifying", "rectified"},
    "void": {"reported", "rectifying", "rectified", "closed"},
}

# Spans a unit was closed before it reopened (units.closed_gaps): all of 2025Q3, a span inside
# two quarters, and one covering Q3 and parts of Q2 and Q4.
GAPS = [
    None,
    (date(2025, 7, 1), date(2025, 10, 1)),
    (date(2025, 8, 15), date(2025, 11, 10)),
    (date(2025, 6, 1), date(2025, 12, 1)),
]
units_st = st.lists(
    st.tuples(
        st.sampled_from(LEAVES),
        st.booleans(),
        st.sampled_from(DAYS),
        st.sampled_from(DAYS),
        st.sampled_from(GAPS),
    ),
    min_size=1,
    max_size=5,
)
hazard_st = st.tuples(
    st.integers(0, 9),  # unit index (mod)
    st.sampled_from(INSTANTS),
    st.sampled_from(["general", "major"]),
    st.sampled_from([None, 1, 10, 40]),  # deadline days; None: fixed on the spot
    st.sampled_from(DELAYS),
    st.lists(
        st.tuples(st.sampled_from(EVENT_TYPES), st.sampled_from(STEPS), st.sampled_from(DELAYS)),
        max_size=5,
    ),
    st.booleans(),  # brought by an inspection (else by a self-report)
)
inspection_st = st.tuples(
    st.integers(0, 9),
    st.sampled_from(INSTANTS),
    st.sampled_from(DELAYS),
    st.booleans(),  # recorded in another leaf, where the unit was before it moved
)
report_st = st.tuples(
    st.integers(0, 9),
    st.sampled_from(["2025Q3", "2025Q4"]),
    st.lists(
        st.tuples(st.sampled_from(FILED), st.booleans(), st.booleans()), min_size=1, max_size=3
    ),
)
history_st = st.fixed_dictionaries(
    {
        "units": units_st,
        "hazards": st.lists(hazard_st, max_size=8),
        "inspections": st.lists(inspection_st, max_size=5),
        "reports": st.lists(report_st, max_size=5),
        "edit_after_freeze": st.booleans(),
    }
)


def _clean() -> None:
    keep = {"unit_kinds", "hazard_categories", "alembic_version"}
    tables = [t.name for t in Base.metadata.sorted_tables if t.name not in keep]
    with get_engine().begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


def _build(h: dict):
    """Insert the history and return its plain-record twin for the reference."""
    make_region_tree()
    units: list[ref.RUnit] = []
    hazards, inspections, reports = [], [], []
    with unit_of_work() as s:
        for region, required, since, closed, gap in h["units"]:
            if since and closed and closed <= since:
                closed = None
            if gap and ((since and gap[0] <= since) or (closed and gap[1] > closed)):
                gap = None  # a span of closure lies inside the unit's interval
            uid = uuid.uuid4()
            s.add(
                Unit(
                    id=uid,
                    name=f"单位{len(units)}",
                    region_code=region,
                    kind="shop",
                    reporting_required=required,
                    status="closed" if closed else "operating",
                    operating_since=since,
                    closed_on=closed,
                    closed_gaps=MultiRange([Range(*gap, bounds="[)")]) if gap else None,
                )
            )
            units.append(ref.RUnit(uid, region, required, since, closed, gap))
        s.flush()
        for ui, at, delay, elsewhere in h["inspections"]:
            u = units[ui % len(units)]
            region = LEAVES[(LEAVES.index(u.region) + 1) % len(LEAVES)] if elsewhere else u.region
            iid = add_inspection(s, u.id, at, received_at=at + delay, region=region)
            inspections.append(ref.RInspection(iid, u.id, region, at, at + delay))
        for ui, found_at, level, days, delay, steps, by_inspection in h["hazards"]:
            u = units[ui % len(units)]
            deadline = found_at + timedelta(days=days) if days else None
            state = "closed" if deadline is None else "reported"
            events, at, received, current = [], found_at, found_at + delay, deadline
            for kind, step, edelay in steps:
                if state not in ALLOWED[kind]:
                    continue
                at = at + step
                if kind == "extend":
                    if at >= current:  # extensions are decided before the deadline
                        continue
                    new_deadline = current + timedelta(days=15)
                else:
                    new_deadline = None
                received = max(received, at + edelay)
                events.append(ref.REvent(kind, at, received, new_deadline))
                current = new_deadline or current
                state = ref.NEXT_STATE.get(kind, state)
            hid = add_hazard(
                s,
                u.id,
                found_at,
                level=level,
                deadline=deadline,
                source="inspection" if by_inspection else "self_report",
                received_at=found_at + delay,
                events=[Ev(e.type, e.at, e.received_at, e.deadline) for e in events],
            )
            hazards.append(
                ref.RHazard(
                    hid,
                    u.id,
                    u.region,
                    level,
                    "inspection" if by_inspection else "self_report",
                    found_at,
                    found_at + delay,
                    deadline,
                    events,
                )
            )
        seen = set()
        for ui, quarter, versions in h["reports"]:
            u = units[ui % len(units)]
            if (u.id, quarter) in seen:
                continue
            seen.add((u.id, quarter))
            # A report is for an ended quarter: filings before its end are dropped.
            ended = datetime.combine(ref.quarter_bounds(quarter)[1], datetime.min.time(), TZ)
            vs = sorted((v for v in versions if v[0] >= ended), key=lambda v: v[0])
            if not vs:
                continue
            rid = add_report(s, u.id, quarter, [Version(*v) for v in vs])
            reports.append(ref.RReport(rid, u.id, quarter, vs))
    return units, hazards, inspections, reports


PERIODS = (
    [ref.RPeriod("month", 2025, m) for m in range(7, 13)]
    + [ref.RPeriod("quarter", 2025, 3), ref.RPeriod("quarter", 2025, 4)]
    + [ref.RPeriod("year", 2025, 0)]
)


def _key(p: ref.RPeriod) -> str:
    if p.kind == "month":
        return f"{p.year}-{p.index:02d}"
    if p.kind == "quarter":
        return f"{p.year}Q{p.index}"
    return str(p.year)


def _prefix(code: str) -> str:
    from services.regions import prefix_of

    return prefix_of(code)


@settings(
    max_examples=int(os.environ.get("HAZARDTRACK_PROPERTY_EXAMPLES", "12")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=history_st)
def test_every_figure_matches_the_reference(database, history):
    _clean()
    units, hazards, inspections, reports = _build(history)
    snapshot = {q: [ref.RUnit(**vars(u)) for u in units] for q in FROZEN_AT}
    with unit_of_work() as s:
        for q, at in FROZEN_AT.items():
            assert refresh.freeze_quarter(s, period=q, now=at.astimezone(UTC))
            # Freezing again changes nothing.
            assert not refresh.freeze_quarter(s, period=q, now=at.astimezone(UTC))
    if history["edit_after_freeze"]:
        # A later edit of a unit moves live figures, never a frozen quarter's roster.
        with unit_of_work() as s:
            row = s.get(Unit, units[0].id)
            row.reporting_required = not row.reporting_required
            units[0].required = row.reporting_required
    with unit_of_work() as s:
        refresh.recompute_all(s)
    now = datetime.now(UTC)
    # A few periods per leaf (marked buckets) take the other plan for coverage: it gives the
    # cells the full recompute stored.
    with unit_of_work() as s:
        stored = {
            (r["region_code"], r["period"]): r
            for r in s.execute(text("SELECT * FROM metric_cells WHERE view = 'live'")).mappings()
        }
        leaves = sorted({code for code, _ in stored})
        targets = [Target(r, p) for r in leaves for p in enclosing(date(2025, 8, 1))]
        for row in compute_cells(s, view="live", targets=targets, cutoff=now):
            cell = stored[(row["region_code"], row["period"])]
            assert {c: row[c] for c in CELL_COUNTS} == {c: cell[c] for c in CELL_COUNTS}
    world = {"units": units, "hazards": hazards, "inspections": inspections, "reports": reports}
    with unit_of_work() as s:
        for code in REGIONS:
            for p in PERIODS:
                scope = read.resolve(s, actor=SYSTEM, region=code, period=_key(p), now=now)
                got = read.figures(s, scope)["metrics"]
                want = ref.figures(**world, prefix=_prefix(code), period=p, cutoff=now)
                assert got == want, (code, _key(p), "live")
            for q, frozen_at in FROZEN_AT.items():
                p = ref.RPeriod("quarter", int(q[:4]), int(q[5]))
                scope = read.resolve(s, actor=SYSTEM, region=code, period=q, view="frozen")
                got = read.figures(s, scope)["metrics"]
                want = ref.figures(
                    **world,
                    prefix=_prefix(code),
                    period=p,
                    cutoff=ref.report_deadline(q),
                    frozen_at=frozen_at,
                    frozen_roster=snapshot[q],
                )
                assert got == want, (code, q, "frozen")
                for v in got.values():
                    assert v.get("value") is None or 0 <= v["value"] <= 1
        # Children add up to their parent, at every level, in both views.
        for code in (COUNTY, TOWN_A, TOWN_B):
            for period, view in (("2025Q3", "live"), ("2025", "live"), ("2025Q4", "frozen")):
                scope = read.resolve(s, actor=SYSTEM, region=code, period=period, view=view)
                total = read.figures(s, scope)["counts"]
                parts = read.breakdown(s, scope)
                for c in total:
                    assert sum(e["counts"][c] for e in parts) == total[c], (code, period, c)
        # The members behind each figure are exactly as many as the figure says.
        for period, view in (("2025", "live"), ("2025Q3", "frozen")):
            scope = read.resolve(s, actor=SYSTEM, region=COUNTY, period=period, view=view)
            figs = read.figures(s, scope)["metrics"]
            for metric in read.METRICS:
                fig = figs[metric]
                parts = ["numerator"] if "count" in fig else ["numerator", "denominator"]
                for part in parts:
                    page = read.members(s, scope, metric=metric, part=part, limit=500)
                    want = fig["count"] if "count" in fig else fig[part]
                    assert page["total"] == want == len(page["items"]), (metric, part, view)
