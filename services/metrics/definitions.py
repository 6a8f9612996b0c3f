"""The figures' definitions (domain.md), written once as SQL and shared by counts and members.

Every figure is built from four relations, each "as of the cut-off" of its view:

- hazard state `s`: one row per hazard with its state, current deadline, closure time and the
  `at` of its latest `submit_rectification`. Live: the hazard's own columns. Frozen: rebuilt
  from the events with `at <= :cutoff` and `received_at <= :frozen_at`, for hazards received by
  `:frozen_at` (so the members of a frozen figure can be listed again, identically, later).
- inspections `i`: live, all; frozen, those inspected by the cut-off and received by the freeze.
- roster `ro`: live, the units table; frozen, the quarter's `frozen_roster` snapshot.
- reports `r`: first filed (server receipt) by the cut-off; zero-hazard as the latest version
  received by the cut-off says.

A period is a half-open month range `[t.first_month, t.end_month)`; records carry their local
month (found_month, inspected_month), so no time-zone arithmetic happens here.
"""

from __future__ import annotations

# -- how a hazard counts ----------------------------------------------------------------------
# The state rules are applied once per hazard state, not in each figure's predicate: a hazard's
# `count_class` and `overdue_after` follow from its state, deadline, closure and submission.
# The hazards table keeps both as generated columns (written with the row, migration 0009), in
# the index the figures group by, so a recompute reads them from the index instead of walking
# each hazard's row to its timestamps; the frozen view applies the same rules to the state it
# rebuilds from the events. tests/metrics/test_count_class.py checks the table's columns against
# these rules.

VOIDED, CLOSED_ON_TIME_CLASS, CLOSED_LATE_CLASS, OPEN_CLASS = 0, 1, 2, 3


def count_class(state: str, deadline: str, closed_at: str) -> str:
    """0 voided; 1 closed on or before the deadline that counts (on-the-spot fixes have none);
    2 closed after it; 3 open (reported, rectifying or rectified)."""
    return (
        f"CASE WHEN {state} = 'voided' THEN {VOIDED} "
        f"WHEN {state} = 'closed' AND ({deadline} IS NULL OR {closed_at} <= {deadline}) "
        f"THEN {CLOSED_ON_TIME_CLASS} "
        f"WHEN {state} = 'closed' THEN {CLOSED_LATE_CLASS} ELSE {OPEN_CLASS} END"
    )


def overdue_after(state: str, deadline: str, submitted_at: str) -> str:
    """When an open hazard becomes overdue: its deadline, unless it awaits verification of a fix
    submitted on or before the deadline; NULL for a hazard that cannot be overdue."""
    return (
        f"CASE WHEN {state} IN ('reported', 'rectifying', 'rectified') "
        f"AND NOT ({state} = 'rectified' AND {submitted_at} IS NOT NULL "
        f"AND {submitted_at} <= {deadline}) THEN {deadline} END"
    )


# The generated columns of `hazards` (services/models/hazards.py; migration 0009 wrote them
# out as they were then).
COUNT_CLASS_COLUMN = count_class("status", "deadline", "closed_at")
OVERDUE_AFTER_COLUMN = overdue_after("status", "deadline", "submitted_at")

# -- relations -----------------------------------------------------------------------------

HAZARDS_LIVE = """
    SELECT h.id, h.unit_id, h.region_code, h.level, h.source, h.found_at, h.found_month,
           h.status AS state, h.deadline, h.closed_at, h.submitted_at, h.count_class,
           h.overdue_after
    FROM hazards h
"""

_HAZARD_STATES_AS_OF = """
    SELECT h.id, h.unit_id, h.region_code, h.level, h.source, h.found_at, h.found_month,
           COALESCE(ev.state,
                    CASE WHEN h.handling = 'on_the_spot' THEN 'closed' ELSE 'reported' END)
               AS state,
           COALESCE(ev.deadline, h.initial_deadline) AS deadline,
           COALESCE(ev.verified_at,
                    CASE WHEN h.handling = 'on_the_spot' THEN h.found_at END) AS closed_at,
           ev.submitted_at
    FROM hazards h
    LEFT JOIN LATERAL (
        -- Events apply in arrival order (seq); `at` and `received_at` never decrease along it,
        -- so the events known at the cut-off are a prefix and the last one gives the state.
        SELECT (array_agg(e.to_status ORDER BY e.seq DESC))[1] AS state,
               (array_agg(e.deadline ORDER BY e.seq DESC)
                    FILTER (WHERE e.type = 'extend'))[1] AS deadline,
               max(e.at) FILTER (WHERE e.type = 'verify') AS verified_at,
               max(e.at) FILTER (WHERE e.type = 'submit_rectification') AS submitted_at
        FROM hazard_events e
        WHERE e.hazard_id = h.id AND e.at <= :cutoff AND e.received_at <= :frozen_at
    ) ev ON true
    WHERE h.received_at <= :frozen_at AND h.found_at <= :cutoff
"""
HAZARDS_AS_OF = f"""
    SELECT x.*, {count_class("x.state", "x.deadline", "x.closed_at")} AS count_class,
           {overdue_after("x.state", "x.deadline", "x.submitted_at")} AS overdue_after
    FROM ({_HAZARD_STATES_AS_OF}) x
"""

INSPECTIONS_LIVE = """
    SELECT i.id, i.unit_id, i.region_code, i.kind, i.inspected_at, i.inspected_month
    FROM inspections i
"""

INSPECTIONS_AS_OF = (
    INSPECTIONS_LIVE
    + """
    WHERE i.inspected_at <= :cutoff AND i.received_at <= :frozen_at
"""
)

ROSTER_LIVE = """
    SELECT u.id AS unit_id, u.region_code, u.reporting_required, u.operating_since, u.closed_on,
           u.closed_gaps
    FROM units u
"""

ROSTER_FROZEN = """
    SELECT fr.unit_id, fr.region_code, fr.reporting_required,
           CAST(NULL AS date) AS operating_since, CAST(NULL AS date) AS closed_on,
           CAST(NULL AS datemultirange) AS closed_gaps
    FROM frozen_roster fr
    WHERE fr.quarter = :quarter
"""

REPORTS_LIVE = """
    SELECT r.id, r.unit_id, r.quarter, r.first_filed_at, r.filed_by_unit, r.on_time,
           r.zero_hazard
    FROM self_reports r
"""

REPORTS_AS_OF = """
    SELECT r.id, r.unit_id, r.quarter, r.first_filed_at, r.filed_by_unit, r.on_time,
           COALESCE((SELECT v.zero_hazard FROM self_report_versions v
                     WHERE v.report_id = r.id AND v.filed_at <= :cutoff
                     ORDER BY v.version DESC LIMIT 1), r.zero_hazard) AS zero_hazard
    FROM self_reports r
    WHERE r.first_filed_at <= :cutoff
"""


def relations(view: str) -> dict[str, str]:
    """The four relations of a view, by alias."""
    if view == "frozen":
        return {"s": HAZARDS_AS_OF, "i": INSPECTIONS_AS_OF, "ro": ROSTER_FROZEN, "r": REPORTS_AS_OF}
    return {"s": HAZARDS_LIVE, "i": INSPECTIONS_LIVE, "ro": ROSTER_LIVE, "r": REPORTS_LIVE}


# -- predicates on the hazard state `s` ----------------------------------------------------

FOUND = f"s.count_class <> {VOIDED}"  # found in the period, voided ones excluded
# Closed: verified (销号), or fixed on the spot.
CLOSED = f"s.count_class IN ({CLOSED_ON_TIME_CLASS}, {CLOSED_LATE_CLASS})"
CLOSED_ON_TIME = f"s.count_class = {CLOSED_ON_TIME_CLASS}"
OVERDUE = "s.overdue_after < :cutoff"  # overdue at the cut-off

HAZARD_PREDICATES = {
    "found": FOUND,
    "closed": CLOSED,
    "closed_on_time": CLOSED_ON_TIME,
    "overdue": OVERDUE,
}


# -- period membership ------------------------------------------------------------------------


def found_in(first: str, end: str) -> str:
    return f"s.found_month >= {first} AND s.found_month < {end}"


def inspected_in(first: str, end: str, i: str = "i") -> str:
    return f"{i}.inspected_month >= {first} AND {i}.inspected_month < {end}"


def _interval_meets(first: str, end: str, ro: str) -> str:
    return (
        f"({ro}.operating_since IS NULL OR {ro}.operating_since < {end}) "
        f"AND ({ro}.closed_on IS NULL OR {ro}.closed_on > {first})"
    )


def on_roster(first: str, end: str, ro: str = "ro") -> str:
    """Open at some time of the period [first, end): [operating_since, closed_on) meets it, and
    it does not lie wholly in a span the unit spent closed before it reopened."""
    return (
        f"{_interval_meets(first, end, ro)} "
        f"AND ({ro}.closed_gaps IS NULL OR NOT {ro}.closed_gaps @> daterange({first}, {end}))"
    )


def on_roster_throughout(latest_first: str, earliest_end: str, ro: str = "ro") -> str:
    """On the roster of every period of a set, given its latest start and earliest end: the
    interval meets [latest_first, earliest_end), and the unit was never reopened (no span of
    closure can take it off one of them)."""
    return f"{ro}.closed_gaps IS NULL AND {_interval_meets(latest_first, earliest_end, ro)}"


def reporting_quarters(t: str, source: str | None = None) -> str:
    """The quarters whose reporting figures a period sums: none for a month, itself, or four.

    `t` is a relation (or `source`, a subquery aliased `t`) with first_month and end_month.
    """
    return f"""
        SELECT {t}.*, q::date AS q_first, (q + interval '3 months')::date AS q_end,
               to_char(q, 'YYYY') || 'Q' || to_char(q, 'Q') AS quarter
        FROM {source or t}, generate_series({t}.first_month::timestamp,
                                  ({t}.end_month - 1)::timestamp, interval '3 months') q
        WHERE {t}.end_month >= ({t}.first_month + interval '3 months')::date
    """
