"""Reading the figures: cells summed over a region subtree, and the records behind them."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.orm import Session

from services.actors import Actor
from services.db import hot_reader, pyformat
from services.errors import Invalid, NotFound, Unauthorized
from services.metrics import definitions as d
from services.metrics.compute import code_range
from services.metrics.refresh import is_frozen
from services.models.metrics import CELL_COUNTS
from services.pagination import check_limit
from services.periods import Period, parse_period
from services.regions import BOUNDS, contains, get_region, level_of, prefix_of
from services.settings import get_settings

VIEWS = ("live", "frozen")

# rate name -> (numerator counts, denominator counts)
RATES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "rectification_rate": (("closed_general", "closed_major"), ("found_general", "found_major")),
    "rectification_rate_general": (("closed_general",), ("found_general",)),
    "rectification_rate_major": (("closed_major",), ("found_major",)),
    "on_time_rectification_rate": (
        ("closed_on_time_general", "closed_on_time_major"),
        ("closed_general", "closed_major"),
    ),
    "reporting_rate": (("reports_filed",), ("required_units",)),
    "on_time_reporting_rate": (("reports_on_time",), ("required_units",)),
    "self_reporting_rate": (("reports_self",), ("reports_filed",)),
    "zero_hazard_rate": (("reports_zero",), ("reports_filed",)),
    "coverage": (("units_inspected",), ("roster_units",)),
}
COUNTS: dict[str, tuple[str, ...]] = {
    "hazards_found": ("found_general", "found_major"),
    "hazards_closed": ("closed_general", "closed_major"),
    "overdue_hazards": ("overdue_general", "overdue_major"),
    "inspections": ("inspections",),
    "units_inspected": ("units_inspected",),
    "roster_units": ("roster_units",),
    "required_units": ("required_units",),
    "reports_filed": ("reports_filed",),
}


def rate(numerator: int, denominator: int) -> dict[str, Any]:
    return {
        "numerator": numerator,
        "denominator": denominator,
        "value": numerator / denominator if denominator else None,
    }


def metrics_of(counts: dict[str, int]) -> dict[str, Any]:
    """The API's figures from summed cell counts: each rate with its parts, each count."""
    out: dict[str, Any] = {}
    for name, (num, den) in RATES.items():
        out[name] = rate(sum(counts[c] for c in num), sum(counts[c] for c in den))
    for name, cols in COUNTS.items():
        out[name] = {"count": sum(counts[c] for c in cols)}
    return out


@dataclass
class Scope:
    """A checked request: a region the caller may read, a period and a view with its cut-off."""

    region_code: str
    region_name: str
    period: Period
    view: str
    cutoff: datetime
    frozen_at: datetime | None


def resolve(
    session: Session,
    *,
    actor: Actor,
    region: str | None,
    period: str,
    view: str = "live",
    now: datetime | None = None,
) -> Scope:
    """Check region (404 outside the caller's subtree), period and view (404 if not frozen)."""
    if view not in VIEWS:
        raise Invalid(["query", "view"], "must be live or frozen")
    code = region or actor.region_code
    if code is None:
        raise Invalid(["query", "region"], "is required for a caller bound to no region")
    r = get_region(session, code, scope=actor.scope)
    p = parse_period(period, ["query", "period"])  # type: ignore[arg-type]
    if view == "frozen":
        frozen = is_frozen(session, p.key) if p.kind == "quarter" else None
        if frozen is None:
            raise NotFound("frozen figures", p.key)
        return Scope(r.code, r.name, p, view, frozen[0], frozen[1])
    return Scope(r.code, r.name, p, view, now or datetime.now(UTC), None)


def _sum_sql(group: str = "") -> str:
    sums = ", ".join(f"COALESCE(sum({c}), 0)::bigint AS {c}" for c in CELL_COUNTS)
    return f"SELECT {group}{sums}, max(computed_at) AS computed_at FROM metric_cells"


def _counts(row: Any) -> dict[str, int]:
    return {c: int(row[c]) for c in CELL_COUNTS}


def figures(session: Session, scope: Scope) -> dict[str, Any]:
    """The figures of a region (its subtree's cells summed) for one period and view."""
    row = (
        session.execute(
            text(_sum_sql() + " WHERE view = :v AND period = :p AND region_code LIKE :pre"),
            {"v": scope.view, "p": scope.period.key, "pre": prefix_of(scope.region_code) + "%"},
        )
        .mappings()
        .one()
    )
    return {
        "region_code": scope.region_code,
        "region_name": scope.region_name,
        "period": scope.period.key,
        "view": scope.view,
        "cutoff": scope.cutoff,
        "computed_at": row["computed_at"],
        "metrics": metrics_of(_counts(row)),
        "counts": _counts(row),
    }


def _rank_key(entry: dict[str, Any]) -> tuple:
    value = entry["metrics"]["rectification_rate"]["value"]
    return (value is None, -(value or 0), entry["region_code"])


def breakdown(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """One entry per child region, ranked by rectification rate (highest first, nulls last).

    Records kept on the region itself (not on any child) appear as one more entry for the
    region's own level, so the entries always add up to the region.
    """
    params = {"v": scope.view, "p": scope.period.key, "code": scope.region_code}
    rows = (
        session.execute(
            text(
                f"""
                SELECT c.code, c.name, {", ".join(f"COALESCE(sum(m.{x}), 0)::bigint AS {x}" for x in CELL_COUNTS)},
                       max(m.computed_at) AS computed_at
                FROM regions c
                LEFT JOIN metric_cells m ON m.view = :v AND m.period = :p
                    AND m.region_code LIKE left(c.code, CASE c.level WHEN 1 THEN 2 WHEN 2 THEN 4
                        WHEN 3 THEN 6 WHEN 4 THEN 9 ELSE 12 END) || '%'
                WHERE c.parent_code = :code
                GROUP BY c.code, c.name
                """
            ),
            params,
        )
        .mappings()
        .all()
    )
    entries = []
    children = {c: 0 for c in CELL_COUNTS}
    for row in rows:
        counts = _counts(row)
        for c in CELL_COUNTS:
            children[c] += counts[c]
        entries.append(_entry(row["code"], row["name"], counts, row["computed_at"]))
    total = figures(session, scope)
    own = {c: total["counts"][c] - children[c] for c in CELL_COUNTS}
    if any(own.values()):
        entries.append(
            _entry(scope.region_code, f"{scope.region_name}（本级）", own, total["computed_at"])
        )
    entries.sort(key=_rank_key)
    for rank, e in enumerate(entries, start=1):
        e["rank"] = rank
    return entries


def _entry(code: str, name: str, counts: dict[str, int], computed_at: Any) -> dict[str, Any]:
    return {
        "region_code": code,
        "region_name": name,
        "computed_at": computed_at,
        "metrics": metrics_of(counts),
        "counts": counts,
    }


# -- the dashboard's hot reads: cached per process, checked on every request ----------------
#
# GET /metrics and /metrics/breakdown of the live view are what every dashboard polls. Each
# request runs one autocommit statement on the event loop (services/db.py, `HotPool`: no
# thread, no BEGIN/COMMIT, no ping): the caller's user row (still active, same token
# version), the region row (and its children's names), and the stamps of the cells under
# the region (migration 0005: every commit that changes cells moves them). While the stamps
# are those cached, the summed cells and the rendered JSON are reused; otherwise the cells
# are summed again by an index range. The stamps are read before the sums, so a cached entry
# is never newer than its stamp and a read never serves figures older than the last
# recompute committed before its check.
# Anything unusual (the frozen view, a bad period, a region outside the caller's subtree, no
# region) takes the general path above.

_CHECK = """
    (SELECT u.active AND u.token_version = :ver FROM users u WHERE u.id = :uid) AS caller_ok,
    (SELECT r.name FROM regions r WHERE r.code = :code) AS region_name,
    (SELECT row(count(*), sum(v.stamp), max(v.stamp))::text FROM metric_versions v
      WHERE v.view = 'live' AND v.period = :p AND v.township >= :tlo AND v.township < :thi
    ) AS stamp"""
_IN_SUBTREE = "view = 'live' AND period = :p AND region_code >= :lo AND region_code < :hi"
CHECK_FIGURES_SQL = pyformat(f"SELECT {_CHECK}")
CHECK_BREAKDOWN_SQL = pyformat(
    f"""SELECT {_CHECK},
        (SELECT json_agg(json_build_array(c.code, c.name) ORDER BY c.code)
           FROM regions c WHERE c.parent_code = :code)::text AS children"""
)
SUMS_SQL = pyformat(f"{_sum_sql()} WHERE {_IN_SUBTREE}")
# Children's sums in one pass: cells grouped by their child's prefix (the codes of a level
# share their first `clen` digits); the region's own cells and cells of unknown children are
# the region's own level, as in `breakdown`.
GROUPS_SQL = pyformat(
    f"{_sum_sql('left(region_code, :clen) AS child, ')} WHERE {_IN_SUBTREE} GROUP BY 1"
)


@dataclass
class Dashboard:
    """A checked hot read: who asks (user id and token version), which region and period."""

    user_id: Any
    token_version: int
    region_code: str
    period: Period
    cutoff: datetime


def dashboard_scope(
    actor: Actor, *, token_version: int, region: str | None, period: str, view: str
) -> Dashboard | None:
    """The hot read for this request, or None when it needs the general path."""
    code = region or actor.region_code
    if view != "live" or code is None or not contains(actor.scope, code):
        return None
    try:
        p = parse_period(period, ["query", "period"])  # type: ignore[arg-type]
    except Invalid:
        return None
    return Dashboard(actor.user_id, token_version, code, p, datetime.now(UTC))


@dataclass
class _Cached:
    stamp: str  # (count, sum, max) of the stamps under the region when the sums were read
    data: Any  # the sums: figures (counts, computed_at); breakdown [(child, computed_at, counts)]
    rendered: tuple[Any, bytes, bytes] | None = None  # (names, JSON before and after cutoff)


_MAX_CACHED = 4096
_cache: dict[tuple[str, str, str], _Cached] = {}
_CUTOFF = f"cutoff-{uuid.uuid4().hex}"  # a placeholder no data can contain


def _hot_params(q: Dashboard) -> dict[str, Any]:
    prefix = prefix_of(q.region_code)
    town = code_range(prefix[:9])  # the township keys of the stamps under the region
    return {
        "uid": q.user_id,
        "ver": q.token_version,
        "code": q.region_code,
        "p": q.period.key,
        "tlo": town["lo"],
        "thi": town["hi"],
        **code_range(prefix),
    }


def _checked(row: Any, q: Dashboard) -> str:
    if not row.caller_ok:
        raise Unauthorized("invalid or revoked token")
    if row.region_name is None:
        raise NotFound("region", q.region_code)
    return row.region_name


def _local(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(get_settings().tz).isoformat()
    raise TypeError(type(value).__name__)


def to_json(body: Any) -> bytes:
    """JSON as the API's read models render it: times in the configured zone."""
    return orjson.dumps(body, default=_local, option=orjson.OPT_PASSTHROUGH_DATETIME)


async def _cached(key: tuple[str, str, str], stamp: str, load: Any) -> _Cached:
    entry = _cache.get(key)
    if entry is None or entry.stamp != stamp:
        entry = _Cached(stamp, await load())
        if len(_cache) >= _MAX_CACHED:
            _cache.clear()
        _cache[key] = entry
    return entry


def _render(entry: _Cached, names: Any, build: Any, cutoff: datetime) -> bytes:
    rendered = entry.rendered
    if rendered is None or rendered[0] != names:
        head, tail = to_json(build()).split(orjson.dumps(_CUTOFF), 1)
        rendered = entry.rendered = (names, head, tail)
    return rendered[1] + to_json(cutoff) + rendered[2]


async def dashboard_figures(q: Dashboard) -> bytes:
    """The JSON of GET /metrics for a live read: what `figures` gives, rendered."""
    reader = hot_reader()
    params = _hot_params(q)
    row = await reader.one(CHECK_FIGURES_SQL, params)
    name = _checked(row, q)

    async def load() -> tuple[dict[str, int], Any]:
        sums = await reader.one(SUMS_SQL, params)
        return {c: getattr(sums, c) for c in CELL_COUNTS}, sums.computed_at

    entry = await _cached(("figures", q.region_code, q.period.key), row.stamp, load)
    counts, computed_at = entry.data

    def build() -> dict[str, Any]:
        return {
            "region_code": q.region_code,
            "region_name": name,
            "period": q.period.key,
            "view": "live",
            "cutoff": _CUTOFF,
            "computed_at": computed_at,
            "metrics": metrics_of(counts),
        }

    return _render(entry, name, build, q.cutoff)


async def dashboard_breakdown(q: Dashboard) -> bytes:
    """The JSON of GET /metrics/breakdown for a live read: what `breakdown` gives, rendered."""
    reader = hot_reader()
    params = _hot_params(q)
    row = await reader.one(CHECK_BREAKDOWN_SQL, params)
    name = _checked(row, q)
    level = level_of(q.region_code)
    clen = BOUNDS[level][1] if level < len(BOUNDS) else len(q.region_code)

    async def load() -> list[tuple[str, Any, list[int]]]:
        rows = await reader.all(GROUPS_SQL, {**params, "clen": clen})
        return [(r.child, r.computed_at, [getattr(r, c) for c in CELL_COUNTS]) for r in rows]

    entry = await _cached(("breakdown", q.region_code, q.period.key), row.stamp, load)
    names = (name, row.children)

    def build() -> dict[str, Any]:
        children = {code: child for code, child in orjson.loads(row.children or "[]")}
        by_child: dict[str, tuple[list[int], Any]] = {}
        own = [0] * len(CELL_COUNTS)
        latest = None
        for child, computed_at, counts in entry.data:
            if computed_at is not None and (latest is None or computed_at > latest):
                latest = computed_at
            code = child.ljust(len(q.region_code), "0")
            if code != q.region_code and code in children:
                by_child[code] = (counts, computed_at)
            else:
                own = [a + b for a, b in zip(own, counts, strict=True)]
        entries = []
        for code, child_name in children.items():
            counts, at = by_child.get(code, ([0] * len(CELL_COUNTS), None))
            entries.append(
                _entry(code, child_name, dict(zip(CELL_COUNTS, counts, strict=True)), at)
            )
        if any(own):
            own_counts = dict(zip(CELL_COUNTS, own, strict=True))
            entries.append(_entry(q.region_code, f"{name}（本级）", own_counts, latest))
        entries.sort(key=_rank_key)
        items = [
            {
                "rank": rank,
                "region_code": e["region_code"],
                "region_name": e["region_name"],
                "computed_at": e["computed_at"],
                "metrics": e["metrics"],
            }
            for rank, e in enumerate(entries, start=1)
        ]
        return {
            "region_code": q.region_code,
            "period": q.period.key,
            "view": "live",
            "cutoff": _CUTOFF,
            "items": items,
        }

    return _render(entry, names, build, q.cutoff)


MAX_SERIES = 120


def series(session: Session, scope: Scope, *, start: str, end: str) -> list[dict[str, Any]]:
    """One entry per period from `start` to `end` (both of one kind: months, quarters or years)."""
    first = parse_period(start, ["query", "from"])  # type: ignore[arg-type]
    last = parse_period(end, ["query", "to"])  # type: ignore[arg-type]
    if first.kind != last.kind:
        raise Invalid(["query", "to"], "must be the same kind of period as from")
    if last < first:
        raise Invalid(["query", "to"], "must not be before from")
    periods, p = [], first
    while p <= last:
        periods.append(p)
        if len(periods) > MAX_SERIES:
            raise Invalid(["query", "to"], f"at most {MAX_SERIES} periods")
        p = p.next()
    if scope.view == "frozen" and first.kind != "quarter":
        raise NotFound("frozen figures", first.key)
    frozen = {}
    if scope.view == "frozen":
        rows = session.execute(
            text("SELECT quarter, cutoff FROM frozen_quarters WHERE quarter = ANY(:q)"),
            {"q": [p.key for p in periods]},
        ).all()
        frozen = {q: c for q, c in rows}
    rows = (
        session.execute(
            text(
                _sum_sql("period, ")
                + " WHERE view = :v AND period = ANY(:keys) AND region_code LIKE :pre"
                " GROUP BY period"
            ),
            {
                "v": scope.view,
                "keys": [p.key for p in periods],
                "pre": prefix_of(scope.region_code) + "%",
            },
        )
        .mappings()
        .all()
    )
    by_key = {r["period"]: r for r in rows}
    out = []
    for p in periods:
        row = by_key.get(p.key)
        counts = _counts(row) if row else {c: 0 for c in CELL_COUNTS}
        if scope.view == "frozen" and p.key not in frozen:
            out.append({"period": p.key, "cutoff": None, "computed_at": None, "metrics": None})
            continue
        out.append(
            {
                "period": p.key,
                "cutoff": frozen.get(p.key, scope.cutoff),
                "computed_at": row["computed_at"] if row else None,
                "metrics": metrics_of(counts),
            }
        )
    return out


# -- members: the records behind a figure --------------------------------------------------

HAZARD_MEMBERS = {
    # metric: (numerator predicate, denominator predicate, level)
    "rectification_rate": (d.CLOSED, d.FOUND, None),
    "rectification_rate_general": (d.CLOSED, d.FOUND, "general"),
    "rectification_rate_major": (d.CLOSED, d.FOUND, "major"),
    "on_time_rectification_rate": (d.CLOSED_ON_TIME, d.CLOSED, None),
    "hazards_found": (d.FOUND, None, None),
    "hazards_closed": (d.CLOSED, None, None),
    "overdue_hazards": (d.OVERDUE, None, None),
}
UNIT_MEMBERS = {"coverage", "units_inspected", "roster_units"}
UNIT_QUARTER_MEMBERS = {"reporting_rate", "on_time_reporting_rate", "required_units"}
REPORT_MEMBERS = {"self_reporting_rate", "zero_hazard_rate", "reports_filed"}
METRICS = sorted(
    set(HAZARD_MEMBERS) | UNIT_MEMBERS | UNIT_QUARTER_MEMBERS | REPORT_MEMBERS | {"inspections"}
)
COUNT_ONLY = set(COUNTS)


def _members_sql(scope: Scope, metric: str, part: str) -> tuple[str, str]:
    """(kind of record, SQL selecting the members with a unique text `key` to page by)."""
    rel = d.relations(scope.view)
    t_first, t_end = "CAST(:first AS date)", "CAST(:end AS date)"
    if metric in HAZARD_MEMBERS:
        num, den, level = HAZARD_MEMBERS[metric]
        pred = num if part == "numerator" else den
        lvl = f" AND s.level = '{level}'" if level else ""
        return (
            "hazards",
            f"""
            SELECT s.id::text AS key, s.id, s.unit_id, s.region_code, s.level, s.source,
                   s.state AS status, s.found_at, s.deadline, s.closed_at
            FROM ({rel["s"]}) s
            WHERE s.region_code LIKE :pre AND {d.found_in(t_first, t_end)} AND {pred}{lvl}
        """,
        )
    if metric == "inspections":
        return (
            "inspections",
            f"""
            SELECT i.id::text AS key, i.id, i.unit_id, i.region_code, i.kind, i.inspected_at
            FROM ({rel["i"]}) i
            WHERE i.region_code LIKE :pre AND {d.inspected_in(t_first, t_end)}
        """,
        )
    if metric in UNIT_MEMBERS:
        inspected = ""
        if metric == "units_inspected" or (metric == "coverage" and part == "numerator"):
            inspected = f"""AND EXISTS (SELECT 1 FROM ({rel["i"]}) i
                WHERE i.unit_id = ro.unit_id AND {d.inspected_in(t_first, t_end)})"""
        return (
            "units",
            f"""
            SELECT ro.unit_id::text AS key, ro.unit_id AS id, u.name, ro.region_code,
                   ro.reporting_required
            FROM ({rel["ro"]}) ro JOIN units u ON u.id = ro.unit_id
            WHERE ro.region_code LIKE :pre AND {d.on_roster(t_first, t_end)} {inspected}
        """,
        )
    # Reporting figures: required roster units × the quarters of the period.
    t = f"(SELECT {t_first} AS first_month, {t_end} AS end_month) t0"
    filed = ""
    if metric in REPORT_MEMBERS:
        filed = "AND r.id IS NOT NULL"
        if metric == "self_reporting_rate" and part == "numerator":
            filed += " AND r.filed_by_unit"
        if metric == "zero_hazard_rate" and part == "numerator":
            filed += " AND r.zero_hazard"
    elif metric in ("reporting_rate",) and part == "numerator":
        filed = "AND r.id IS NOT NULL"
    elif metric == "on_time_reporting_rate" and part == "numerator":
        filed = "AND r.on_time"
    kind = "reports" if metric in REPORT_MEMBERS else "unit_quarters"
    return (
        kind,
        f"""
        SELECT tq.quarter || ':' || ro.unit_id::text AS key, ro.unit_id, u.name, ro.region_code,
               tq.quarter, r.id AS report_id, r.first_filed_at, r.on_time, r.filed_by_unit,
               r.zero_hazard
        FROM ({d.reporting_quarters("t0", t)}) tq
        JOIN ({rel["ro"]}) ro ON ro.reporting_required AND {d.on_roster("tq.q_first", "tq.q_end")}
        JOIN units u ON u.id = ro.unit_id
        LEFT JOIN ({rel["r"]}) r ON r.unit_id = ro.unit_id AND r.quarter = tq.quarter
        WHERE ro.region_code LIKE :pre {filed}
    """,
    )


def _params(scope: Scope) -> dict[str, Any]:
    return {
        "pre": prefix_of(scope.region_code) + "%",
        "first": scope.period.first_month,
        "end": scope.period.end_month,
        "cutoff": scope.cutoff,
        "frozen_at": scope.frozen_at,
        "quarter": scope.period.key,
    }


def members(
    session: Session,
    scope: Scope,
    *,
    metric: str,
    part: str = "numerator",
    limit: int = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """The records behind a figure's numerator or denominator, a page at a time."""
    if metric not in METRICS:
        raise Invalid(["query", "metric"], f"must be one of {', '.join(METRICS)}")
    if part not in ("numerator", "denominator"):
        raise Invalid(["query", "part"], "must be numerator or denominator")
    if part == "denominator" and metric in COUNT_ONLY:
        raise Invalid(["query", "part"], f"{metric} is a count: it has no denominator")
    check_limit(limit)
    kind, sql = _members_sql(scope, metric, part)
    params = _params(scope)
    after = ""
    if cursor:
        try:
            after = base64.urlsafe_b64decode(cursor.encode()).decode()
        except Exception as exc:
            raise Invalid(["query", "cursor"], "is not a cursor this service issued") from exc
    total = session.execute(text(f"SELECT count(*) FROM ({sql}) m"), params).scalar_one()
    rows = (
        session.execute(
            text(f"SELECT * FROM ({sql}) m WHERE m.key > :after ORDER BY m.key LIMIT :n"),
            {**params, "after": after, "n": limit + 1},
        )
        .mappings()
        .all()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    items = [{k: v for k, v in r.items() if k != "key"} for r in rows]
    next_cursor = base64.urlsafe_b64encode(rows[-1]["key"].encode()).decode() if more else None
    return {
        "metric": metric,
        "part": part,
        "kind": kind,
        "total": total,
        "items": items,
        "next_cursor": next_cursor,
    }


def flags(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """Units that declared zero hazards for a quarter in which an inspector found hazards there."""
    if scope.period.kind == "month":
        raise Invalid(["query", "period"], "flags are per quarter or year, not per month")
    rel = d.relations(scope.view)
    t = "(SELECT CAST(:first AS date) AS first_month, CAST(:end AS date) AS end_month) t0"
    rows = (
        session.execute(
            text(
                f"""
                SELECT 'zero_declared_but_found' AS flag, r.unit_id, u.name AS unit_name,
                       u.region_code, left(u.region_code, 9) || '000' AS township_code,
                       tq.quarter, r.id AS report_id, count(s.id) AS hazards_found
                FROM ({d.reporting_quarters("t0", t)}) tq
                JOIN ({rel["r"]}) r ON r.quarter = tq.quarter AND r.zero_hazard
                JOIN units u ON u.id = r.unit_id
                JOIN ({rel["s"]}) s ON s.unit_id = r.unit_id AND s.source = 'inspection'
                    AND {d.found_in("tq.q_first", "tq.q_end")} AND {d.FOUND}
                WHERE u.region_code LIKE :pre
                GROUP BY r.unit_id, u.name, u.region_code, tq.quarter, r.id
                ORDER BY township_code, tq.quarter, u.region_code, r.unit_id
                """
            ),
            _params(scope),
        )
        .mappings()
        .all()
    )
    return [dict(r) for r in rows]
