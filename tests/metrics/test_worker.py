"""With a REAL Celery worker: writes reach the figures, frozen quarters hold, outages heal."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

from celery import Celery
from sqlalchemy import text

from services.db import unit_of_work
from services.metrics import refresh
from services.periods import local_month, period_of
from services.settings import get_settings
from tests.builders import COUNTY, TOWN_A, VILLAGE_A1, login_as, make_region_tree, make_unit
from tests.metrics.builders import Ev, add_event, add_hazard
from worker import dispatch
from worker.app import celery_app

TZ = get_settings().tz


def wait_for(check, timeout: float = 15.0):
    """Poll until `check()` returns a truthy value; fail with the last value."""
    end = time.monotonic() + timeout
    value = None
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not reached within {timeout}s: last {value!r}")


def figures(client, headers, period: str, view: str = "live", region: str = COUNTY) -> dict:
    r = client.get(
        "/api/v1/metrics", params={"region": region, "period": period, "view": view},
        headers=headers,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    return r.json()["metrics"]


def marks() -> int:
    with unit_of_work() as s:
        return s.execute(text("SELECT count(*) FROM metric_marks")).scalar_one()


def test_a_write_through_the_api_reaches_the_figures_within_seconds(client, worker):
    make_region_tree()
    unit = make_unit(VILLAGE_A1)
    inspector = login_as(client, "inspector", TOWN_A)
    county = login_as(client, "county", COUNTY)
    now = datetime.now(UTC)
    quarter = period_of(now, "quarter", TZ).key
    body = {
        "id": str(uuid.uuid4()),
        "unit_id": str(unit),
        "kind": "routine",
        "inspected_at": (now - timedelta(hours=1)).isoformat(),
        "inspectors": ["李四"],
        "hazards": [
            {"id": str(uuid.uuid4()), "level": "general", "category": "fire",
             "description": "灭火器过期", "handling": "on_the_spot"},
            {"id": str(uuid.uuid4()), "level": "major", "category": "electrical",
             "description": "私拉乱接电线", "handling": "deadline",
             "deadline": (now + timedelta(days=10)).isoformat()},
        ],
    }  # fmt: skip
    r = client.post("/api/v1/inspections", json=body, headers=inspector)
    assert r.status_code == 201, r.text
    m = wait_for(
        lambda: (f := figures(client, county, quarter))["hazards_found"]["count"] == 2 and f
    )
    assert m["rectification_rate"] == {"numerator": 1, "denominator": 2, "value": 0.5}
    assert m["rectification_rate_major"] == {"numerator": 0, "denominator": 1, "value": 0.0}
    assert m["inspections"] == {"count": 1}
    assert m["coverage"] == {"numerator": 1, "denominator": 1, "value": 1.0}
    wait_for(lambda: marks() == 0)

    # Verifying the major hazard through the API moves the rate to 100%.
    major = (
        r.json()["hazards"][1]["id"]
        if r.json()["hazards"][1]["level"] == "major"
        else (r.json()["hazards"][0]["id"])
    )
    ev = {"id": str(uuid.uuid4()), "type": "verify", "at": datetime.now(UTC).isoformat()}
    r = client.post(f"/api/v1/hazards/{major}/events", json=ev, headers=inspector)
    assert r.status_code in (200, 201), r.text
    m = wait_for(
        lambda: (f := figures(client, county, quarter))["hazards_closed"]["count"] == 2 and f
    )
    assert m["rectification_rate"]["value"] == 1.0
    assert m["on_time_rectification_rate"] == {"numerator": 2, "denominator": 2, "value": 1.0}


def test_recompute_request_runs_in_the_worker_and_reports_its_status(client, worker):
    make_region_tree()
    unit = make_unit(VILLAGE_A1)
    with unit_of_work() as s:
        add_hazard(
            s, unit, datetime(2025, 8, 1, 9, tzinfo=TZ), deadline=datetime(2025, 8, 5, tzinfo=TZ)
        )
        s.execute(text("DELETE FROM metric_marks"))  # only a full recompute will see it
    county = login_as(client, "county", COUNTY)
    assert figures(client, county, "2025Q3")["hazards_found"]["count"] == 0
    r = client.post("/api/v1/metrics/recompute", json={}, headers=county)
    assert r.status_code == 202, r.text
    task = r.json()["task_id"]
    wait_for(
        lambda: client.get(f"/api/v1/tasks/{task}", headers=county).json()["status"] == "succeeded"
    )
    m = figures(client, county, "2025Q3")
    assert m["hazards_found"] == {"count": 1} and m["overdue_hazards"] == {"count": 1}
    # Units may not read figures; a township outside the region gets 404.
    unit_user = login_as(client, "unit", VILLAGE_A1, unit_id=unit)
    r = client.get("/api/v1/metrics", params={"period": "2025Q3"}, headers=unit_user)
    assert r.status_code == 403


def test_frozen_quarter_holds_while_live_moves_with_late_events(client, worker):
    make_region_tree()
    unit = make_unit(VILLAGE_A1)
    found = datetime(2025, 9, 30, 23, 30, tzinfo=TZ)  # local September, UTC-wise too
    with unit_of_work() as s:
        hid = add_hazard(s, unit, found, deadline=found + timedelta(days=7))
        refresh.recompute_all(s)
        s.execute(text("DELETE FROM metric_marks"))
    county = login_as(client, "admin")
    r = client.post("/api/v1/metrics/freeze", json={"period": "2025Q3"}, headers=county)
    assert r.status_code == 202, r.text
    task = r.json()["task_id"]
    wait_for(
        lambda: client.get(f"/api/v1/tasks/{task}", headers=county).json()["status"] == "succeeded"
    )
    frozen = figures(client, county, "2025Q3", "frozen")
    assert frozen["rectification_rate"] == {"numerator": 0, "denominator": 1, "value": 0.0}
    assert frozen["overdue_hazards"] == {"count": 1}

    # A verification dated before the cut-off arrives now, after the freeze.
    with unit_of_work() as s:
        add_event(s, hid, Ev("verify", found + timedelta(days=5)))
    dispatch._next_allowed = 0.0
    dispatch.figures_changed()
    live = wait_for(
        lambda: (f := figures(client, county, "2025Q3"))["hazards_closed"]["count"] == 1 and f
    )
    assert live["on_time_rectification_rate"]["value"] == 1.0
    assert live["overdue_hazards"] == {"count": 0}
    assert figures(client, county, "2025Q3", "frozen") == frozen
    # Freezing again changes nothing.
    r = client.post("/api/v1/metrics/freeze", json={"period": "2025Q3"}, headers=county)
    wait_for(
        lambda: (
            client.get(f"/api/v1/tasks/{r.json()['task_id']}", headers=county).json()["status"]
            == "succeeded"
        )
    )
    assert figures(client, county, "2025Q3", "frozen") == frozen


def test_broker_down_keeps_the_marks_and_catch_up_heals(client, worker, monkeypatch):
    make_region_tree()
    unit = make_unit(VILLAGE_A1)
    county = login_as(client, "county", COUNTY)
    dead = Celery("dead", broker="redis://127.0.0.1:1/0")
    dead.conf.broker_connection_retry = False
    monkeypatch.setattr("worker.app.celery_app", dead)
    dispatch._next_allowed = 0.0
    found = datetime.now(UTC) - timedelta(hours=2)
    with unit_of_work() as s:
        add_hazard(s, unit, found)
    dispatch.figures_changed()  # what the API does after its commit: fails, quietly
    month = local_month(found, TZ)
    quarter = period_of(found, "quarter", TZ).key
    time.sleep(2)
    assert marks() >= 1
    with unit_of_work() as s:
        row = s.execute(
            text("SELECT 1 FROM metric_marks WHERE region_code = :r AND month = :m"),
            {"r": VILLAGE_A1, "m": month},
        ).first()
    assert row is not None
    assert figures(client, county, quarter)["hazards_found"]["count"] == 0

    monkeypatch.undo()  # the broker is back
    celery_app.send_task("worker.tasks.catch_up")
    m = wait_for(
        lambda: (f := figures(client, county, quarter))["hazards_found"]["count"] == 1 and f
    )
    assert m["rectification_rate"]["value"] == 1.0
    assert marks() == 0


def test_a_slice_lost_with_its_worker_is_sent_again_by_the_catch_up(client, worker):
    """A worker SIGKILLed mid-slice (a pod stopped during the nightly run) left its slice to
    Redis, which hands it back only after an hour; the run said "running" all that time
    (found in review, session 14). The catch-up sends the slices of a run that made no progress
    for a while again, from what the run keeps in PostgreSQL."""
    from services.metrics import runs

    make_region_tree()
    unit = make_unit(VILLAGE_A1)
    with unit_of_work() as s:
        add_hazard(s, unit, datetime(2025, 8, 1, 9, tzinfo=TZ))
        s.execute(text("DELETE FROM metric_marks"))  # only the slice will count it
        periods = [p.key for p in refresh.all_periods(s)]
        slices = refresh.slices(s, None)
        lost = TOWN_A[:9]  # a slice is a township's code prefix
        assert lost in slices
        run = runs.create_run(s, kind="recompute", params={"region": None, "period": None})
        # As recompute_all leaves it: every slice sent; all but one finished, long ago.
        runs.start(
            s, run.id, slices=len(slices), done=[k for k in slices if k != lost],
            slice_keys=slices, period_keys=periods,
        )  # fmt: skip
        s.execute(
            text("UPDATE task_runs SET started_at = now() - interval '1 hour' WHERE id = :id"),
            {"id": str(run.id)},
        )
    county = login_as(client, "county", COUNTY)
    assert figures(client, county, "2025Q3")["hazards_found"]["count"] == 0

    admin = login_as(client, "admin")  # a run over every region is an admin's to read

    def status() -> str:
        r = client.get(f"/api/v1/tasks/{run.id}", headers=admin)
        assert r.status_code == 200, r.text
        return r.json()["status"]

    assert status() == "running"
    celery_app.send_task("worker.tasks.catch_up")
    wait_for(lambda: status() == "succeeded")
    assert figures(client, county, "2025Q3")["hazards_found"]["count"] == 1
    # A run that is progressing is left alone (its slices are not sent twice).
    with unit_of_work() as s:
        assert runs.stalled_recomputes(s) == []
