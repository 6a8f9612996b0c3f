"""A phone's retry of an event that arrives while its original is still being written.

Both wait for the hazard's row lock; the one that gets it second must be answered as a replay
(200, the stored event), not judged as a new move from the state the first one left (before
session 14: 409 "cannot start_rectification a hazard that is rectifying", or 409 "conflicts
with a stored record" for an event that moves no status).
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from tests.builders import (
    COUNTY,
    TOWN_A,
    VILLAGE_A1,
    event_body,
    hazard_body,
    inspection_body,
    login_as,
    make_region_tree,
    make_unit,
)
from tests.conftest import DATABASE_URL


@pytest.mark.parametrize(("event_type", "role"), [("start_rectification", "township"),
                                                  ("supervise", "county")])  # fmt: skip
def test_the_same_event_sent_twice_at_once_is_stored_once_and_replayed(client, event_type, role):
    make_region_tree()
    unit = make_unit(VILLAGE_A1)
    inspector = login_as(client, "inspector", TOWN_A)
    hazard = hazard_body()
    body = inspection_body(unit, hazards=[hazard])
    assert client.post("/api/v1/inspections", json=body, headers=inspector).status_code == 201
    who = login_as(client, role, COUNTY if role == "county" else TOWN_A)
    event = event_body(event_type, "2026-10-02T10:00:00+08:00")
    url = f"/api/v1/hazards/{hazard['id']}/events"

    answers: list[tuple[int, str]] = []
    # A slow writer holds the hazard's row lock, so both requests wait for it together.
    with psycopg.connect(DATABASE_URL.replace("postgresql+psycopg", "postgresql")) as holder:
        holder.execute("SELECT 1 FROM hazards WHERE id = %s FOR UPDATE", (hazard["id"],))
        threads = [
            threading.Thread(
                target=lambda: answers.append(
                    (lambda r: (r.status_code, r.text))(client.post(url, json=event, headers=who))
                )
            )
            for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        time.sleep(1.0)  # both are waiting on the lock by now
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(status for status, _ in answers) == [200, 201], answers
    events = client.get(f"/api/v1/hazards/{hazard['id']}", headers=who).json()["events"]
    assert [e["id"] for e in events].count(event["id"]) == 1
