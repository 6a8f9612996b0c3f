"""A roster change reaches the live figures of every quarter it moves, not only the current one.

Until session 14 a unit with no opening date (on every roster since records began), or a change
of `reporting_required`, marked the current month alone: the live figures of earlier quarters
kept the old roster until the nightly full recompute, and a quarter frozen meanwhile disagreed
with what its live view had shown. Each case below compares the figures that the marked
recompute leaves with those of a full recompute of the same data.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from services import units
from services.actors import SYSTEM
from services.db import unit_of_work
from services.metrics import compute, read, refresh
from services.models import MetricMark
from services.units import today
from tests.builders import COUNTY, VILLAGE_A1, VILLAGE_A2, make_region_tree, make_unit


def _quarters() -> list[str]:
    """This quarter and the two before it."""
    year, q = today().year, (today().month - 1) // 3 + 1
    out = []
    for _ in range(3):
        out.append(f"{year}Q{q}")
        year, q = (year, q - 1) if q > 1 else (year - 1, 4)
    return out


def _roster(region: str) -> dict[str, tuple[int, int]]:
    """(required units, roster units) of the region for each of the quarters, live."""
    out = {}
    with unit_of_work() as session:
        for quarter in _quarters():
            scope = read.resolve(session, actor=SYSTEM, region=region, period=quarter, view="live")
            m = read.figures(session, scope)["metrics"]
            out[quarter] = (m["required_units"]["count"], m["roster_units"]["count"])
    return out


def _marked_then_full(regions: list[str]) -> tuple[dict, dict]:
    with unit_of_work() as session:
        while refresh.recompute_marked(session):
            pass
    marked = {r: _roster(r) for r in regions}
    with unit_of_work() as session:
        refresh.recompute_all(session)
    return marked, {r: _roster(r) for r in regions}


@pytest.fixture
def county():
    make_region_tree()
    with unit_of_work() as session:
        refresh.recompute_all(session)


def test_reporting_required_switched_on_reaches_past_quarters(county):
    unit = make_unit(VILLAGE_A1, reporting_required=False)
    with unit_of_work() as session:
        refresh.recompute_all(session)
    with unit_of_work() as session:
        units.update_unit(session, SYSTEM, unit_id=unit, changes={"reporting_required": True})
    marked, full = _marked_then_full([COUNTY])
    assert full[COUNTY][_quarters()[2]] == (1, 1)
    assert marked == full


def test_a_new_unit_with_no_opening_date_reaches_past_quarters(county):
    with unit_of_work() as session:
        units.create_unit(
            session, SYSTEM, name="新单位", region_code=VILLAGE_A1, kind="shop",
            reporting_required=True,
        )  # fmt: skip
    marked, full = _marked_then_full([COUNTY])
    assert full[COUNTY][_quarters()[2]] == (1, 1)
    assert marked == full


def test_a_unit_with_no_opening_date_moved_leaves_past_quarters_of_both_villages(county):
    unit = make_unit(VILLAGE_A1, reporting_required=True)
    with unit_of_work() as session:
        refresh.recompute_all(session)
    with unit_of_work() as session:
        units.update_unit(session, SYSTEM, unit_id=unit, changes={"region_code": VILLAGE_A2})
    marked, full = _marked_then_full([VILLAGE_A1, VILLAGE_A2])
    assert full[VILLAGE_A2][_quarters()[2]] == (1, 1)
    assert full[VILLAGE_A1][_quarters()[2]] == (0, 0)
    assert marked == full


def test_the_marks_run_from_the_first_month_of_the_live_figures_to_this_month(county):
    with unit_of_work() as session:
        units.create_unit(session, SYSTEM, name="新单位", region_code=VILLAGE_A1, kind="shop")
    with unit_of_work() as session:
        first = compute.first_month(session, units.months_from(today())[-1])
        marks = session.execute(select(MetricMark.region_code, MetricMark.month)).all()
    assert {region for region, _ in marks} == {VILLAGE_A1}
    assert sorted({month for _, month in marks}) == units.months_from(first)
    assert len(units.months_from(first)) > 12  # more than this year's months
