"""Stored text with a control character still makes a DOCX summary and an XLSX export.

A vertical tab (\\x0b), common in text pasted from a spreadsheet, is accepted on input; python-docx
and openpyxl refuse it, and both documents were a 500 (found in review, session 14). The
documents now drop such characters; the text itself is kept as sent.
"""

from __future__ import annotations

import io

from docx import Document
from openpyxl import load_workbook

from tests.builders import (
    COUNTY,
    TOWN_A,
    VILLAGE_A1,
    hazard_body,
    inspection_body,
    login_as,
    make_region_tree,
    make_unit,
)


def test_a_description_with_a_control_character_still_makes_the_docx(client):
    make_region_tree()
    unit = make_unit(VILLAGE_A1)
    town = login_as(client, "township", TOWN_A)
    hazard = hazard_body(
        level="major", description="配电箱\x0b线路老化", deadline="2026-10-30T18:00:00+08:00"
    )
    body = inspection_body(unit, "2026-10-20T10:00:00+08:00", hazards=[hazard])
    assert client.post("/api/v1/inspections", json=body, headers=town).status_code == 201
    r = client.get(f"/api/v1/hazards/{hazard['id']}", headers=town)
    assert r.json()["description"] == "配电箱\x0b线路老化"  # stored as sent

    county = login_as(client, "county", COUNTY)
    r = client.get("/api/v1/reports/summary?period=2026Q4&format=docx", headers=county)
    assert r.status_code == 200, r.text
    text = "\n".join(
        cell.text
        for table in Document(io.BytesIO(r.content)).tables
        for row in table.rows
        for cell in row.cells
    )
    assert "配电箱线路老化" in text


def test_a_region_name_with_a_control_character_still_makes_the_xlsx(client):
    make_region_tree()
    admin = login_as(client, "admin", None)
    r = client.put(f"/api/v1/regions/{TOWN_A}", json={"name": "东\x0b镇"}, headers=admin)
    assert r.status_code in (200, 201), r.text
    county = login_as(client, "county", COUNTY)
    r = client.get("/api/v1/metrics/export?period=2026Q4&format=xlsx", headers=county)
    assert r.status_code == 200, r.text
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert "东镇" in [row[1] for row in sheet.iter_rows(values_only=True)]
