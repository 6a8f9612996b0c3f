"""The demo county with its live figures computed, for the summary and dashboard tests."""

from __future__ import annotations

from datetime import UTC, datetime

from services import demo
from services.db import unit_of_work
from services.metrics import refresh

# A fixed "now" keeps the demo's quarters where the tests expect them.
NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
COUNTY = demo.COUNTY
CHENGGUAN = "330188001000"


def load_demo_with_figures(now: datetime = NOW) -> None:
    with unit_of_work() as session:
        demo.load(session, now=now)
    with unit_of_work() as session:
        refresh.recompute_all(session)
