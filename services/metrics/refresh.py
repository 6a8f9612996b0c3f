"""Keeping the cells up to date: marked buckets, full recomputes by township, freezing.

Every function here works inside the caller's transaction and never commits: the task that
calls it commits once, so a half-finished recompute is never visible and a worker killed
mid-way leaves the marks in place for the next run.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete, text
from sqlalchemy.orm import Session

from services import outbox
from services.errors import Invalid
from services.metrics.compute import (
    LOCK_FREEZE,
    Grid,
    Replaced,
    Target,
    enclosing,
    expand,
    first_month,
    first_record_months,
    leaves,
    live_start,
    lock_townships,
    month_period,
    months_between,
    replace_cells,
    store_cells,
    township_of,
)
from services.metrics.definitions import on_roster
from services.models import MetricMark
from services.periods import Period, local_month, parse_period
from services.regions import prefix_of
from services.settings import get_settings


def _now() -> datetime:
    return datetime.now(UTC)


def recompute_marked(session: Session, *, batch: int = 5000, now: datetime | None = None) -> int:
    """Recompute the live cells of one batch of marked buckets and delete the marks taken.

    Mark rows are taken with FOR UPDATE SKIP LOCKED, so several workers share the queue. Only
    the rows taken are deleted: a mark committed after they were read (its write possibly not
    seen by this recompute) stays for the next round. Returns the number of buckets.
    """
    now = now or _now()
    rows = session.execute(
        text(
            "SELECT id, region_code, month FROM metric_marks ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED"
        ),
        {"n": batch},
    ).all()
    if not rows:
        return 0
    buckets = {(r.region_code, r.month) for r in rows}
    lock_townships(session, (township_of(r) for r, _ in buckets))
    targets = sorted({Target(r, p) for r, m in buckets for p in enclosing(m)})
    store_cells(session, view="live", targets=targets, cutoff=now)
    session.execute(
        delete(MetricMark).where(MetricMark.id.in_([r.id for r in rows])),
        execution_options={"synchronize_session": False},
    )
    return len(buckets)


def townships(session: Session, region: str | None) -> list[str]:
    """The township keys (slices of a full recompute) under a region, from the data."""
    prefix = prefix_of(region)[:9] if region else ""
    return sorted({township_of(code) for code in leaves(session, prefix)})


# More slices than this and each slice's fixed cost (a task, a transaction, its lookups)
# outweighs its work: a province's ~2,000 townships are sliced by county instead.
MAX_SLICES = 200


def slices(session: Session, region: str | None) -> list[str]:
    """The independent slices of a full recompute: townships, or counties when too many."""
    towns = townships(session, region)
    if len(towns) <= MAX_SLICES:
        return towns
    return sorted({t[:6] for t in towns})


def all_periods(session: Session, *, now: datetime | None = None) -> list[Period]:
    """Every month from the first record to now, with their quarters and years."""
    return live_periods(first_record_months(session), now=now)


def live_periods(firsts: list[date | None], *, now: datetime | None = None) -> list[Period]:
    """Every month from where live figures start (`live_start` of the sources' first months,
    `first_record_month`) to now, with their quarters and years."""
    today = local_month(now or _now(), get_settings().tz)
    return expand(month_period(m) for m in months_between(live_start(firsts, today), today))


def recompute_township(
    session: Session, *, township: str, periods: list[Period], now: datetime | None = None
) -> Replaced:
    """Make the live cells of one slice of a full run right for the given periods.

    A slice is a township key (9 digits), or a county key (6 digits) when a province has too
    many townships for one task each; every township in it is locked, as incremental
    recomputes lock theirs. Only cells whose counts changed are written.
    """
    now = now or _now()
    regions = leaves(session, township)
    lock_townships(session, [township_of(r) for r in regions] or [township])
    grid = Grid(tuple(regions), tuple(periods))
    return replace_cells(session, view="live", grid=grid, prefix=township, cutoff=now)


def recompute_all(
    session: Session,
    *,
    region: str | None = None,
    period: Period | str | None = None,
    now: datetime | None = None,
) -> int:
    """A full recompute in one transaction (the worker splits it by township instead)."""
    if isinstance(period, str):
        period = parse_period(period)
    periods = expand([period]) if period else all_periods(session, now=now)
    return sum(
        recompute_township(session, township=t, periods=periods, now=now).cells
        for t in slices(session, region)
    )


def is_frozen(session: Session, quarter: str) -> tuple[datetime, datetime] | None:
    row = session.execute(
        text("SELECT cutoff, frozen_at FROM frozen_quarters WHERE quarter = :q"), {"q": quarter}
    ).first()
    return (row[0], row[1]) if row else None


def check_freezable(quarter: Period, *, now: datetime | None = None) -> datetime:
    """The quarter's cut-off, once it has passed; a quarter can be frozen only after it."""
    if quarter.kind != "quarter":
        raise Invalid("period", "only quarters are frozen")
    settings = get_settings()
    cutoff = quarter.report_deadline(settings.tz, settings.report_deadline_day)
    if (now or _now()) <= cutoff:
        raise Invalid("period", f"the reporting deadline {cutoff.isoformat()} has not passed")
    return cutoff


# The instant a freeze counts records received up to: just before the oldest transaction still
# open in this database (its own aside), and never later than now. A record's received_at is
# its writing transaction's start, so every record received by then is committed, and seen by
# the freeze's statements, which come after; an upload still in flight is left out of the
# frozen figures and, read later by the same rule, of their member lists. Until session 14 the
# worker's clock was used, and an upload that began before it and committed after the freeze
# was in a frozen member list but not in its figure (1 against 2, found in review).
# pg_stat_activity shows another role's transactions only to pg_read_all_stats: the API and the
# worker share one database role in every shipped deployment. Never before the cut-off: a
# transaction left open for days must not take the records of those days out of the quarter.
FROZEN_AT_SQL = """
    SELECT greatest(CAST(:cutoff AS timestamptz),
                    least(now(), min(a.xact_start) - interval '1 microsecond'))
    FROM pg_stat_activity a
    WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
      AND a.backend_type = 'client backend' AND a.xact_start IS NOT NULL
"""


def freeze_quarter(session: Session, *, period: Period | str, now: datetime | None = None) -> bool:
    """Freeze a quarter's figures as of its cut-off; False when it was frozen already.

    Idempotent: under an advisory lock, the frozen_quarters row is inserted with ON CONFLICT
    DO NOTHING, and the roster snapshot and frozen cells are written only by the insert that won.
    `now` (a replay of history in tests) stands in for the moment of the freeze; without it,
    the database says which records it counts (`FROZEN_AT_SQL`).
    """
    quarter = parse_period(period) if isinstance(period, str) else period
    cutoff = check_freezable(quarter, now=now or _now())
    session.execute(
        text("SELECT pg_advisory_xact_lock(:ns, hashtext(:key))"),
        {"ns": LOCK_FREEZE, "key": quarter.key},
    )
    now = now or session.execute(text(FROZEN_AT_SQL), {"cutoff": cutoff}).scalar_one()
    won = session.execute(
        text(
            "INSERT INTO frozen_quarters (quarter, cutoff, frozen_at) VALUES (:q, :c, :f) "
            "ON CONFLICT DO NOTHING RETURNING quarter"
        ),
        {"q": quarter.key, "c": cutoff, "f": now},
    ).first()
    if won is None:
        return False
    session.execute(
        text(
            f"""
            INSERT INTO frozen_roster (quarter, unit_id, region_code, reporting_required)
            SELECT :q, ro.id, ro.region_code, ro.reporting_required FROM units ro
            WHERE {on_roster("CAST(:first AS date)", "CAST(:end AS date)")}
            """
        ),
        {"q": quarter.key, "first": quarter.first_month, "end": quarter.end_month},
    )
    frozen_leaves = session.execute(
        text("SELECT DISTINCT region_code FROM frozen_roster WHERE quarter = :q"),
        {"q": quarter.key},
    ).scalars()
    store_cells(
        session,
        view="frozen",
        targets=Grid(tuple(sorted({*leaves(session), *frozen_leaves})), (quarter,)),
        cutoff=cutoff,
        frozen_at=now,
        quarter=quarter.key,
    )
    return True


def quarters_due(session: Session, *, now: datetime | None = None) -> list[Period]:
    """Ended quarters whose reporting deadline has passed and that are not frozen yet.

    Looks back from the last ended quarter to the first month with records.
    """
    now = now or _now()
    settings = get_settings()
    today = local_month(now, settings.tz)
    start = first_month(session, today)
    q = Period("quarter", date(start.year, (start.month - 1) // 3 * 3 + 1, 1), 3)
    frozen = set(session.execute(text("SELECT quarter FROM frozen_quarters")).scalars())
    due = []
    while q.end_month <= today:
        if (
            q.key not in frozen
            and q.report_deadline(settings.tz, settings.report_deadline_day) < now
        ):
            due.append(q)
        q = q.next()
    return due


SWEEP_ID = uuid.uuid5(uuid.NAMESPACE_URL, "hazardtrack:overdue-sweep")


def overdue_sweep(session: Session, *, now: datetime | None = None) -> int:
    """Mark the buckets whose live figures moved with the clock since the last sweep.

    Open hazards whose deadline passed since then become overdue without any write; and at a
    new month every leaf gets its first cell for it (its roster counts exist before any record).
    """
    now = now or _now()
    settings = get_settings()
    last = session.execute(
        text("SELECT params->>'until' FROM task_runs WHERE id = :id FOR UPDATE"),
        {"id": SWEEP_ID},
    ).scalar()
    since = datetime.fromisoformat(last) if last else now - timedelta(days=1)
    rows = session.execute(
        text(
            """
            SELECT DISTINCT region_code, found_month FROM hazards
            WHERE status IN ('reported', 'rectifying', 'rectified')
              AND deadline > :since AND deadline <= :now
            """
        ),
        {"since": since, "now": now},
    ).all()
    buckets: set[tuple[str, date]] = {(r, m) for r, m in rows}
    month = local_month(now, settings.tz)
    missing = session.execute(
        text(
            """
            SELECT DISTINCT u.region_code FROM units u
            WHERE NOT EXISTS (SELECT 1 FROM metric_cells c WHERE c.view = 'live'
                              AND c.period = :key AND c.region_code = u.region_code)
            """
        ),
        {"key": month_period(month).key},
    ).scalars()
    buckets.update((r, month) for r in missing)
    outbox.mark(session, buckets)
    session.execute(
        text(
            """
            INSERT INTO task_runs (id, kind, params, status, created_at, started_at, finished_at)
            VALUES (:id, 'overdue_sweep', jsonb_build_object('until', CAST(:until AS text)),
                    'succeeded', now(), now(), now())
            ON CONFLICT (id) DO UPDATE SET params = excluded.params,
                finished_at = excluded.finished_at
            """
        ),
        {"id": SWEEP_ID, "until": now.isoformat()},
    )
    return len(buckets)
