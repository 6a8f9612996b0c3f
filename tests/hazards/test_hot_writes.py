"""The phone's plain POST /inspections is answered before FastAPI (api/hot_writes.py); every
other request, and every refusal, reaches the route, whose answers stay the contract's."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from api.routers import inspections as route
from services import inspections
from services.db import unit_of_work
from tests.builders import (
    TOWN_A,
    TOWN_B,
    VILLAGE_A1,
    VILLAGE_B1,
    hazard_body,
    inspection_body,
    login_as,
    make_region_tree,
    make_unit,
    make_user,
    token,
)


@pytest.fixture
def at_route(monkeypatch) -> list:
    """The bodies that reached the route's service call (the general path)."""
    seen = []
    record = inspections.record_inspection

    def counting(session, actor, *, data, loc=None):
        seen.append(str(data["id"]))
        return record(session, actor, data=data, loc=loc)

    monkeypatch.setattr(route.inspections, "record_inspection", counting)
    return seen


def stored(inspection_id) -> tuple[int, int, int]:
    """(inspections, hazards, outbox marks) stored for this inspection id."""
    with unit_of_work() as s:
        return s.execute(
            text(
                "SELECT (SELECT count(*) FROM inspections WHERE id = :i),"
                " (SELECT count(*) FROM hazards WHERE inspection_id = :i),"
                " (SELECT count(*) FROM metric_marks)"
            ),
            {"i": str(inspection_id)},
        ).one()


def test_a_plain_post_is_answered_before_the_route_as_the_route_answers(client, at_route):
    make_region_tree()
    unit = make_unit(VILLAGE_A1)
    headers = {**login_as(client, "inspector", TOWN_A), "X-Request-Id": "phone-1"}
    first = inspection_body(unit, hazards=[hazard_body()])
    assert client.post("/api/v1/inspections", json=first, headers=headers).status_code == 201
    assert at_route == [first["id"]]  # the token was not known to this process yet

    body = inspection_body(
        unit,
        hazards=[hazard_body(), hazard_body("on_the_spot", level="general", category="fire")],
        departments=["消防救援大队"],
        notice_number="（东）安检〔2026〕1号",
        note="复查",
    )
    r = client.post("/api/v1/inspections", json=body, headers=headers)
    assert r.status_code == 201, r.text
    assert at_route == [first["id"]]  # answered on the hot path
    assert r.headers["x-request-id"] == "phone-1"
    assert r.headers["content-length"] == str(len(r.content))
    # What the route renders for the stored record, field for field.
    got = client.get(f"/api/v1/inspections/{body['id']}", headers=headers)
    assert r.json() == got.json()
    answer = r.json()
    assert answer["region_code"] == VILLAGE_A1 and answer["inspected_at"].endswith("+08:00")
    assert sorted(h["status"] for h in answer["hazards"]) == ["closed", "reported"]
    assert {h["period"] for h in answer["hazards"]} == {"2026Q4"}
    assert stored(body["id"])[:2] == (1, 2)
    with unit_of_work() as s:  # one outbox mark for the write's (village, month) bucket
        marks = s.execute(text("SELECT region_code, month::text FROM metric_marks")).all()
    assert marks == [(VILLAGE_A1, "2026-10-01")] * 2
    # The latency histogram names the route, on either path.
    assert 'method="POST",route="/api/v1/inspections",status="201"' in client.get("/metrics").text


def test_anything_unusual_is_answered_by_the_route(client, at_route):
    make_region_tree()
    unit = make_unit(VILLAGE_A1)
    headers = login_as(client, "inspector", TOWN_A)
    body = inspection_body(unit, hazards=[hazard_body()])
    assert client.post("/api/v1/inspections", json=body, headers=headers).status_code == 201
    at_route.clear()

    def post(payload, **kw):
        return client.post("/api/v1/inspections", json=payload, headers=headers, **kw)

    # A replay gets the stored record, other content under the same id a conflict.
    r = post(body)
    assert r.status_code == 200 and r.json()["id"] == body["id"]
    r = post({**body, "note": "changed"})
    assert r.status_code == 409
    # Bad input: 422 naming the field, from the route's validation or its rules.
    r = post({**inspection_body(unit), "inspectors": []})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "inspectors"]
    r = post(inspection_body(unit, inspected_at="2099-01-01T00:00:00+08:00"))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "inspected_at"]
    r = post(inspection_body(unit, hazards=[hazard_body(category="no_such_category")]))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][:3] == ["body", "hazards", 0]
    r = post(inspection_body(make_unit(VILLAGE_B1)))  # outside the inspector's township
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "unit_id"]
    r = client.post(
        "/api/v1/inspections",
        content=b'{"id": "not json',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert len(at_route) == 5  # the route's validation stopped the other two before its rules
    # The county reads and supervises; it does not record inspections.
    county = login_as(client, "county", "330102000000")
    r = client.post("/api/v1/inspections", json=inspection_body(unit), headers=county)
    assert r.status_code == 403
    assert client.post("/api/v1/inspections", json=inspection_body(unit)).status_code == 401
    # Nothing of the refused requests was stored.
    with unit_of_work() as s:
        assert s.execute(text("SELECT count(*) FROM inspections")).scalar_one() == 1


def test_a_disabled_inspector_is_refused_on_the_next_post(client, at_route):
    make_region_tree()
    unit = make_unit(VILLAGE_A1)
    admin = login_as(client, "admin")
    user_id = make_user("phone-user", "inspector", TOWN_A)
    headers = token(client, "phone-user")
    for _ in range(2):  # the second is on the hot path
        r = client.post("/api/v1/inspections", json=inspection_body(unit), headers=headers)
        assert r.status_code == 201
    assert len(at_route) == 1
    r = client.patch(f"/api/v1/users/{user_id}", json={"active": False}, headers=admin)
    assert r.status_code == 200
    body = inspection_body(unit)
    r = client.post("/api/v1/inspections", json=body, headers=headers)
    assert r.status_code == 401 and stored(body["id"])[0] == 0


def test_an_id_stored_between_the_check_and_the_write_is_answered_by_the_route(
    client, at_route, monkeypatch
):
    """Another request may store the same id after this one's check read it as new: the write
    meets the unique key, stores nothing, and the route answers (a replay here)."""
    make_region_tree()
    unit = make_unit(VILLAGE_A1)
    headers = login_as(client, "inspector", TOWN_A)
    body = inspection_body(unit, hazards=[hazard_body()])
    assert client.post("/api/v1/inspections", json=body, headers=headers).status_code == 201
    known_of = inspections._known_of
    fooled = []

    def not_seen_yet(rows):  # the hot check reads as if the other request had not committed
        known = known_of(rows)
        if not fooled:  # the route's own check, after it, reads what is stored
            fooled.append(True)
            known.inspections.clear()
            known.hazard_ids.clear()
        return known

    monkeypatch.setattr(inspections, "_known_of", not_seen_yet)
    at_route.clear()
    r = client.post("/api/v1/inspections", json=body, headers=headers)
    assert r.status_code == 200 and r.json()["id"] == body["id"]
    assert fooled and at_route == [body["id"]]
    assert stored(body["id"])[:2] == (1, 1)


def test_the_hot_path_keeps_each_region_to_its_own_inspectors(client, at_route):
    make_region_tree()
    headers_b = login_as(client, "inspector", TOWN_B)
    unit_b = make_unit(VILLAGE_B1)
    warm = inspection_body(unit_b)
    assert client.post("/api/v1/inspections", json=warm, headers=headers_b).status_code == 201
    at_route.clear()
    foreign = inspection_body(make_unit(VILLAGE_A1))
    r = client.post("/api/v1/inspections", json=foreign, headers=headers_b)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "unit_id"]
    assert stored(foreign["id"])[0] == 0
    assert at_route == [foreign["id"]]  # the hot path's check refused it; the route answered
