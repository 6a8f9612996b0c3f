"""Demo data: a county with townships, villages, units, users, inspections, hazards and reports.

Deterministic (fixed seed, ids derived from names) and built through the same services the API
uses, so the records obey every rule a real client would meet. Times are relative to today:
the demo always shows the last few quarters.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from services import audit, auth, regions
from services.actors import SYSTEM, Actor
from services.credit_code import check_char
from services.models import Campaign, Region, User
from services.periods import quarter_of
from services.settings import get_settings

SEED = 20261123
NAMESPACE = uuid.UUID("6f1c7a52-3b8e-4b7c-9d0e-2a4f8c1d5e60")

PROVINCE = "330000000000"
CITY = "330100000000"
COUNTY = "330188000000"

REGIONS = [
    (PROVINCE, "浙江省"),
    (CITY, "杭州市"),
    (COUNTY, "示范县"),
    ("330188001000", "城关街道"),
    ("330188001001", "东门社区"),
    ("330188001002", "西门社区"),
    ("330188001003", "南苑社区"),
    ("330188002000", "青山镇"),
    ("330188002001", "青山村"),
    ("330188002002", "石桥村"),
    ("330188003000", "溪口乡"),
    ("330188003001", "溪口村"),
    ("330188003002", "竹林村"),
    ("330188003003", "上坞村"),
]
TOWNSHIPS = {
    "330188001000": "chengguan",
    "330188002000": "qingshan",
    "330188003000": "xikou",
}

# Printed by `hazardtrack dev` and `hazardtrack demo`: one login per role.
LOGINS: list[dict[str, str]] = [
    {"username": "admin", "password": "admin-pass-1", "role": "admin", "region": "-"},
    {"username": "county", "password": "county-pass-1", "role": "county", "region": "示范县"},
    {
        "username": "township",
        "password": "township-pass-1",
        "role": "township",
        "region": "城关街道",
    },
    {
        "username": "inspector",
        "password": "inspector-pass-1",
        "role": "inspector",
        "region": "城关街道",
    },
    {
        "username": "unit",
        "password": "unit-pass-1",
        "role": "unit",
        "region": "东门社区 · 东门大酒店",
    },
]
STAFF_PASSWORD = "staff-pass-1"  # the other townships' staff: township-qingshan, inspector-xikou …
UNIT_PASSWORD = "unit-pass-1"  # every unit account: unit, unit-02 …

# (name, village code, kind, industry, enterprise, key supervision, reporting required, status)
# fmt: off
UNITS: list[tuple[str, str, str, str | None, bool, bool, bool, str]] = [
    ("东门大酒店", "330188001001", "restaurant", "餐饮业", True, True, True, "operating"),
    ("城关百货商场", "330188001001", "shop", "零售业", True, True, True, "operating"),
    ("东门小吃店", "330188001001", "small_venue", "餐饮业", False, False, False, "operating"),
    ("阳光幼儿园", "330188001001", "kindergarten", "教育", False, True, True, "operating"),
    ("星星网吧", "330188001002", "small_venue", "娱乐业", False, False, True, "operating"),
    ("西门五金店", "330188001002", "shop", "零售业", False, False, False, "operating"),
    ("示范县实验小学", "330188001002", "school", "教育", False, True, True, "operating"),
    ("启明校外培训中心", "330188001002", "training_institution", "教育", True, False, True,
     "suspended"),
    ("南苑宾馆", "330188001003", "small_venue", "住宿业", True, False, True, "operating"),
    ("南苑美容美发店", "330188001003", "small_venue", "居民服务业", False, False, False,
     "operating"),
    ("城关社区卫生服务站", "330188001003", "small_venue", "卫生", False, False, True,
     "operating"),
    ("南苑二期住宅工程", "330188001003", "construction_site", "建筑业", True, True, True,
     "operating"),
    ("青山化工有限公司", "330188002001", "enterprise", "化学原料和化学制品制造业", True, True,
     True, "operating"),
    ("青山竹木制品厂", "330188002001", "enterprise", "木材加工", True, True, True, "operating"),
    ("青山农家乐", "330188002001", "restaurant", "餐饮业", False, False, True, "operating"),
    ("青山中心小学", "330188002001", "school", "教育", False, True, True, "operating"),
    ("石桥板材加工厂", "330188002002", "enterprise", "木材加工", True, True, True, "operating"),
    ("石桥便利店", "330188002002", "shop", "零售业", False, False, False, "operating"),
    ("石桥汽修厂", "330188002002", "small_venue", "机动车维修", True, False, True, "operating"),
    ("青山纺织有限公司", "330188002002", "enterprise", "纺织业", True, False, True, "operating"),
    ("石桥老茶馆", "330188002002", "small_venue", "餐饮业", False, False, False, "closed"),
    ("溪口水泥制品厂", "330188003001", "enterprise", "非金属矿物制品业", True, True, True,
     "operating"),
    ("溪口民宿", "330188003001", "small_venue", "住宿业", False, False, True, "operating"),
    ("溪口农贸市场", "330188003001", "shop", "零售业", True, False, True, "operating"),
    ("竹林茶叶加工厂", "330188003002", "enterprise", "农副食品加工业", True, False, True,
     "operating"),
    ("竹林幼儿园", "330188003002", "kindergarten", "教育", False, True, True, "operating"),
    ("竹林小超市", "330188003002", "shop", "零售业", False, False, False, "operating"),
    ("上坞电动车维修店", "330188003003", "small_venue", "居民服务业", False, False, False,
     "operating"),
    ("上坞石料厂", "330188003003", "enterprise", "采矿业", True, True, True, "operating"),
    ("溪口中学扩建工程", "330188003003", "construction_site", "建筑业", True, True, True,
     "operating"),
]
# fmt: on

# (category, description, location); picked by the unit's kind.
HAZARDS: dict[str, list[tuple[str, str, str]]] = {
    "exits": [
        ("exits", "安全出口被货物堵塞", "一楼后门"),
        ("exits", "疏散通道堆放杂物", "二楼走廊"),
        ("exits", "安全出口上锁，无法从内部开启", "东侧安全出口"),
    ],
    "e_bike": [
        ("e_bike", "电动自行车在室内充电", "一楼大厅"),
        ("e_bike", "电动自行车停放在楼梯间", "楼梯间"),
        ("e_bike", "电动自行车电池在宿舍内充电", "员工宿舍"),
    ],
    "electrical": [
        ("electrical", "电线私拉乱接，未穿管保护", "仓库"),
        ("electrical", "配电箱未安装漏电保护装置", "配电间"),
        ("electrical", "大功率电器使用插线板串接", "办公室"),
    ],
    "fire": [
        ("fire", "灭火器过期未检验", "收银台旁"),
        ("fire", "应急照明灯损坏", "走廊"),
        ("fire", "疏散指示标志缺失", "楼梯口"),
        ("fire", "室内消火栓被遮挡", "一楼大厅"),
    ],
    "building_materials": [("building_materials", "使用易燃彩钢板搭建隔间", "二楼")],
    "gas": [
        ("gas", "液化石油气钢瓶与灶具间距不足", "后厨"),
        ("gas", "燃气管道未安装泄漏报警装置", "厨房"),
    ],
    "chemicals": [
        ("chemicals", "危险化学品未分类存放", "原料仓库"),
        ("chemicals", "危险化学品仓库未设置防爆电器", "甲类仓库"),
    ],
    "machinery": [
        ("machinery", "机械传动部位防护罩缺失", "生产车间"),
        ("machinery", "木工机械未安装吸尘装置，粉尘积聚", "锯板车间"),
    ],
    "confined_space": [("confined_space", "有限空间未设置警示标识，未配备检测仪", "污水井")],
    "construction": [
        ("construction", "脚手架未设置安全网", "3号楼"),
        ("construction", "临边洞口未设防护栏杆", "基坑边"),
        ("construction", "塔吊限位装置失效", "1号塔吊"),
    ],
    "other": [("other", "安全生产责任制未落实，无隐患排查记录", "办公室")],
}
BY_KIND: dict[str, list[str]] = {
    "restaurant": ["gas", "fire", "exits", "electrical"],
    "shop": ["exits", "e_bike", "electrical", "fire"],
    "small_venue": ["e_bike", "exits", "electrical", "fire", "building_materials"],
    "school": ["fire", "exits", "electrical", "e_bike"],
    "kindergarten": ["fire", "exits", "electrical"],
    "training_institution": ["exits", "fire", "building_materials"],
    "enterprise": ["electrical", "machinery", "chemicals", "confined_space", "fire", "other"],
    "construction_site": ["construction", "electrical", "fire"],
}
INSPECTORS = {
    "330188001000": ["张伟", "李娜", "王强"],
    "330188002000": ["刘洋", "陈静", "赵磊"],
    "330188003000": ["孙丽", "周杰", "吴敏"],
}
DEPARTMENTS = ["县消防救援大队", "县市场监督管理局", "县公安局", "县住建局"]

Progress = Callable[[str], None]


def _id(*parts: object) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts))


def credit_code(n: int, division: str = COUNTY[:6]) -> str:
    """A well-formed unified social credit code (GB 32100-2015) for the n-th demo enterprise."""
    body8 = f"{73000000 + n * 7919:08d}"[-8:]
    weights = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714 organisation code check
    c = 11 - sum(int(d) * w for d, w in zip(body8, weights, strict=True)) % 11
    org = body8 + ("X" if c == 10 else "0" if c == 11 else str(c))
    body = "91" + division + org  # 9: market regulator, 1: enterprise
    return body + check_char(body)


def has_data(session: Session) -> bool:
    """Whether the database already holds regions (then the demo is not loaded again)."""
    return session.scalar(select(Region.code).limit(1)) is not None


@dataclass
class _Demo:
    session: Session
    now: datetime
    rng: random.Random
    progress: Progress
    users: dict[str, Actor] = field(default_factory=dict)
    units: list[dict[str, Any]] = field(default_factory=list)
    campaigns: list[tuple[uuid.UUID, date, date]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n


def load(
    session: Session, *, progress: Progress | None = None, now: datetime | None = None
) -> dict:
    """Load the demo into an empty database (the caller commits). Returns counts and logins."""
    demo = _Demo(
        session=session,
        now=now or datetime.now(UTC),
        rng=random.Random(SEED),
        progress=progress or (lambda _msg: None),
    )
    steps = [
        ("regions", _regions),
        ("units", _units),
        ("users", _users),
        ("campaigns", _campaigns),
        ("inspections and hazards", _inspections),
        ("self-reports", _self_reports),
    ]
    for i, (name, step) in enumerate(steps, 1):
        demo.progress(f"  [{i}/{len(steps)}] {name} …")
        step(demo)
        session.flush()
    return {"counts": demo.counts, "logins": LOGINS}


# --- steps ----------------------------------------------------------------------------------


def _regions(d: _Demo) -> None:
    for code, name in REGIONS:
        regions.put_region(d.session, code=code, name=name)
        d.count("regions")


def _units(d: _Demo) -> None:
    from services import units as unit_service

    region_names = dict(REGIONS)
    today = d.now.astimezone(get_settings().tz).date()
    since = date(today.year - 2, 1, 1)
    enterprise_no = 0
    for i, (name, village, kind, industry, is_ent, key, reporting, status) in enumerate(UNITS):
        code = None
        if is_ent:
            enterprise_no += 1
            code = credit_code(enterprise_no)
        status_since = None
        if status == "suspended":
            status_since = today - timedelta(days=40)
        elif status == "closed":
            status_since = today - timedelta(days=200)
        unit, _ = unit_service.create_unit(
            d.session,
            SYSTEM,
            id=_id("unit", name),
            name=name,
            region_code=village,
            kind=kind,
            industry=industry,
            credit_code=code,
            address=f"浙江省杭州市示范县{region_names[village]}{10 + i * 3}号",
            key_supervision=key,
            reporting_required=reporting,
            status=status,
            operating_since=since,
            status_since=status_since,
        )
        d.units.append(
            {
                "id": unit.id,
                "name": name,
                "region": village,
                "township": village[:9] + "000",
                "kind": kind,
                "reporting": reporting,
                "status": status,
                "closed_on": status_since if status == "closed" else None,
            }
        )
        d.count("units")


# The demo's passwords are printed for everyone to read, so a costly hash buys nothing for
# them; a light argon2 hash (verify() reads the parameters from the hash) keeps the load fast.
_DEMO_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def _user(
    d: _Demo,
    key: str,
    username: str,
    password: str,
    role: str,
    region: str | None,
    unit_id: uuid.UUID | None = None,
) -> None:
    if password not in d.hashes:
        d.hashes[password] = _DEMO_HASHER.hash(password)
    user = User(
        username=username,
        password_hash=d.hashes[password],
        role=role,
        region_code=region,
        unit_id=unit_id,
    )
    d.session.add(user)
    d.session.flush()
    audit.record(
        d.session,
        SYSTEM,
        entity="user",
        entity_id=user.id,
        action="create",
        changes={"username": username, "role": role, "region_code": region},
    )
    d.users[key] = auth.actor_of(user)
    d.count("users")


def _users(d: _Demo) -> None:
    logins = {row["username"]: row["password"] for row in LOGINS}
    _user(d, "admin", "admin", logins["admin"], "admin", None)
    _user(d, "county", "county", logins["county"], "county", COUNTY)
    for town, slug in TOWNSHIPS.items():
        first = slug == "chengguan"
        _user(
            d,
            f"township:{town}",
            "township" if first else f"township-{slug}",
            logins["township"] if first else STAFF_PASSWORD,
            "township",
            town,
        )
        _user(
            d,
            f"inspector:{town}",
            "inspector" if first else f"inspector-{slug}",
            logins["inspector"] if first else STAFF_PASSWORD,
            "inspector",
            town,
        )
    # Accounts for the units that file their own reports (the others are filed for them: 代报).
    reporting = [u for u in d.units if u["reporting"] and u["status"] != "closed"]
    for n, unit in enumerate(reporting[::2], 1):
        username = "unit" if n == 1 else f"unit-{n:02d}"
        _user(d, f"unit:{unit['id']}", username, UNIT_PASSWORD, "unit", unit["region"], unit["id"])


def _campaigns(d: _Demo) -> None:
    today = d.now.astimezone(get_settings().tz).date()
    for name, start, end, note in [
        (
            "九小场所消防安全专项检查",
            today - timedelta(days=160),
            today - timedelta(days=120),
            "重点检查安全出口、电动自行车充电和电气线路",
        ),
        (
            "节前安全生产大检查",
            today - timedelta(days=70),
            today - timedelta(days=50),
            "中秋、国庆节前检查人员密集场所",
        ),
    ]:
        campaign_id = _id("campaign", name)
        d.session.add(
            Campaign(
                id=campaign_id,
                name=name,
                region_code=COUNTY,
                starts_on=start,
                ends_on=end,
                note=note,
                created_by=d.users["county"].user_id,
            )
        )
        d.campaigns.append((campaign_id, start, end))
        d.count("campaigns")


def _local(d: _Demo, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=get_settings().tz)


def _hazard_items(d: _Demo, unit: dict, n: int, found: datetime, seq: int) -> list[dict]:
    items = []
    groups = BY_KIND.get(unit["kind"], ["fire", "other"])
    for j in range(n):
        category, description, location = d.rng.choice(HAZARDS[d.rng.choice(groups)])
        on_the_spot = d.rng.random() < 0.4
        item: dict[str, Any] = {
            "id": _id("hazard", seq, j),
            "level": "general",
            "category": category,
            "description": description,
            "location": location,
            "handling": "on_the_spot" if on_the_spot else "deadline",
        }
        if not on_the_spot:
            item["deadline"] = found + timedelta(days=d.rng.choice([7, 10, 15, 30]))
        items.append(item)
    return items


def _inspections(d: _Demo) -> None:
    try:
        from services import inspections as inspection_service
    except ImportError:  # the inspection service is not in this version yet
        return

    today = d.now.astimezone(get_settings().tz).date()
    open_units = [u for u in d.units if u["status"] != "closed"]
    campaigns = d.campaigns
    plans: list[tuple[dict, date, str, uuid.UUID | None]] = []
    for seq in range(48):
        unit = (
            open_units[seq % len(open_units)] if seq < len(open_units) else d.rng.choice(open_units)
        )
        days_ago = d.rng.randint(2, 330)
        kind = d.rng.choice(["routine", "routine", "routine", "spot_check", "joint", "enforcement"])
        campaign_id = None
        for cid, start, end in campaigns:
            if seq % 6 == 0 and unit["kind"] in ("small_venue", "shop", "restaurant"):
                day = start + timedelta(days=d.rng.randint(0, (end - start).days))
                kind, campaign_id, days_ago = "campaign", cid, (today - day).days
                break
            if seq % 7 == 0:
                day = start + timedelta(days=d.rng.randint(0, (end - start).days))
                kind, campaign_id, days_ago = "holiday", cid, (today - day).days
        plans.append((unit, today - timedelta(days=max(days_ago, 2)), kind, campaign_id))
    plans.sort(key=lambda p: p[1])

    for seq, (unit, day, kind, campaign_id) in enumerate(plans):
        town = unit["township"]
        actor = d.users[f"inspector:{town}"]
        found = _local(d, day, d.rng.randint(9, 16), d.rng.choice([0, 15, 30, 45]))
        n = d.rng.choices([0, 1, 2, 3], weights=[30, 35, 25, 10])[0]
        hazards = _hazard_items(d, unit, n, found, seq)
        data: dict[str, Any] = {
            "id": _id("inspection", seq),
            "unit_id": unit["id"],
            "kind": kind,
            "campaign_id": campaign_id if kind == "campaign" else None,
            "inspected_at": found,
            "inspectors": d.rng.sample(INSPECTORS[town], 2),
            "hazards": hazards,
        }
        if kind == "joint":
            data["departments"] = d.rng.sample(DEPARTMENTS, 2)
            data["note"] = "联合检查：" + "、".join(data["departments"])
        if any(h["handling"] == "deadline" for h in hazards):
            data["notice_number"] = f"示安监〔{day.year}〕第{seq + 1:03d}号"
        inspection_service.record_inspection(d.session, actor, data=data)
        d.count("inspections")
        d.count("hazards", len(hazards))
        for h in hazards:
            if h["handling"] == "deadline":
                _lifecycle(d, h, found, unit)
    _major_hazards(d, inspection_service)


def _lifecycle(d: _Demo, hazard: dict, found: datetime, unit: dict) -> None:
    """Play a plausible story of events for one hazard; stops at anything not yet happened."""
    deadline: datetime = hazard["deadline"]
    span = deadline - found
    town = unit["township"]
    staff = d.users[f"township:{town}"]
    inspector = d.users[f"inspector:{town}"]
    doer = d.users.get(f"unit:{unit['id']}", staff)  # the unit, or staff recording for it
    story = d.rng.choices(
        ["on_time", "late", "extended", "rejected", "idle", "started", "voided"],
        weights=[45, 10, 8, 7, 12, 15, 3],
    )[0]
    day = timedelta(days=1)
    steps: list[tuple[Actor, str, datetime, dict]] = []
    if story == "on_time":
        steps = [
            (doer, "start_rectification", found + day, {}),
            (doer, "submit_rectification", found + span * 0.7, {"note": "已整改，附整改后照片"}),
            (inspector, "verify", found + span * 0.7 + day, {"note": "复查合格，予以销号"}),
        ]
    elif story == "late":
        steps = [
            (doer, "start_rectification", found + 2 * day, {}),
            (doer, "submit_rectification", deadline + 4 * day, {"note": "逾期完成整改"}),
            (inspector, "verify", deadline + 6 * day, {"note": "复查合格"}),
        ]
    elif story == "extended":
        steps = [
            (doer, "start_rectification", found + day, {}),
            (
                staff,
                "extend",
                deadline - day,
                {"deadline": deadline + 15 * day, "note": "需采购设备，申请延期15天"},
            ),
            (doer, "submit_rectification", deadline + 10 * day, {}),
            (inspector, "verify", deadline + 12 * day, {"note": "复查合格"}),
        ]
    elif story == "rejected":
        steps = [
            (doer, "submit_rectification", found + span * 0.5, {}),
            (inspector, "reject", found + span * 0.6, {"note": "整改不到位，重新整改"}),
            (doer, "submit_rectification", found + span * 0.9, {"note": "已重新整改"}),
            (inspector, "verify", deadline + day, {"note": "复查合格"}),
        ]
    elif story == "started":
        steps = [(doer, "start_rectification", found + day, {})]
    elif story == "voided":
        steps = [(inspector, "void", found + 2 * day, {"note": "重复录入，作废"})]
    _apply(d, hazard["id"], steps)


def _apply(d: _Demo, hazard_id: uuid.UUID, steps: list[tuple[Actor, str, datetime, dict]]) -> None:
    from services import hazards as hazard_service

    cutoff = d.now - timedelta(hours=1)
    for n, (actor, event_type, at, extra) in enumerate(steps):
        if at > cutoff:
            break  # this part of the story has not happened yet
        data = {"id": _id("event", hazard_id, n), "type": event_type, "at": at, **extra}
        hazard_service.apply_event(d.session, actor, hazard_id=hazard_id, data=data)
        d.count("hazard events")


def _major_hazards(d: _Demo, inspection_service: Any) -> None:
    """Two 重大事故隐患: one under county supervision with a governance plan, one transferred."""
    today = d.now.astimezone(get_settings().tz).date()
    by_name = {u["name"]: u for u in d.units}

    chem = by_name["青山化工有限公司"]
    found = _local(d, today - timedelta(days=75), 10)
    deadline = found + timedelta(days=120)
    hazard_id = _id("hazard", "major", "chemicals")
    plan = {
        "measures": "甲类仓库整体改造：更换防爆电气，增设可燃气体报警和通风设施，分区分类存放",
        "funds": "85万元，企业自筹",
        "responsible": "企业法定代表人 王建国；安全负责人 李明",
        "deadline": deadline.date().isoformat(),
        "safety_measures": "改造期间仓库停用，原料限量存放于临时库房，专人24小时值守",
        "emergency_measures": "修订危化品泄漏应急预案，配备堵漏器材和应急物资，每月演练一次",
    }
    town = chem["township"]
    inspection_service.record_inspection(
        d.session,
        d.users[f"inspector:{town}"],
        data={
            "id": _id("inspection", "major", "chemicals"),
            "unit_id": chem["id"],
            "kind": "joint",
            "inspected_at": found,
            "inspectors": INSPECTORS[town][:2],
            "departments": ["县应急管理局", "县消防救援大队"],
            "notice_number": f"示安监〔{found.year}〕重字第001号",
            "note": "联合检查：危险化学品专项",
            "hazards": [
                {
                    "id": hazard_id,
                    "level": "major",
                    "category": "chemicals",
                    "description": "甲类危险化学品仓库电气设施不防爆，与生产车间防火间距不足",
                    "location": "甲类仓库",
                    "handling": "deadline",
                    "deadline": deadline,
                    "governance_plan": plan,
                }
            ],
        },
    )
    d.count("inspections")
    d.count("hazards")
    _apply(
        d,
        hazard_id,
        [
            (
                d.users["county"],
                "supervise",
                found + timedelta(days=3),
                {"note": "县安委会挂牌督办"},
            ),
            (
                d.users.get(f"unit:{chem['id']}", d.users[f"township:{town}"]),
                "start_rectification",
                found + timedelta(days=5),
                {"note": "已停用仓库，开始改造"},
            ),
        ],
    )

    site = by_name["南苑二期住宅工程"]
    found = _local(d, today - timedelta(days=130), 14, 30)
    hazard_id = _id("hazard", "major", "construction")
    town = site["township"]
    inspection_service.record_inspection(
        d.session,
        d.users[f"inspector:{town}"],
        data={
            "id": _id("inspection", "major", "construction"),
            "unit_id": site["id"],
            "kind": "enforcement",
            "inspected_at": found,
            "inspectors": INSPECTORS[town][:2],
            "notice_number": f"示安监〔{found.year}〕重字第002号",
            "hazards": [
                {
                    "id": hazard_id,
                    "level": "major",
                    "category": "construction",
                    "description": "深基坑支护未按专项方案施工，坑边堆载超限",
                    "location": "2号楼基坑",
                    "handling": "deadline",
                    "deadline": found + timedelta(days=30),
                    "governance_plan": {
                        "measures": "立即卸载坑边堆土，按专项方案补强支护并进行第三方监测",
                        "funds": "40万元，施工单位承担",
                        "responsible": "项目经理 陈刚",
                        "deadline": (found + timedelta(days=30)).date().isoformat(),
                        "safety_measures": "基坑周边停止作业，设置警戒区",
                        "emergency_measures": "制定基坑坍塌应急预案，备足抢险物资",
                    },
                }
            ],
        },
    )
    d.count("inspections")
    d.count("hazards")
    _apply(
        d,
        hazard_id,
        [
            (
                d.users[f"township:{town}"],
                "transfer",
                found + timedelta(days=1),
                {"department": "县住建局", "note": "移送住建部门依法处理"},
            ),
            (
                d.users[f"township:{town}"],
                "submit_rectification",
                found + timedelta(days=25),
                {"note": "支护补强完成，监测数据正常"},
            ),
            (
                d.users[f"inspector:{town}"],
                "verify",
                found + timedelta(days=27),
                {"note": "会同住建局复查合格，予以销号"},
            ),
        ],
    )


def _self_reports(d: _Demo) -> None:
    """Reports for the last three ended quarters: most on time, some late, some missing."""
    try:
        from services import self_reports as report_service
    except ImportError:  # the self-report service is not in this version yet
        return
    settings = get_settings()
    tz = settings.tz
    today = d.now.astimezone(tz).date()
    first_of_quarter = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    quarters: list[tuple[str, date, date]] = []  # (key, first day, first day after)
    end = first_of_quarter
    for _ in range(3):
        start = date(end.year - (end.month == 1), (end.month - 4) % 12 + 1, 1)
        quarters.append((quarter_of(start), start, end))
        end = start
    quarters.reverse()

    for key, start, end in quarters:
        due = datetime.combine(
            end.replace(day=settings.report_deadline_day), time(23, 59), tzinfo=tz
        )
        for n, unit in enumerate(u for u in d.units if u["reporting"]):
            if unit["closed_on"] is not None and unit["closed_on"] < start:
                continue
            roll = d.rng.random()
            if roll < 0.12:
                continue  # not filed (未报)
            filed_at = due - timedelta(days=d.rng.randint(1, 12), hours=d.rng.randint(0, 8))
            if roll > 0.9:
                filed_at = due + timedelta(days=d.rng.randint(2, 20))  # late
            if filed_at > d.now - timedelta(hours=1):
                continue
            actor = d.users.get(f"unit:{unit['id']}")
            if actor is None or d.rng.random() < 0.2:
                actor = d.users[f"inspector:{unit['township']}"]  # filed for the unit (代报)
            hazards: list[dict[str, Any]] = []
            if d.rng.random() < 0.35:
                found_day = start + timedelta(days=d.rng.randint(5, 80))
                found = _local(d, min(found_day, end - timedelta(days=1)), 10)
                hazards = _hazard_items(d, unit, d.rng.randint(1, 2), found, f"sr-{key}-{n}")
                for h in hazards:
                    h["found_at"] = found
            report_service.file_report(
                d.session,
                actor,
                unit_id=unit["id"],
                quarter=key,
                data={"zero_hazard": not hazards, "hazards": hazards},
                now=filed_at,
            )
            d.count("self-reports")
            d.count("hazards", len(hazards))
            for h in hazards:
                if h["handling"] == "deadline":
                    _lifecycle(d, h, h["found_at"], unit)


def demo_users(session: Session) -> list[str]:
    """Usernames of the demo accounts present in the database."""
    names = [row["username"] for row in LOGINS]
    return list(session.scalars(select(User.username).where(User.username.in_(names))))
