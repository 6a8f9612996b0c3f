"""Computing the cells: one SQL statement per batch, counted with FILTER in PostgreSQL.

A target is (leaf region, period): listed pairs (a batch of marked buckets), or a grid of every
leaf of a slice by every period (a full recompute, a freeze). Records are grouped once by
region and stored local month, and quarters and years are summed from the months; distinct
counts (units inspected) are taken per unit and period, so a quarter or year never counts a
unit twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from services.metrics import definitions as d
from services.models.metrics import CELL_COUNTS
from services.periods import Period, add_months
from services.settings import get_settings

# Lock namespace for pg_advisory_xact_lock(int, int): one lock per township.
LOCK_CELLS = 7401
LOCK_FREEZE = 7402


@dataclass(frozen=True, order=True)
class Target:
    region_code: str
    period: Period


@dataclass(frozen=True)
class Grid:
    """Every leaf by every period: a slice of a full recompute, or a quarter being frozen.

    `leaves` must be every leaf that holds records between the first and the last of them
    (all leaves under a code prefix are): records are read by that range of codes.

    Sent as two short lists and crossed in PostgreSQL: a province's county slice is 300 leaves
    by 36 periods, and listing its 10,800 pairs cost more than computing some of its counts.
    """

    leaves: tuple[str, ...]
    periods: tuple[Period, ...]

    def __len__(self) -> int:
        return len(self.leaves) * len(self.periods)


Targets = list[Target] | Grid


def month_period(month: date) -> Period:
    return Period("month", date(month.year, month.month, 1), 1)


def enclosing(month: date) -> list[Period]:
    """A month bucket, the quarter it lies in and its year: what a change in it can move."""
    m = month_period(month)
    q = Period("quarter", date(month.year, (month.month - 1) // 3 * 3 + 1, 1), 3)
    y = Period("year", date(month.year, 1, 1), 12)
    return [m, q, y]


def expand(periods: Iterable[Period]) -> list[Period]:
    """Every period a recompute of `periods` must cover: their months and enclosing periods."""
    out: set[Period] = set()
    for p in periods:
        for m in p.month_starts():
            out.update(enclosing(m))
    return sorted(out)


def months_between(first: date, last: date) -> list[date]:
    out, m = [], date(first.year, first.month, 1)
    while m <= last:
        out.append(m)
        m = add_months(m, 1)
    return out


def township_of(region_code: str) -> str:
    """The township key (first 9 digits) that locks and slices work."""
    return region_code[:9]


def lock_townships(session: Session, townships: Iterable[str]) -> None:
    """Serialise writers of the same township's cells; sorted, so two lockers never deadlock.

    One statement: the function scan hands the sorted keys over in order, so the locks are
    taken in that order (a county slice's 20 townships were 20 round trips).
    """
    session.execute(
        text(
            "SELECT count(pg_advisory_xact_lock(:ns, hashtext(k.key))) "
            "FROM unnest(CAST(:keys AS text[])) k(key)"
        ),
        {"ns": LOCK_CELLS, "keys": sorted(set(townships))},
    )


# Each month of the span with the key and bounds of its month, quarter and year (as Period's),
# worked out once per month (`mb`), not once per record: records grouped by month are summed
# into their periods by equality on these keys.
MONTH_PERIODS = """
    SELECT m.month,
        to_char(m.month, 'YYYY-MM') AS m_key, m.month AS m_first,
        CAST(m.month + interval '1 month' AS date) AS m_end,
        to_char(m.month, 'YYYY"Q"Q') AS q_key, CAST(date_trunc('quarter', m.month) AS date) AS q_first,
        CAST(date_trunc('quarter', m.month) + interval '3 months' AS date) AS q_end,
        to_char(m.month, 'YYYY') AS y_key, CAST(date_trunc('year', m.month) AS date) AS y_first,
        CAST(date_trunc('year', m.month) + interval '1 year' AS date) AS y_end
    FROM unnest(CAST({months} AS date[])) m(month)
"""
HAZARD_COUNTS = [
    f"{name}_{level}" for name in d.HAZARD_PREDICATES for level in ("general", "major")
]
REPORT_COUNTS = ("reports_filed", "reports_on_time", "reports_self", "reports_zero")


def _quarter_bounds(q: str) -> str:
    first = f"make_date(substr({q}, 1, 4)::int, substr({q}, 6, 1)::int * 3 - 2, 1)"
    return f"{first} AS q_first, CAST({first} + interval '3 months' AS date) AS q_end"


# Up to this many periods per leaf (a recompute of marked buckets: month, quarter, year),
# coverage probes each (unit, period) and stops at the first inspection; above it (a full
# recompute: every month, quarter and year) one pass over each unit's inspections is cheaper.
PROBE_PERIODS_PER_LEAF = 6


def _seen_sql(inspections: str) -> str:
    """(region, period) for every roster unit inspected in a target period, by unit (wherever
    the inspection was recorded), probing each (unit, target) up to its first inspection: the
    plan for a few periods per leaf (a recompute of marked buckets, a freeze)."""
    return f"""
    seen AS (
        SELECT t.region_code, t.period
        FROM t JOIN ro ON ro.region_code = t.region_code
            AND (ro.always OR {d.on_roster("t.first_month", "t.end_month")})
        CROSS JOIN LATERAL (
            SELECT 1 FROM ({inspections}) i
            WHERE i.unit_id = ro.unit_id AND {d.inspected_in("t.first_month", "t.end_month")}
            LIMIT 1
        ) hit
    ),
    covi AS (
        SELECT region_code, period, count(*) AS units_inspected
        FROM seen GROUP BY region_code, period
    ),
"""


def _covered_by_month_sql(inspections: str) -> str:
    """Units inspected, as counts per (region, month) that sum into periods: the plan for
    every period of a span (a full recompute).

    Each unit's inspected months come in order from the (unit_id, inspected_month) index
    alone. A unit counts in a period at its first inspection there (the one before it,
    `prev`, lies before the period), so a month holds three counts: the units first inspected
    in it within the month, within its quarter and within its year (each on the roster in
    that period). A period's distinct count is then the sum of its months' own column, and no
    (unit, period) pair is made at all.
    """
    first = "(um.prev IS NULL OR um.prev < mb.{k}_first)"
    roster = "(um.always OR " + d.on_roster("mb.{k}_first", "mb.{k}_end", "um") + ")"
    counts = ",\n            ".join(
        f"count(*) FILTER (WHERE {first.format(k=k)} AND {roster.format(k=k)}) AS cov_{k}"
        for k in ("m", "q", "y")
    )
    return f"""
    um AS (
        SELECT ro.region_code, ro.always, ro.operating_since, ro.closed_on, ro.closed_gaps,
               im.month, im.prev
        FROM ro CROSS JOIN LATERAL (
            SELECT d.month, lag(d.month) OVER (ORDER BY d.month) AS prev
            FROM (
                -- A unit's second inspection in a month counts nowhere (a quarter of them).
                SELECT DISTINCT i.inspected_month AS month
                FROM ({inspections}) i
                WHERE i.unit_id = ro.unit_id
                  AND i.inspected_month >= {SPAN["lo"]} AND i.inspected_month < {SPAN["hi"]}
            ) d
        ) im
        OFFSET 0  -- joined to mb once, not mb scanned inside every unit's probe
    ),
    covm AS (
        SELECT um.region_code, um.month,
            {counts}
        FROM um JOIN mb USING (month)
        GROUP BY um.region_code, um.month
    ),
"""


def _targets_sql(grid: bool) -> str:
    """The targets (region_code, period, first_month, end_month) from the statement's lists,
    with the counts that depend on the region alone (units on the roster all along, `always`)
    or on the period alone (its reporting quarters, `pqn`): joined to the 300 leaves and 37
    periods of a grid before they are crossed, not to each of its 11,100 targets."""
    periods = """(SELECT p.*, COALESCE(pqn.quarters, 0) AS quarters
                  FROM p LEFT JOIN pqn USING (period)) p"""
    always = """LEFT JOIN always a USING (region_code)"""
    cols = "COALESCE(a.units, 0) AS always_units, COALESCE(a.required, 0) AS always_required"
    if grid:
        return f"""
        SELECT l.region_code, p.*, {cols}
        FROM unnest(CAST(:t_leaves AS text[])) l(region_code) {always} CROSS JOIN {periods}
        """
    return f"""
        SELECT x.region_code, p.*, {cols}
        FROM unnest(CAST(:t_region AS text[]), CAST(:t_period AS text[])) x(region_code, period)
        JOIN {periods} USING (period) {always}
    """


def _of_leaves(column: str, grid: bool) -> str:
    """A record of the targets' leaves: one index range for a grid (its leaves are every leaf
    between the first and the last), else the listed leaves (an index probe each)."""
    if grid:
        return f"{column} BETWEEN :t_lo AND :t_hi"
    return f"{column} = ANY(CAST(:t_leaves AS text[]))"


# The cells stored under a code range for the targets' periods (`stored`), one index range per
# period (the primary key leads with the period), with their addresses.
STORED_CELLS = f"""
    old AS MATERIALIZED (
        SELECT c.ctid AS tid, c.period, c.region_code, {", ".join("c." + x for x in CELL_COUNTS)}
        FROM unnest(CAST(:p_key AS text[])) k(period) CROSS JOIN LATERAL (
            SELECT c.ctid, c.* FROM metric_cells c
            WHERE c.view = :view AND c.period = k.period
              AND c.region_code >= :c_lo AND c.region_code < :c_hi
            OFFSET 0  -- one index range per period, whatever the table's statistics say
        ) c
    )"""
# Joined to the targets like the other parts: the targets whose counts differ from the stored
# cell's or that have none (`tid` missing), and the stored cells that match no target (`gone`,
# to delete: their region is no longer among the leaves). Comparing in the same join saves
# materialising every computed cell and matching them to the stored ones a second time.
STORED_DIFF = f"""
    FULL JOIN old o ON o.region_code = t.region_code AND o.period = t.period
    ) c
    WHERE c.gone OR c.tid IS NULL
       OR ({", ".join("c." + x for x in CELL_COUNTS)})
          IS DISTINCT FROM ({", ".join("c.stored_" + x for x in CELL_COUNTS)})
    """


def cells_sql(
    view: str, *, probe_coverage: bool = False, grid: bool = False, stored: bool = False
) -> str:
    """One statement computing the cells of its targets (leaf region x period).

    `grid`: the targets are every listed leaf by every listed period, else listed pairs.
    `stored` (a grid): return only what differs from the cells stored under the code range
    `:c_lo`..`:c_hi` for these periods (`STORED_DIFF`), not every cell.
    Every source is read once for the targets' leaves and months: additive counts grouped by
    (region, month), a month's cell being its row, quarters summing their months and years
    their quarters (reports join at the quarter); distinct counts (units inspected) from each
    unit's inspected months, a unit counted at its first inspection in a period; roster
    figures by counting the units on the roster for the whole span once per region, and only
    the units that opened or closed within it per period.
    """
    rel = d.relations(view)
    # Counts are summed as int (sum(int) is a bigint; sum(bigint) would be a slow numeric).
    # General = all - major (a hazard is one or the other): each row meets four level tests,
    # not eight, and PostgreSQL computes the repeated major count once.
    hz_cols = ",\n            ".join(
        f"count(*) FILTER (WHERE {pred}) - count(*) FILTER (WHERE s.level = 'major' AND {pred})"
        f" AS {name}_general,\n            "
        f"count(*) FILTER (WHERE s.level = 'major' AND {pred}) AS {name}_major"
        for name, pred in d.HAZARD_PREDICATES.items()
    )
    # Months, then quarters from their months, years from their quarters. Each period's units
    # inspected is the sum of its own column of the months' first-inspected units (cov_q for a
    # quarter, cov_y for a year), carried up alongside.
    additive = (*HAZARD_COUNTS, "inspections")
    cov = not probe_coverage
    month_cols = [f"mm.{c}" for c in additive] + (["mm.cov_m AS units_inspected"] if cov else [])
    quarter_sums = [f"sum(mm.{c}::int) AS {c}" for c in additive]
    quarter_sums += ["sum(mm.cov_q::int) AS cov_q", "sum(mm.cov_y::int) AS cov_y"] if cov else []
    quarter_cols_of_q = [f"q.{c}" for c in additive] + (["q.cov_q", "q.cov_y"] if cov else [])
    quarter_cols = [f"mq.{c}" for c in additive] + (["mq.cov_q AS units_inspected"] if cov else [])
    quarter_cols += [f"mq.{c}" for c in REPORT_COUNTS]
    year_sums = [f"sum(mq.{c}::int) AS {c}" for c in additive]
    year_sums += ["sum(mq.cov_y::int) AS units_inspected"] if cov else []
    year_sums += [f"sum(mq.{c}::int) AS {c}" for c in REPORT_COUNTS]
    # A month has no reporting figures of its own.
    month_cols += [f"CAST(NULL AS bigint) AS {c}" for c in REPORT_COUNTS]
    covered = _seen_sql(rel["i"]) if probe_coverage else _covered_by_month_sql(rel["i"])
    # Compared with the stored cells: their address and counts beside each target's.
    stored_cols, keys = "", "t.region_code, t.period"
    if stored:
        # A stored cell that matches no target (`gone`) has only its own keys.
        keys = (
            "COALESCE(t.region_code, o.region_code) AS region_code, "
            "COALESCE(t.period, o.period) AS period"
        )
        stored_cols = ", o.tid, " + ", ".join(f"o.{c} AS stored_{c}" for c in CELL_COUNTS)
        stored_cols += ", t.region_code IS NULL AS gone"
    # Units that open or close within the span (`roe`), counted per target period. In a grid
    # every roster unit's region is a target leaf, so they are crossed with the periods alone
    # (730 units x 37 periods for a province slice, -5 % of its CPU), not joined to each of
    # its 11,100 targets; listed pairs join them by region.
    if grid:
        edge_from, edge_on, edge_key = "p t", "", "ro"
        req_from, req_on, req_key = "pq tq", "", "ro"
    else:
        edge_from, edge_on, edge_key = "t", "ro.region_code = t.region_code AND", "t"
        req_from, req_on, req_key = "tq", "ro.region_code = tq.region_code AND", "tq"
    return f"""
    WITH p AS (
        SELECT * FROM unnest(CAST(:p_key AS text[]), CAST(:p_first AS date[]),
                             CAST(:p_end AS date[])) AS p(period, first_month, end_month)
    ),
    -- The quarters whose reports each period counts: itself, or a year's four.
    pq AS ({d.reporting_quarters("p")}),
    pqn AS (SELECT period, count(*) AS quarters FROM pq GROUP BY period),
    ro AS MATERIALIZED (
        SELECT ro0.*,
               -- on the roster in every target period (most units): counted once per region
               {d.on_roster_throughout(SPAN["max_first"], SPAN["min_end"], "ro0")} AS always
        FROM ({rel["ro"]}) ro0
        WHERE {_of_leaves("ro0.region_code", grid)}
    ),
    always AS (
        SELECT region_code, count(*) AS units,
               count(*) FILTER (WHERE reporting_required) AS required
        FROM ro WHERE always GROUP BY region_code
    ),
    t AS MATERIALIZED ({_targets_sql(grid)}),
    {STORED_CELLS + "," if stored else ""}
    tq AS (SELECT t.region_code, pq.* FROM t JOIN pq USING (period)),
    -- Each month of the span with its month's, quarter's and year's keys and bounds.
    mb AS MATERIALIZED ({MONTH_PERIODS.format(months=":s_months")}),
    -- Additive counts are taken once per (region, month) and summed into each period key, so
    -- a hazard is read once however many periods (month, quarter, year) contain it.
    hzm AS (
        SELECT s.region_code, s.found_month AS month,
            {hz_cols}
        FROM ({rel["s"]}) s
        WHERE {_of_leaves("s.region_code", grid)}
          AND s.found_month >= {SPAN["lo"]} AND s.found_month < {SPAN["hi"]}
        GROUP BY s.region_code, s.found_month
    ),
    insm AS (
        SELECT i.region_code, i.inspected_month AS month, count(*) AS inspections
        FROM ({rel["i"]}) i
        WHERE {_of_leaves("i.region_code", grid)}
          AND i.inspected_month >= {SPAN["lo"]} AND i.inspected_month < {SPAN["hi"]}
        GROUP BY i.region_code, i.inspected_month
    ),
    -- The months in which each roster unit was inspected: one index probe per unit (by unit,
    -- wherever the inspection was recorded).
{covered}
    -- Every report of the roster's units (one index probe per unit), counted where the unit
    -- had to report that quarter, then summed into the quarter and its year.
    repq AS (
        SELECT ro.region_code, r.quarter,
               count(*) AS reports_filed,
               count(*) FILTER (WHERE r.on_time) AS reports_on_time,
               count(*) FILTER (WHERE r.filed_by_unit) AS reports_self,
               count(*) FILTER (WHERE r.zero_hazard) AS reports_zero
        FROM ro CROSS JOIN LATERAL (
            SELECT r0.quarter, r0.on_time, r0.filed_by_unit, r0.zero_hazard
            FROM ({rel["r"]}) r0 WHERE r0.unit_id = ro.unit_id
            OFFSET 0  -- keeps the planner from flattening this into a scan of every report
        ) r CROSS JOIN LATERAL (SELECT {_quarter_bounds("r.quarter")}) qb
        -- A unit on the roster all along is on it in every quarter a target counts.
        WHERE ro.reporting_required AND (ro.always OR {d.on_roster("qb.q_first", "qb.q_end")})
        GROUP BY ro.region_code, r.quarter
    ),
    -- Every (region, month) count side by side, with the month's period keys: a month's cell
    -- is its row as it is; quarters sum their months, and years their quarters, so each
    -- grouping is over a third or a quarter of the rows of the one before.
    mm AS MATERIALIZED (
        SELECT mc.*, mb.m_key, mb.q_key, mb.y_key
        FROM (SELECT * FROM hzm FULL JOIN insm USING (region_code, month)
              {"" if probe_coverage else "FULL JOIN covm USING (region_code, month)"}) mc
        JOIN mb USING (month)
    ),
    -- A quarter's reports join its sums here, so a year sums them with the rest.
    mq AS MATERIALIZED (
        SELECT region_code, q_key, COALESCE(q.y_key, substr(q_key, 1, 4)) AS y_key,
               {", ".join(quarter_cols_of_q)}, {", ".join(REPORT_COUNTS)}
        FROM (
            SELECT mm.region_code, mm.q_key, mm.y_key, {", ".join(quarter_sums)}
            FROM mm GROUP BY mm.region_code, mm.q_key, mm.y_key
        ) q
        FULL JOIN (SELECT repq.quarter AS q_key, repq.* FROM repq) r USING (region_code, q_key)
    ),
    mcp AS (
        SELECT mm.region_code, mm.m_key AS period, {", ".join(month_cols)} FROM mm
        UNION ALL
        SELECT mq.region_code, mq.q_key, {", ".join(quarter_cols)} FROM mq
        UNION ALL
        SELECT mq.region_code, mq.y_key, {", ".join(year_sums)}
        FROM mq GROUP BY mq.region_code, mq.y_key
    ),
    -- The units that are not on the roster all along.
    roe AS MATERIALIZED (SELECT * FROM ro WHERE NOT always),
    edge AS (
        SELECT {edge_key}.region_code, t.period, count(*) AS units
        FROM {edge_from} JOIN roe ro ON {edge_on}
            {d.on_roster("t.first_month", "t.end_month")}
        GROUP BY {edge_key}.region_code, t.period
    ),
    -- Required unit-quarters: the units required all along once per quarter of the period,
    -- the others per quarter they were on the roster in.
    req AS (
        SELECT {req_key}.region_code, tq.period, count(*) AS edge_required
        FROM {req_from} JOIN roe ro ON {req_on}
            ro.reporting_required AND {d.on_roster("tq.q_first", "tq.q_end")}
        GROUP BY {req_key}.region_code, tq.period
    )
    {"SELECT * FROM (" if stored else ""}
    SELECT {keys},
        {", ".join(f"COALESCE(mcp.{c}, 0) AS {c}" for c in HAZARD_COUNTS)},
        COALESCE(mcp.inspections, 0) AS inspections,
        COALESCE({"covi" if probe_coverage else "mcp"}.units_inspected, 0) AS units_inspected,
        t.always_units + COALESCE(edge.units, 0) AS roster_units,
        t.always_required * t.quarters + COALESCE(req.edge_required, 0) AS required_units,
        {", ".join(f"COALESCE(mcp.{c}, 0) AS {c}" for c in REPORT_COUNTS)}
        {stored_cols}
    FROM t
    LEFT JOIN mcp USING (region_code, period)
    {"LEFT JOIN covi USING (region_code, period)" if probe_coverage else ""}
    LEFT JOIN edge USING (region_code, period)
    LEFT JOIN req USING (region_code, period)
    {STORED_DIFF if stored else ""}
    """


def _probes_coverage(targets: Targets) -> bool:
    """Few periods per leaf: coverage probes each (unit, target); else it is counted by month."""
    if isinstance(targets, Grid):
        return len(targets.periods) <= PROBE_PERIODS_PER_LEAF
    return len(targets) / len(_leaves(targets)) <= PROBE_PERIODS_PER_LEAF


def _statement(view: str, targets: Targets, *, stored: bool = False) -> str:
    """The cells statement for these targets: grid or pairs, and the plan for coverage."""
    return cells_sql(
        view,
        probe_coverage=_probes_coverage(targets),
        grid=isinstance(targets, Grid),
        stored=stored,
    )


# The span of the targets' periods, as parameters worked out in Python: from the first month to
# the end of the last period (lo, hi), and the latest start and earliest end of any period or
# reporting quarter counted (a unit on the roster from before max_first to after min_end is on
# it in all). As a one-row CTE joined to each scan it cost ~6 % of a province slice's CPU.
SPAN = {k: f"CAST(:s_{k} AS date)" for k in ("lo", "hi", "min_end", "max_first")}


def _span_params(periods: Iterable[Period]) -> dict[str, date | list[date]]:
    periods = list(periods)
    bounds = [(p.first_month, p.end_month) for p in periods]
    bounds += [(q.first_month, q.end_month) for p in periods for q in p.quarters()]
    return {
        "s_lo": min(p.first_month for p in periods),
        "s_hi": max(p.end_month for p in periods),
        "s_min_end": min(end for _, end in bounds),
        "s_max_first": max(first for first, _ in bounds),
        # The span's months as a list, so the planner knows there are a few dozen (it takes a
        # generate_series for 1,000 rows, and hashed 42,000 unit-months to join them).
        "s_months": months_between(
            min(p.first_month for p in periods), add_months(max(p.end_month for p in periods), -1)
        ),
    }


def _leaves(targets: Targets) -> list[str]:
    if isinstance(targets, Grid):
        return sorted(set(targets.leaves))
    return sorted({t.region_code for t in targets})


def _target_params(targets: Targets) -> dict:
    periods = targets.periods if isinstance(targets, Grid) else {t.period for t in targets}
    periods = sorted(set(periods))
    params = {
        "p_key": [p.key for p in periods],
        "p_first": [p.first_month for p in periods],
        "p_end": [p.end_month for p in periods],
        # The targets' regions as a plain list: an index condition, where a subquery is not.
        "t_leaves": _leaves(targets),
        **_span_params(periods),
    }
    if isinstance(targets, Grid):
        params["t_lo"], params["t_hi"] = params["t_leaves"][0], params["t_leaves"][-1]
    else:
        params["t_region"] = [t.region_code for t in targets]
        params["t_period"] = [t.period.key for t in targets]
    return params


def compute_cells(
    session: Session,
    *,
    view: str,
    targets: Targets,
    cutoff: datetime,
    frozen_at: datetime | None = None,
    quarter: str | None = None,
) -> list[dict]:
    """The counts of each target, without storing them (tests and the worked example use it)."""
    if not targets:
        return []
    params = {**_target_params(targets), "cutoff": cutoff, "frozen_at": frozen_at}
    if quarter is not None:
        params["quarter"] = quarter
    _statement_settings(session, targets)
    rows = session.execute(text(_statement(view, targets)), params)
    rows = rows.mappings().all()
    return [dict(r) for r in rows]


def store_cells(
    session: Session,
    *,
    view: str,
    targets: Targets,
    cutoff: datetime,
    frozen_at: datetime | None = None,
    quarter: str | None = None,
) -> int:
    """Compute the targets' cells and upsert them, all inside PostgreSQL.

    A stored cell whose counts did not change is left as it is (its `computed_at` and its
    township's stamp with it), as a full recompute leaves it: an event that moves no count
    (a hazard going from reported to rectifying) does not drop the dashboards' caches.
    Returns the number of cells inserted or changed.
    """
    if not targets:
        return 0
    cols = ", ".join(CELL_COUNTS)
    updates = ", ".join(f"{c} = excluded.{c}" for c in CELL_COUNTS)
    changed = (
        f"({', '.join('metric_cells.' + c for c in CELL_COUNTS)}) IS DISTINCT FROM "
        f"({', '.join('excluded.' + c for c in CELL_COUNTS)})"
    )
    stmt = f"""
        INSERT INTO metric_cells (view, period, region_code, {cols}, computed_at)
        SELECT :view, c.period, c.region_code, {", ".join("c." + x for x in CELL_COUNTS)},
               :computed_at
        FROM ({_statement(view, targets)}) c
        ON CONFLICT (view, period, region_code)
        DO UPDATE SET {updates}, computed_at = excluded.computed_at
        WHERE {changed}
    """
    params = {
        **_target_params(targets),
        "view": view,
        "cutoff": cutoff,
        "frozen_at": frozen_at,
        "computed_at": frozen_at or cutoff,
    }
    if quarter is not None:
        params["quarter"] = quarter
    _statement_settings(session, targets)
    return session.execute(text(stmt), params).rowcount


@dataclass(frozen=True)
class Replaced:
    """What replacing a slice's cells did: the cells computed, and the writes they needed."""

    cells: int
    updated: int = 0
    inserted: int = 0
    deleted: int = 0

    @property
    def written(self) -> int:
        return self.updated + self.inserted + self.deleted


def _replace_sql(view: str, grid: Grid) -> str:
    """One statement that makes the live cells of a code range and periods equal to the grid's
    computed cells, writing only the differences: cells whose counts changed are updated, new
    ones inserted, cells of regions no longer in the grid deleted.

    A full recompute mostly finds the cells as the live path left them. Deleting and writing
    them all again cost about half as much as computing them (a dead row, a new row and a
    primary-key entry for each of 11,100 cells of a province slice), moved every township's
    stamp (so every dashboard cache was dropped) and left as many dead rows to vacuum. All three parts read the snapshot
    the statement started with, so they touch disjoint rows; the caller holds the townships'
    locks, so no other writer of these cells runs beside it.
    """
    counts = ", ".join(CELL_COUNTS)
    new_counts = ", ".join(f"x.{c}" for c in CELL_COUNTS)
    return f"""
    -- The grid's cells that differ from the stored ones or are not stored yet, and the stored
    -- cells of regions no longer in the grid (`gone`).
    WITH diff AS MATERIALIZED ({_statement(view, grid, stored=True)}),
    -- Rows are found again by their addresses (TID scans): with a join, the planner may read
    -- the whole table to hash it, as it did for the deletes here once it knew the table's size.
    upd AS (
        UPDATE metric_cells c
        SET ({counts}, computed_at) = ({new_counts}, :computed_at)
        FROM diff x
        WHERE c.ctid = ANY(ARRAY(SELECT tid FROM diff WHERE NOT gone AND tid IS NOT NULL))
          AND c.ctid = x.tid
        RETURNING 1
    ),
    ins AS (
        INSERT INTO metric_cells (view, period, region_code, {counts}, computed_at)
        SELECT :view, x.period, x.region_code, {new_counts}, :computed_at
        FROM diff x WHERE x.tid IS NULL
        RETURNING 1
    ),
    del AS (
        DELETE FROM metric_cells c WHERE c.ctid = ANY(ARRAY(SELECT tid FROM diff WHERE gone))
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM upd) AS updated, (SELECT count(*) FROM ins) AS inserted,
           (SELECT count(*) FROM del) AS deleted
    """


def replace_cells(
    session: Session, *, view: str, grid: Grid, prefix: str, cutoff: datetime
) -> Replaced:
    """Make the cells under a code prefix, for the grid's periods, the grid's computed cells.

    `grid.leaves` must be every leaf under the prefix that holds units or records; cells of any
    other region under it (one whose units and records all moved away) are deleted.
    """
    bounds = code_range(prefix)
    params = {
        **_target_params(grid),
        "view": view,
        "cutoff": cutoff,
        "frozen_at": None,
        "computed_at": cutoff,
        "c_lo": bounds["lo"],
        "c_hi": bounds["hi"],
    }
    if not grid.leaves:
        gone = session.execute(
            text(
                "DELETE FROM metric_cells c WHERE c.view = :view "
                "AND c.period = ANY(CAST(:p_key AS text[])) "
                "AND c.region_code >= :c_lo AND c.region_code < :c_hi"
            ),
            params,
        ).rowcount
        return Replaced(cells=0, deleted=gone)
    _statement_settings(session, grid)
    row = session.execute(text(_replace_sql(view, grid)), params).one()
    return Replaced(
        cells=len(grid), updated=row.updated, inserted=row.inserted, deleted=row.deleted
    )


def _statement_settings(session: Session, targets: Targets) -> None:
    """Settings for the cell statements, for this transaction only.

    JIT off: the statements are many and short, and compiling each costs more (~0.1 s) than
    it saves. Parallel query off: a full recompute is already parallel, one slice per worker
    process; parallel workers inside each slice's statement only added their start-up and
    coordination (the province's slices took 65 CPU-seconds with it, 48 without; BENCHMARKS.md).
    work_mem: a county's grouping needs a few tens of MB; with the default 4 MB its hash
    aggregates spill to disk. Sorts off for the plan that counts coverage by month: the
    planner underestimates the units' inspected months (by a factor of ~60) and sorted them
    to group them; hashing them is ~8 % of a province slice's CPU less (BENCHMARKS.md). Set
    either way, since a transaction may run both plans.
    """
    session.execute(
        text(
            "SELECT set_config('jit', 'off', true), "
            "set_config('max_parallel_workers_per_gather', '0', true), "
            "set_config('work_mem', :mem, true), set_config('enable_sort', :sort, true)"
        ),
        {
            "mem": get_settings().recompute_work_mem,
            "sort": "on" if _probes_coverage(targets) else "off",
        },
    )


def leaves(session: Session, prefix: str = "") -> list[str]:
    """Every region code that holds units or records, under a code prefix.

    Every record's region is a row of `regions` (foreign keys), so the regions under the prefix
    are probed, three index lookups each, instead of reading every record's code: a province's
    32,000 regions take milliseconds where the records' codes are millions of index entries.
    """
    rows = session.execute(
        text(
            """
            SELECT r.code FROM regions r
            WHERE r.code >= :lo AND r.code < :hi
              AND (EXISTS (SELECT 1 FROM units u WHERE u.region_code = r.code)
                   OR EXISTS (SELECT 1 FROM hazards h WHERE h.region_code = r.code)
                   OR EXISTS (SELECT 1 FROM inspections i WHERE i.region_code = r.code))
            ORDER BY 1
            """
        ),
        code_range(prefix),
    ).scalars()
    return list(rows)


def code_range(prefix: str) -> dict[str, str]:
    """Bounds [lo, hi) of the region codes that start with a prefix of digits."""
    if not prefix:
        return {"lo": "", "hi": ":"}  # ':' sorts right after '9'
    return {"lo": prefix, "hi": prefix[:-1] + chr(ord(prefix[-1]) + 1)}


# Each source's earliest month (or quarter), found per region through its (region_code, month)
# index, a loose index scan: there is no index on the month alone, and a scan of 10M hazards
# takes seconds. Three lookups, so a full run can make them side by side (worker/tasks.py).
FIRST_MONTH_SQL = {
    "hazards": """
        SELECT min(m.found_month) FROM regions r CROSS JOIN LATERAL (
            SELECT h.found_month FROM hazards h WHERE h.region_code = r.code
            ORDER BY h.found_month LIMIT 1) m
    """,
    "inspections": """
        SELECT min(m.inspected_month) FROM regions r CROSS JOIN LATERAL (
            SELECT i.inspected_month FROM inspections i WHERE i.region_code = r.code
            ORDER BY i.inspected_month LIMIT 1) m
    """,
    "reports": """
        SELECT make_date(substr(min(q.quarter), 1, 4)::int,
                         substr(min(q.quarter), 6, 1)::int * 3 - 2, 1) FROM (
            SELECT m.quarter FROM regions r CROSS JOIN LATERAL (
                SELECT s.quarter FROM self_reports s WHERE s.region_code = r.code
                ORDER BY s.quarter LIMIT 1) m
            UNION ALL SELECT quarter FROM frozen_quarters) q
    """,
}


def first_record_month(session: Session, source: str) -> date | None:
    """The first month of one source's records (`FIRST_MONTH_SQL`), None when it has none."""
    return session.execute(text(FIRST_MONTH_SQL[source])).scalar_one()


def live_start(firsts: Iterable[date | None], today_month: date) -> date:
    """Where live figures start: the earliest month of any record or frozen quarter, and at
    the latest January of last year (so this year and last have roster figures without records).
    """
    return min([m for m in firsts if m is not None] + [date(today_month.year - 1, 1, 1)])


def first_record_months(session: Session) -> list[date | None]:
    """Every source's first month, looked up one after the other in this transaction (a full
    run makes the same lookups side by side, worker/tasks.py)."""
    return [first_record_month(session, s) for s in FIRST_MONTH_SQL]


def first_month(session: Session, today_month: date) -> date:
    """`live_start` of every source's first month."""
    return live_start(first_record_months(session), today_month)
