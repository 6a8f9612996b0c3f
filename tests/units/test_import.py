from __future__ import annotations

import io
import uuid
from datetime import datetime

from openpyxl import Workbook
from sqlalchemy import select

from services.models import AuditEntry, MetricMark, Unit
from services.periods import local_month
from services.settings import get_settings
from tests.builders import (
    TOWN_A,
    VILLAGE_A1,
    VILLAGE_A2,
    VILLAGE_B1,
    login_as,
    make_region_tree,
    make_unit,
    make_user,
    token,
)
from tests.units.codes import code, wrong_check

URL = "/api/v1/units/import"
HEAD = [
    "序号",
    "单位名称",
    "统一社会信用代码",
    "所属区划代码",
    "场所类型",
    "行业",
    "地址",
    "重点监管",
    "需报季报",
    "状态",
]


def upload(client, headers, content: bytes, name: str = "units.csv"):
    return client.post(URL, files={"file": (name, content)}, headers=headers)


def csv_bytes(rows, encoding="gb18030", head=HEAD) -> bytes:
    lines = [",".join(head)] + [",".join(str(c) for c in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def by_row(report):
    return {r["row"]: r for r in report["rows"]}


def test_gb18030_csv_with_chinese_headings(client, session):
    make_region_tree()
    town = login_as(client, "township", TOWN_A)
    existing = make_unit(VILLAGE_A1, name="老街饭店", kind="restaurant", reporting_required=False)
    moved = make_unit(VILLAGE_A1, name="旧名五金厂", kind="enterprise", credit_code=code(9))
    rows = [
        [
            1,
            "东一村五金厂",
            code(1),
            VILLAGE_A1,
            "企业",
            "金属制品",
            "工业路1号",
            "是",
            "是",
            "在营",
        ],
        # Matched by name within its village; the sheet turns reporting on and suspends it.
        [2, "老街饭店", "", VILLAGE_A1, "restaurant", "餐饮", "老街2号", "否", "是", "停业整顿"],
        [3, "坏代码厂", wrong_check(code(2)), VILLAGE_A1, "企业", "", "", "是", "否", "在营"],
        [4, "无类型店", "", VILLAGE_A2, "", "", "", "否", "否", "在营"],
        [5, "外镇店", "", VILLAGE_B1, "shop", "", "", "否", "否", "在营"],
        [6, "怪类型", "", VILLAGE_A1, "太空站", "", "", "也许", "否", "搬走了"],
        # Matched by credit code: a renamed unit that moved to the other village.
        [7, "新名五金厂", code(9), VILLAGE_A2, "enterprise", "", "", "否", "是", "在营"],
        [8, "", "", "", "", "", "", "", "", ""],  # an empty line is skipped
        [9, "东二村小卖部", "", VILLAGE_A2, "九小场所", "零售", "", "否", "是", "关闭"],
    ]
    r = upload(client, town, csv_bytes(rows))
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["created"], report["updated"], report["rejected"]) == (2, 2, 4)
    rows_out = by_row(report)
    assert sorted(rows_out) == [2, 3, 4, 5, 6, 7, 8, 10]  # heading is row 1, line 9 empty
    assert rows_out[2]["result"] == "created"
    assert rows_out[3] == {"row": 3, "result": "updated", "unit_id": str(existing)}
    assert rows_out[4]["result"] == "rejected"
    assert rows_out[4]["errors"][0]["field"] == "credit_code"
    assert rows_out[5]["errors"] == [{"field": "kind", "msg": "is required for a new unit"}]
    assert rows_out[6]["errors"][0]["field"] == "region_code"  # outside township A
    assert {e["field"] for e in rows_out[7]["errors"]} == {"kind", "key_supervision", "status"}
    assert rows_out[8] == {"row": 8, "result": "updated", "unit_id": str(moved)}
    assert rows_out[10]["result"] == "created"

    created = session.get(Unit, uuid.UUID(rows_out[2]["unit_id"]))
    assert created.name == "东一村五金厂" and created.kind == "enterprise"
    assert created.credit_code == code(1) and created.key_supervision and created.reporting_required
    old = session.get(Unit, existing)
    assert old.status == "suspended" and old.reporting_required and old.address == "老街2号"
    renamed = session.get(Unit, moved)
    assert renamed.name == "新名五金厂" and renamed.region_code == VILLAGE_A2
    shut = session.get(Unit, uuid.UUID(rows_out[10]["unit_id"]))
    assert shut.kind == "small_venue" and shut.status == "closed" and shut.closed_on is not None
    # Nothing of the rejected rows was stored.
    names = set(session.scalars(select(Unit.name)))
    assert names.isdisjoint({"坏代码厂", "无类型店", "外镇店", "怪类型"})
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.entity == "unit")).all()
    assert sorted(actions) == ["create", "create", "update", "update"]
    summary = session.scalar(select(AuditEntry).where(AuditEntry.entity == "unit_import"))
    assert summary.changes == {"created": 2, "updated": 2, "rejected": 4}
    # The roster changed in both villages: their current month's figures are to be recomputed.
    now = local_month(datetime.now(get_settings().tz), get_settings().tz)
    marks = set(session.execute(select(MetricMark.region_code, MetricMark.month)).tuples())
    assert {(VILLAGE_A1, now), (VILLAGE_A2, now)} <= marks

    # The same file again creates nothing new: every good row now matches a stored unit.
    again = upload(client, town, csv_bytes(rows)).json()
    assert (again["created"], again["updated"], again["rejected"]) == (0, 4, 4)


def test_utf8_csv_with_bom_and_field_names(client, session):
    make_region_tree()
    town = login_as(client, "township", TOWN_A)
    head = ["name", "region_code", "kind", "credit_code", "key_supervision", "reporting_required"]
    rows = [
        ["幸福幼儿园", VILLAGE_A1, "kindergarten", "", "true", "1"],
        ["同码一", VILLAGE_A1, "shop", code(3), "0", "false"],
        ["同码二", VILLAGE_A2, "shop", code(3), "0", "false"],  # same code: updates the first
    ]
    content = b"\xef\xbb\xbf" + csv_bytes(rows, "utf-8", head)
    report = upload(client, town, content).json()
    assert (report["created"], report["updated"], report["rejected"]) == (2, 1, 0)
    kg = session.scalar(select(Unit).where(Unit.name == "幸福幼儿园"))
    assert kg.kind == "kindergarten" and kg.key_supervision and kg.reporting_required
    assert session.scalar(select(Unit).where(Unit.credit_code == code(3))).name == "同码二"


def test_xlsx_mixing_good_updated_and_bad_rows(client, session):
    make_region_tree()
    town = login_as(client, "township", TOWN_A)
    existing = make_unit(VILLAGE_A1, name="已有单位", credit_code=code(5), kind="shop")
    book = Workbook()
    sheet = book.active
    sheet.append(
        ["*单位名称", "统一社会信用代码", "所属区划代码", "场所类型", "重点监管", "需报季报"]
    )
    sheet.append(["表格新建厂", code(6), int(VILLAGE_A2), "企业", "是", "是"])  # code as a number
    sheet.append(["已有单位改名", code(5), VILLAGE_A1, "沿街门店", "否", "是"])
    sheet.append(["重复代码厂", code(5)[:-1] + "I", VILLAGE_A1, "企业", "是", "是"])
    sheet.append(["区划错误", None, "33010200100", "企业", True, False])
    buffer = io.BytesIO()
    book.save(buffer)
    r = upload(client, town, buffer.getvalue(), "units.xlsx")
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["created"], report["updated"], report["rejected"]) == (1, 1, 2)
    rows = by_row(report)
    assert rows[3]["unit_id"] == str(existing) and rows[3]["result"] == "updated"
    assert rows[4]["errors"][0]["field"] == "credit_code"
    assert rows[5]["errors"][0]["field"] == "region_code"
    new = session.get(Unit, uuid.UUID(rows[2]["unit_id"]))
    assert new.region_code == VILLAGE_A2 and new.credit_code == code(6) and new.key_supervision
    assert session.get(Unit, existing).name == "已有单位改名"


def test_a_duplicate_credit_code_in_another_township_is_rejected(client):
    make_region_tree()
    make_unit(VILLAGE_B1, name="西镇企业", credit_code=code(7))
    town = login_as(client, "township", TOWN_A)
    rows = [[1, "东镇企业", code(7), VILLAGE_A1, "企业", "", "", "否", "否", "在营"]]
    report = upload(client, town, csv_bytes(rows)).json()
    assert report["rejected"] == 1 and report["rows"][0]["errors"][0]["field"] == "credit_code"


def test_files_that_are_not_unit_lists_are_422_naming_file(client):
    make_region_tree()
    town = login_as(client, "township", TOWN_A)
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    bad = [
        (png, "photo.png"),
        (b"", "empty.csv"),
        ("名称,地址\n某店,某路\n".encode("gb18030"), "no-region.csv"),  # no required headings
        (b"PK\x03\x04 not really a zip", "broken.xlsx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "old.xls"),
    ]
    for content, name in bad:
        r = upload(client, town, content, name)
        assert r.status_code == 422, (name, r.text)
        assert r.json()["detail"][0]["loc"] == ["body", "file"], name
    r = client.post(URL, headers=town)  # no file at all
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "file"]
    inspector = login_as(client, "inspector", TOWN_A)
    assert upload(client, inspector, csv_bytes([])).status_code == 403


def test_too_many_rows_is_422(client, monkeypatch):
    from services import unit_import

    make_region_tree()
    town = login_as(client, "township", TOWN_A)
    monkeypatch.setattr(unit_import, "MAX_ROWS", 3)
    rows = [[i, f"店{i}", "", VILLAGE_A1, "shop", "", "", "否", "否", "在营"] for i in range(4)]
    r = upload(client, town, csv_bytes(rows))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "file"]
    assert "more than 3 rows" in r.json()["detail"][0]["msg"]
    assert client.get("/api/v1/units", headers=town).json()["items"] == []


def test_a_unit_moved_by_an_import_takes_its_unit_users_with_it(client, session):
    """A unit user's region is its unit's. Before session 14 an import that moved the unit to
    another village left its user in the old one: the unit could no longer see itself or file
    its own reports (404), and only staff could file for it."""
    make_region_tree()
    town = login_as(client, "township", TOWN_A)
    unit = make_unit(VILLAGE_A1, name="甲厂", credit_code=code(8), kind="shop")
    make_user("jia-factory", "unit", VILLAGE_A1, unit_id=unit)
    before = token(client, "jia-factory")
    assert client.get(f"/api/v1/units/{unit}", headers=before).status_code == 200

    head = ["单位名称", "统一社会信用代码", "所属区划代码", "场所类型", "重点监管", "需报季报"]
    content = csv_bytes([["甲厂", code(8), VILLAGE_A2, "企业", "否", "是"]], head=head)
    report = upload(client, town, content).json()
    assert (report["updated"], report["rejected"]) == (1, 0), report

    # The old token carries the old region: it is ended, and a new sign-in has the new one.
    assert client.get(f"/api/v1/units/{unit}", headers=before).status_code == 401
    after = token(client, "jia-factory")
    assert client.get("/api/v1/users/me", headers=after).json()["region_code"] == VILLAGE_A2
    assert client.get(f"/api/v1/units/{unit}", headers=after).status_code == 200
    r = client.put(
        f"/api/v1/units/{unit}/self-reports/2026Q3",
        json={"zero_hazard": True, "hazards": []},
        headers=after,
    )
    assert r.status_code in (200, 201), r.text
    entry = session.scalar(
        select(AuditEntry).where(AuditEntry.entity == "user", AuditEntry.action == "update")
    )
    assert entry.changes == {"region_code": [VILLAGE_A1, VILLAGE_A2]}
