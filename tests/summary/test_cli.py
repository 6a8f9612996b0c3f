"""`hazardtrack report`: writes the summary to a file, showing progress as it goes."""

from __future__ import annotations

import cli
from tests.summary.demo_data import COUNTY, load_demo_with_figures


def test_report_writes_docx_and_markdown_with_progress(tmp_path, capsys):
    load_demo_with_figures()
    out = tmp_path / "summary.docx"
    assert cli.main(["report", "--region", COUNTY, "--period", "2026Q3", "--out", str(out)]) == 0
    assert out.read_bytes()[:2] == b"PK"  # a DOCX is a zip
    said = capsys.readouterr().out
    assert "[1/3]" in said and "[3/3] wrote" in said and "城关街道" in said

    md = tmp_path / "summary.md"
    args = ["report", "--region", COUNTY, "--period", "2026", "--format", "md", "--out", str(md)]
    assert cli.main([*args, "--stamp"]) == 0
    text = md.read_text(encoding="utf-8")
    assert text.startswith("# 示范县2026年度安全生产工作总结")
    assert "hazardtrack report --region 330188000000 --period 2026 --format md" in text


def test_report_outside_any_region_fails_cleanly(tmp_path, capsys):
    load_demo_with_figures()
    code = cli.main(["report", "--region", "330188009000", "--period", "2026Q3"])
    assert code == 1 and "not found" in capsys.readouterr().err
    assert cli.main(["report", "--region", COUNTY, "--period", "2026-05"]) == 1
