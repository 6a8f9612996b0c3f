"""Write a realistic county or province into a bench database, fast: COPY, not the ORM.

    python bench/generate.py --scale county      # 20 townships, 300 villages, 5,000 units, ~200k hazards
    python bench/generate.py --scale province    # 2,000 townships, 500,000 units, ~10M hazards
    python bench/generate.py --scale tiny        # seconds; the smoke test uses it

The mix follows domain.md and the townships' own summaries: about a third of hazards fixed on the
spot, 3 % major, fire and electrical most common, most deadline hazards closed (a few late),
some overdue, 1 % voided, 6 % uploaded days late by offline phones, units filing quarterly
self-reports (a quarter of them filed by township staff, 代报; many declaring zero hazards).
Ids are counters laid out as UUIDs, so the indexes grow at their right edge. Foreign keys are
not checked during the load (session_replication_role = replica): the generator writes them
consistent. Hazards carry found_month (the local month, Asia/Shanghai) as the API writes it.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from bench import common  # noqa: E402
from services.credit_code import check_char  # noqa: E402

TZ_HOURS = 8  # Asia/Shanghai: no daylight saving since 1991
N = r"\N"

KINDS = [
    ("small_venue", 30),
    ("shop", 22),
    ("restaurant", 14),
    ("enterprise", 18),
    ("construction_site", 4),
    ("training_institution", 3),
    ("school", 2),
    ("kindergarten", 2),
    ("other", 5),
]
CATEGORIES = [
    ("fire", 30),
    ("electrical", 20),
    ("exits", 12),
    ("e_bike", 10),
    ("building_materials", 6),
    ("gas", 6),
    ("machinery", 4),
    ("chemicals", 3),
    ("construction", 3),
    ("confined_space", 2),
    ("other", 4),
]
INSPECTION_KINDS = [
    ("routine", 55),
    ("holiday", 12),
    ("campaign", 12),
    ("joint", 8),
    ("spot_check", 8),
    ("enforcement", 3),
    ("re_inspection", 2),
]
DESCRIPTIONS = {
    "fire": ["灭火器过期未检", "消防设施损坏", "未配备灭火器"],
    "electrical": ["私拉乱接电线", "配电箱未上锁", "电气线路老化"],
    "exits": ["安全出口堵塞", "疏散通道堆放杂物", "应急照明损坏"],
    "e_bike": ["电动自行车室内充电", "楼道停放电动车"],
    "building_materials": ["使用易燃彩钢板", "可燃装修材料"],
    "gas": ["燃气软管老化", "未安装燃气报警器"],
    "machinery": ["防护罩缺失", "设备未定期检修"],
    "chemicals": ["危化品储存不规范", "未设置警示标识"],
    "construction": ["脚手架不规范", "临边防护缺失"],
    "confined_space": ["有限空间未设警示", "未配备检测设备"],
    "other": ["安全管理制度不健全", "未开展安全培训"],
}
INSPECTORS = ["张伟", "王芳", "李强", "刘洋", "陈静", "杨磊", "赵敏", "黄勇", "周杰", "吴霞"]
DEPARTMENTS = ['["消防救援大队"]', '["市场监管所"]', '["派出所", "消防救援大队"]']
HASH = "0" * 64


def weighted(pairs: list[tuple[str, int]]) -> list[str]:
    """A list to draw from with random.choice, in proportion to the weights."""
    return [v for v, w in pairs for _ in range(w)]


def uid(kind: int, n: int) -> str:
    """A UUID-shaped counter: kind in the first group, the counter in the last."""
    return f"{kind:08x}-0000-4000-8000-{n:012x}"


def ts(sec: int) -> str:
    """Epoch seconds as a timestamptz literal in local time (+08)."""
    return _stamp(sec)


_DAY_CACHE: dict[int, str] = {}


def _stamp(sec: int) -> str:
    local = sec + TZ_HOURS * 3600
    day, rest = divmod(local, 86400)
    d = _DAY_CACHE.get(day)
    if d is None:
        d = _DAY_CACHE[day] = (date(1970, 1, 1) + timedelta(days=day)).isoformat()
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    return f"{d} {h:02d}:{m:02d}:{s:02d}+08"


def local_month(sec: int) -> str:
    d = date(1970, 1, 1) + timedelta(days=(sec + TZ_HOURS * 3600) // 86400)
    return f"{d.year:04d}-{d.month:02d}-01"


def quarter_bounds(q: tuple[int, int]) -> tuple[int, int, int]:
    """(start, end, report deadline) of a quarter in epoch seconds (local boundaries)."""
    y, n = q
    first = datetime(y, 3 * n - 2, 1, tzinfo=UTC) - timedelta(hours=TZ_HOURS)
    ny, nm = (y + 1, 1) if n == 4 else (y, 3 * n + 1)
    end = datetime(ny, nm, 1, tzinfo=UTC) - timedelta(hours=TZ_HOURS)
    deadline = end + timedelta(days=15)  # end of the 15th day of the month after
    return int(first.timestamp()), int(end.timestamp()), int(deadline.timestamp())


class Generator:
    def __init__(self, scale: common.Scale, url: str, *, seed: int = 2024, progress=print):
        self.scale, self.url, self.progress = scale, url, progress
        self.rng = random.Random(seed)
        self.now = int(time.time()) - 60
        self.start = self.now - scale.months * 30 * 86400
        self.counts = dict.fromkeys(
            ("regions", "units", "inspections", "hazards", "events", "self_reports"), 0
        )
        self.kinds = weighted(KINDS)
        self.categories = weighted(CATEGORIES)
        self.ins_kinds = weighted(INSPECTION_KINDS)
        self.hazards_per_unit = 1.06 * scale.hazards / scale.units  # units closed early have fewer
        self.n_ins = self.n_hz = self.n_ev = self.n_sr = 0
        # Quarters that ended inside the window (they have self-reports).
        self.quarters = []
        d = datetime.fromtimestamp(self.start, UTC)
        q = (d.year, (d.month - 1) // 3 + 1)
        while True:
            first, end, deadline = quarter_bounds(q)
            if end > self.now:
                break
            if first >= self.start:
                self.quarters.append((f"{q[0]}Q{q[1]}", first, end, deadline))
            q = (q[0] + 1, 1) if q[1] == 4 else (q[0], q[1] + 1)

    # --- the tree --------------------------------------------------------------------------

    def regions(self) -> tuple[list[tuple], list[str]]:
        s = self.scale
        rows = [("330000000000", "浙江省(基准)", None, 1)]
        villages = []
        for c in range(1, s.cities + 1):
            city = f"33{c:02d}00000000"
            rows.append((city, f"第{c}市", "330000000000", 2))
            for k in range(1, s.counties + 1):
                county = f"33{c:02d}{k:02d}000000"
                rows.append((county, f"第{c}市第{k}县", city, 3))
                for t in range(1, s.townships + 1):
                    town = f"{county[:6]}{t:03d}000"
                    rows.append((town, f"第{t}镇", county, 4))
                    for v in range(1, s.villages + 1):
                        code = f"{town[:9]}{v:03d}"
                        rows.append((code, f"第{v}村", town, 5))
                        villages.append(code)
        return rows, villages

    # --- one unit and everything about it -----------------------------------------------------

    def unit_row(self, n: int, region: str) -> tuple[str, str, bool, int | None, int | None]:
        r = self.rng
        kind = r.choice(self.kinds)
        key = r.random() < (0.25 if kind in ("enterprise", "construction_site") else 0.04)
        required = kind in ("enterprise", "construction_site", "school") or r.random() < 0.5
        credit = N
        if kind == "enterprise" or r.random() < 0.3:
            body = f"9133{n:013d}"[:17]
            credit = body + check_char(body)
        status, since_sec, closed_sec = "operating", None, None
        x = r.random()
        if x < 0.05:
            status = "closed"
            closed_sec = r.randint(self.start, self.now - 86400)
        elif x < 0.08:
            status = "suspended"
        if r.random() < 0.1:  # opened during the window
            since_sec = r.randint(self.start, self.now - 30 * 86400)
            if closed_sec is not None and closed_sec <= since_sec:
                closed_sec = None
                status = "operating"
        since = local_month(since_sec)[:8] + "01" if since_sec else N
        if since_sec:
            since = _stamp(since_sec)[:10]
        closed = _stamp(closed_sec)[:10] if closed_sec else N
        uid_ = uid(1, n)
        row = "\t".join(
            (
                uid_,
                f"单位{n:07d}号",
                region,
                kind,
                "制造业" if kind == "enterprise" else N,
                credit,
                f"{region}号路{n % 300}号",
                "t" if key else "f",
                "t" if required else "f",
                status,
                closed if status == "closed" else N,
                since,
                closed if status == "closed" else N,
                HASH,
            )
        )
        self._unit_line = row + "\n"
        return uid_, kind, required and status != "closed" or required, since_sec, closed_sec

    def hazard(
        self,
        unit: str,
        region: str,
        found: int,
        *,
        inspection: str | None,
        report: str | None,
        on_the_spot_bias: float = 0.35,
    ) -> str:
        r, now = self.rng, self.now
        self.n_hz += 1
        hid = uid(3, self.n_hz)
        major = r.random() < 0.03
        category = r.choice(self.categories)
        spot = (not major) and r.random() < on_the_spot_bias
        received = found + r.randint(60, 3600)
        if r.random() < 0.06:  # an offline phone uploads days later
            received = found + r.randint(86400, 10 * 86400)
        received = min(received, now)
        status, init_dl, dl, submitted, closed, voided = "closed", None, None, None, None, None
        supervised = major and r.random() < 0.3
        events: list[tuple[str, int, str, str, int | None]] = []  # type, at, from, to, deadline
        if spot:
            closed = found
        else:
            days = r.randint(30, 120) if major else r.randint(3, 30)
            init_dl = dl = found + days * 86400
            if r.random() < 0.04:  # 延期
                ext_at = found + (dl - found) // 2
                if ext_at < now:
                    dl = dl + r.randint(7, 30) * 86400
                    events.append(("extend", ext_at, "reported", "reported", dl))
            x = r.random()
            if x < 0.01:
                status = "voided"
                voided = min(now, found + r.randint(3600, 5 * 86400))
                events.append(("void", voided, "reported", "voided", None))
            elif dl < now:
                if x < 0.88:  # closed, mostly on time
                    span = dl - found
                    closed = found + int(
                        span * (r.uniform(0.2, 1.0) if r.random() < 0.88 else r.uniform(1.0, 1.6))
                    )
                    closed = min(closed, now)
                    submitted = closed - r.randint(0, min(86400, closed - found))
                elif x < 0.91:
                    status = "rectified"
                    submitted = found + int((dl - found) * r.uniform(0.5, 1.3))
                    submitted = min(submitted, now)
                elif x < 0.94:
                    status = "rectifying"
                else:
                    status = "reported"  # overdue
            else:
                if x < 0.4:
                    closed = found + int((now - found) * r.random())
                    submitted = closed
                elif x < 0.55:
                    status = "rectified"
                    submitted = found + int((now - found) * r.random())
                elif x < 0.75:
                    status = "rectifying"
                else:
                    status = "reported"
            if status in ("rectifying", "rectified", "closed") and r.random() < 0.6:
                events.append(("start_rectification", found + 600, "reported", "rectifying", None))
            if submitted is not None:
                events.append(("submit_rectification", submitted, "rectifying", "rectified", None))
            if status == "closed":
                events.append(("verify", closed, "rectified", "closed", None))
        if self.scale.events and events:
            self._events(hid, sorted(events, key=lambda e: e[1]))
        desc = r.choice(DESCRIPTIONS[category])
        plan = (
            '{"measures": "停业整改", "funds": "5万元", "responsible": "法定代表人", '
            '"deadline": "限期", "safety": "设置警戒", "emergency": "应急预案"}'
            if major
            else N
        )
        return (
            "\t".join(
                (
                    hid,
                    unit,
                    region,
                    inspection or N,
                    report or N,
                    "inspection" if inspection else "self_report",
                    "major" if major else "general",
                    category,
                    desc,
                    "一楼" if r.random() < 0.5 else N,
                    "on_the_spot" if spot else "deadline",
                    _stamp(found),
                    local_month(found),
                    _stamp(received),
                    status,
                    _stamp(init_dl) if init_dl else N,
                    _stamp(dl) if dl else N,
                    _stamp(submitted) if submitted else N,
                    _stamp(closed) if closed is not None and status == "closed" else N,
                    _stamp(voided) if voided else N,
                    "t" if supervised else "f",
                    N,
                    plan,
                    N,
                    HASH,
                )
            )
            + "\n"
        )

    def _events(self, hid: str, events: list) -> None:
        # Keep the lifecycle legal: from_status is the previous to_status.
        state = "reported"
        for seq, (kind, at, _from, to, deadline) in enumerate(events, 1):
            if kind == "extend":
                to = state
            self.n_ev += 1
            self._ev.append(
                "\t".join(
                    (
                        uid(4, self.n_ev),
                        hid,
                        str(seq),
                        kind,
                        _stamp(at),
                        _stamp(at + 60),
                        N,
                        "inspector",
                        "作废：重复录入" if kind == "void" else N,
                        _stamp(deadline) if deadline else N,
                        N,
                        "[]",
                        state,
                        to,
                        HASH,
                    )
                )
                + "\n"
            )
            state = to

    # --- the load ------------------------------------------------------------------------------

    def run(self, *, chunk: int = 2000) -> dict[str, int]:
        s, r = self.scale, self.rng
        started = time.monotonic()
        regions, villages = self.regions()
        conns = [psycopg.connect(self.url) for _ in range(5)]
        for c in conns:
            c.execute("SET session_replication_role = replica")  # FKs written consistent
            c.execute("SET synchronous_commit = off")
        with conns[0].cursor() as cur:
            with cur.copy("COPY regions (code, name, parent_code, level) FROM STDIN") as cp:
                for row in regions:
                    cp.write_row(row)
        self.counts["regions"] = len(regions)
        conns[0].commit()

        cur_u, cur_i, cur_h, cur_s, cur_e = (c.cursor() for c in conns)
        cp_u = cur_u.copy(
            "COPY units (id, name, region_code, kind, industry, credit_code, address, "
            "key_supervision, reporting_required, status, status_since, operating_since, "
            "closed_on, request_hash) FROM STDIN"
        )
        cp_i = cur_i.copy(
            "COPY inspections (id, unit_id, region_code, kind, inspected_at, inspected_month, "
            "inspectors, departments, notice_number, received_at, request_hash) FROM STDIN"
        )
        cp_h = cur_h.copy(
            "COPY hazards (id, unit_id, region_code, inspection_id, self_report_id, source, "
            "level, category, description, location, handling, found_at, found_month, "
            "received_at, status, initial_deadline, deadline, submitted_at, closed_at, "
            "voided_at, supervised, transferred_to, governance_plan, created_by, request_hash) "
            "FROM STDIN"
        )
        cp_s = cur_s.copy(
            "COPY self_reports (id, unit_id, region_code, quarter, first_filed_at, "
            "filed_by_unit, on_time, zero_hazard, version, updated_at) FROM STDIN"
        )
        cp_e = cur_e.copy(
            "COPY hazard_events (id, hazard_id, seq, type, at, received_at, actor_id, "
            "actor_role, note, deadline, department, photo_ids, from_status, to_status, "
            "request_hash) FROM STDIN"
        )
        managers = [cp_u, cp_i, cp_h, cp_s, cp_e]
        cp_u, cp_i, cp_h, cp_s, cp_e = (m.__enter__() for m in managers)
        self._ev: list[str] = []
        buf_u: list[str] = []
        buf_i: list[str] = []
        buf_h: list[str] = []
        buf_s: list[str] = []
        versions: list[tuple] = []
        last = time.monotonic()
        per_village = s.units / len(villages)
        span = self.now - self.start
        for n in range(1, s.units + 1):
            region = villages[min(len(villages) - 1, int((n - 1) / per_village))]
            unit, kind, required, since, closed_at = self.unit_row(n, region)
            buf_u.append(self._unit_line)
            alive_from = max(self.start, since or self.start)
            alive_to = min(self.now, closed_at or self.now)
            if alive_to <= alive_from + 86400:
                alive_to = alive_from + 86400
            # How many hazards this unit has: skewed, more at key or big units.
            mean = self.hazards_per_unit * (alive_to - alive_from) / span
            target = int(r.expovariate(1 / mean) + 0.5) if mean > 0 else 0
            # Quarterly self-reports, some with hazards the unit found itself.
            if required:
                for key, q_first, q_end, deadline in self.quarters:
                    if q_end <= alive_from or q_first >= alive_to:
                        continue
                    x = r.random()
                    if x < 0.08:
                        continue  # not filed (未报)
                    filed = (
                        r.randint(q_end, deadline - 60)
                        if x < 0.9
                        else r.randint(deadline, deadline + 40 * 86400)
                    )
                    if filed > self.now:
                        continue
                    self.n_sr += 1
                    sid = uid(5, self.n_sr)
                    by_unit = r.random() < 0.75  # the rest are 代报 by township staff
                    zero = r.random() < 0.55
                    buf_s.append(
                        f"{sid}\t{unit}\t{region}\t{key}\t{_stamp(filed)}\t"
                        f"{'t' if by_unit else 'f'}\t{'t' if filed <= deadline else 'f'}\t"
                        f"{'t' if zero else 'f'}\t1\t{_stamp(filed)}\n"
                    )
                    versions.append((sid, filed, by_unit, zero))
                    if not zero:
                        for _ in range(r.randint(1, 2)):
                            found = r.randint(q_first, q_end - 1)
                            buf_h.append(
                                self.hazard(
                                    unit,
                                    region,
                                    found,
                                    inspection=None,
                                    report=sid,
                                    on_the_spot_bias=0.7,
                                )
                            )
                            target -= 1
            # Inspections: most find hazards (1–4), some find none.
            while target > 0 or r.random() < 0.25:
                self.n_ins += 1
                iid = uid(2, self.n_ins)
                at = r.randint(alive_from, alive_to - 1)
                k = min(target, r.choice((1, 1, 2, 2, 2, 3, 3, 4))) if target > 0 else 0
                kind_i = r.choice(self.ins_kinds)
                buf_i.append(
                    f"{iid}\t{unit}\t{region}\t{kind_i}\t{_stamp(at)}\t{local_month(at)}\t"
                    f'["{r.choice(INSPECTORS)}", "{r.choice(INSPECTORS)}"]\t'
                    f"{DEPARTMENTS[self.n_ins % 3] if kind_i == 'joint' else '[]'}\t"
                    f"{f'整改通知书〔{at // 31_557_600 + 1970}〕第{self.n_ins}号' if k else N}\t"
                    f"{_stamp(min(self.now, at + 1800))}\t{HASH}\n"
                )
                for _ in range(k):
                    buf_h.append(self.hazard(unit, region, at, inspection=iid, report=None))
                target -= k
                if k == 0:
                    break
            if n % chunk == 0 or n == s.units:
                cp_u.write("".join(buf_u))
                cp_i.write("".join(buf_i))
                cp_h.write("".join(buf_h))
                cp_s.write("".join(buf_s))
                if self._ev:
                    cp_e.write("".join(self._ev))
                buf_u.clear(), buf_i.clear(), buf_h.clear(), buf_s.clear(), self._ev.clear()
                if time.monotonic() - last > 2 or n == s.units:
                    last = time.monotonic()
                    el = last - started
                    self.progress(
                        f"  units {n:,}/{s.units:,} ({100 * n / s.units:.0f} %), "
                        f"hazards {self.n_hz:,}, inspections {self.n_ins:,}, "
                        f"{self.n_hz / el:,.0f} hazards/s, ETA {el * (s.units - n) / n:,.0f} s"
                    )
        for m in managers:
            m.__exit__(None, None, None)
        with cur_s.copy(
            "COPY self_report_versions (id, report_id, version, filed_at, by_unit, zero_hazard, "
            "hazard_ids, request_hash) FROM STDIN"
        ) as cp:
            lines = []
            for i, (sid, filed, by_unit, zero) in enumerate(versions, 1):
                lines.append(
                    f"{uid(6, i)}\t{sid}\t1\t{_stamp(filed)}\t{'t' if by_unit else 'f'}\t"
                    f"{'t' if zero else 'f'}\t[]\t{HASH}\n"
                )
                if len(lines) >= 50_000:
                    cp.write("".join(lines))
                    lines.clear()
            cp.write("".join(lines))
        for c in conns:
            c.commit()
            c.close()
        self.counts.update(
            units=s.units,
            inspections=self.n_ins,
            hazards=self.n_hz,
            events=self.n_ev,
            self_reports=self.n_sr,
        )
        return self.counts


BULK_TABLES = ("units", "inspections", "hazards", "hazard_events", "self_reports")


def drop_secondary_indexes(url: str) -> list[tuple[str, str]]:
    """Drop the plain indexes of the big tables before a bulk load (built again after it:
    one sort per index is far cheaper than millions of insertions). Primary keys and unique
    constraints stay."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) "
            "AND indexname LIKE 'ix_%%'",
            (list(BULK_TABLES),),
        ).fetchall()
        for name, _ in rows:
            conn.execute(f'DROP INDEX "{name}"')
    return rows


def rebuild_indexes(url: str, indexes: list[tuple[str, str]], progress=print) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        for name, definition in indexes:
            t = time.monotonic()
            conn.execute(definition)
            progress(f"  index {name}: {time.monotonic() - t:.1f} s")


def analyze(url: str, progress=print) -> None:
    """VACUUM ANALYZE the loaded tables: statistics, visibility map and hint bits."""
    with psycopg.connect(url, autocommit=True) as conn:
        for table in (
            "regions",
            "units",
            "inspections",
            "hazards",
            "hazard_events",
            "self_reports",
            "self_report_versions",
        ):
            t = time.monotonic()
            conn.execute(f"VACUUM (ANALYZE) {table}")
            progress(f"  vacuum analyze {table}: {time.monotonic() - t:.1f} s")


def generate(scale_name: str, db: str | None = None, *, progress=print, seed: int = 2024) -> dict:
    scale = common.SCALES[scale_name]
    name = common.db_name(scale_name, db)
    progress(f"creating database {name} and its schema (migrations) …")
    url = common.create_database(name, fresh=True)
    progress(
        f"generating {scale.name}: {scale.units:,} units, ~{scale.hazards:,} hazards over "
        f"{scale.months} months (events: {'yes' if scale.events else 'no'})"
    )
    t = time.monotonic()
    dropped = drop_secondary_indexes(url) if scale.hazards >= 1_000_000 else []
    counts = Generator(scale, url, seed=seed, progress=progress).run()
    load_s = time.monotonic() - t
    if dropped:
        rebuild_indexes(url, dropped, progress)
    analyze(url, progress)
    total = time.monotonic() - t
    counts["seconds"] = round(total, 1)
    counts["load_seconds"] = round(load_s, 1)
    with psycopg.connect(url) as conn:
        size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        counts["size"] = size.fetchone()[0]
    progress(
        "done: "
        + ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in counts.items())
    )
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    common.scale_arg(parser)
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)
    counts = generate(args.scale, args.db, seed=args.seed)
    common.report(
        f"generate[{args.scale}]",
        counts["hazards"] / counts["load_seconds"],
        "hazards/s",
        target="COPY, with progress",
        extra={"counts": counts},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
