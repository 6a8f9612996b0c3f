"""A unit closed and later reopened is off the roster of the quarters it was closed throughout.

Until session 14 the roster was one interval [operating_since, closed_on), and reopening
cleared closed_on: the unit came back onto every quarter it had spent closed, as a required
unit that never filed (2026Q3's reporting rate 0/1 instead of no unit to report), and a freeze
after the reopening took it into that quarter's snapshot. The span now stays in `closed_gaps`.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, text

from services.actors import SYSTEM
from services.db import unit_of_work
from services.metrics import read, refresh
from services.models import Unit
from tests.builders import COUNTY, TOWN_A, VILLAGE_A1, login_as, make_region_tree, make_unit

QUARTERS = ["2026Q2", "2026Q3", "2026Q4"]  # today is after 2026-11-01 (the reopening)


def _roster() -> dict[str, tuple[int, int]]:
    with unit_of_work() as session:
        out = {}
        for quarter in QUARTERS:
            scope = read.resolve(session, actor=SYSTEM, region=COUNTY, period=quarter, view="live")
            m = read.figures(session, scope)["metrics"]
            out[quarter] = (m["required_units"]["count"], m["roster_units"]["count"])
        return out


def _status(client, headers, unit, status, since):
    r = client.patch(
        f"/api/v1/units/{unit}", json={"status": status, "status_since": since}, headers=headers
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_a_reopened_unit_is_off_the_roster_of_the_quarter_it_was_closed_throughout(client):
    make_region_tree()
    unit = make_unit(VILLAGE_A1, reporting_required=True, operating_since=date(2024, 1, 1))
    town = login_as(client, "township", TOWN_A)
    with unit_of_work() as session:
        refresh.recompute_all(session)
    _status(client, town, unit, "closed", "2026-05-01")
    reopened = _status(client, town, unit, "operating", "2026-11-01")
    assert reopened["closed_on"] is None
    with unit_of_work() as session:
        gaps = session.scalar(select(Unit.closed_gaps).where(Unit.id == unit))
        assert [(g.lower, g.upper) for g in gaps] == [(date(2026, 5, 1), date(2026, 11, 1))]
        while refresh.recompute_marked(session):
            pass

    # Open in April and again from November: on the roster of Q2 and Q4, not of Q3.
    marked = _roster()
    assert marked == {"2026Q2": (1, 1), "2026Q3": (0, 0), "2026Q4": (1, 1)}
    with unit_of_work() as session:
        refresh.recompute_all(session)
    assert _roster() == marked

    # Nothing to file for the quarter it was closed throughout; the one before still can be.
    r = client.put(
        f"/api/v1/units/{unit}/self-reports/2026Q3", json={"zero_hazard": True}, headers=town
    )
    assert r.status_code == 422, r.text
    assert "was not operating in 2026Q3" in r.text
    r = client.put(
        f"/api/v1/units/{unit}/self-reports/2026Q2", json={"zero_hazard": True}, headers=town
    )
    assert r.status_code in (200, 201), r.text

    # Frozen after the reopening, Q3's roster snapshot leaves it out.
    with unit_of_work() as session:
        assert refresh.freeze_quarter(session, period="2026Q3")
        frozen = session.execute(
            text("SELECT unit_id FROM frozen_roster WHERE quarter = '2026Q3'")
        ).all()
    assert frozen == []


def test_closed_again_after_reopening_keeps_the_earlier_span(client):
    make_region_tree()
    unit = make_unit(VILLAGE_A1, reporting_required=True, operating_since=date(2024, 1, 1))
    town = login_as(client, "township", TOWN_A)
    _status(client, town, unit, "closed", "2025-03-10")
    _status(client, town, unit, "suspended", "2025-09-01")  # back, though not operating
    _status(client, town, unit, "closed", "2026-01-05")
    _status(client, town, unit, "operating", "2026-04-01")
    with unit_of_work() as session:
        gaps = session.scalar(select(Unit.closed_gaps).where(Unit.id == unit))
    assert [(g.lower, g.upper) for g in gaps] == [
        (date(2025, 3, 10), date(2025, 9, 1)),
        (date(2026, 1, 5), date(2026, 4, 1)),
    ]
