"""GET /api/v1/reports/summary: staff only, region-scoped, Markdown or DOCX."""

from __future__ import annotations

import io

from tests.builders import login_as
from tests.summary.demo_data import CHENGGUAN, COUNTY, load_demo_with_figures

URL = "/api/v1/reports/summary"


def test_summary_as_markdown_and_docx_scoped_to_the_callers_region(client):
    from docx import Document

    load_demo_with_figures()
    county = login_as(client, "county", COUNTY)
    r = client.get(URL, params={"period": "2026Q3"}, headers=county)  # default: own region
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/markdown")
    assert "summary-330188000000-2026Q3.md" in r.headers["content-disposition"]
    text = r.text
    assert text.startswith("# 示范县2026年第三季度安全生产工作总结")
    figures = client.get(
        "/api/v1/metrics", params={"period": "2026Q3", "region": COUNTY}, headers=county
    ).json()["metrics"]
    assert f"排查出隐患{figures['hazards_found']['count']}条" in text
    rr = figures["rectification_rate"]
    assert f"（{rr['numerator']}/{rr['denominator']}）" in text

    r = client.get(
        URL, params={"period": "2026H1", "region": CHENGGUAN, "format": "docx"}, headers=county
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    doc = Document(io.BytesIO(r.content))
    assert doc.paragraphs[0].text == "城关街道2026年上半年安全生产工作总结"

    township = login_as(client, "township", CHENGGUAN)
    assert client.get(URL, params={"period": "2026Q3"}, headers=township).status_code == 200
    other = client.get(URL, params={"period": "2026Q3", "region": "330188002000"}, headers=township)
    assert other.status_code == 404
    unknown = client.get(URL, params={"period": "2026Q3", "region": "330188009000"}, headers=county)
    assert unknown.status_code == 404


def test_summary_refuses_bad_input_and_the_wrong_callers(client):
    load_demo_with_figures()
    county = login_as(client, "county", COUNTY)
    for params in (
        {"period": "2026-05"},
        {"period": "2026Q5"},
        {"period": "2026Q3", "format": "pdfx"},
        {"period": "2026Q3", "region": "33"},
        {"period": "2026", "view": "frozen"},
    ):
        r = client.get(URL, params=params, headers=county)
        assert r.status_code == 422, (params, r.text)
    # Frozen figures for a quarter not frozen: 404, as the metrics API says.
    assert (
        client.get(URL, params={"period": "2026Q3", "view": "frozen"}, headers=county).status_code
        == 404
    )
    assert client.get(URL, params={"period": "2026Q3"}).status_code == 401
    unit_header = login_as(client, "unit", CHENGGUAN[:9] + "001", unit_id=_any_unit())
    assert client.get(URL, params={"period": "2026Q3"}, headers=unit_header).status_code == 403


def _any_unit():
    from sqlalchemy import select

    from services.db import unit_of_work
    from services.models import Unit

    with unit_of_work() as s:
        return s.scalar(select(Unit.id).where(Unit.region_code == "330188001001").limit(1))
