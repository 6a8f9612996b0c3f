"""Long command-line work shows progress: the unit import, batch by batch."""

from __future__ import annotations

from sqlalchemy import func, select

import cli
from services.db import unit_of_work
from services.models import Unit
from tests.builders import VILLAGE_A1, VILLAGE_B1, make_region_tree


def test_import_units_reports_each_batch_and_the_rejected_rows(tmp_path, capsys):
    make_region_tree()
    lines = ["单位名称,所属区划代码,场所类型,需报季报"]
    lines += [f"进度测试商店{i},{VILLAGE_A1 if i % 2 else VILLAGE_B1},shop,是" for i in range(5)]
    lines.append("无区划的单位,999999999999,shop,是")
    path = tmp_path / "units.csv"
    path.write_bytes("\n".join(lines).encode("gb18030"))

    assert cli.main(["import-units", str(path), "--batch", "2"]) == 0
    said = capsys.readouterr().out
    assert "importing 6 rows from units.csv in 3 batches" in said
    assert "[1/3] 2/6 rows: 2 created, 0 updated, 0 rejected" in said
    assert "[3/3] 6/6 rows: 5 created, 0 updated, 1 rejected" in said
    assert "row 7: rejected" in said
    with unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(Unit)) == 5

    # Importing the same file again matches every unit instead of creating it twice.
    assert cli.main(["import-units", str(path)]) == 0
    assert "5 updated" in capsys.readouterr().out.splitlines()[-1]


def test_import_units_of_a_missing_file_fails_cleanly(tmp_path, capsys):
    assert cli.main(["import-units", str(tmp_path / "none.csv")]) == 1
    assert "error:" in capsys.readouterr().err
