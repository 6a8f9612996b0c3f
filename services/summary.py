"""The quarterly work summary (安全生产工作总结): the figures written the way township offices do.

The numbers come from `services.metrics.read` (the same cells and member lists the API serves),
so a summary never disagrees with the dashboard. Two splits the cells do not keep (handling on
the spot versus under a written notice, and inspections by kind) are counted here over the same
relations and predicates as the figures (`services.metrics.definitions`), so they add up to
the hazards and inspections the cells count.

A summary is built once as a list of blocks (headings, paragraphs, tables) and rendered to
Markdown or DOCX from them.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from services.actors import Actor
from services.errors import Invalid
from services.metrics import definitions as d
from services.metrics import read
from services.models.metrics import CELL_COUNTS
from services.office import printable
from services.periods import YEARS, YEARS_RULE, Period, parse_period
from services.regions import prefix_of
from services.settings import get_settings

Progress = Callable[[str], None]
FORMATS = ("md", "docx")
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MAX_LISTED = 50  # hazards listed by name in the document; the rest are counted

_HALF = re.compile(r"^(\d{4})H([12])$")
_QUARTER_CN = {1: "一", 2: "二", 3: "三", 4: "四"}
LEVEL_CN = {"general": "一般", "major": "重大"}
STATUS_CN = {
    "reported": "待整改",
    "rectifying": "整改中",
    "rectified": "待验收",
    "closed": "已销号",
    "voided": "已作废",
}
INSPECTION_KIND_CN = {
    "routine": "日常检查",
    "holiday": "节假日检查",
    "campaign": "专项检查",
    "joint": "联合检查",
    "spot_check": "抽查",
    "enforcement": "执法检查",
    "re_inspection": "复查",
}


class HalfYear(Period):
    """A half-year (`2026H1`): six months, two quarters. Figures of its own exist for none."""

    @property
    def key(self) -> str:
        return f"{self.first_month.year}H{1 if self.first_month.month == 1 else 2}"


def parse_summary_period(value: str, field_: Any = ("query", "period")) -> Period:
    """A quarter (2026Q3), half-year (2026H1) or year (2026); months have no summary."""
    match = _HALF.match(value or "")
    if match:
        year, half = int(match.group(1)), int(match.group(2))
        if year not in YEARS:
            raise Invalid(list(field_), YEARS_RULE)
        return HalfYear("half", date(year, 1 if half == 1 else 7, 1), 6)
    try:
        period = parse_period(value, list(field_))  # type: ignore[arg-type]
    except Invalid:
        period = None
    if period is None or period.kind == "month":
        raise Invalid(list(field_), "must be a quarter (2026Q3), half-year (2026H1) or year (2026)")
    return period


def period_label(period: Period) -> str:
    year = period.first_month.year
    if period.kind == "quarter":
        return f"{year}年第{_QUARTER_CN[(period.first_month.month - 1) // 3 + 1]}季度"
    if period.kind == "half":
        return f"{year}年{'上' if period.first_month.month == 1 else '下'}半年"
    return f"{year}年度"


def pct(r: dict[str, Any]) -> str:
    """A rate as the offices write it: 100%, 96.8%; a rate of nothing is a dash."""
    if r["value"] is None:
        return "—"
    shown = f"{r['value'] * 100:.1f}"
    return (shown[:-2] if shown.endswith(".0") else shown) + "%"


def pct_parts(r: dict[str, Any]) -> str:
    return f"{pct(r)}（{r['numerator']}/{r['denominator']}）"


# -- the data ---------------------------------------------------------------------------------


@dataclass
class Area:
    """One region's figures for the period, with the splits the cells do not keep."""

    code: str
    name: str
    counts: dict[str, int]
    on_the_spot: int = 0
    under_notice: int = 0
    inspections_by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def metrics(self) -> dict[str, Any]:
        return read.metrics_of(self.counts)


@dataclass
class Summary:
    region_code: str
    region_name: str
    region_level: int
    period: Period
    view: str
    cutoff: datetime
    computed_at: datetime | None
    total: Area
    parts: list[Area]
    categories: list[tuple[str, int]]
    major: list[dict[str, Any]]
    major_total: int
    overdue: list[dict[str, Any]]
    overdue_total: int
    flags: list[dict[str, Any]]

    @property
    def title(self) -> str:
        return f"{self.region_name}{period_label(self.period)}安全生产工作总结"


def _scope(base: read.Scope, period: Period, code: str | None = None, name: str = "") -> read.Scope:
    return read.Scope(
        code or base.region_code,
        name or base.region_name,
        period,
        base.view,
        base.cutoff,
        base.frozen_at,
    )


def _distinct_units(session: Session, scope: read.Scope, counts: dict[str, int]) -> None:
    """Units over a half-year cannot be summed from its quarters: count each one once."""
    for name in ("roster_units", "units_inspected"):
        counts[name] = read.members(session, scope, metric=name, part="numerator", limit=1)["total"]


def _figures(session: Session, scope: read.Scope) -> tuple[dict[str, int], list[dict], Any]:
    """(the region's counts, its children's entries, computed_at), for any summary period.

    Quarters and years have cells of their own. A half-year sums its two quarters (every count
    adds up but the distinct units, which are counted again over the six months).
    """
    if scope.period.kind != "half":
        total = read.figures(session, scope)
        return total["counts"], read.breakdown(session, scope), total["computed_at"]
    counts = {c: 0 for c in CELL_COUNTS}
    children: dict[tuple[str, bool], dict[str, Any]] = {}  # (code, own level?) -> entry
    computed = None
    for quarter in scope.period.quarters():
        q = _scope(scope, quarter)
        fig = read.figures(session, q)
        computed = max(filter(None, [computed, fig["computed_at"]]), default=None)
        for c in CELL_COUNTS:
            counts[c] += fig["counts"][c]
        for e in read.breakdown(session, q):
            own = e["region_code"] == scope.region_code
            entry = children.setdefault(
                (e["region_code"], own),
                {
                    "region_code": e["region_code"],
                    "region_name": e["region_name"],
                    "counts": {c: 0 for c in CELL_COUNTS},
                },
            )
            for c in CELL_COUNTS:
                entry["counts"][c] += e["counts"][c]
    _distinct_units(session, scope, counts)
    for (code, own), entry in children.items():
        if not own:
            _distinct_units(session, _scope(scope, scope.period, code), entry["counts"])
    for (_code, own), entry in children.items():
        if own:  # records kept on the region itself: the total less the children
            for c in ("roster_units", "units_inspected"):
                entry["counts"][c] = counts[c] - sum(
                    e["counts"][c] for (_k, o), e in children.items() if not o
                )
    return counts, list(children.values()), computed


def _params(scope: read.Scope, code: str) -> dict[str, Any]:
    return {
        "pre": prefix_of(code) + "%",
        "first": scope.period.first_month,
        "end": scope.period.end_month,
        "cutoff": scope.cutoff,
        "frozen_at": scope.frozen_at,
        "quarter": scope.period.key,
    }


def _splits(session: Session, scope: read.Scope, area: Area) -> None:
    """Hazards by handling and inspections by kind, over the figures' own relations."""
    rel = d.relations(scope.view)
    t_first, t_end = "CAST(:first AS date)", "CAST(:end AS date)"
    params = _params(scope, area.code)
    row = session.execute(
        text(
            f"""
            SELECT count(*) FILTER (WHERE h.handling = 'on_the_spot') AS spot,
                   count(*) FILTER (WHERE h.handling <> 'on_the_spot') AS notice
            FROM ({rel["s"]}) s JOIN hazards h ON h.id = s.id
            WHERE s.region_code LIKE :pre AND {d.found_in(t_first, t_end)} AND {d.FOUND}
            """
        ),
        params,
    ).one()
    area.on_the_spot, area.under_notice = int(row.spot), int(row.notice)
    kinds = session.execute(
        text(
            f"""
            SELECT i.kind, count(*) AS n FROM ({rel["i"]}) i
            WHERE i.region_code LIKE :pre AND {d.inspected_in(t_first, t_end)}
            GROUP BY i.kind ORDER BY n DESC, i.kind
            """
        ),
        params,
    ).all()
    area.inspections_by_kind = {k: int(n) for k, n in kinds}


def _categories(session: Session, scope: read.Scope) -> list[tuple[str, int]]:
    rel = d.relations(scope.view)
    rows = session.execute(
        text(
            f"""
            SELECT COALESCE(c.label, h.category) AS label, count(*) AS n
            FROM ({rel["s"]}) s JOIN hazards h ON h.id = s.id
            LEFT JOIN hazard_categories c ON c.code = h.category
            WHERE s.region_code LIKE :pre
              AND {d.found_in("CAST(:first AS date)", "CAST(:end AS date)")} AND {d.FOUND}
            GROUP BY 1 ORDER BY n DESC, 1
            """
        ),
        _params(scope, scope.region_code),
    ).all()
    return [(label, int(n)) for label, n in rows]


def _hazard_list(
    session: Session, scope: read.Scope, metric: str, part: str
) -> tuple[list[dict[str, Any]], int]:
    """The first MAX_LISTED hazards behind a figure, with unit, township and category names."""
    page = read.members(session, scope, metric=metric, part=part, limit=MAX_LISTED)
    ids = [item["id"] for item in page["items"]]
    if not ids:
        return [], page["total"]
    rows = session.execute(
        text(
            """
            SELECT h.id, u.name AS unit_name, COALESCE(t.name, r.name) AS township,
                   COALESCE(c.label, h.category) AS category, h.description, h.supervised,
                   h.transferred_to
            FROM hazards h
            JOIN units u ON u.id = h.unit_id
            JOIN regions r ON r.code = h.region_code
            LEFT JOIN regions t ON t.code = left(h.region_code, 9) || '000'
            LEFT JOIN hazard_categories c ON c.code = h.category
            WHERE h.id = ANY(:ids)
            """
        ),
        {"ids": ids},
    ).mappings()
    details = {row["id"]: dict(row) for row in rows}
    items = [{**item, **details.get(item["id"], {})} for item in page["items"]]
    items.sort(key=lambda h: (h["found_at"], str(h["id"])))
    return items, page["total"]


def build(
    session: Session,
    *,
    actor: Actor,
    region: str | None,
    period: str,
    view: str = "live",
    progress: Progress | None = None,
) -> Summary:
    """Gather a summary's figures for a region the actor may read (404 outside its subtree)."""
    say = progress or (lambda _m: None)
    p = parse_summary_period(period)
    if view == "frozen" and p.kind != "quarter":
        raise Invalid(["query", "view"], "frozen figures exist for quarters only")
    # Checks the region and the view with a quarter of the period, then widens to the period.
    base = read.resolve(session, actor=actor, region=region, period=p.quarters()[0].key, view=view)
    scope = _scope(base, p)
    from services.models import Region

    level = session.get(Region, scope.region_code).level  # type: ignore[union-attr]
    say(f"汇总 {scope.region_name} {period_label(p)} 的数字 …")
    counts, entries, computed_at = _figures(session, scope)
    total = Area(scope.region_code, scope.region_name, counts)
    _splits(session, scope, total)
    parts: list[Area] = []
    entries = sorted(
        entries, key=lambda e: (e["region_code"] == scope.region_code, e["region_code"])
    )
    for i, e in enumerate(entries, 1):
        say(f"  [{i}/{len(entries)}] {e['region_name']}")
        area = Area(e["region_code"], e["region_name"], e["counts"])
        if e["region_code"] == scope.region_code:
            # Records kept on the region itself: its splits are the total's minus the children's.
            area.on_the_spot = total.on_the_spot - sum(a.on_the_spot for a in parts)
            area.under_notice = total.under_notice - sum(a.under_notice for a in parts)
        else:
            _splits(session, scope, area)
        parts.append(area)
    say("重大隐患、逾期未改隐患清单 …")
    major, major_total = _hazard_list(session, scope, "rectification_rate_major", "denominator")
    overdue, overdue_total = _hazard_list(session, scope, "overdue_hazards", "numerator")
    say("隐患类别与数据质量提示 …")
    categories = _categories(session, scope)
    flags = read.flags(session, scope)
    return Summary(
        region_code=scope.region_code,
        region_name=scope.region_name,
        region_level=level,
        period=p,
        view=scope.view,
        cutoff=scope.cutoff,
        computed_at=computed_at,
        total=total,
        parts=parts,
        categories=categories,
        major=major,
        major_total=major_total,
        overdue=overdue,
        overdue_total=overdue_total,
        flags=flags,
    )


# -- the document -----------------------------------------------------------------------------

Block = tuple  # ("h1"|"h2"|"p"|"note", text) or ("table", headings, rows)


def _local(at: datetime | None) -> str:
    if at is None:
        return "—"
    return at.astimezone(get_settings().tz).strftime("%Y年%m月%d日 %H:%M")


def _day(at: datetime | None) -> str:
    if at is None:
        return "—"
    return at.astimezone(get_settings().tz).strftime("%Y-%m-%d")


def hazard_sentence(area: Area) -> str:
    """共检查…个单位，排查出隐患…条，其中当场整改…条，书面责令限期整改…条，隐患整改率…%."""
    m, c = area.metrics, area.counts
    inspections = m["inspections"]["count"]
    found = m["hazards_found"]["count"]
    s = (
        f"共检查生产经营单位{m['units_inspected']['count']}个（{inspections}家次），"
        f"检查覆盖率{pct(m['coverage'])}；"
    )
    if found == 0:
        return s + "未排查出事故隐患。"
    s += (
        f"排查出隐患{found}条（一般隐患{c['found_general']}条、重大隐患{c['found_major']}条），"
        f"其中当场整改{area.on_the_spot}条，书面责令限期整改{area.under_notice}条；"
        f"已整改销号{m['hazards_closed']['count']}条，隐患整改率{pct(m['rectification_rate'])}"
    )
    extra = []
    if c["found_general"]:
        extra.append(f"一般隐患整改率{pct(m['rectification_rate_general'])}")
    if c["found_major"]:
        extra.append(f"重大隐患整改率{pct(m['rectification_rate_major'])}")
    if m["hazards_closed"]["count"]:
        extra.append(f"按期整改率{pct(m['on_time_rectification_rate'])}")
    s += ("（" + "，".join(extra) + "）") if extra else ""
    overdue = m["overdue_hazards"]["count"]
    s += f"；逾期未改隐患{overdue}条。" if overdue else "；无逾期未改隐患。"
    return s


def reporting_sentence(area: Area, *, quarters: int = 1) -> str:
    """应报…家，已报…家，季报率…%；…自主报送率…%；零隐患率…%."""
    m = area.metrics
    jia = "家" if quarters == 1 else "家（次）"
    required = m["required_units"]["count"]
    if required == 0:
        return "辖区内无应报季报单位。"
    filed = m["reports_filed"]["count"]
    s = (
        f"辖区内应报季报单位{required}{jia}，已报{filed}{jia}，季报率{pct(m['reporting_rate'])}，"
        f"其中按时报送{m['on_time_reporting_rate']['numerator']}{jia}，"
        f"季报及时率{pct(m['on_time_reporting_rate'])}"
    )
    if filed:
        self_filed = m["self_reporting_rate"]["numerator"]
        s += (
            f"；单位自主报送{self_filed}份、乡镇代报{filed - self_filed}份，"
            f"自主报送率{pct(m['self_reporting_rate'])}；"
            f"零隐患报告{m['zero_hazard_rate']['numerator']}份，零隐患率{pct(m['zero_hazard_rate'])}"
        )
    return s + "。"


PART_HEADINGS = [
    "序号", "区域", "检查单位数", "检查家次", "排查隐患", "当场整改", "限期整改", "已整改",
    "隐患整改率", "逾期未改", "应报单位", "已报", "季报率", "自主报送率", "零隐患率",
]  # fmt: skip


def part_row(i: Any, area: Area) -> list[str]:
    m = area.metrics
    return [
        str(i),
        area.name,
        str(m["units_inspected"]["count"]),
        str(m["inspections"]["count"]),
        str(m["hazards_found"]["count"]),
        str(area.on_the_spot),
        str(area.under_notice),
        str(m["hazards_closed"]["count"]),
        pct_parts(m["rectification_rate"]),
        str(m["overdue_hazards"]["count"]),
        str(m["required_units"]["count"]),
        str(m["reports_filed"]["count"]),
        pct_parts(m["reporting_rate"]),
        pct_parts(m["self_reporting_rate"]),
        pct_parts(m["zero_hazard_rate"]),
    ]


def blocks(s: Summary, *, command: str | None = None) -> list[Block]:
    """The document as headings, paragraphs and tables, in the order an office writes them."""
    label = period_label(s.period)
    here = "本辖区" if s.region_level >= 4 else "全" + s.region_name[-1:]
    child = "村（社区）" if s.region_level >= 4 else "乡镇（街道）"
    view = "季度冻结数据（截至季报截止时点）" if s.view == "frozen" else "实时数据"
    out: list[Block] = [("h1", s.title)]
    note = f"统计区域：{s.region_name}（{s.region_code}）；统计期间：{label}；口径：{view}，截至{_local(s.cutoff)}。"
    if command:
        note += f"本文由命令 `{command}` 生成。"
    out.append(("note", note))
    out.append(("note", "文中各项比率均附分子/分母，可在系统中点击数字核对到具体记录。"))

    t = s.total
    kinds = "、".join(
        f"{INSPECTION_KIND_CN.get(k, k)}{n}次" for k, n in t.inspections_by_kind.items()
    )
    out.append(("h2", "一、隐患排查治理情况"))
    lead = f"{label}，{here}共开展安全检查{t.metrics['inspections']['count']}次"
    lead += f"（其中{kinds}）" if kinds else ""
    out.append(("p", lead + "，" + hazard_sentence(t)))
    if s.categories:
        top = "、".join(f"{label_}{n}条" for label_, n in s.categories[:6])
        out.append(("p", f"从隐患类别看，排查出的隐患主要为{top}。"))

    out.append(("h2", "二、企业自查自报情况"))
    n = len(s.period.quarters())
    if n == 1:
        out.append(("p", reporting_sentence(t)))
    else:
        out.append(("p", f"{label}{n}个季度合计：" + reporting_sentence(t, quarters=n)))

    out.append(("h2", f"三、各{child}情况"))
    for i, area in enumerate(s.parts, 1):
        out.append(
            (
                "p",
                f"（{i}）{area.name}：{hazard_sentence(area)}{reporting_sentence(area, quarters=n)}",
            )
        )
    rows = [part_row(i, a) for i, a in enumerate(s.parts, 1)]
    rows.append(part_row("", Area(t.code, "合计", t.counts, t.on_the_spot, t.under_notice)))
    out.append(("table", PART_HEADINGS, rows))

    out.append(("h2", "四、重大隐患和逾期未改隐患"))
    if s.major_total:
        out.append(("p", f"{label}共排查出重大事故隐患{s.major_total}条，逐条挂账督办，情况如下："))
        out.append(_hazard_table(s.major))
    else:
        out.append(("p", f"{label}未排查出重大事故隐患。"))
    if s.overdue_total:
        out.append(
            ("p", f"截至统计时点，{label}排查出的隐患中逾期未改{s.overdue_total}条，须督促整改：")
        )
        out.append(_hazard_table(s.overdue))
    else:
        out.append(("p", "截至统计时点，无逾期未改隐患。"))
    shown = max(len(s.major), len(s.overdue))
    if s.major_total > shown or s.overdue_total > shown:
        out.append(("note", f"表中列出前{MAX_LISTED}条，其余见系统清单。"))

    out.append(("h2", "五、数据质量提示"))
    if s.flags:
        out.append(
            (
                "p",
                f"以下{len(s.flags)}家单位当季申报零隐患，但检查人员同季在该单位排查出隐患，请核实其自查自报质量：",
            )
        )
        out.append(
            (
                "table",
                ["序号", "单位", "区划代码", "季度", "检查发现隐患（条）"],
                [
                    [
                        str(i),
                        f["unit_name"],
                        f["region_code"],
                        f["quarter"],
                        str(f["hazards_found"]),
                    ]
                    for i, f in enumerate(s.flags, 1)
                ],
            )
        )
    else:
        out.append(("p", "未发现申报零隐患但检查发现隐患的单位。"))
    out.append(("note", f"数字计算时间：{_local(s.computed_at)}。"))
    return out


def _hazard_table(items: list[dict[str, Any]]) -> Block:
    rows = []
    for i, h in enumerate(items, 1):
        status = STATUS_CN.get(h["status"], h["status"])
        if h.get("supervised"):
            status += "（挂牌督办）"
        if h.get("transferred_to"):
            status += f"（移送{h['transferred_to']}）"
        rows.append(
            [
                str(i),
                h.get("township") or h["region_code"],
                h.get("unit_name") or str(h["unit_id"]),
                LEVEL_CN.get(h["level"], h["level"]),
                h.get("category") or "",
                h.get("description") or "",
                _day(h["found_at"]),
                _day(h["deadline"]),
                status,
            ]
        )
    headings = ["序号", "乡镇", "单位", "级别", "类别", "隐患描述", "发现日期", "整改期限", "状态"]
    return ("table", headings, rows)


# -- rendering --------------------------------------------------------------------------------


def _md_cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def to_markdown(doc: list[Block]) -> str:
    lines: list[str] = []
    for block in doc:
        kind = block[0]
        if kind == "h1":
            lines += [f"# {block[1]}", ""]
        elif kind == "h2":
            lines += [f"## {block[1]}", ""]
        elif kind == "p":
            lines += [block[1], ""]
        elif kind == "note":
            lines += [f"> {block[1]}", ""]
        elif kind == "table":
            headings, rows = block[1], block[2]
            lines.append("| " + " | ".join(headings) + " |")
            lines.append("|" + "|".join("---" for _ in headings) + "|")
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
            lines.append("")
    return "\n".join(lines)


def _east_asian(run: Any, font: str) -> None:
    from docx.oxml.ns import qn

    run.font.name = font
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), font)


def to_docx(doc: list[Block]) -> bytes:
    """A Word document: 方正小标宋-style title, 仿宋 body, tables with a header row."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    document = Document()
    section = document.sections[0]
    # Landscape: the table per township is wide.
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(2.0))
    for block in doc:
        kind = block[0]
        if kind == "h1":
            para = document.add_paragraph()
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER
            run = para.add_run(printable(block[1]))
            run.bold = True
            run.font.size = Pt(20)
            _east_asian(run, "宋体")
        elif kind == "h2":
            para = document.add_paragraph()
            run = para.add_run(printable(block[1]))
            run.bold = True
            run.font.size = Pt(15)
            _east_asian(run, "黑体")
        elif kind in ("p", "note"):
            para = document.add_paragraph()
            if kind == "p":
                para.paragraph_format.first_line_indent = Pt(28)
            run = para.add_run(printable(block[1]))
            run.font.size = Pt(12 if kind == "p" else 10)
            _east_asian(run, "仿宋")
        elif kind == "table":
            headings, rows = block[1], block[2]
            table = document.add_table(rows=1 + len(rows), cols=len(headings))
            table.style = "Table Grid"
            for r, values in enumerate([headings, *rows]):
                for c, value in enumerate(values):
                    cell = table.cell(r, c)
                    cell.text = ""
                    run = cell.paragraphs[0].add_run(printable(str(value)))
                    run.font.size = Pt(9)
                    run.bold = r == 0
                    _east_asian(run, "宋体")
            document.add_paragraph()
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def render(summary: Summary, fmt: str, *, command: str | None = None) -> bytes:
    """The summary as Markdown (UTF-8) or DOCX bytes."""
    if fmt not in FORMATS:
        raise Invalid(["query", "format"], f"must be one of {', '.join(FORMATS)}")
    doc = blocks(summary, command=command)
    if fmt == "docx":
        return to_docx(doc)
    return to_markdown(doc).encode("utf-8")


def filename(summary: Summary, fmt: str) -> str:
    return f"summary-{summary.region_code}-{summary.period.key}.{fmt}"
