from __future__ import annotations

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


def test_audit_trail_records_hazard_steps_and_is_read_only(client):
    make_region_tree()
    unit = make_unit(VILLAGE_A1)
    inspector = login_as(client, "inspector", TOWN_A)
    county = login_as(client, "county", COUNTY)
    hazard = hazard_body()
    client.post(
        "/api/v1/inspections", json=inspection_body(unit, hazards=[hazard]), headers=inspector
    )
    client.post(
        f"/api/v1/hazards/{hazard['id']}/events",
        json=event_body("verify", "2026-10-03T09:00:00+08:00"),
        headers=inspector,
    )
    r = client.get(f"/api/v1/audit?entity=hazard&entity_id={hazard['id']}", headers=county)
    assert r.status_code == 200
    entries = r.json()["items"]
    assert [e["action"] for e in entries] == ["verify"]
    assert entries[0]["changes"]["from"] == "reported" and entries[0]["changes"]["to"] == "closed"
    assert entries[0]["actor_username"].startswith("inspector-")
    assert client.get("/api/v1/audit", headers=inspector).status_code == 403
    # No route edits or deletes it.
    assert client.delete("/api/v1/audit", headers=county).status_code == 405
    assert client.patch("/api/v1/audit", json={}, headers=county).status_code == 405


def test_history_tables_refuse_updates_and_deletes_in_the_database(session):
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    session.execute(
        text(
            "INSERT INTO audit_log (entity, entity_id, action, changes) VALUES ('unit', 'x', 'create', '{}')"
        )
    )
    for statement in ("UPDATE audit_log SET action = 'forged'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            with session.begin_nested():
                session.execute(text(statement))
