"""Times, dates and periods outside the years a record can have are 422 naming the field.

Each of these was a 500 (found in review, session 14): Python's dates overflowed in the
arithmetic the value met (the local month of year 1, the end of the deadline day 9999-12-31,
the quarter after 9999Q4), and a deadline whose offset took it past year 9999 in UTC was even
stored, after which every list showing that hazard failed. A time without its offset that
happened to be midnight was read as a date, a deadline almost a day later than sent.
"""

from __future__ import annotations

import io
import zipfile

import pytest
from sqlalchemy import func, select

from services.db import unit_of_work
from services.models import Hazard, Inspection, Unit
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


@pytest.fixture
def world(client):
    make_region_tree()
    return {"unit": make_unit(VILLAGE_A1), "headers": login_as(client, "township", TOWN_A)}


def _stored() -> tuple[int, int]:
    with unit_of_work() as session:
        return (
            session.scalar(select(func.count()).select_from(Inspection)),
            session.scalar(select(func.count()).select_from(Hazard)),
        )


def _names(r, *path) -> None:
    assert r.status_code == 422, r.text
    locs = [e["loc"] for e in r.json()["detail"]]
    assert any(list(path) == loc[: len(path)] for loc in locs), locs


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("deadline", "9999-12-31"),
        ("deadline", "9999-12-31T23:00:00-12:00"),  # year 10000 in UTC
        ("deadline", "0001-01-01"),
        ("deadline", "2026-10-15T00:00:00"),  # no offset: not the date 2026-10-15
        ("inspected_at", "0001-01-01T00:00:00+08:00"),
        ("inspected_at", "1899-12-31T23:59:59+08:00"),
    ],
)
def test_a_time_outside_the_years_or_without_offset_is_422_and_nothing_is_stored(
    client, world, where, value
):
    hazard = hazard_body()
    body = inspection_body(world["unit"], hazards=[hazard])
    if where == "deadline":
        hazard["deadline"] = value
        path = ["body", "hazards", 0, "deadline"]
    else:
        body["inspected_at"] = value
        path = ["body", "inspected_at"]
    r = client.post("/api/v1/inspections", json=body, headers=world["headers"])
    _names(r, *path)
    assert _stored() == (0, 0)
    assert client.get("/api/v1/hazards", headers=world["headers"]).status_code == 200


def test_the_edges_of_the_years_are_taken(client, world):
    hazard = hazard_body(deadline="2099-12-31")
    body = inspection_body(
        world["unit"], inspected_at="2026-10-01T08:00:00+08:00", hazards=[hazard]
    )
    r = client.post("/api/v1/inspections", json=body, headers=world["headers"])
    assert r.status_code == 201, r.text
    assert r.json()["hazards"][0]["deadline"] == "2099-12-31T23:59:59.999999+08:00"


def test_sync_refuses_the_item_with_a_bad_time_and_stores_the_others(client, world):
    good = inspection_body(world["unit"], hazards=[hazard_body()])
    bad = inspection_body(world["unit"], hazards=[hazard_body(deadline="9999-12-31")])
    r = client.post("/api/v1/sync", json={"inspections": [bad, good]}, headers=world["headers"])
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["result"] for x in results] == ["refused", "stored"]
    assert results[0]["detail"][0]["loc"] == ["body", "inspections", 0, "hazards", 0, "deadline"]
    assert _stored() == (1, 1)


def test_an_extend_to_a_deadline_outside_the_years_is_422(client, world):
    hazard = hazard_body()
    body = inspection_body(world["unit"], hazards=[hazard])
    assert (
        client.post("/api/v1/inspections", json=body, headers=world["headers"]).status_code == 201
    )
    event = event_body("extend", "2026-10-02T09:00:00+08:00", deadline="9999-12-31")
    r = client.post(f"/api/v1/hazards/{hazard['id']}/events", json=event, headers=world["headers"])
    _names(r, "body", "deadline")


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/metrics?period=0000", "period"),
        ("/api/v1/metrics?period=9999Q4", "period"),
        ("/api/v1/self-reports?quarter=9999Q4", "quarter"),
        ("/api/v1/self-reports?quarter=0000Q1", "quarter"),
        ("/api/v1/hazards?found_from=0001-01-01T00:00:00%2B08:00", "found_from"),
        ("/api/v1/reports/summary?period=0000H1", "period"),
        ("/api/v1/reports/summary?period=9999H2", "period"),
    ],
)
def test_a_period_or_filter_outside_the_years_is_422_naming_it(client, world, path, field):
    r = client.get(path, headers=world["headers"])
    assert r.status_code == 422, r.text
    assert field in str(r.json()["detail"])


def test_a_self_report_for_a_quarter_or_finding_outside_the_years_is_422(client, world):
    headers = world["headers"]
    unit = world["unit"]
    r = client.put(
        f"/api/v1/units/{unit}/self-reports/0000Q1", json={"hazards": []}, headers=headers
    )
    assert r.status_code == 422, r.text
    hazard = {**hazard_body(), "found_at": "0001-01-01T00:00:00+08:00"}
    r = client.put(
        f"/api/v1/units/{unit}/self-reports/2026Q3", json={"hazards": [hazard]}, headers=headers
    )
    _names(r, "body", "hazards", 0, "found_at")


def test_a_unit_date_outside_the_years_is_422_and_so_is_an_imported_one(client, world):
    headers = world["headers"]
    r = client.patch(
        f"/api/v1/units/{world['unit']}",
        json={"status": "closed", "status_since": "0001-01-01"},
        headers=headers,
    )
    _names(r, "body", "status_since")
    head = "name,region_code,kind,key_supervision,reporting_required,operating_since"
    csv = f"{head}\n甲厂,{VILLAGE_A1},shop,0,1,0001-01-01\n乙厂,{VILLAGE_A1},shop,0,1,2020-01-31\n"
    r = client.post(
        "/api/v1/units/import",
        files={"file": ("units.csv", csv.encode(), "text/csv")},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["created"], report["rejected"]) == (1, 1), report
    assert "1900-2099" in str(report["rows"]), report


def _xlsx_with(part: str, broken: bytes) -> bytes:
    """A real workbook (openpyxl) with one of its XML parts replaced by broken XML."""
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["单位名称", "区划代码"])
    book.active.append(["甲厂", VILLAGE_A1])
    good = io.BytesIO()
    book.save(good)
    out = io.BytesIO()
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, broken if item.filename == part else src.read(item.filename))
    return out.getvalue()


@pytest.mark.parametrize("part", ["xl/worksheets/sheet1.xml", "xl/workbook.xml", "xl/styles.xml"])
def test_a_workbook_with_broken_xml_is_422_naming_the_file(client, world, part):
    content = _xlsx_with(part, b"<worksheet><sheetData><row>")
    r = client.post(
        "/api/v1/units/import",
        files={"file": ("units.xlsx", content, "application/octet-stream")},
        headers=world["headers"],
    )
    _names(r, "body", "file")
    with unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(Unit)) == 1  # only world's


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/v1/hazards?category=%00", "category"),
        ("/api/v1/inspections?kind=a%00b&limit=5", "kind"),
        ("/api/v1/metrics?period=2026Q3&region=%00", "region"),
    ],
)
def test_a_nul_in_a_query_parameter_is_422_naming_it(client, world, path, name):
    r = client.get(path, headers=world["headers"])
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["query", name]


def test_a_region_put_under_a_missing_parent_names_the_path(client, world):
    admin = login_as(client, "admin")
    r = client.put("/api/v1/regions/440102001000", json={"name": "某镇"}, headers=admin)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["path", "code"]


def test_the_region_list_pages_like_every_list(client, world):
    county = login_as(client, "county", COUNTY)
    assert client.get("/api/v1/regions?limit=501", headers=county).status_code == 422
    first = client.get("/api/v1/regions?limit=2", headers=county).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = client.get(
        "/api/v1/regions", params={"limit": 500, "cursor": first["next_cursor"]}, headers=county
    ).json()
    everything = client.get("/api/v1/regions", headers=county).json()
    assert everything["next_cursor"] is None
    assert [r["code"] for r in first["items"] + rest["items"]] == [
        r["code"] for r in everything["items"]
    ]
