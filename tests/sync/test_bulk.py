"""The bulk write of a batch's inspections: the same results and rows as one by one."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import text

from services import inspections as inspection_service
from tests.builders import (
    TOWN_A,
    VILLAGE_A1,
    VILLAGE_A2,
    VILLAGE_B1,
    hazard_body,
    inspection_body,
    login_as,
    make_region_tree,
    make_unit,
)


@pytest.fixture
def world(client):
    make_region_tree()
    return {
        "unit": make_unit(VILLAGE_A1),
        "unit_a2": make_unit(VILLAGE_A2),
        "unit_b": make_unit(VILLAGE_B1),
        "inspector": login_as(client, "inspector", TOWN_A),
    }


def sync(client, world, inspections, events=()):
    r = client.post(
        "/api/v1/sync",
        json={"inspections": inspections, "events": list(events)},
        headers=world["inspector"],
    )
    assert r.status_code == 200, r.text
    return r.json()


def count(session, table: str) -> int:
    return session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def stored_ids(session, table: str) -> set[str]:
    return {str(i) for i in session.execute(text(f"SELECT id FROM {table}")).scalars()}


def test_mixed_batch_gives_a_result_per_item_and_stores_only_the_good(client, world, session):
    before = inspection_body(world["unit"], hazards=[hazard_body()])
    assert (
        client.post("/api/v1/inspections", json=before, headers=world["inspector"]).status_code
        == 201
    )
    good = inspection_body(world["unit"], hazards=[hazard_body(), hazard_body("on_the_spot")])
    good_a2 = inspection_body(world["unit_a2"], hazards=[hazard_body()])
    bad_category = inspection_body(
        world["unit"], hazards=[hazard_body(), hazard_body(category="nonsense")]
    )
    elsewhere = inspection_body(world["unit_b"], hazards=[hazard_body()])
    malformed = {"id": str(uuid.uuid4()), "unit_id": "not-a-uuid"}
    repeated = hazard_body()
    repeats_a_hazard = inspection_body(world["unit"], hazards=[repeated, repeated])
    takes_goods_hazard = inspection_body(world["unit"], hazards=[good["hazards"][0]])
    takes_stored_hazard = inspection_body(world["unit"], hazards=[before["hazards"][0]])
    unknown_campaign = inspection_body(world["unit"], campaign_id=str(uuid.uuid4()))
    future = inspection_body(world["unit"], inspected_at="2099-01-01T00:00:00+08:00")
    batch = [
        good,  # 0
        bad_category,  # 1
        {**good},  # 2: the same item twice in one queue
        {**good, "note": "changed"},  # 3: its id again, other content
        elsewhere,  # 4: another township's unit
        malformed,  # 5
        repeats_a_hazard,  # 6
        takes_goods_hazard,  # 7: a hazard id the first item stored
        takes_stored_hazard,  # 8: a hazard id stored before the batch
        before,  # 9: stored before, same content
        {**before, "note": "changed"},  # 10: stored before, other content
        unknown_campaign,  # 11
        future,  # 12
        good_a2,  # 13
    ]
    out = sync(client, world, batch)
    results = [(x["index"], x["id"], x["result"]) for x in out["results"]]
    assert [r for _, _, r in results] == [
        "stored",
        "refused",
        "already_stored",
        "conflict",
        "refused",
        "refused",
        "refused",
        "conflict",
        "conflict",
        "already_stored",
        "conflict",
        "refused",
        "refused",
        "stored",
    ]
    assert [i for i, _, _ in results] == list(range(len(batch)))
    assert results[5][1] == malformed["id"]
    by_index = {x["index"]: x for x in out["results"]}
    assert by_index[1]["detail"] == [
        {"loc": ["body", "inspections", 1, "hazards", 1, "category"], "msg": ANY_MSG}
    ]
    assert by_index[4]["detail"][0]["loc"] == ["body", "inspections", 4, "unit_id"]
    assert by_index[6]["detail"][0]["loc"] == ["body", "inspections", 6, "hazards", 1, "id"]
    assert by_index[7]["detail"] == f"hazard {good['hazards'][0]['id']} already exists"
    assert by_index[11]["detail"][0]["loc"] == ["body", "inspections", 11, "campaign_id"]
    assert by_index[12]["detail"][0]["loc"] == ["body", "inspections", 12, "inspected_at"]
    assert (out["stored"], out["already_stored"], out["conflicts"], out["refused"]) == (2, 2, 4, 6)

    # Only the stored items' rows exist; nothing of a refused or conflicting one.
    assert stored_ids(session, "inspections") == {before["id"], good["id"], good_a2["id"]}
    assert stored_ids(session, "hazards") == {
        h["id"] for ins in (before, good, good_a2) for h in ins["hazards"]
    }
    stored = client.get(f"/api/v1/inspections/{good['id']}", headers=world["inspector"]).json()
    assert stored["note"] is None and len(stored["hazards"]) == 2


class _AnyMsg:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and bool(other)


ANY_MSG = _AnyMsg()


def test_replaying_a_batch_stores_nothing_new(client, world, session):
    batch = [
        inspection_body(world["unit"], hazards=[hazard_body(), hazard_body("on_the_spot")])
        for _ in range(25)
    ]
    batch.append(inspection_body(world["unit"], hazards=[hazard_body(category="nonsense")]))
    first = sync(client, world, batch)
    assert (first["stored"], first["refused"]) == (25, 1)
    counts = {t: count(session, t) for t in ("inspections", "hazards", "metric_marks")}
    again = sync(client, world, batch)
    assert [x["result"] for x in again["results"]] == ["already_stored"] * 25 + ["refused"]
    assert {t: count(session, t) for t in counts} == counts  # no rows, and no marks, added


def test_one_mark_per_touched_bucket(client, world, session):
    batch = [
        # 00:30 on 1 October in +08:00 is still 30 September in UTC: the October bucket.
        inspection_body(world["unit"], "2026-10-01T00:30:00+08:00", hazards=[hazard_body()]),
        inspection_body(
            world["unit"],
            "2026-10-20T10:00:00+08:00",
            hazards=[hazard_body(deadline="2026-11-01T00:00:00+08:00")],
        ),
        inspection_body(world["unit"], "2026-09-30T23:59:00+08:00", hazards=[]),
        inspection_body(world["unit_a2"], "2026-09-30T16:00:00Z", hazards=[hazard_body()]),
        inspection_body(world["unit_a2"], "2026-09-30T15:59:59Z", hazards=[]),
    ]
    assert sync(client, world, batch)["stored"] == 5
    marks = session.execute(text("SELECT region_code, month FROM metric_marks")).all()
    buckets = {
        (VILLAGE_A1, date(2026, 10, 1)),
        (VILLAGE_A1, date(2026, 9, 1)),
        (VILLAGE_A2, date(2026, 10, 1)),  # 16:00Z is midnight in +08:00
        (VILLAGE_A2, date(2026, 9, 1)),
    }
    assert sorted(marks) == sorted(buckets)  # each once


def test_periods_near_a_month_boundary_in_local_time(client, world, session):
    cases = {
        "2026-10-01T00:30:00+08:00": date(2026, 10, 1),
        "2026-09-30T23:59:59+08:00": date(2026, 9, 1),
        "2026-09-30T16:00:00Z": date(2026, 10, 1),
        "2026-09-30T15:59:59Z": date(2026, 9, 1),
        "2025-12-31T16:30:00-00:00": date(2026, 1, 1),
    }
    batch = [
        inspection_body(
            world["unit"],
            at,
            hazards=[hazard_body(deadline="2027-02-01T00:00:00+08:00")],
        )
        for at in cases
    ]
    out = sync(client, world, batch)
    assert out["stored"] == len(cases)
    for body, month in zip(batch, cases.values(), strict=True):
        inspected_month, found_month = session.execute(
            text(
                "SELECT i.inspected_month, h.found_month FROM inspections i "
                "JOIN hazards h ON h.inspection_id = i.id WHERE i.id = :id"
            ),
            {"id": body["id"]},
        ).one()
        assert (inspected_month, found_month) == (month, month), body["inspected_at"]


def test_bulk_rows_equal_the_single_path_rows(client, world, session):
    """The same content written by POST /inspections (one INSERT) and by a large batch (COPY)
    gives the same columns, periods included."""
    plan = {"goal": "整改", "measures": "更换", "time_limit": "2026-12-31"}

    def hazards():
        return [
            hazard_body(),
            hazard_body("on_the_spot", category="e_bike", description="电动车室内充电"),
            hazard_body(level="major", governance_plan=plan, location=None),
        ]

    extra = {"departments": ["县消防救援大队"], "notice_number": "东应急改〔2026〕1号"}
    single = inspection_body(world["unit"], "2026-10-01T00:30:00+08:00", hazards(), **extra)
    r = client.post("/api/v1/inspections", json=single, headers=world["inspector"])
    assert r.status_code == 201, r.text
    twin = inspection_body(world["unit"], "2026-10-01T00:30:00+08:00", hazards(), **extra)
    batch = [twin] + [
        inspection_body(world["unit"], hazards=[hazard_body(), hazard_body()]) for _ in range(20)
    ]
    assert len(batch) * 3 > inspection_service.COPY_FROM_ROWS  # the COPY path
    assert sync(client, world, batch)["stored"] == len(batch)

    skip = {"id", "inspection_id", "received_at", "request_hash"}

    def rows(table, where, params):
        result = session.execute(text(f"SELECT * FROM {table} WHERE {where}"), params)
        return sorted(
            ({k: v for k, v in m.items() if k not in skip} for m in result.mappings()),
            key=lambda m: (m["category"], m["level"]) if "category" in m else 0,
        )

    assert rows("inspections", "id = :id", {"id": single["id"]}) == rows(
        "inspections", "id = :id", {"id": twin["id"]}
    )
    one = rows("hazards", "inspection_id = :id", {"id": single["id"]})
    bulk = rows("hazards", "inspection_id = :id", {"id": twin["id"]})
    assert one == bulk and len(one) == 3
    assert one[0]["found_month"] == date(2026, 10, 1)
    # And the API reads them back alike.
    a = client.get(f"/api/v1/inspections/{single['id']}", headers=world["inspector"]).json()
    b = client.get(f"/api/v1/inspections/{twin['id']}", headers=world["inspector"]).json()
    assert a["hazards"][0]["period"] == b["hazards"][0]["period"] == "2026Q4"
    assert {(h["category"], h["level"]): h["governance_plan"] for h in a["hazards"]} == {
        (h["category"], h["level"]): h["governance_plan"] for h in b["hazards"]
    }


@pytest.mark.parametrize("size", [1, 20], ids=["insert", "copy"])
def test_a_write_that_races_another_upload_falls_back_to_one_by_one(
    client, world, session, monkeypatch, size
):
    """Another phone stores an item between the batch's check and its write: the unique
    violation undoes the bulk write and the items are applied one by one instead."""
    from services import sync as sync_service

    raced = inspection_body(world["unit"], hazards=[hazard_body()])
    fresh = [
        inspection_body(world["unit"], hazards=[hazard_body(), hazard_body()]) for _ in range(size)
    ]
    assert (
        client.post("/api/v1/inspections", json=raced, headers=world["inspector"]).status_code
        == 201
    )
    real = sync_service.load_known

    def blind(session_, items):  # as if read before the other upload committed
        known = real(session_, items)
        known.inspections.clear()
        known.hazard_ids.clear()
        return known

    monkeypatch.setattr(sync_service, "load_known", blind)
    out = sync(client, world, [*fresh, raced])
    assert [x["result"] for x in out["results"]] == ["stored"] * size + ["already_stored"]
    assert count(session, "inspections") == size + 1
    assert count(session, "hazards") == 2 * size + 1
