"""The breakdown as a spreadsheet with the Chinese headings county offices file."""

from __future__ import annotations

import csv
import io
from typing import Any

from services.office import printable

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# (heading, how to read it from an entry's metrics)
COLUMNS: list[tuple[str, Any]] = [
    ("区域代码", lambda e: e["region_code"]),
    ("区域", lambda e: e["region_name"]),
    ("隐患总数", lambda e: e["metrics"]["hazards_found"]["count"]),
    ("一般隐患", lambda e: e["counts"]["found_general"]),
    ("重大隐患", lambda e: e["counts"]["found_major"]),
    ("已整改", lambda e: e["metrics"]["hazards_closed"]["count"]),
    ("整改率", lambda e: e["metrics"]["rectification_rate"]["value"]),
    ("一般隐患整改率", lambda e: e["metrics"]["rectification_rate_general"]["value"]),
    ("重大隐患整改率", lambda e: e["metrics"]["rectification_rate_major"]["value"]),
    ("按期整改率", lambda e: e["metrics"]["on_time_rectification_rate"]["value"]),
    ("逾期未改", lambda e: e["metrics"]["overdue_hazards"]["count"]),
    ("检查次数", lambda e: e["metrics"]["inspections"]["count"]),
    ("在册单位数", lambda e: e["metrics"]["roster_units"]["count"]),
    ("已检查单位数", lambda e: e["metrics"]["units_inspected"]["count"]),
    ("检查覆盖率", lambda e: e["metrics"]["coverage"]["value"]),
    ("应报单位数", lambda e: e["metrics"]["required_units"]["count"]),
    ("已报数", lambda e: e["metrics"]["reports_filed"]["count"]),
    ("季报率", lambda e: e["metrics"]["reporting_rate"]["value"]),
    ("季报及时率", lambda e: e["metrics"]["on_time_reporting_rate"]["value"]),
    ("自主报送率", lambda e: e["metrics"]["self_reporting_rate"]["value"]),
    ("零隐患率", lambda e: e["metrics"]["zero_hazard_rate"]["value"]),
]
RATE_HEADINGS = {"整改率", "一般隐患整改率", "重大隐患整改率", "按期整改率", "检查覆盖率", "季报率",
                 "季报及时率", "自主报送率", "零隐患率"}  # fmt: skip


def _cell(heading: str, value: Any) -> Any:
    if heading in RATE_HEADINGS:
        return "" if value is None else f"{value * 100:.1f}%"
    return value


def rows(entries: list[dict[str, Any]], total: dict[str, Any]) -> list[list[Any]]:
    """Heading row, one row per entry, and a 合计 row for the region itself."""
    out = [[h for h, _ in COLUMNS]]
    for e in entries:
        out.append([_cell(h, get(e)) for h, get in COLUMNS])
    total = {**total, "region_name": f"合计（{total['region_name']}）"}
    out.append([_cell(h, get(total)) for h, get in COLUMNS])
    return out


def to_csv(table: list[list[Any]]) -> bytes:
    """UTF-8 with a byte-order mark, so Excel on a Chinese Windows opens it right."""
    buf = io.StringIO()
    csv.writer(buf).writerows(table)
    return "\ufeff".encode() + buf.getvalue().encode("utf-8")


def to_xlsx(table: list[list[Any]], title: str) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    for row in table:
        ws.append([printable(value) for value in row])
    ws.freeze_panes = "C2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
