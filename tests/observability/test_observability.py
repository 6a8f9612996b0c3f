"""/metrics, request ids and the scrape-time gauges."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from services.db import unit_of_work
from tests import builders


def _sample(body: str, name: str) -> float:
    for line in body.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


def test_request_id_is_generated_and_echoed(client):
    fresh = client.get("/healthz")
    assert fresh.status_code == 200
    assert len(fresh.headers["x-request-id"]) >= 16

    mine = client.get("/healthz", headers={"X-Request-ID": "phone-42.abc"})
    assert mine.headers["x-request-id"] == "phone-42.abc"

    # A header that could smuggle anything into logs is replaced, not echoed.
    odd = client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert odd.headers["x-request-id"] != "bad id\twith spaces"


def test_latency_is_labelled_by_route_template(client):
    client.get(f"/api/v1/regions/{'1' * 12}")  # 401 without a token, still counted
    body = client.get("/metrics").text
    assert 'route="/api/v1/regions/{code}"' in body
    assert "1" * 12 not in body
    assert "hazardtrack_http_request_duration_seconds_bucket" in body


def test_gauges_read_marks_and_overdue_hazards(client):
    builders.make_region_tree()
    unit_id = builders.make_unit()
    found = datetime.now(UTC) - timedelta(days=20)
    with unit_of_work() as s:
        s.execute(text("DELETE FROM metric_marks"))
        s.execute(
            text(
                "INSERT INTO metric_marks (region_code, month) VALUES (:r, '2026-01-01'),"
                " (:r, '2026-02-01')"
            ),
            {"r": builders.VILLAGE_A1},
        )
        for status, deadline, submitted in [
            ("reported", found + timedelta(days=5), None),  # overdue
            ("rectifying", found + timedelta(days=5), None),  # overdue
            ("rectified", found + timedelta(days=5), found + timedelta(days=4)),  # awaits check
            ("reported", found + timedelta(days=40), None),  # not yet due
        ]:
            s.execute(
                text(
                    "INSERT INTO hazards (id, unit_id, region_code, source, level, category,"
                    " description, handling, found_at, found_month, status, initial_deadline,"
                    " deadline, submitted_at, request_hash) VALUES (:id, :u, :r, 'inspection',"
                    " 'general', 'fire', '灭火器过期', 'deadline', :f, :m, :st, :d, :d, :sub, 'x')"
                ),
                {
                    "id": uuid.uuid4(),
                    "u": unit_id,
                    "r": builders.VILLAGE_A1,
                    "f": found,
                    "m": found.date().replace(day=1),
                    "st": status,
                    "d": deadline,
                    "sub": submitted,
                },
            )
    body = client.get("/metrics").text
    assert _sample(body, "hazardtrack_database_up") == 1
    assert _sample(body, "hazardtrack_metric_marks_waiting") == 2
    assert _sample(body, "hazardtrack_metric_marks_oldest_age_seconds") >= 0
    assert _sample(body, "hazardtrack_overdue_hazards") == 2
    # The tests' database user is a superuser: batches take the per-batch key checks.
    assert _sample(body, "hazardtrack_sync_keys_checked_per_batch") == 1


def test_request_id_follows_a_write_into_the_task_it_caused(client, worker):
    import json
    import time

    from tests.builders import (
        TOWN_A,
        VILLAGE_A1,
        hazard_body,
        inspection_body,
        login_as,
        make_region_tree,
        make_unit,
    )

    make_region_tree()
    inspector = login_as(client, "inspector", TOWN_A)
    body = inspection_body(make_unit(VILLAGE_A1), hazards=[hazard_body()])
    request_id = "req-follow-me-1"
    r = client.post(
        "/api/v1/inspections", json=body, headers={**inspector, "X-Request-ID": request_id}
    )
    assert r.status_code == 201 and r.headers["x-request-id"] == request_id
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        lines = [json.loads(x) for x in worker.log().splitlines() if x.startswith("{")]
        done = [
            x
            for x in lines
            if x.get("request_id") == request_id and "recomputed" in x.get("event", "")
        ]
        if done:
            break
        time.sleep(0.3)
    assert done, worker.log()[-3000:]
