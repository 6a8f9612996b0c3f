"""Inspections, hazards and the lifecycle over HTTP."""

from __future__ import annotations

import uuid

import pytest

from tests.builders import (
    TOWN_A,
    TOWN_B,
    VILLAGE_A1,
    VILLAGE_B1,
    event_body,
    hazard_body,
    inspection_body,
    login_as,
    make_region_tree,
    make_unit,
)


@pytest.fixture
def world(client):
    make_region_tree()
    unit = make_unit(VILLAGE_A1)
    return {
        "unit": unit,
        "unit_b": make_unit(VILLAGE_B1),
        "inspector": login_as(client, "inspector", TOWN_A),
        "township": login_as(client, "township", TOWN_A),
        "county": login_as(client, "county", "330102000000"),
        "unit_user": login_as(client, "unit", VILLAGE_A1, unit_id=unit),
        "other_town": login_as(client, "township", TOWN_B),
    }


def post_hazard(client, world, **hazard_extra) -> dict:
    hazard = hazard_body(**hazard_extra)
    body = inspection_body(world["unit"], hazards=[hazard])
    r = client.post("/api/v1/inspections", json=body, headers=world["inspector"])
    assert r.status_code == 201, r.text
    return r.json()["hazards"][0]


def event(client, world, hazard_id, type_, at, who="township", **extra):
    return client.post(
        f"/api/v1/hazards/{hazard_id}/events",
        json=event_body(type_, at, **extra),
        headers=world[who],
    )


def test_inspection_with_hazards_round_trips_chinese_and_period(client, world):
    body = inspection_body(
        world["unit"],
        hazards=[
            hazard_body(),
            hazard_body("on_the_spot", category="e_bike", description="电动车室内充电"),
        ],
        notice_number="东应急改〔2026〕12号",
    )
    r = client.post("/api/v1/inspections", json=body, headers=world["inspector"])
    assert r.status_code == 201, r.text
    data = r.json()
    assert data["notice_number"] == "东应急改〔2026〕12号"
    by_handling = {h["handling"]: h for h in data["hazards"]}
    assert by_handling["deadline"]["status"] == "reported"
    assert by_handling["deadline"]["description"] == "安全出口被货物堵塞"
    spot = by_handling["on_the_spot"]
    assert spot["status"] == "closed" and spot["closed_at"] is not None
    # Found at 00:30 on 1 October local time: the fourth quarter, though it is 30 September UTC.
    assert spot["period"] == "2026Q4"
    fetched = client.get(f"/api/v1/inspections/{body['id']}", headers=world["township"])
    assert fetched.status_code == 200 and len(fetched.json()["hazards"]) == 2


def test_inspection_retry_is_idempotent_and_changed_retry_is_409(client, world):
    body = inspection_body(world["unit"], hazards=[hazard_body()])
    first = client.post("/api/v1/inspections", json=body, headers=world["inspector"])
    again = client.post("/api/v1/inspections", json=body, headers=world["inspector"])
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    changed = {**body, "note": "different"}
    assert (
        client.post("/api/v1/inspections", json=changed, headers=world["inspector"]).status_code
        == 409
    )
    listing = client.get("/api/v1/hazards", headers=world["township"]).json()
    assert len(listing["items"]) == 1


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda b: b.update(unit_id=str(uuid.uuid4())), "unit_id"),
        (lambda b: b.update(inspected_at="2026-10-01T00:30:00"), "inspected_at"),
        (lambda b: b.update(inspected_at="2099-01-01T00:00:00+08:00"), "inspected_at"),
        (lambda b: b.update(kind="party"), "kind"),
        (lambda b: b.update(status="closed"), "status"),
        (lambda b: b.update(inspectors=[]), "inspectors"),
        (lambda b: b["hazards"][0].update(deadline="2026-09-01T00:00:00+08:00"), "deadline"),
        (lambda b: b["hazards"][0].pop("deadline"), "deadline"),
        (lambda b: b["hazards"][0].update(category="nonsense"), "category"),
        (lambda b: b["hazards"][0].update(level="huge"), "level"),
        (lambda b: b["hazards"][0].update(governance_plan={"goal": "x"}), "governance_plan"),
    ],
)
def test_bad_inspection_is_422_naming_the_field_and_stores_nothing(client, world, mutate, field):
    body = inspection_body(world["unit"], hazards=[hazard_body()])
    mutate(body)
    r = client.post("/api/v1/inspections", json=body, headers=world["inspector"])
    assert r.status_code == 422, r.text
    assert field in [str(p) for p in r.json()["detail"][0]["loc"]], r.json()
    assert client.get("/api/v1/hazards", headers=world["township"]).json()["items"] == []


@pytest.mark.parametrize("path", ["/api/v1/inspections", "/api/v1/sync"])
@pytest.mark.parametrize("body", [b"{not json", b'{"inspections": [NaN]}', b"\xff\xfe"])
def test_malformed_json_is_422_naming_the_body(client, world, path, body):
    """These routes decode with orjson (api/json_route.py): the same 422 as FastAPI's own."""
    r = client.post(
        path, content=body, headers={**world["inspector"], "Content-Type": "application/json"}
    )
    assert r.status_code == 422, r.text
    (error,) = r.json()["detail"]
    assert error["type"] == "json_invalid" and error["loc"][0] == "body"


def test_text_the_database_cannot_store_is_422_not_500(client, world):
    """A NUL character: refused naming the field, on the route and the hot path (the second
    POST's token is known), in a /sync item, and in a query parameter; nothing stored."""
    for _ in range(2):
        body = inspection_body(world["unit"], note="a\u0000b")
        r = client.post("/api/v1/inspections", json=body, headers=world["inspector"])
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == ["body", "note"]
    body = inspection_body(world["unit"], hazards=[hazard_body(description="x\u0000")])
    r = client.post("/api/v1/sync", json={"inspections": [body]}, headers=world["inspector"])
    assert r.status_code == 200 and r.json()["refused"] == 1, r.text
    assert r.json()["results"][0]["detail"][0]["loc"][-1] == "description"
    r = client.get("/api/v1/inspections", params={"kind": "a\u0000b"}, headers=world["inspector"])
    assert r.status_code == 422, r.text
    assert client.get("/api/v1/hazards", headers=world["township"]).json()["items"] == []


def test_unit_outside_the_inspectors_township_is_refused(client, world):
    body = inspection_body(world["unit_b"], hazards=[hazard_body()])
    r = client.post("/api/v1/inspections", json=body, headers=world["inspector"])
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "unit_id"


def test_full_closed_loop(client, world):
    h = post_hazard(client, world)
    hid = h["id"]
    assert (
        event(
            client, world, hid, "start_rectification", "2026-10-02T09:00:00+08:00", who="unit_user"
        ).status_code
        == 201
    )
    r = event(
        client, world, hid, "submit_rectification", "2026-10-05T09:00:00+08:00", who="unit_user"
    )
    assert r.status_code == 201 and r.json()["status"] == "rectified"
    r = event(
        client, world, hid, "reject", "2026-10-06T09:00:00+08:00", who="inspector", note="仍有堵塞"
    )
    assert r.json()["status"] == "rectifying"
    event(client, world, hid, "submit_rectification", "2026-10-07T09:00:00+08:00", who="unit_user")
    r = event(client, world, hid, "verify", "2026-10-08T09:00:00+08:00", who="inspector")
    assert r.status_code == 201
    detail = r.json()
    assert detail["status"] == "closed"
    assert detail["closed_at"].startswith("2026-10-08")
    assert [e["type"] for e in detail["events"]] == [
        "start_rectification",
        "submit_rectification",
        "reject",
        "submit_rectification",
        "verify",
    ]
    assert [e["seq"] for e in detail["events"]] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    "steps, refused",
    [
        ([], ("reject", "inspector")),  # reject needs a submitted fix
        ([("verify", "inspector")], ("start_rectification", "unit_user")),  # closed is closed
        ([("verify", "inspector")], ("submit_rectification", "unit_user")),
        ([("verify", "inspector")], ("verify", "inspector")),
        ([("start_rectification", "unit_user")], ("start_rectification", "unit_user")),
        ([("void", "inspector")], ("verify", "inspector")),
        ([("void", "inspector")], ("void", "township")),
        ([("verify", "inspector")], ("supervise", "county")),
        ([("verify", "inspector")], ("transfer", "township")),
    ],
)
def test_refused_moves_are_409_and_change_nothing(client, world, steps, refused):
    h = post_hazard(client, world)
    for i, (type_, who) in enumerate(steps):
        extra = {"note": "录入错误"} if type_ == "void" else {}
        assert (
            event(
                client, world, h["id"], type_, f"2026-10-0{2 + i}T09:00:00+08:00", who=who, **extra
            ).status_code
            == 201
        )
    before = client.get(f"/api/v1/hazards/{h['id']}", headers=world["township"]).json()
    type_, who = refused
    extra = (
        {"note": "x"}
        if type_ == "void"
        else {"department": "消防大队"}
        if type_ == "transfer"
        else {}
    )
    r = event(client, world, h["id"], type_, "2026-10-09T09:00:00+08:00", who=who, **extra)
    assert r.status_code == 409, r.text
    after = client.get(f"/api/v1/hazards/{h['id']}", headers=world["township"]).json()
    assert after == before


@pytest.mark.parametrize(
    "type_, who",
    [
        ("verify", "unit_user"),
        ("reject", "unit_user"),
        ("extend", "inspector"),
        ("supervise", "township"),
        ("transfer", "county"),
        ("void", "unit_user"),
    ],
)
def test_roles_that_may_not_make_a_move_get_403(client, world, type_, who):
    h = post_hazard(client, world)
    extra = {
        "extend": {"deadline": "2026-10-20T18:00:00+08:00"},
        "transfer": {"department": "市场监管所"},
        "void": {"note": "重复录入"},
    }.get(type_, {})
    r = event(client, world, h["id"], type_, "2026-10-02T09:00:00+08:00", who=who, **extra)
    assert r.status_code == 403, r.text


def test_extend_supervise_transfer_keep_state_and_move_the_deadline(client, world):
    h = post_hazard(client, world)
    r = event(
        client,
        world,
        h["id"],
        "extend",
        "2026-10-10T09:00:00+08:00",
        deadline="2026-10-30T18:00:00+08:00",
    )
    assert r.status_code == 201
    data = r.json()
    assert data["status"] == "reported"
    assert data["deadline"].startswith("2026-10-30") and data["initial_deadline"].startswith(
        "2026-10-15"
    )
    assert event(
        client, world, h["id"], "supervise", "2026-10-11T09:00:00+08:00", who="county"
    ).json()["supervised"]
    r = event(
        client, world, h["id"], "transfer", "2026-10-12T09:00:00+08:00", department="县市场监管局"
    )
    assert r.json()["transferred_to"] == "县市场监管局" and r.json()["status"] == "reported"
    # An extension must be earlier than the new deadline, and be decided before the current one.
    r = event(
        client,
        world,
        h["id"],
        "extend",
        "2026-10-13T09:00:00+08:00",
        deadline="2026-10-20T18:00:00+08:00",
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "deadline"
    r = event(
        client,
        world,
        h["id"],
        "extend",
        "2026-10-31T09:00:00+08:00",
        deadline="2026-11-20T18:00:00+08:00",
    )
    assert r.status_code == 409


def test_extend_with_a_date_means_end_of_that_local_day(client, world):
    h = post_hazard(client, world)
    r = event(client, world, h["id"], "extend", "2026-10-10T09:00:00+08:00", deadline="2026-10-31")
    assert r.status_code == 201
    assert r.json()["deadline"] == "2026-10-31T23:59:59.999999+08:00"


@pytest.mark.parametrize(
    "at, extra, field",
    [
        ("2026-09-30T09:00:00+08:00", {}, "at"),  # before the hazard was found
        ("2099-01-01T00:00:00+08:00", {}, "at"),  # in the future
        ("2026-10-03T09:00:00", {}, "at"),  # no offset
        ("2026-10-03T09:00:00+08:00", {"deadline": "2026-12-01T00:00:00+08:00"}, "deadline"),
        ("2026-10-03T09:00:00+08:00", {"colour": "red"}, "colour"),
    ],
)
def test_bad_event_times_and_fields_are_422(client, world, at, extra, field):
    h = post_hazard(client, world)
    r = event(client, world, h["id"], "start_rectification", at, who="unit_user", **extra)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][-1] == field
    assert (
        client.get(f"/api/v1/hazards/{h['id']}", headers=world["township"]).json()["events"] == []
    )


def test_event_out_of_order_is_422(client, world):
    h = post_hazard(client, world)
    event(
        client, world, h["id"], "start_rectification", "2026-10-05T09:00:00+08:00", who="unit_user"
    )
    r = event(
        client, world, h["id"], "submit_rectification", "2026-10-04T09:00:00+08:00", who="unit_user"
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "at"


def test_void_needs_a_reason(client, world):
    h = post_hazard(client, world)
    r = event(client, world, h["id"], "void", "2026-10-02T09:00:00+08:00", who="inspector")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "note"
    r = event(
        client,
        world,
        h["id"],
        "void",
        "2026-10-02T09:00:00+08:00",
        who="inspector",
        note="重复录入",
    )
    assert r.json()["status"] == "voided"


def test_event_retry_is_idempotent(client, world):
    h = post_hazard(client, world)
    body = event_body("start_rectification", "2026-10-02T09:00:00+08:00")
    url = f"/api/v1/hazards/{h['id']}/events"
    assert client.post(url, json=body, headers=world["unit_user"]).status_code == 201
    assert client.post(url, json=body, headers=world["unit_user"]).status_code == 200
    assert (
        client.post(url, json={**body, "note": "changed"}, headers=world["unit_user"]).status_code
        == 409
    )
    assert (
        len(client.get(f"/api/v1/hazards/{h['id']}", headers=world["township"]).json()["events"])
        == 1
    )


def test_overdue_is_derived_from_deadline_and_submission(client, world):
    late = post_hazard(client, world)  # deadline 15 Oct 2026, long past: overdue
    on_time = post_hazard(client, world)
    event(
        client,
        world,
        on_time["id"],
        "submit_rectification",
        "2026-10-14T09:00:00+08:00",
        who="unit_user",
    )
    submitted_late = post_hazard(client, world)
    event(
        client,
        world,
        submitted_late["id"],
        "submit_rectification",
        "2026-10-16T09:00:00+08:00",
        who="unit_user",
    )
    get = lambda h: client.get(f"/api/v1/hazards/{h['id']}", headers=world["township"]).json()  # noqa: E731
    assert get(late)["overdue"] is True
    assert get(on_time)["overdue"] is False  # awaiting verification of a timely fix
    assert get(submitted_late)["overdue"] is True
    overdue = client.get("/api/v1/hazards?overdue=true", headers=world["township"]).json()["items"]
    assert {h["id"] for h in overdue} == {late["id"], submitted_late["id"]}
    rest = client.get("/api/v1/hazards?overdue=false", headers=world["township"]).json()["items"]
    assert on_time["id"] in {h["id"] for h in rest}
    assert not {late["id"], submitted_late["id"]} & {h["id"] for h in rest}
    # Rejecting the timely fix makes it overdue again.
    event(client, world, on_time["id"], "reject", "2026-10-20T09:00:00+08:00", who="inspector")
    assert get(on_time)["overdue"] is True


def test_governance_plan_for_major_hazards_only(client, world):
    major = post_hazard(client, world, level="major")
    general = post_hazard(client, world)
    plan = {
        "governance_plan": {
            "goal": "消除隐患",
            "measures": "更换线路",
            "funds": "5万元",
            "responsible": "王经理",
            "time_limit": "2026-12-31",
            "safety_measures": "停用该区域",
        }
    }
    r = client.patch(f"/api/v1/hazards/{major['id']}", json=plan, headers=world["township"])
    assert r.status_code == 200 and r.json()["governance_plan"]["funds"] == "5万元"
    r = client.patch(f"/api/v1/hazards/{general['id']}", json=plan, headers=world["township"])
    assert r.status_code == 422
    r = client.patch(
        f"/api/v1/hazards/{major['id']}", json={"status": "closed"}, headers=world["township"]
    )
    assert r.status_code == 422


def test_hazard_filters_and_pagination(client, world):
    for _ in range(3):
        post_hazard(client, world)
    post_hazard(client, world, level="major")
    r = client.get("/api/v1/hazards?level=major", headers=world["township"]).json()
    assert len(r["items"]) == 1
    page1 = client.get("/api/v1/hazards?limit=2", headers=world["township"]).json()
    page2 = client.get(
        f"/api/v1/hazards?limit=2&cursor={page1['next_cursor']}", headers=world["township"]
    ).json()
    assert len(page1["items"]) == 2 and len(page2["items"]) == 2 and page2["next_cursor"] is None
    assert not {h["id"] for h in page1["items"]} & {h["id"] for h in page2["items"]}
    assert client.get("/api/v1/hazards?limit=501", headers=world["township"]).status_code == 422
    assert (
        client.get("/api/v1/hazards?cursor=garbage", headers=world["township"]).status_code == 422
    )
    assert client.get("/api/v1/hazards?status=lost", headers=world["township"]).status_code == 422
    assert (
        client.get(f"/api/v1/hazards?region={TOWN_B}", headers=world["township"]).status_code == 404
    )


def test_region_matrix_for_hazards(client, world):
    h = post_hazard(client, world)
    ins_id = h["inspection_id"]
    other = world["other_town"]
    assert client.get(f"/api/v1/hazards/{h['id']}", headers=other).status_code == 404
    assert client.get(f"/api/v1/inspections/{ins_id}", headers=other).status_code == 404
    assert (
        event(
            client, world, h["id"], "verify", "2026-10-02T09:00:00+08:00", who="other_town"
        ).status_code
        == 404
    )
    assert client.get("/api/v1/hazards", headers=other).json()["items"] == []
    assert client.get(f"/api/v1/hazards/{h['id']}", headers=world["county"]).status_code == 200
    assert client.get(f"/api/v1/hazards/{h['id']}", headers=world["unit_user"]).status_code == 200
    other_unit = login_as(client, "unit", VILLAGE_B1, unit_id=world["unit_b"])
    assert client.get(f"/api/v1/hazards/{h['id']}", headers=other_unit).status_code == 404
    assert client.get(f"/api/v1/inspections/{ins_id}", headers=other_unit).status_code == 404


def test_marks_are_written_with_the_hazard(client, world, session):
    from sqlalchemy import text

    post_hazard(client, world)
    marks = session.execute(text("SELECT region_code, month FROM metric_marks")).all()
    assert {(r, str(m)) for r, m in marks} == {(VILLAGE_A1, "2026-10-01")}


def test_a_request_stuck_behind_a_lock_gives_a_retryable_503(client, world):
    """A bounded lock wait: no request holds a pool thread forever behind another transaction."""
    from sqlalchemy import text

    from services import db

    h = post_hazard(client, world)
    db.set_lock_timeout("500ms")
    db.reset_engine()
    holder = db.new_session()
    try:
        holder.execute(text("SELECT 1 FROM hazards WHERE id = :id FOR UPDATE"), {"id": h["id"]})
        r = event(
            client,
            world,
            h["id"],
            "start_rectification",
            "2026-10-02T09:00:00+08:00",
            who="unit_user",
        )
        assert r.status_code == 503 and r.headers["retry-after"] == "1", r.text
    finally:
        holder.rollback()
        holder.close()
        db.set_lock_timeout("5s")
        db.reset_engine()
    retry = event(
        client, world, h["id"], "start_rectification", "2026-10-02T09:00:00+08:00", who="unit_user"
    )
    assert retry.status_code == 201
