"""The demo data: complete, deterministic, valid by the services' own rules, and fast."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import func, select

from services import demo
from services.credit_code import is_valid
from services.db import unit_of_work
from services.models import Hazard, HazardEvent, Inspection, Region, SelfReport, Unit, User

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def _load() -> dict:
    with unit_of_work() as session:
        assert not demo.has_data(session)
        return demo.load(session, now=NOW)


def test_demo_loads_quickly_with_every_kind_of_record(client):
    started = time.monotonic()
    summary = _load()
    assert time.monotonic() - started < 10

    with unit_of_work() as s:
        assert demo.has_data(s)
        assert s.scalar(select(func.count()).select_from(Region)) == len(demo.REGIONS)
        units = list(s.scalars(select(Unit)))
        assert 25 <= len(units) <= 35
        assert {u.kind for u in units} >= {"enterprise", "small_venue", "school", "restaurant"}
        codes = [u.credit_code for u in units if u.credit_code]
        assert codes and all(is_valid(c) for c in codes)
        assert any(u.reporting_required for u in units)
        assert {u.role for u in s.scalars(select(User))} == {
            "admin", "county", "township", "inspector", "unit"
        }  # fmt: skip

        hazards = list(s.scalars(select(Hazard)))
        statuses = {h.status for h in hazards}
        assert {"closed", "reported", "rectifying"} <= statuses
        assert any(h.handling == "on_the_spot" for h in hazards)
        overdue = [
            h for h in hazards
            if h.status in ("reported", "rectifying") and h.deadline and h.deadline < NOW
        ]  # fmt: skip
        assert overdue
        major = [h for h in hazards if h.level == "major"]
        assert major and all(h.governance_plan for h in major)
        assert any(h.supervised for h in major)
        for h in hazards:
            ats = list(
                s.scalars(
                    select(HazardEvent.at).where(HazardEvent.hazard_id == h.id)
                    .order_by(HazardEvent.seq)
                )
            )  # fmt: skip
            assert ats == sorted(ats) and all(h.found_at <= at < NOW for at in ats)
        assert s.scalar(select(func.count()).select_from(Inspection)) >= 30

        reports = list(s.scalars(select(SelfReport)))
        if reports:  # the self-report service is present
            assert any(r.zero_hazard for r in reports)
            assert any(not r.zero_hazard for r in reports)
            assert any(not r.filed_by_unit for r in reports)
            assert any(r.filed_by_unit for r in reports)

    assert {row["role"] for row in summary["logins"]} == {
        "admin", "county", "township", "inspector", "unit"
    }  # fmt: skip
    for row in summary["logins"]:
        response = client.post(
            "/api/v1/auth/token", data={"username": row["username"], "password": row["password"]}
        )
        assert response.status_code == 200, (row, response.text)


def test_demo_is_deterministic():
    def snapshot() -> tuple:
        with unit_of_work() as s:
            return (
                sorted((str(h.id), h.status, h.category) for h in s.scalars(select(Hazard))),
                sorted(str(u.id) + (u.credit_code or "") for u in s.scalars(select(Unit))),
            )

    _load()
    first = snapshot()
    from sqlalchemy import text

    from services.db import get_engine
    from services.models import Base
    from tests.conftest import clean_tables  # noqa: F401  (the autouse fixture empties tables)

    keep = {"unit_kinds", "hazard_categories", "alembic_version"}
    names = [t.name for t in Base.metadata.sorted_tables if t.name not in keep]
    with get_engine().begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
    _load()
    assert snapshot() == first
