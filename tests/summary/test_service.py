"""The summary's figures agree with the figures API and add up, and read as the offices write."""

from __future__ import annotations

import io

import pytest

from services import summary
from services.actors import SYSTEM, Actor
from services.db import unit_of_work
from services.errors import Invalid, NotFound
from services.metrics import read
from tests.summary.demo_data import CHENGGUAN, COUNTY, load_demo_with_figures


def _build(period: str, region: str = COUNTY, actor: Actor = SYSTEM, **kw) -> summary.Summary:
    with unit_of_work() as s:
        return summary.build(s, actor=actor, region=region, period=period, **kw)


def _api_figures(period: str, region: str = COUNTY) -> dict:
    with unit_of_work() as s:
        scope = read.resolve(s, actor=SYSTEM, region=region, period=period)
        return read.figures(s, scope)


def test_periods_parse_and_read_in_chinese():
    assert summary.period_label(summary.parse_summary_period("2026Q3")) == "2026年第三季度"
    assert summary.period_label(summary.parse_summary_period("2026H1")) == "2026年上半年"
    assert summary.period_label(summary.parse_summary_period("2026H2")) == "2026年下半年"
    assert summary.period_label(summary.parse_summary_period("2026")) == "2026年度"
    half = summary.parse_summary_period("2026H2")
    assert [q.key for q in half.quarters()] == ["2026Q3", "2026Q4"] and half.key == "2026H2"
    for bad in ("2026-05", "2026H3", "26Q1", ""):
        with pytest.raises(Invalid):
            summary.parse_summary_period(bad)


def test_rates_are_written_with_their_parts_and_null_is_a_dash():
    assert summary.pct({"numerator": 1, "denominator": 1, "value": 1.0}) == "100%"
    assert summary.pct({"numerator": 61, "denominator": 63, "value": 61 / 63}) == "96.8%"
    assert summary.pct({"numerator": 0, "denominator": 0, "value": None}) == "—"
    assert summary.pct_parts({"numerator": 1, "denominator": 2, "value": 0.5}) == "50%（1/2）"


def test_quarter_summary_matches_the_figures_api_and_adds_up():
    load_demo_with_figures()
    s = _build("2026Q3", progress=lambda _m: None)
    api = _api_figures("2026Q3")
    assert s.total.counts == api["counts"]
    m = s.total.metrics
    assert m == api["metrics"]
    # The handling split covers every hazard found, and the townships add up to the county.
    assert s.total.on_the_spot + s.total.under_notice == m["hazards_found"]["count"] > 0
    assert [p.code for p in s.parts] == ["330188001000", "330188002000", "330188003000"]
    for name in ("found_general", "found_major", "closed_general", "reports_filed"):
        assert sum(p.counts[name] for p in s.parts) == s.total.counts[name]
    assert sum(p.on_the_spot for p in s.parts) == s.total.on_the_spot
    assert sum(sum(p.inspections_by_kind.values()) for p in s.parts) == m["inspections"]["count"]
    township = _api_figures("2026Q3", CHENGGUAN)
    assert s.parts[0].counts == township["counts"]
    assert s.overdue_total == m["overdue_hazards"]["count"] == len(s.overdue)
    assert s.major_total == s.total.counts["found_major"] == len(s.major)

    text = summary.render(s, "md").decode()
    assert text.startswith("# 示范县2026年第三季度安全生产工作总结")
    found, spot, notice = m["hazards_found"]["count"], s.total.on_the_spot, s.total.under_notice
    assert (
        f"共检查生产经营单位{m['units_inspected']['count']}个（{m['inspections']['count']}家次）"
        in text
    )
    assert f"排查出隐患{found}条" in text
    assert f"其中当场整改{spot}条，书面责令限期整改{notice}条" in text
    assert f"隐患整改率{summary.pct(m['rectification_rate'])}" in text
    assert f"季报率{summary.pct(m['reporting_rate'])}" in text
    assert "自主报送率" in text and "零隐患率" in text
    # One table row per township and a total, with numerator/denominator.
    rr = m["rectification_rate"]
    assert f"| 合计 | {m['units_inspected']['count']} |" in text
    assert f"（{rr['numerator']}/{rr['denominator']}）" in text
    for part in s.parts:
        assert f"| {part.name} |" in text
    for hazard in s.overdue:
        assert hazard["unit_name"] in text


def test_half_year_sums_its_quarters_and_counts_units_once():
    load_demo_with_figures()
    half = _build("2026H1")
    q1, q2 = _api_figures("2026Q1"), _api_figures("2026Q2")
    for name in (
        "found_general",
        "closed_general",
        "inspections",
        "required_units",
        "reports_filed",
    ):
        assert half.total.counts[name] == q1["counts"][name] + q2["counts"][name]
    inspected = half.total.counts["units_inspected"]
    assert max(q1["counts"]["units_inspected"], q2["counts"]["units_inspected"]) <= inspected
    assert inspected <= q1["counts"]["units_inspected"] + q2["counts"]["units_inspected"]
    assert sum(p.counts["units_inspected"] for p in half.parts) == inspected
    text = summary.render(half, "md").decode()
    assert "2026年上半年2个季度合计" in text and "家（次）" in text


def test_year_summary_uses_the_year_figures():
    load_demo_with_figures()
    year = _build("2026")
    assert year.total.counts == _api_figures("2026")["counts"]


def test_township_summary_has_a_row_per_village():
    load_demo_with_figures()
    s = _build("2026Q3", region=CHENGGUAN)
    assert s.total.counts == _api_figures("2026Q3", CHENGGUAN)["counts"]
    text = summary.render(s, "md").decode()
    assert "各村（社区）情况" in text and "东门社区" in text and "本辖区" in text


def test_empty_quarter_reads_sensibly():
    load_demo_with_figures()
    text = summary.render(_build("2020Q1"), "md").decode()
    assert "未排查出事故隐患" in text and "辖区内无应报季报单位" in text


def test_docx_holds_the_title_sentences_and_tables():
    from docx import Document

    load_demo_with_figures()
    s = _build("2026Q3")
    document = Document(io.BytesIO(summary.render(s, "docx")))
    paragraphs = "\n".join(p.text for p in document.paragraphs)
    assert "示范县2026年第三季度安全生产工作总结" in paragraphs
    assert f"其中当场整改{s.total.on_the_spot}条" in paragraphs
    table = document.tables[0]
    assert [c.text for c in table.rows[0].cells][:3] == ["序号", "区域", "检查单位数"]
    assert len(table.rows) == 1 + len(s.parts) + 1
    assert table.rows[-1].cells[1].text == "合计"


def test_outside_the_callers_region_is_not_found():
    load_demo_with_figures()
    township = Actor(user_id=None, username="t", role="township", region_code=CHENGGUAN)
    with pytest.raises(NotFound):
        _build("2026Q3", region="330188002000", actor=township)
    with pytest.raises(Invalid):
        _build("2026H1", view="frozen")
