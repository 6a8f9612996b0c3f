"""The county's figures: read from the cells, members behind them, refresh and freeze."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import Field

from api.deps import AdminUser, Cursor, Db, Limit, ReadStaff, RegionManager, Staff
from api.schemas.common import LocalDatetime, ReadModel, WriteModel
from services import auth
from services.db import unit_of_work
from services.errors import Invalid
from services.metrics import export, read, refresh, runs
from services.periods import parse_period
from services.regions import check_code, get_region

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["metrics"])

RegionQ = Annotated[
    str | None,
    Query(description="12-digit region code; default: the caller's region", pattern=r"^[0-9]{12}$"),
]
PeriodQ = Annotated[str, Query(description="2026Q2, 2026 or 2026-05")]
ViewQ = Annotated[Literal["live", "frozen"], Query(description="live (default) or frozen")]


class Rate(ReadModel):
    numerator: int
    denominator: int
    value: float | None = Field(description="numerator / denominator, unrounded; null when 0/0")


class Count(ReadModel):
    count: int


class Metrics(ReadModel):
    rectification_rate: Rate
    rectification_rate_general: Rate
    rectification_rate_major: Rate
    on_time_rectification_rate: Rate
    reporting_rate: Rate
    on_time_reporting_rate: Rate
    self_reporting_rate: Rate
    zero_hazard_rate: Rate
    coverage: Rate
    hazards_found: Count
    hazards_closed: Count
    overdue_hazards: Count
    inspections: Count
    units_inspected: Count
    roster_units: Count
    required_units: Count
    reports_filed: Count


class Figures(ReadModel):
    region_code: str
    region_name: str
    period: str
    view: str
    cutoff: LocalDatetime = Field(description="the moment the figures describe")
    computed_at: LocalDatetime | None
    metrics: Metrics


class BreakdownEntry(ReadModel):
    rank: int
    region_code: str
    region_name: str
    computed_at: LocalDatetime | None
    metrics: Metrics


class Breakdown(ReadModel):
    region_code: str
    period: str
    view: str
    cutoff: LocalDatetime
    items: list[BreakdownEntry]


class SeriesEntry(ReadModel):
    period: str
    cutoff: LocalDatetime | None
    computed_at: LocalDatetime | None
    metrics: Metrics | None = Field(description="null for a quarter not frozen (frozen view)")


class Series(ReadModel):
    region_code: str
    view: str
    items: list[SeriesEntry]


class Members(ReadModel):
    metric: str
    part: str
    kind: str = Field(description="hazards, inspections, units, unit_quarters or reports")
    total: int
    items: list[dict[str, Any]]
    next_cursor: str | None


class Flag(ReadModel):
    flag: str
    unit_id: uuid.UUID
    unit_name: str
    region_code: str
    township_code: str
    quarter: str
    report_id: uuid.UUID
    hazards_found: int


class Flags(ReadModel):
    region_code: str
    period: str
    items: list[Flag]


class RecomputeRequest(WriteModel):
    region: str | None = Field(default=None, description="default: the caller's region")
    period: str | None = Field(default=None, description="default: every period")


class FreezeRequest(WriteModel):
    period: str


class TaskAccepted(ReadModel):
    task_id: uuid.UUID


class TaskRead(ReadModel):
    id: uuid.UUID
    kind: str
    status: str
    params: dict[str, Any]
    created_at: LocalDatetime
    started_at: LocalDatetime | None
    finished_at: LocalDatetime | None
    error: str | None


def _json(body: bytes) -> Response:
    # Rendered (and cached) by services/metrics/read.py as the response model would render it.
    return Response(body, media_type="application/json")


def _hot_read(caller: auth.Caller, region: str | None, period: str, view: str):
    return read.dashboard_scope(
        caller.actor, token_version=caller.token_version, region=region, period=period, view=view
    )


def _checked_scope(db, caller: auth.Caller, region: str | None, period: str, view: str):
    """The general path of the dashboard's reads (not cached): the caller checked exactly in
    the read's own transaction, then the region and period resolved for it."""
    auth.check_caller(db, caller)
    return read.resolve(db, actor=caller.actor, region=region, period=period, view=view)


def _general_figures(caller: auth.Caller, region: str | None, period: str, view: str) -> dict:
    with unit_of_work() as db:
        return read.figures(db, _checked_scope(db, caller, region, period, view))


def _general_breakdown(caller: auth.Caller, region: str | None, period: str, view: str) -> dict:
    with unit_of_work() as db:
        scope = _checked_scope(db, caller, region, period, view)
        return {
            "region_code": scope.region_code,
            "period": scope.period.key,
            "view": scope.view,
            "cutoff": scope.cutoff,
            "items": read.breakdown(db, scope),
        }


# The two reads every dashboard polls are async: the hot path (live view, the caller's own
# subtree) runs on the event loop with no thread hand-off; anything else goes to a thread.


@router.get("/metrics", response_model=Figures)
async def get_metrics(
    caller: ReadStaff, period: PeriodQ, region: RegionQ = None, view: ViewQ = "live"
) -> Any:
    """The figures of a region's subtree for one period, each rate with its parts."""
    hot = _hot_read(caller, region, period, view)
    if hot is not None:
        return _json(await read.dashboard_figures(hot))
    return await run_in_threadpool(_general_figures, caller, region, period, view)


@router.get("/metrics/breakdown", response_model=Breakdown)
async def get_breakdown(
    caller: ReadStaff, period: PeriodQ, region: RegionQ = None, view: ViewQ = "live"
) -> Any:
    """The same figures for each child region, ranked by rectification rate."""
    hot = _hot_read(caller, region, period, view)
    if hot is not None:
        return _json(await read.dashboard_breakdown(hot))
    return await run_in_threadpool(_general_breakdown, caller, region, period, view)


@router.get("/metrics/series", response_model=Series)
def get_series(
    db: Db,
    actor: Staff,
    start: Annotated[str, Query(alias="from", description="first period, e.g. 2025Q1")],
    end: Annotated[str, Query(alias="to", description="last period, of the same kind")],
    region: RegionQ = None,
    view: ViewQ = "live",
) -> dict:
    """One entry per period from `from` to `to` (months, quarters or years)."""
    scope = read.resolve(db, actor=actor, region=region, period=start, view="live")
    scope.view = view
    return {
        "region_code": scope.region_code,
        "view": view,
        "items": read.series(db, scope, start=start, end=end),
    }


@router.get("/metrics/members", response_model=Members)
def get_members(
    db: Db,
    actor: Staff,
    period: PeriodQ,
    metric: Annotated[str, Query(description="a figure's name, e.g. rectification_rate")],
    limit: Limit = 50,
    cursor: Cursor = None,
    part: Literal["numerator", "denominator"] = "numerator",
    region: RegionQ = None,
    view: ViewQ = "live",
) -> dict:
    """The records (hazards, units, unit-quarters or reports) behind a figure, paginated."""
    scope = read.resolve(db, actor=actor, region=region, period=period, view=view)
    return read.members(db, scope, metric=metric, part=part, limit=limit, cursor=cursor)


@router.get("/metrics/flags", response_model=Flags)
def get_flags(
    db: Db, actor: Staff, period: PeriodQ, region: RegionQ = None, view: ViewQ = "live"
) -> dict:
    """Data-quality flags: units that declared zero hazards where an inspector found some."""
    scope = read.resolve(db, actor=actor, region=region, period=period, view=view)
    return {
        "region_code": scope.region_code,
        "period": scope.period.key,
        "items": read.flags(db, scope),
    }


@router.get(
    "/metrics/export",
    response_class=Response,
    responses={
        200: {
            "content": {"text/csv": {}, export.XLSX: {}},
            "description": "the breakdown with Chinese column headings",
        }
    },
)
def get_export(
    db: Db,
    actor: Staff,
    period: PeriodQ,
    region: RegionQ = None,
    view: ViewQ = "live",
    format: Literal["xlsx", "csv"] = "xlsx",
) -> Response:
    """The breakdown as a spreadsheet (CSV is UTF-8 with a byte-order mark)."""
    scope = read.resolve(db, actor=actor, region=region, period=period, view=view)
    table = export.rows(read.breakdown(db, scope), read.figures(db, scope))
    name = f"figures-{scope.region_code}-{scope.period.key}-{scope.view}.{format}"
    disposition = f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"
    if format == "csv":
        return Response(
            export.to_csv(table),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": disposition},
        )
    return Response(
        export.to_xlsx(table, scope.period.key),
        media_type=export.XLSX,
        headers={"Content-Disposition": disposition},
    )


def _send(task: str, run_id: uuid.UUID, **kwargs: Any) -> None:
    """Queue a task after the commit; if the broker is down the run stays pending for catch-up."""
    try:
        from worker.app import send

        send(task, run_id=str(run_id), **kwargs)
    except Exception as exc:
        log.warning("could not send %s: %s", task, exc)


@router.post("/metrics/recompute", status_code=202, response_model=TaskAccepted)
def post_recompute(db: Db, actor: RegionManager, body: RecomputeRequest) -> dict:
    """Recompute the live figures now (of a region's subtree and a period, or everything)."""
    region = body.region or actor.region_code
    if region is not None:
        check_code(region, "region")
        get_region(db, region, scope=actor.scope)
    period = parse_period(body.period).key if body.period is not None else None
    run = runs.create_run(db, kind="recompute", params={"region": region, "period": period})
    db.commit()  # the worker must find the run
    _send("worker.tasks.recompute_all", run.id, region=region, period=period)
    return {"task_id": run.id}


@router.post("/metrics/freeze", status_code=202, response_model=TaskAccepted)
def post_freeze(db: Db, actor: AdminUser, body: FreezeRequest) -> dict:
    """Freeze a quarter after its reporting deadline; freezing a frozen quarter changes nothing."""
    quarter = parse_period(body.period)
    if quarter.kind != "quarter":
        raise Invalid("period", "must be a quarter such as 2026Q2")
    refresh.check_freezable(quarter)
    run = runs.create_run(db, kind="freeze", params={"period": quarter.key, "region": None})
    db.commit()
    _send("worker.tasks.freeze_quarter", run.id, period=quarter.key)
    return {"task_id": run.id}


@router.get("/tasks/{task_id}", response_model=TaskRead, tags=["tasks"])
def get_task(db: Db, actor: Staff, task_id: uuid.UUID) -> Any:
    """A background job's status: pending, running, succeeded or failed."""
    return runs.get_run(db, task_id, actor=actor)
