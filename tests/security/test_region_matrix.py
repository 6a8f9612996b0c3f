"""Region matrix: every endpoint that takes an id or a region, called from inside and outside.

Township A owns a set of records (a unit, an inspection with a hazard, a photo, a campaign, a
self-report, a user, a task); township B owns the same. For every endpoint:

- another township gets 404 (not 403: ids do not leak) and nothing changes;
- the owner's township and the county above both get 200;
- a unit user sees its own unit and nothing else, not even a neighbour in the same village;
- lists filtered to another township's region are 404, unfiltered lists hold only what the
  caller may see.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import text

from services import regions
from services.db import get_engine, unit_of_work
from tests.builders import (
    COUNTY,
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
    make_user,
    token,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
QUARTER = "2026Q3"
OTHER_COUNTY = "330103000000"
OTHER_TOWN = "330103001000"


@dataclass
class Side:
    """The records of one township."""

    headers: dict[str, str]
    unit: str
    neighbour: str  # another unit in the same village
    inspection: str
    hazard: str
    neighbour_hazard: str
    photo: str
    campaign: str
    user: str
    task: str


def _side(client, county: dict, town: str, village: str, name: str) -> Side:
    unit, neighbour = str(make_unit(village)), str(make_unit(village))
    headers = login_as(client, "township", town)
    hazard, neighbour_hazard = hazard_body(), hazard_body()
    inspection = inspection_body(uuid.UUID(unit), hazards=[hazard])
    for body in (inspection, inspection_body(uuid.UUID(neighbour), hazards=[neighbour_hazard])):
        r = client.post("/api/v1/inspections", json=body, headers=headers)
        assert r.status_code == 201, r.text
    photo = str(uuid.uuid4())
    r = client.post(
        f"/api/v1/hazards/{hazard['id']}/photos",
        data={"id": photo},
        files={"file": ("x.png", PNG, "image/png")},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    campaign = {
        "id": str(uuid.uuid4()),
        "name": f"{name}专项检查",
        "region_code": town,
        "starts_on": "2026-09-01",
        "ends_on": "2026-09-30",
    }
    r = client.post("/api/v1/campaigns", json=campaign, headers=county)
    assert r.status_code == 201, r.text
    r = client.put(
        f"/api/v1/units/{unit}/self-reports/{QUARTER}", json={"zero_hazard": True}, headers=headers
    )
    assert r.status_code in (200, 201), r.text
    user = str(make_user(f"staff-{name}", "inspector", town))
    r = client.post("/api/v1/metrics/recompute", json={"region": town}, headers=headers)
    assert r.status_code == 202, r.text
    return Side(
        headers=headers,
        unit=unit,
        neighbour=neighbour,
        inspection=inspection["id"],
        hazard=hazard["id"],
        neighbour_hazard=neighbour_hazard["id"],
        photo=photo,
        campaign=campaign["id"],
        user=user,
        task=r.json()["task_id"],
    )


@pytest.fixture
def world(client):
    make_region_tree()
    with unit_of_work() as s:
        regions.put_region(s, code=OTHER_COUNTY, name="邻县")
        regions.put_region(s, code=OTHER_TOWN, name="邻镇")
    county = login_as(client, "county", COUNTY)
    a = _side(client, county, TOWN_A, VILLAGE_A1, "A")
    b = _side(client, county, TOWN_B, VILLAGE_B1, "B")
    make_user("unit-a", "unit", VILLAGE_A1, unit_id=uuid.UUID(a.unit))
    return {
        "A": a,
        "B": b,
        "county": county,
        "other_county": login_as(client, "county", OTHER_COUNTY),
        "unit": token(client, "unit-a"),
    }


# Reads: (path with fields of a Side and {town}, may a unit user of A's unit read A's?)
READS = [
    ("/api/v1/units/{unit}", True),
    ("/api/v1/inspections/{inspection}", True),
    ("/api/v1/hazards/{hazard}", True),
    ("/api/v1/hazards/{hazard}/photos/{photo}", True),
    ("/api/v1/units/{unit}/self-reports/" + QUARTER, True),
    ("/api/v1/campaigns/{campaign}", None),
    ("/api/v1/users/{user}", False),
    ("/api/v1/tasks/{task}", False),
    ("/api/v1/regions/{town}", None),
    ("/api/v1/regions?parent={town}", None),
    ("/api/v1/units?region={town}", None),
    ("/api/v1/inspections?region={town}", None),
    ("/api/v1/hazards?region={town}", None),
    ("/api/v1/campaigns?region={town}", None),
    ("/api/v1/self-reports?quarter=" + QUARTER + "&region={town}", False),
    ("/api/v1/metrics?period=" + QUARTER + "&region={town}", False),
    ("/api/v1/metrics/breakdown?period=" + QUARTER + "&region={town}", False),
    ("/api/v1/metrics/series?from=2026Q1&to=2026Q3&region={town}", False),
    ("/api/v1/metrics/members?period=" + QUARTER + "&metric=hazards_found&region={town}", False),
    ("/api/v1/metrics/flags?period=" + QUARTER + "&region={town}", False),
    ("/api/v1/metrics/export?period=" + QUARTER + "&region={town}", False),
]


def _fill(path: str, side: Side, town: str) -> str:
    return path.format(town=town, **side.__dict__)


@pytest.mark.parametrize("path,unit_reads", READS, ids=[p for p, _ in READS])
def test_read_is_404_for_another_township_and_200_for_owner_and_county(
    client, world, path, unit_reads
):
    for owner, other, town in (("A", "B", TOWN_A), ("B", "A", TOWN_B)):
        url = _fill(path, world[owner], town)
        assert client.get(url, headers=world[owner].headers).status_code == 200, url
        assert client.get(url, headers=world["county"]).status_code == 200, url
        r = client.get(url, headers=world[other].headers)
        assert r.status_code == 404, (url, r.status_code, r.text)
        if "{user}" not in path:  # a county above neither side sees neither side's records
            r = client.get(url, headers=world["other_county"])
            assert r.status_code == 404, (url, r.status_code, r.text)
    # A unit user: its own unit's records when the role may read them at all, never B's.
    if unit_reads is not None:
        own = client.get(_fill(path, world["A"], TOWN_A), headers=world["unit"])
        expected = (200,) if unit_reads else (403, 404)
        assert own.status_code in expected, (path, own.status_code, own.text)
    r = client.get(_fill(path, world["B"], TOWN_B), headers=world["unit"])
    assert r.status_code in (403, 404), (path, r.status_code)


NEIGHBOUR_READS = [
    "/api/v1/units/{neighbour}",
    "/api/v1/hazards/{neighbour_hazard}",
    "/api/v1/units/{neighbour}/self-reports/" + QUARTER,
]


@pytest.mark.parametrize("path", NEIGHBOUR_READS)
def test_unit_user_does_not_see_its_neighbour(client, world, path):
    """A unit sees only itself, even another unit in its own village."""
    url = _fill(path, world["A"], TOWN_A)
    assert client.get(url, headers=world["A"].headers).status_code in (200, 404)
    assert client.get(url, headers=world["unit"]).status_code == 404


def _event(side: Side) -> dict:
    return event_body("verify", "2026-10-02T09:00:00+08:00")


# Writes by another township: (method, path, body factory or None for a photo upload)
WRITES = [
    ("PATCH", "/api/v1/units/{unit}", lambda s: {"address": "改了"}),
    ("PATCH", "/api/v1/hazards/{hazard}", lambda s: {"governance_plan": {"funds": "1万元"}}),
    ("POST", "/api/v1/hazards/{hazard}/events", _event),
    ("POST", "/api/v1/hazards/{hazard}/photos", None),
    ("PUT", "/api/v1/units/{unit}/self-reports/" + QUARTER, lambda s: {"zero_hazard": False}),
    ("PATCH", "/api/v1/users/{user}", lambda s: {"active": False}),
    ("POST", "/api/v1/metrics/recompute", lambda s: {"region": s.unit and "{town}"}),
]


@pytest.mark.parametrize("method,path,body", WRITES, ids=[f"{m} {p}" for m, p, _ in WRITES])
def test_write_from_another_township_is_404_and_changes_nothing(client, world, method, path, body):
    a, b = world["A"], world["B"]
    url = _fill(path, a, TOWN_A)
    before = _fingerprint()
    if body is None:
        r = client.post(
            url,
            data={"id": str(uuid.uuid4())},
            files={"file": ("x.png", PNG, "image/png")},
            headers=b.headers,
        )
    else:
        payload = body(a)
        if payload.get("region") == "{town}":
            payload["region"] = TOWN_A
        r = client.request(method, url, json=payload, headers=b.headers)
    assert r.status_code == 404, (method, url, r.status_code, r.text)
    assert _fingerprint() == before


# Tables a refused write must leave alone (not the login and token tables).
WATCHED = [
    "audit_log", "units", "unit_status_changes", "users", "inspections", "hazards",
    "hazard_events", "photos", "self_reports", "self_report_versions", "task_runs",
    "metric_marks", "campaigns",
]  # fmt: skip


def _fingerprint() -> dict[str, str]:
    with get_engine().connect() as conn:
        return {
            t: conn.execute(
                text(
                    f"SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM {t} x"
                )
            ).scalar_one()
            for t in WATCHED
        }


def test_creating_in_another_township_is_refused(client, world):
    a, b = world["A"], world["B"]
    r = client.post(
        "/api/v1/inspections", json=inspection_body(uuid.UUID(a.unit)), headers=b.headers
    )
    assert r.status_code in (404, 422), r.text
    unit = {
        "name": "越界单位",
        "region_code": VILLAGE_A1,
        "kind": "shop",
        "key_supervision": False,
        "reporting_required": True,
        "status": "operating",
    }
    assert client.post("/api/v1/units", json=unit, headers=b.headers).status_code in (404, 422)
    user = {"username": "intruder", "password": "long-enough-1", "role": "inspector"}
    r = client.post("/api/v1/users", json={**user, "region_code": TOWN_A}, headers=b.headers)
    assert r.status_code in (403, 404, 422), r.text
    sync = {"events": [{**_event(a), "hazard_id": a.hazard}]}
    r = client.post("/api/v1/sync", json=sync, headers=b.headers)
    assert r.status_code == 200 and r.json()["results"][0]["result"] == "refused", r.text
    listed = client.get(f"/api/v1/units?region={TOWN_A}", headers=a.headers).json()["items"]
    assert {u["name"] for u in listed}.isdisjoint({"越界单位"})
    assert client.get(f"/api/v1/hazards/{a.hazard}", headers=a.headers).json()["status"] == (
        "reported"
    )


# Lists without a region filter: (path, field holding the id, Side field it must match)
LISTS = [
    ("/api/v1/units", "id", ("unit", "neighbour")),
    ("/api/v1/inspections", "id", ("inspection",)),
    ("/api/v1/hazards", "id", ("hazard", "neighbour_hazard")),
    ("/api/v1/campaigns", "id", ("campaign",)),
    ("/api/v1/self-reports?quarter=" + QUARTER + "&filed=true", "unit_id", ("unit",)),
]


def _ids(client, path: str, headers: dict, field: str) -> set[str]:
    sep = "&" if "?" in path else "?"
    r = client.get(f"{path}{sep}limit=500", headers=headers)
    assert r.status_code == 200, (path, r.text)
    return {str(item[field]) for item in r.json()["items"]}


@pytest.mark.parametrize("path,field,owned", LISTS, ids=[p for p, _, _ in LISTS])
def test_lists_hold_only_what_the_caller_may_see(client, world, path, field, owned):
    a, b = world["A"], world["B"]
    of_a = {getattr(a, f) for f in owned}
    of_b = {getattr(b, f) for f in owned}
    assert of_a <= _ids(client, path, a.headers, field)
    assert not of_b & _ids(client, path, a.headers, field)
    assert of_b <= _ids(client, path, b.headers, field)
    assert not of_a & _ids(client, path, b.headers, field)
    assert of_a | of_b <= _ids(client, path, world["county"], field)
    assert not (of_a | of_b) & _ids(client, path, world["other_county"], field)


def test_unit_user_lists_only_itself(client, world):
    a = world["A"]
    assert _ids(client, "/api/v1/units", world["unit"], "id") == {a.unit}
    assert _ids(client, "/api/v1/hazards", world["unit"], "id") == {a.hazard}
    assert _ids(client, "/api/v1/inspections", world["unit"], "id") <= {a.inspection}
    me = client.get("/api/v1/users/me", headers=world["unit"]).json()
    assert me["unit_id"] == a.unit


def test_users_list_is_scoped(client, world):
    a, b = world["A"], world["B"]
    assert a.user in _ids(client, "/api/v1/users", a.headers, "id")
    assert b.user not in _ids(client, "/api/v1/users", a.headers, "id")
    assert {a.user, b.user} <= _ids(client, "/api/v1/users", world["county"], "id")


def test_audit_is_for_admins_and_the_county_above(client, world):
    a = world["A"]
    r = client.patch(f"/api/v1/units/{a.unit}", json={"address": "新地址"}, headers=a.headers)
    assert r.status_code == 200, r.text
    path = f"/api/v1/audit?entity_id={a.unit}"
    assert client.get(path, headers=a.headers).status_code == 403
    assert client.get(path, headers=world["unit"]).status_code == 403
    assert client.get(path, headers=world["county"]).json()["items"]
    assert client.get(path, headers=world["other_county"]).json()["items"] == []
    # Nobody may write it: the API has no write operation on the audit trail.
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        r = client.request(method, "/api/v1/audit", json={}, headers=world["county"])
        assert r.status_code == 405, (method, r.status_code)
